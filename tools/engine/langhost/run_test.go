package main

import (
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestProgramArgs(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1", Project: "meshgate", Stack: "dev", Pwd: "/p", DryRun: true, Parallel: 8,
		Info: &pulumirpc.ProgramInfo{RootDirectory: "/p", EntryPoint: "."}, Args: []string{"a"},
	}
	got := programArgs(req, "exec", "127.0.0.1:2", "")
	want := []string{"exec", "--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2", "--project", "meshgate",
		"--root_directory", "/p", "--stack", "dev", "--pwd", "/p", "--dry_run", "true", "--parallel", "8", ".", "a"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestConfigEnv(t *testing.T) {
	env, err := configEnv(&pulumirpc.RunRequest{
		Config: map[string]string{"meshgate:scenario": "gateway-api"}, ConfigSecretKeys: []string{"meshgate:token"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`PULUMI_CONFIG={"meshgate:scenario":"gateway-api"}`, `PULUMI_CONFIG_SECRET_KEYS=["meshgate:token"]`}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("got %q", env)
	}
	env, err = configEnv(&pulumirpc.RunRequest{})
	if err != nil || env[0] != "PULUMI_CONFIG={}" || env[1] != "PULUMI_CONFIG_SECRET_KEYS=[]" {
		t.Errorf("empty config: %q %v", env, err)
	}
}

// execve(2) fails with E2BIG for one string over MAX_ARG_STRLEN (131072 bytes with its NUL).
func TestConfigEnvRefusesWhatExecCannotPass(t *testing.T) {
	big := strings.Repeat("x", maxArgStrlen)
	_, err := configEnv(&pulumirpc.RunRequest{Config: map[string]string{"meshgate:apis": big}})
	if err == nil || !strings.Contains(err.Error(), "move large lists") {
		t.Fatalf("want a refusal naming the fix, got %v", err)
	}
	fits := strings.Repeat("x", maxArgStrlen-len(`PULUMI_CONFIG={"k":""}`)-1)
	if _, err := configEnv(&pulumirpc.RunRequest{Config: map[string]string{"k": fits}}); err != nil {
		t.Fatalf("largest passable config refused: %v", err)
	}
}

func TestRunResponse(t *testing.T) {
	if r := runResponse(nil); r.Error != "" || r.Bail {
		t.Errorf("success: %v", r)
	}
	exit := func(code string) error { return exec.Command("sh", "-c", "exit "+code).Run() }
	if r := runResponse(exit("32")); !r.Bail || r.Error != "" {
		t.Errorf("exit 32 must bail quietly: %v", r)
	}
	if r := runResponse(exit("1")); r.Bail || !strings.Contains(r.Error, "exit code: 1") {
		t.Errorf("exit 1: %v", r)
	}
	if r := runResponse(errors.New("no such file")); !strings.Contains(r.Error, "could not run language executor") {
		t.Errorf("start failure: %v", r)
	}
}
