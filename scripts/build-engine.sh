#!/usr/bin/env bash
# Build a local Pulumi engine (CLI, Python language host, Kubernetes and TLS
# providers) from Go modules fetched through the Go module proxy, for the
# real-engine test tier (tests/engine/, `pytest -m engine`) and for users
# without a `pulumi` binary. docs/engine.md has the whole story (what is
# upstream, why these versions, time and disk); the essentials:
#
#   PATH="$(bash scripts/build-engine.sh | tail -1):$PATH"
#   bash scripts/build-engine.sh --cached   # print the bin dir only if built; exit 3 otherwise
#
# The Go code and the version pins live in real Go modules under tools/engine/
# (go.mod + go.sum committed; gofmt, vet and tests run by scripts/check-go.sh):
#   tools/engine/cli        wrapper pinning github.com/pulumi/pulumi/pkg/v3 (the CLI)
#   tools/engine/langhost   meshgate's Python language host (docs/engine.md: why not upstream's)
#   tools/engine/k8s        wrapper pinning the Kubernetes provider module
#   tools/engine/tls        the TLS provider: upstream Terraform provider + Pulumi's bridge
# This script reads the pins from those go.mod files, caches, and runs go build.
#
# The last stdout line is the bin directory; all progress goes to stderr. Three
# components are cached separately outside the repo, each keyed by its pins or
# its source (a change rebuilds only its component), and a fourth directory
# holds symlinks to all — the bin directory printed:
#   ${MESHGATE_ENGINE_CACHE:-$HOME/.cache/meshgate-engine}/
#     pulumi-<ver>-k8s-<ver>/bin   pulumi (+ exec scripts), pulumi-resource-kubernetes
#     langhost-<source hash>/bin   pulumi-language-python
#     tls-<ver>/bin                pulumi-resource-tls
#     engine-<all keys>/bin        symlinks to all of them (put this on PATH)
# A second run finds the complete cache and exits in well under a second.
#
# Environment for the engine (tests/engine/engine_project.py sets these):
#   PATH="$BIN:$PATH" PULUMI_SKIP_UPDATE_CHECK=true \
#   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
#   PULUMI_BACKEND_URL=file://<dir> PULUMI_CONFIG_PASSPHRASE=<x>
# Nothing needs installing into ~/.pulumi/plugins.
#
# Cost (time, disk, what is kept under the cache root): measured once, in
# docs/engine.md, "Time, disk, cache"; the Go build cache is deleted on success.
#
# Environment knobs:
#   MESHGATE_ENGINE_CACHE       cache root (default $HOME/.cache/meshgate-engine)
#   MESHGATE_ENGINE_KEEP_WORK=1 keep the Go build cache and work dirs after success
#   MESHGATE_ENGINE_JOBS        go build -p (default: nproc)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$REPO/tools/engine"

LOG_TAG=build-engine
# shellcheck source=scripts/lib/go-build.sh
source "$REPO/scripts/lib/go-build.sh"
# replace_version <go.mod> <module>: the version of the module a replace line substitutes.
replace_version() {
  awk -v m="$2" '$1 == "replace" && $2 == m && $3 == "=>" { print $5; exit }' "$1"
}

PULUMI_GO_VERSION="$(require_version "$SRC/cli/go.mod" github.com/pulumi/pulumi/pkg/v3)"
K8S_PROVIDER_MODULE_VERSION="$(require_version "$SRC/k8s/go.mod" github.com/pulumi/pulumi-kubernetes/provider/v4)"
K8S_SDK_VERSION="$(require_version "$SRC/k8s/go.mod" github.com/pulumi/pulumi-kubernetes/sdk/v4)"
TLS_TF_MODULE_VERSION="$(require_version "$SRC/tls/go.mod" github.com/hashicorp/terraform-provider-tls)"
TLS_BRIDGE_VERSION="$(require_version "$SRC/tls/go.mod" github.com/pulumi/pulumi-terraform-bridge/v3)"
TLS_PLUGIN_SDK_FORK="$(replace_version "$SRC/tls/go.mod" github.com/hashicorp/terraform-plugin-sdk/v2)"
# Version strings the binaries report (the commit's PyPI release; the SDK's version + our build).
K8S_PROVIDER_VERSION="4.25.0-alpha.1768448096+f47bc2d6"
TLS_VERSION="5.6.2+meshgate.tls-857b38cd"
MIN_GO="1.26.6"  # pkg/v3 v3.274.1 declares go 1.26.6 (README and docs/engine.md quote this; a test checks)
RECIPE_REV=1      # bump when this script or a wrapper go.mod changes what the engine component produces
TLS_RECIPE_REV=1  # same, for the TLS component
for v in PULUMI_GO_VERSION K8S_PROVIDER_MODULE_VERSION K8S_SDK_VERSION TLS_TF_MODULE_VERSION \
  TLS_BRIDGE_VERSION TLS_PLUGIN_SDK_FORK; do
  [[ -n "${!v}" ]] || { printf '[build-engine] ERROR: no %s pin found in %s/*/go.mod\n' "$v" "$SRC" >&2; exit 1; }
done

CACHED_ONLY=0
case "${1:-}" in
  "") ;;
  --cached) CACHED_ONLY=1 ;;
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (usage: build-engine.sh [--cached])" ;;
esac

# Component 1: CLI + exec scripts + Kubernetes provider.
KEY="pulumi-${PULUMI_GO_VERSION#v}-k8s-${K8S_PROVIDER_VERSION//+/-}"
OUT="$ROOT/$KEY"
STAMP_CONTENT="rev=$RECIPE_REV pulumi=$PULUMI_GO_VERSION k8s=$K8S_PROVIDER_MODULE_VERSION k8s_version=$K8S_PROVIDER_VERSION k8s_sdk=$K8S_SDK_VERSION"
BINARIES=(pulumi pulumi-language-python-exec pulumi-resource-pulumi-python pulumi-resource-kubernetes)
# Component 2: the language host, keyed by its source.
LH_HASH="$(cd "$SRC/langhost" && cat go.mod go.sum $(ls *.go | grep -v '_test.go$') | sha256sum | cut -c1-12)"
LH_KEY="langhost-$LH_HASH"
LH_OUT="$ROOT/$LH_KEY"
LH_STAMP_CONTENT="rev=2 pulumi=$PULUMI_GO_VERSION src=$LH_HASH"
# The host runs the exec script that sits next to its own (symlink-resolved) executable.
LH_BINARIES=(pulumi-language-python pulumi-language-python-exec)
# Component 3: the TLS provider (the pins and the glue in tools/engine/tls).
TLS_HASH="$(cd "$SRC/tls" && find . -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-8)"
TLS_KEY="tls-${TLS_VERSION//+/-}"
TLS_OUT="$ROOT/$TLS_KEY"
TLS_STAMP_CONTENT="rev=$TLS_RECIPE_REV version=$TLS_VERSION tf=$TLS_TF_MODULE_VERSION bridge=$TLS_BRIDGE_VERSION sdk_fork=$TLS_PLUGIN_SDK_FORK src=$TLS_HASH"
TLS_BINARIES=(pulumi-resource-tls)
# What goes on PATH: symlinks to all three.
ENGINE_OUT="$ROOT/engine-${KEY}-${LH_KEY}-${TLS_KEY}"
BIN="$ENGINE_OUT/bin"

cache_complete() {
  component_complete "$OUT" "$STAMP_CONTENT" "${BINARIES[@]}" &&
    component_complete "$LH_OUT" "$LH_STAMP_CONTENT" "${LH_BINARIES[@]}" &&
    component_complete "$TLS_OUT" "$TLS_STAMP_CONTENT" "${TLS_BINARIES[@]}" &&
    component_complete "$ENGINE_OUT" "$KEY $LH_KEY $TLS_KEY" "${BINARIES[@]}" "${LH_BINARIES[@]}" "${TLS_BINARIES[@]}"
}

if cache_complete; then
  log "cached engine found"
  echo "$BIN"
  exit 0
fi
if (( CACHED_ONLY )); then
  log "no complete engine in $ROOT (run scripts/build-engine.sh to build it)"
  exit 3
fi

# ---------------------------------------------------------------- preflight
go_preflight "$MIN_GO" "pulumi pkg/v3 $PULUMI_GO_VERSION"
lock_cache
if cache_complete; then   # another run finished it meanwhile
  log "cached engine found"
  echo "$BIN"
  exit 0
fi

START=$(date +%s)
go_env build-cache

VERSION_LDFLAG="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_GO_VERSION"

build_engine() {
fresh_work "$KEY"
# ------------------------------------------------------------ 1. the CLI
log "1/5 Pulumi CLI pkg/v3 $PULUMI_GO_VERSION (tools/engine/cli)"
cp -R "$SRC/cli" "$WORK/cli"
gobuild "$WORK/cli" "$STAGE/bin/pulumi" "$VERSION_LDFLAG" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

# ---------------------------------------- 3. scripts from the sdk/v3 module
log "2/5 Python helper scripts from github.com/pulumi/pulumi/sdk/v3@$PULUMI_GO_VERSION"
SDK_DIR=$(moddir "github.com/pulumi/pulumi/sdk/v3@$PULUMI_GO_VERSION")
for f in python/cmd/pulumi-language-python-exec python/dist/pulumi-resource-pulumi-python; do
  [[ -f "$SDK_DIR/$f" ]] || die "sdk/v3 $PULUMI_GO_VERSION has no $f"
  install -m 0755 "$SDK_DIR/$f" "$STAGE/bin/"
done
# Removed upstream once policy packs started running through the language
# host's RunPlugin (which our host implements); copy it only if present.
if [[ -f "$SDK_DIR/python/dist/pulumi-analyzer-policy-python" ]]; then
  install -m 0755 "$SDK_DIR/python/dist/pulumi-analyzer-policy-python" "$STAGE/bin/"
else
  log "  note: sdk/v3 $PULUMI_GO_VERSION has no python/dist/pulumi-analyzer-policy-python (policy packs run via the language host)"
fi

# ------------------------------------------- 4. the Kubernetes provider
log "3/5 Kubernetes provider provider/v4@$K8S_PROVIDER_MODULE_VERSION ($K8S_PROVIDER_VERSION)"
K8S_SRC=$(moddir "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PROVIDER_MODULE_VERSION")
mkdir -p "$WORK/k8s"
# The provider copy's go.mod is edited below, so its go.sum cannot be complete
# beforehand: this component records sums as it downloads (-mod=mod).
export GOFLAGS="-mod=mod"
cp -R "$K8S_SRC" "$WORK/k8s/provider"
chmod -R u+w "$WORK/k8s/provider"
# Its go.mod replaces sdk/v4 with ../sdk (a sibling in its repo). Make the
# copy self-contained so the module's own generate step can run in it.
(cd "$WORK/k8s/provider" &&
  go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 \
    -require="github.com/pulumi/pulumi-kubernetes/sdk/v4@$K8S_SDK_VERSION") \
  || die "cannot edit the provider copy's go.mod"
# main.go: //go:generate go run ./generate.go, which stamps VERSION into
# schema.json -> schema-embed.json and writes terraform-mapping-embed.json;
# both are //go:embed-ed by main.go.
log "  go generate (schema-embed.json, terraform-mapping-embed.json)"
(cd "$WORK/k8s/provider" && VERSION="$K8S_PROVIDER_VERSION" "${NICE[@]}" go generate ./cmd/pulumi-resource-kubernetes) \
  || die "the provider's go generate step failed"
for f in schema-embed.json terraform-mapping-embed.json; do
  [[ -s "$WORK/k8s/provider/cmd/pulumi-resource-kubernetes/$f" ]] || die "go generate did not produce $f"
done
cp "$SRC/k8s/go.mod" "$WORK/k8s/"
gobuild "$WORK/k8s" "$STAGE/bin/pulumi-resource-kubernetes" \
  "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
  github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes


"$STAGE/bin/pulumi" version >/dev/null || die "built pulumi CLI does not run"
for b in "${BINARIES[@]}"; do [[ -x "$STAGE/bin/$b" ]] || die "missing $b after build"; done
export GOFLAGS="-mod=readonly"
publish "$STAMP_CONTENT" "$OUT"
}

build_langhost() {
fresh_work "$LH_KEY"
# ------------------------------------------- 4. the Python language host
log "4/5 Python language host (tools/engine/langhost; docs/engine.md: why not upstream's)"
cp -R "$SRC/langhost" "$WORK/langhost"
gobuild "$WORK/langhost" "$STAGE/bin/pulumi-language-python" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_GO_VERSION}+meshgate" .
"$STAGE/bin/pulumi-language-python" -version >/dev/null || die "built language host does not run"
local sdk_dir
sdk_dir=$(moddir "github.com/pulumi/pulumi/sdk/v3@$PULUMI_GO_VERSION")
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$STAGE/bin/"
publish "$LH_STAMP_CONTENT" "$LH_OUT"
}

build_tls() {
fresh_work "$TLS_KEY"
# ------------------------------------------------- 5. the TLS provider
log "5/5 TLS provider (tools/engine/tls): terraform-provider-tls@$TLS_TF_MODULE_VERSION + pulumi-terraform-bridge/v3@$TLS_BRIDGE_VERSION ($TLS_VERSION)"
local tf
tf=$(moddir "github.com/hashicorp/terraform-provider-tls@$TLS_TF_MODULE_VERSION")
cp -R "$SRC/tls" "$WORK/tls"
cp -R "$tf" "$WORK/tls/upstream"
chmod -R u+w "$WORK/tls/upstream"
# The provider lives in an internal package; a package added to the copy of
# its module may import it (pulumi-tls does the same).
mkdir -p "$WORK/tls/upstream/shim"
cp "$SRC/tls/_shim/shim.go" "$WORK/tls/upstream/shim/"
local ldflags="-X meshgate.invalid/engine/tls/info.Version=$TLS_VERSION"
gobuild "$WORK/tls" "$WORK/tls/pulumi-tfgen-tls" "$ldflags" ./cmd/pulumi-tfgen-tls
log "  tfgen schema (schema.json, bridge-metadata.json)"
# (It warns that it cannot find the upstream docs: expected, see cmd/pulumi-tfgen-tls.)
(cd "$WORK/tls" && ./pulumi-tfgen-tls schema --out cmd/pulumi-resource-tls >&2) || die "the bridge's tfgen step failed"
for f in schema.json bridge-metadata.json; do
  [[ -s "$WORK/tls/cmd/pulumi-resource-tls/$f" ]] || die "tfgen did not produce $f"
done
grep -q '"tls:index/selfSignedCert:SelfSignedCert"' "$WORK/tls/cmd/pulumi-resource-tls/schema.json" \
  || die "generated schema lacks tls:index/selfSignedCert:SelfSignedCert (token mapping broken)"
gobuild "$WORK/tls" "$STAGE/bin/pulumi-resource-tls" "$ldflags" ./cmd/pulumi-resource-tls
for b in "${TLS_BINARIES[@]}"; do [[ -x "$STAGE/bin/$b" ]] || die "missing $b after build"; done
publish "$TLS_STAMP_CONTENT" "$TLS_OUT"
}

if ! component_complete "$OUT" "$STAMP_CONTENT" "${BINARIES[@]}"; then build_engine; fi
if ! component_complete "$LH_OUT" "$LH_STAMP_CONTENT" "${LH_BINARIES[@]}"; then build_langhost; fi
if ! component_complete "$TLS_OUT" "$TLS_STAMP_CONTENT" "${TLS_BINARIES[@]}"; then build_tls; fi

# ------------------------------------------------------------- bin dir
rm -rf "$ENGINE_OUT"
mkdir -p "$BIN"
for b in "${LH_BINARIES[@]}"; do ln -s "$LH_OUT/bin/$b" "$BIN/$b"; done
for b in "${BINARIES[@]}"; do [[ -e "$BIN/$b" ]] || ln -s "$OUT/bin/$b" "$BIN/$b"; done
for b in "${TLS_BINARIES[@]}"; do ln -s "$TLS_OUT/bin/$b" "$BIN/$b"; done
printf '%s\n' "$KEY $LH_KEY $TLS_KEY" >"$ENGINE_OUT/.complete"

clean_work
log "engine ready in $(( $(date +%s) - START ))s: $(du -shL "$BIN" | cut -f1) in $BIN; module cache $(du -sh "$GOMODCACHE" | cut -f1)"
log "use: PATH=\"$BIN:\$PATH\" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
echo "$BIN"
