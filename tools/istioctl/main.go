// Command istioctl is Istio's istioctl, built from the istio.io/istio Go module pinned in go.mod
// (scripts/build-istioctl.sh; docs/engine.md says which version and why). meshgate runs only
// `istioctl analyze --use-kube=false` with it: Istio's own analyzers over the objects a stack plans.
package main

import (
	"fmt"
	"os"

	"istio.io/istio/istioctl/cmd"
	"istio.io/istio/pkg/log"
)

func main() {
	if err := cmd.ConfigAndEnvProcessing(); err != nil {
		fmt.Fprintf(os.Stderr, "Could not initialize: %v\n", err)
		os.Exit(cmd.GetExitCode(err))
	}
	root := cmd.GetRootCmd(os.Args[1:])
	log.EnableKlogWithCobra()
	if err := root.Execute(); err != nil {
		os.Exit(cmd.GetExitCode(err))
	}
}
