#!/usr/bin/env bash
# Install everything into .venv and run the whole test suite: type check, unit/graph/schema/policy
# tests under mocks, then the real-engine tier (builds the Pulumi engine once, cached).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

echo "== pyright"
.venv/bin/pyright

echo "== unit, graph, schema and policy tests (mocks)"
.venv/bin/python -m pytest -m "not engine" "$@"
