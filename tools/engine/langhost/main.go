// Command pulumi-language-python is a minimal Pulumi Python language host for
// meshgate's local engine (docs/engine.md says why it is not upstream's).
//
// Protocol: the CLI starts `pulumi-language-python [flags] <engine address>`,
// reads the gRPC port from our stdout and calls the LanguageRuntime service.
// Programs run as `python pulumi-language-python-exec --monitor ... <entry>`
// (the exec script sits next to this binary); policy packs run as
// `python -u -m pulumi.policy <args> <pack dir>` behind the sdk's PolicyProxy.
//
// Files: main.go (flags, serving), host.go (small RPCs), options.go (runtime
// options of Pulumi.yaml), packages.go (GetRequiredPackages), run.go (Run),
// plugin.go (RunPlugin).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

const (
	execScript = "pulumi-language-python-exec"
	// The exec script exits with this code after printing an actionable error.
	exitAfterUserMessage = 32
)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	exec          string
	engineAddress string
	tracing       string
	cancelCtx     context.Context
	cancel        context.CancelFunc
}

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint")
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	useExecutor := flag.String("use-executor", "", "use this exec script instead of the one next to the binary")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-python", "pulumi-language-python", *tracing)

	execPath := *useExecutor
	if execPath == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("could not determine current executable: %w", err))
		}
		execPath = filepath.Join(filepath.Dir(self), execScript)
		if _, err := os.Stat(execPath); err != nil {
			cmdutil.Exit(fmt.Errorf("missing executor %s: %w", execPath, err))
		}
	}

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(cancelChannel)
	}()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check: %w", err))
		}
	}

	cctx, cancel := context.WithCancel(context.Background())
	h := &host{exec: execPath, engineAddress: engineAddress, tracing: *tracing, cancelCtx: cctx, cancel: cancel}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}
