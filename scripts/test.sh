#!/usr/bin/env bash
# Install everything into .venv and run the whole test suite: type check, unit/graph/schema/policy
# tests under mocks, then the real-engine tier (builds the Pulumi engine once, cached).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# The project itself, editable: the `meshgate` command (its dependencies are installed above).
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .

echo "== pyright"
.venv/bin/pyright

echo "== unit, graph, schema and policy tests (mocks)"
.venv/bin/python -m pytest -m "not engine" "$@"

echo "== real-engine tier (Pulumi CLI, language host, Kubernetes and TLS providers; docs/engine.md)"
if command -v pulumi >/dev/null && [ "${MESHGATE_BUILD_ENGINE:-0}" != 1 ]; then
  # A user's machine: the installed CLI (tests/engine/engine_project.py picks it up from PATH).
  echo "using $(command -v pulumi) ($(pulumi version 2>/dev/null || echo '?')); MESHGATE_BUILD_ENGINE=1 builds the pinned engine instead"
else
  # CI: build the pinned engine from Go modules (cost: docs/engine.md, "Time, disk, cache"; cached afterwards).
  started=$(date +%s)
  if ! engine_bin="$(bash scripts/build-engine.sh | tail -n 1)" || [ ! -x "$engine_bin/pulumi" ]; then
    echo "ERROR: the Pulumi engine could not be built (scripts/build-engine.sh; its [build-engine] lines above say why)" >&2
    exit 1
  fi
  echo "engine: $engine_bin ($(( $(date +%s) - started ))s)"
  export MESHGATE_ENGINE_BIN="$engine_bin"
fi
echo "== Go modules of the engine build (tools/engine: gofmt, go vet, go test)"
started=$(date +%s)
bash scripts/check-go.sh
echo "go checks: $(( $(date +%s) - started ))s"

.venv/bin/python -m pytest -m engine tests/engine

