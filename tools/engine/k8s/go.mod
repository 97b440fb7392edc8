// Pins the Kubernetes provider that scripts/build-engine.sh builds. ./provider is a copy of
// the provider/v4 module at the version below whose go generate step has been run (main.go
// embeds the schema it generates); its own replace of sdk/v4 (a sibling directory in its
// repository) is dropped for the sdk/v4 tag closest to the commit.
module meshgate.invalid/engine/k8s

go 1.24.7

require (
	github.com/pulumi/pulumi-kubernetes/provider/v4 v4.0.0-20260115033456-f47bc2d6f199
	github.com/pulumi/pulumi-kubernetes/sdk/v4 v4.25.0
)

replace github.com/pulumi/pulumi-kubernetes/provider/v4 => ./provider
