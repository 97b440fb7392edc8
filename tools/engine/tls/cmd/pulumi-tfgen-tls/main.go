// pulumi-tfgen-tls generates the Pulumi schema of the tls provider (the bridge's tfgen).
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"meshgate.invalid/engine/tls/info"
)

// The schema's descriptions come from the provider's schema only: with the upstream docs,
// tfgen would also convert their HCL examples by running `pulumi convert`.
func main() { tfgen.Main("tls", info.Provider(nil)) }
