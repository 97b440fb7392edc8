// Package shim exports the Terraform tls provider of this module to meshgate's bridge build.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	tls "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the Terraform plugin-framework provider.
func NewProvider() provider.Provider { return tls.New() }
