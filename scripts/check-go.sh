#!/usr/bin/env bash
# Check meshgate's Go modules (tools/engine/*): gofmt, go vet, go test.
# Runs after scripts/build-engine.sh in scripts/test.sh: it uses the engine's module cache
# (no second download) and keeps its own Go build cache under the same root, so a warm run
# takes seconds. The TLS glue is vetted in a staged copy with the upstream module beside it,
# as scripts/build-engine.sh builds it.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$REPO/tools/engine"
ROOT="${MESHGATE_ENGINE_CACHE:-$HOME/.cache/meshgate-engine}"
log() { printf '[check-go] %s\n' "$*" >&2; }
die() { printf '[check-go] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed"
export GOMODCACHE="$ROOT/go/mod" GOCACHE="$ROOT/go/check-cache" GOFLAGS="-mod=readonly" \
  GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off

unformatted="$(gofmt -l "$SRC" "$REPO/tools/istioctl")"
[[ -z "$unformatted" ]] || die "gofmt would change: $unformatted (run gofmt -w tools/engine tools/istioctl)"
log "gofmt: clean"

(cd "$SRC/langhost" && go vet ./... && go test -count=1 ./...) || die "language host: vet or tests failed"

stage="$(mktemp -d)"
trap 'chmod -R u+w "$stage"; rm -rf "$stage"' EXIT
cp -R "$SRC/tls" "$stage/tls"
tf_version="$(awk '$1 == "github.com/hashicorp/terraform-provider-tls" { print $2; exit }' "$SRC/tls/go.mod")"
tf_dir="$(cd "$stage" && go mod download -json "github.com/hashicorp/terraform-provider-tls@$tf_version" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -d "$tf_dir" ]] || die "cannot download terraform-provider-tls@$tf_version"
cp -R "$tf_dir" "$stage/tls/upstream" && chmod -R u+w "$stage/tls/upstream"
mkdir -p "$stage/tls/upstream/shim" && cp "$SRC/tls/_shim/shim.go" "$stage/tls/upstream/shim/"
# The files go:embed expects are generated at build time (tfgen); vet only needs them to exist.
printf '{}' >"$stage/tls/cmd/pulumi-resource-tls/schema.json"
printf '{}' >"$stage/tls/cmd/pulumi-resource-tls/bridge-metadata.json"
(cd "$stage/tls" && go vet ./... && cd upstream && go vet ./shim) || die "TLS provider glue: vet failed"
log "vet and tests: clean (langhost, tls)"
