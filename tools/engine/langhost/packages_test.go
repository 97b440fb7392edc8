package main

import "testing"

func TestRequiredPackages(t *testing.T) {
	out := []byte(`[
	 {"dist": "pulumi_kubernetes", "version": "4.34.2", "plugin": {"resource": true, "name": "kubernetes", "version": "4.34.2"}},
	 {"dist": "pulumi-tls", "version": "5.6.2", "plugin": {"resource": true, "version": "v5.6.2", "server": "https://example.invalid"}},
	 {"dist": "pulumi-policy", "version": "1.20.0", "plugin": {"resource": false, "name": "policy"}},
	 {"dist": "pulumi-noversion", "version": "1.0.0", "plugin": {"resource": true, "name": "noversion"}},
	 {"dist": "pulumi-param", "version": "0.1.0", "plugin": {"resource": true, "name": "terraform-provider", "version": "0.1.0",
	  "parameterization": {"name": "aws-x", "version": "1.2.3", "value": "e30="}}}
	]`)
	pkgs, err := requiredPackages(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 3 {
		t.Fatalf("want 3 resource packages with versions, got %d: %v", len(pkgs), pkgs)
	}
	if pkgs[0].Name != "kubernetes" || pkgs[0].Version != "v4.34.2" || pkgs[0].Kind != "resource" {
		t.Errorf("kubernetes: %v", pkgs[0])
	}
	if pkgs[1].Name != "tls" || pkgs[1].Version != "v5.6.2" || pkgs[1].Server != "https://example.invalid" {
		t.Errorf("name from the distribution, version kept: %v", pkgs[1])
	}
	p := pkgs[2].Parameterization
	if p == nil || p.Name != "aws-x" || p.Version != "1.2.3" || string(p.Value) != "{}" {
		t.Errorf("parameterization: %v", pkgs[2])
	}
	if _, err := requiredPackages([]byte("not json")); err == nil {
		t.Error("garbage accepted")
	}
}
