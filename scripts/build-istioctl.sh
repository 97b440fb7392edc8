#!/usr/bin/env bash
# Build istioctl (Istio's CLI) from the istio.io/istio Go module, for `meshgate analyze`
# (`istioctl analyze --use-kube=false` over the objects a stack plans; docs/policy.md) and its tests.
#
#   bash scripts/build-istioctl.sh            # build once (cost: docs/engine.md, "Time, disk, cache")
#   bash scripts/build-istioctl.sh --cached   # print the binary only if built; exit 3 otherwise
#
# The last stdout line is the path of the istioctl binary; progress goes to stderr.
# tools/istioctl is a small Go module (go.mod + go.sum committed) whose main.go runs
# istio.io/istio/istioctl/cmd; only that Go program is built from the istio.io/istio module.
# Cache, lock and Go environment are the engine's (scripts/lib/go-build.sh):
#   ${MESHGATE_ENGINE_CACHE:-$HOME/.cache/meshgate-engine}/istioctl-<pin>/bin/istioctl
#
# Which istio.io/istio version, and why: Istio tags releases as `1.31.0`, which is not a Go
# semantic version, so the Go module proxy serves the module only as pseudo-versions
# (v0.0.0-<commit time>-<commit>). The pin in tools/istioctl/go.mod is the newest one served
# (`go list -m istio.io/istio@latest`, checked 2026-12-02): v0.0.0-20260827124520-eed52ebb66ad,
# a commit of the release-1.31 branch (its VERSION file says 1.31, master already says 1.32;
# it requires istio.io/api v1.31.0-rc and sigs.k8s.io/gateway-api v1.6.0, like 1.31.0), four
# days before 1.31.0 was tagged: the closest served build to the pinned Istio 1.31.0 line
# (stacks/config.py DEFAULT_ISTIO_VERSION). It builds with Go 1.26 (its go.mod: go 1.26.0).
# The older pseudo-versions served (20260826…, 20260423…) are earlier commits, not newer fixes.
#
# Environment knobs: those of scripts/build-engine.sh (MESHGATE_ENGINE_CACHE,
# MESHGATE_ENGINE_KEEP_WORK, MESHGATE_ENGINE_JOBS).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$REPO/tools/istioctl"
LOG_TAG=build-istioctl
# shellcheck source=scripts/lib/go-build.sh
source "$REPO/scripts/lib/go-build.sh"

ISTIO_MODULE_VERSION="$(require_version "$SRC/go.mod" istio.io/istio)"
[[ -n "$ISTIO_MODULE_VERSION" ]] || die "tools/istioctl/go.mod pins no istio.io/istio"
MIN_GO="$(awk '$1 == "go" { print $2; exit }' "$SRC/go.mod")"
RECIPE_REV=1 # bump when this script changes what it produces
SRC_HASH="$(cd "$SRC" && cat go.mod go.sum main.go | sha256sum | cut -c1-12)"
KEY="istioctl-${ISTIO_MODULE_VERSION}"
OUT="$ROOT/$KEY"
STAMP="rev=$RECIPE_REV istio=$ISTIO_MODULE_VERSION src=$SRC_HASH"
BINARY="$OUT/bin/istioctl"

serve_cached "${1:-}" "$OUT" "$STAMP" istioctl

go_preflight "$MIN_GO" "istio.io/istio $ISTIO_MODULE_VERSION"
lock_cache
serve_cached "" "$OUT" "$STAMP" istioctl # another run may have finished it meanwhile

START=$(date +%s)
go_env istioctl-build-cache
fresh_work "$KEY"
log "istioctl from istio.io/istio@$ISTIO_MODULE_VERSION (tools/istioctl)"
cp -R "$SRC/." "$WORK/"
gobuild "$WORK" "$STAGE/bin/istioctl" "" .
"$STAGE/bin/istioctl" version --remote=false >/dev/null || die "built istioctl does not run"
publish "$STAMP" "$OUT"
clean_work
log "istioctl ready in $(($(date +%s) - START))s: $(du -h "$BINARY" | cut -f1); module cache $(du -sh "$GOMODCACHE" | cut -f1)"
echo "$BINARY"
