package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func (h *host) connectEngine() (*grpc.ClientConn, error) {
	if h.engineAddress == "" {
		return nil, errors.New("no engine address: call Handshake before Run")
	}
	return grpc.NewClient(h.engineAddress, rpcutil.GrpcChannelOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	conn, err := h.connectEngine()
	if err != nil {
		return nil, err
	}
	defer conn.Close()

	opts, err := options(req.Info, false)
	if err != nil {
		return nil, err
	}
	args := programArgs(req, h.exec, h.engineAddress, h.tracing)
	configEnv, err := configEnv(req)
	if err != nil {
		return nil, err
	}

	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	runCtx, runCancel := context.WithCancel(h.cancelCtx)
	defer runCancel()
	context.AfterFunc(ctx, runCancel)
	cmd, err := tc.Command(runCtx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, configEnv...)

	err = cmd.Run()
	if err != nil {
		_ = os.Stdout.Sync()
		_ = os.Stderr.Sync()
	}
	return runResponse(err), nil
}

// programArgs is the exec script's command line: one `--flag value` per non-empty
// field of the request, then the entry point and the program's own arguments.
func programArgs(req *pulumirpc.RunRequest, execScript, engineAddress, tracing string) []string {
	args := []string{execScript}
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engineAddress)
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", tracing)
	add("organization", req.GetOrganization())
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}

// configEnv passes the stack's config to the program as the Python SDK reads it:
// PULUMI_CONFIG (a JSON object) and PULUMI_CONFIG_SECRET_KEYS (a JSON list).
// Linux refuses a single environment string over 128 KiB (MAX_ARG_STRLEN), so a
// larger config is refused here with a message instead of a failed exec.
func configEnv(req *pulumirpc.RunRequest) ([]string, error) {
	cfg := "{}"
	if req.GetConfig() != nil {
		b, err := json.Marshal(req.GetConfig())
		if err != nil {
			return nil, fmt.Errorf("failed to serialize configuration: %w", err)
		}
		cfg = string(b)
	}
	secretKeys := "[]"
	if req.GetConfigSecretKeys() != nil {
		b, err := json.Marshal(req.GetConfigSecretKeys())
		if err != nil {
			return nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
		}
		secretKeys = string(b)
	}
	env := []string{"PULUMI_CONFIG=" + cfg, "PULUMI_CONFIG_SECRET_KEYS=" + secretKeys}
	for _, kv := range env {
		if len(kv)+1 > maxArgStrlen {
			return nil, fmt.Errorf("the stack configuration is %d bytes as one environment variable; "+
				"Linux refuses more than %d: move large lists (such as an API catalogue) into files", len(kv), maxArgStrlen)
		}
	}
	return env, nil
}

// maxArgStrlen is Linux's MAX_ARG_STRLEN (32 pages of 4 KiB), NUL included.
const maxArgStrlen = 32 * 4096

// runResponse maps the program's exit to the engine's answer: exit code 32 means
// the program already printed an actionable error (bail without another one).
func runResponse(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.ExitStatus() == exitAfterUserMessage {
			return &pulumirpc.RunResponse{Bail: true}
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}
	}
	return &pulumirpc.RunResponse{
		Error: fmt.Sprintf("problem executing program (could not run language executor): %v", err),
	}
}
