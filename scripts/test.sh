#!/usr/bin/env bash
# Install everything into .venv and run the whole test suite: style (ruff), type check,
# unit/graph/schema/policy tests under mocks, then the real-engine tier (builds the Pulumi engine once, cached).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each part says how long the previous one took (docs/engine.md lists what each part costs).
part_name="install"; part_start=$(date +%s)
part() {
  echo "   ($part_name: $(( $(date +%s) - part_start ))s)"
  part_name="$1"; part_start=$(date +%s)
  echo "== $1"
}

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# The project itself, editable: the `meshgate` command (its dependencies are installed above).
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .

part "ruff (format check and lint; settings in pyproject.toml)"
ruff_ok=1
.venv/bin/ruff format --check . || ruff_ok=0
.venv/bin/ruff check . || ruff_ok=0
if [ "$ruff_ok" != 1 ]; then
  echo "ERROR: ruff found the style problems listed above; \`.venv/bin/ruff format . && .venv/bin/ruff check --fix .\`" \
    "fixes most of them (settings: [tool.ruff] in pyproject.toml)" >&2
  exit 1
fi

part "pyright"
.venv/bin/pyright

part "istioctl (Istio's analyzers, for tests/test_istio_analyze.py and \`meshgate analyze\`; docs/engine.md)"
# Built from the istio.io/istio Go module like the engine (cost: docs/engine.md, "Time, disk, cache";
# cached afterwards). Without it the analyzer tests would fail, so stop here with the reason.
if ! istioctl_bin="$(bash scripts/build-istioctl.sh | tail -n 1)" || [ ! -x "$istioctl_bin" ]; then
  echo "ERROR: istioctl could not be built (scripts/build-istioctl.sh; its [build-istioctl] lines above say why)" >&2
  exit 1
fi
export MESHGATE_ISTIOCTL="$istioctl_bin"

part "OpenTelemetry Collector (validates every generated collector configuration; docs/observability.md)"
# Built with exactly the components the configurations use (tools/otelcol; cost: docs/engine.md).
if ! otelcol_bin="$(bash scripts/build-otelcol.sh | tail -n 1)" || [ ! -x "$otelcol_bin" ]; then
  echo "ERROR: the collector could not be built (scripts/build-otelcol.sh; its [build-otelcol] lines above say why)" >&2
  exit 1
fi
export MESHGATE_OTELCOL="$otelcol_bin"

part "unit, graph, schema, policy, analyzer and collector tests (mocks; istioctl, otelcol)"
.venv/bin/python -m pytest -m "not engine" "$@"

part "real-engine tier: the engine (Pulumi CLI, language host, Kubernetes and TLS providers; docs/engine.md)"
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
part "Go modules of the engine build (tools/engine: gofmt, go vet, go test)"
bash scripts/check-go.sh

part "real-engine tests"
.venv/bin/python -m pytest -m engine tests/engine

