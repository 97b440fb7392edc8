package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
)

// RunPlugin runs a Python plugin: a policy pack (kind analyzer) as
// `python -u -m pulumi.policy <args> <dir>` in the pack's directory, anything
// else as `python <dir> <args>` (its __main__.py) or, for a buildable package
// without __main__.py, `python -m pulumi.run.plugin <name> <args>`.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest,
	server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	ctx := server.Context()
	conn, err := h.connectEngine()
	if err != nil {
		return err
	}
	defer conn.Close()

	isPolicy := req.Kind == string(apitype.AnalyzerPlugin)
	opts, err := options(req.Info, !isPolicy)
	if err != nil {
		return err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}

	var cmd *exec.Cmd
	_, statErr := os.Stat(filepath.Join(opts.Root, "__main__.py"))
	hasMain := statErr == nil
	switch {
	case isPolicy:
		args := append([]string{"-u", "-m", "pulumi.policy"}, req.Args...)
		cmd, err = tc.Command(ctx, append(args, req.Info.ProgramDirectory)...)
	case !hasMain:
		pyproject, perr := toolchain.LoadPyproject(opts.Root)
		if perr != nil {
			return fmt.Errorf("plugin provides neither __main__.py nor a loadable pyproject.toml: %w", perr)
		}
		cmd, err = tc.ModuleCommand(ctx, "pulumi.run.plugin", append([]string{pyproject.Project.Name}, req.Args...)...)
	default:
		cmd, err = tc.Command(ctx, append([]string{req.Info.ProgramDirectory}, req.Args...)...)
	}
	if err != nil {
		return err
	}

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	var proxy *sdk.PolicyProxy
	if isPolicy {
		cmd.Dir = req.Info.ProgramDirectory
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		cfg, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration: %w", err)
		}
		if cfg != nil {
			set := func(k, v string) {
				if v != "" {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
			}
			set("PULUMI_ORGANIZATION", cfg.Organization)
			set("PULUMI_PROJECT", cfg.Project)
			set("PULUMI_STACK", cfg.Stack)
			set("PULUMI_DRY_RUN", strconv.FormatBool(cfg.DryRun))
			if cfg.Config != nil {
				b, err := json.Marshal(cfg.Config)
				if err != nil {
					return fmt.Errorf("could not marshal stack configuration: %w", err)
				}
				set("PULUMI_CONFIG", string(b))
			}
		}
	} else {
		cmd.Dir = req.Pwd
	}
	cmd.Env = append(cmd.Env, req.Env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	run := func() error {
		if err := cmd.Start(); err != nil {
			return err
		}
		if proxy != nil {
			return proxy.Attach(ctx, cmd)
		}
		return cmd.Wait()
	}
	if err := run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
			})
		}
		return fmt.Errorf("problem executing plugin program: %w", err)
	}
	return closer.Close()
}
