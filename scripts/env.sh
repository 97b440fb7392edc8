#!/usr/bin/env bash
# The one environment every documented command shares: the pipeline, scripts/deploy.sh and the
# plain `pulumi` CLI then use the same state (.pulumi-state/ of this checkout) and the same engine.
#   eval "$(bash scripts/env.sh)"        # once per shell, from the repository root
# Prints `export` lines on stdout (progress on stderr):
#   PATH                      + the Pulumi engine: $MESHGATE_ENGINE_BIN, else a `pulumi` already on
#                               PATH, else the engine built by scripts/build-engine.sh (cached)
#   PULUMI_BACKEND_URL        kept if set, else file://<repo>/.pulumi-state (the pipeline's default)
#   PULUMI_CONFIG_PASSPHRASE  kept if set (or PULUMI_CONFIG_PASSPHRASE_FILE), else empty
#   PULUMI_SKIP_UPDATE_CHECK=true; with the built engine also
#   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true (its plugins are on PATH)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
q() { printf '%q' "$1"; }

bin=""
if [ -n "${MESHGATE_ENGINE_BIN:-}" ]; then
  bin="$MESHGATE_ENGINE_BIN"
elif ! command -v pulumi >/dev/null 2>&1; then
  bin="$(bash "$root/scripts/build-engine.sh" | tail -n 1)"
fi
if [ -n "$bin" ]; then
  [ -x "$bin/pulumi" ] || { echo "env.sh: no pulumi in $bin" >&2; exit 2; }
  echo "export PATH=$(q "$bin:$PATH")"
  echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
fi
echo "export PULUMI_BACKEND_URL=$(q "${PULUMI_BACKEND_URL:-file://$root/.pulumi-state}")"
if [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "export PULUMI_CONFIG_PASSPHRASE=$(q "${PULUMI_CONFIG_PASSPHRASE-}")"
fi
echo "export PULUMI_SKIP_UPDATE_CHECK=true"
mkdir -p "$root/.pulumi-state"
