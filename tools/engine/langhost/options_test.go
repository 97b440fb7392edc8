package main

import (
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/protobuf/types/known/structpb"
)

func info(t *testing.T, opts map[string]any) *pulumirpc.ProgramInfo {
	t.Helper()
	s, err := structpb.NewStruct(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &pulumirpc.ProgramInfo{RootDirectory: "/p", ProgramDirectory: "/p/prog", Options: s}
}

// Pulumi.yaml `runtime.options` (https://www.pulumi.com/docs/iac/languages-sdks/python/):
// toolchain pip|poetry|uv, virtualenv a path.
func TestOptionsToolchains(t *testing.T) {
	for _, name := range []string{"pip", "poetry", "uv"} {
		got, err := options(info(t, map[string]any{"toolchain": name, "virtualenv": ".venv"}), false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.EqualFold(toolchain.Name(got.Toolchain), name) || got.Virtualenv != ".venv" || got.Root != "/p" || got.ProgramDir != "/p/prog" {
			t.Errorf("%s: got %+v", name, got)
		}
	}
}

func TestOptionsRejectsWhatItCannotHonour(t *testing.T) {
	for _, opts := range []map[string]any{
		{"toolchain": "conda"},
		{"toolchain": 3},
		{"virtualenv": true},
		{"typechecker": "mypy"},
	} {
		if _, err := options(info(t, opts), false); err == nil {
			t.Errorf("options(%v) accepted", opts)
		}
	}
}

// Plugins (policy packs) default to a "venv" virtualenv with pip, as upstream's host does.
func TestOptionsPluginDefaultVirtualenv(t *testing.T) {
	got, err := options(info(t, map[string]any{}), true)
	if err != nil || got.Virtualenv != "venv" {
		t.Fatalf("plugin without options: %+v, %v", got, err)
	}
	got, err = options(info(t, map[string]any{}), false)
	if err != nil || got.Virtualenv != "" {
		t.Fatalf("program without options: %+v, %v", got, err)
	}
	got, err = options(info(t, map[string]any{"toolchain": "uv"}), true)
	if err != nil || got.Virtualenv != "" {
		t.Fatalf("uv plugin must not get a pip virtualenv: %+v, %v", got, err)
	}
	if _, err := options(&pulumirpc.ProgramInfo{}, false); err != nil {
		t.Fatalf("nil options: %v", err)
	}
}
