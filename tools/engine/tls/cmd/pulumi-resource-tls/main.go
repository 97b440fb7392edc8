// pulumi-resource-tls serves the tls provider to the Pulumi engine.
package main

import (
	"context"
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"meshgate.invalid/engine/tls/info"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	tfbridge.Main(context.Background(), "tls", info.Provider(metadata),
		tfbridge.ProviderMetadata{PackageSchema: schema, BridgeMetadata: metadata})
}
