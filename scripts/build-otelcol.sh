#!/usr/bin/env bash
# Build otelcol-meshgate: an OpenTelemetry Collector with exactly the components meshgate's collector
# configurations use, at the pinned image's version (0.158.0), to run `validate` on every generated
# configuration (tests/test_otelcol_validate.py, marker otelcol).
#
#   bash scripts/build-otelcol.sh            # build once (cost: docs/observability.md, "Validation")
#   bash scripts/build-otelcol.sh --cached   # print the binary only if built; exit 3 otherwise
#
# The last stdout line is the path of the binary; progress goes to stderr. tools/otelcol holds the
# OpenTelemetry Collector Builder manifest (builder-config.yaml) and the Go sources it generated
# (go.mod + go.sum committed): this script only runs `go build` on them. Cache, lock and Go
# environment are the engine's (scripts/lib/go-build.sh):
#   ${MESHGATE_ENGINE_CACHE:-$HOME/.cache/meshgate-engine}/otelcol-<version>-<source hash>/bin/otelcol-meshgate
#
# Environment knobs: those of scripts/build-engine.sh (MESHGATE_ENGINE_CACHE,
# MESHGATE_ENGINE_KEEP_WORK, MESHGATE_ENGINE_JOBS).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$REPO/tools/otelcol"
LOG_TAG=build-otelcol
# shellcheck source=scripts/lib/go-build.sh
source "$REPO/scripts/lib/go-build.sh"

VERSION="$(awk '$1 == "version:" { print $2; exit }' "$SRC/builder-config.yaml")"
[[ -n "$VERSION" ]] || die "tools/otelcol/builder-config.yaml names no dist version"
MIN_GO="$(awk '$1 == "go" { print $2; exit }' "$SRC/go.mod")"
RECIPE_REV=1 # bump when this script changes what it produces
SRC_HASH="$(cd "$SRC" && cat builder-config.yaml go.mod go.sum ./*.go | sha256sum | cut -c1-12)"
KEY="otelcol-${VERSION}-${SRC_HASH}"
OUT="$ROOT/$KEY"
STAMP="rev=$RECIPE_REV version=$VERSION src=$SRC_HASH"
BINARY="$OUT/bin/otelcol-meshgate"

serve_cached "${1:-}" "$OUT" "$STAMP" otelcol-meshgate

go_preflight "$MIN_GO" "the OpenTelemetry Collector $VERSION"
lock_cache
serve_cached "" "$OUT" "$STAMP" otelcol-meshgate # another run may have finished it meanwhile

START=$(date +%s)
go_env otelcol-build-cache
fresh_work "$KEY"
log "otelcol-meshgate $VERSION (tools/otelcol)"
cp -R "$SRC/." "$WORK/"
gobuild "$WORK" "$STAGE/bin/otelcol-meshgate" "" .
"$STAGE/bin/otelcol-meshgate" --version >/dev/null || die "built otelcol-meshgate does not run"
publish "$STAMP" "$OUT"
clean_work
log "otelcol-meshgate ready in $(($(date +%s) - START))s: $(du -h "$BINARY" | cut -f1); module cache $(du -sh "$GOMODCACHE" | cut -f1)"
echo "$BINARY"
