// Package info maps the Terraform tls provider to the Pulumi package "tls" with the
// tokens of the pulumi-tls SDKs: tls:index/<camelName>:<Name>.
package info

import (
	"unicode"

	"github.com/hashicorp/terraform-provider-tls/shim"
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Version is stamped by the build (-ldflags -X).
var Version = "0.0.0-dev"

func member(name string) string {
	return "tls:index/" + string(unicode.ToLower(rune(name[0]))) + name[1:] + ":" + name
}

// Provider is the bridge's description of the provider; metadata is bridge-metadata.json.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	return tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "tls",
		Version:      Version,
		GitHubOrg:    "hashicorp",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			"tls_cert_request":        {Tok: tokens.Type(member("CertRequest"))},
			"tls_locally_signed_cert": {Tok: tokens.Type(member("LocallySignedCert"))},
			"tls_private_key":         {Tok: tokens.Type(member("PrivateKey"))},
			"tls_self_signed_cert":    {Tok: tokens.Type(member("SelfSignedCert"))},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"tls_public_key":  {Tok: tokens.ModuleMember(member("getPublicKey"))},
			"tls_certificate": {Tok: tokens.ModuleMember(member("getCertificate"))},
		},
		EnableZeroDefaultSchemaVersion: true,
	}
}
