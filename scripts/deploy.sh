#!/usr/bin/env bash
# Deploy a stack (default: dev, onto the current kubeconfig context) with state in a local file
# backend: no cloud account, no Pulumi Cloud login.
#   scripts/deploy.sh [stack] [extra pipeline args...]      e.g. scripts/deploy.sh dev --json
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-dev}"; shift || true

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt

# The Pulumi CLI: the one on PATH, else the engine built from its Go modules (cached after the first build).
if ! command -v pulumi >/dev/null 2>&1; then
  PATH="$(bash scripts/build-engine.sh | tail -n 1):$PATH"
  export PATH
fi

export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
export PULUMI_SKIP_UPDATE_CHECK=true
mkdir -p .pulumi-state

exec .venv/bin/python -m stacks.pipeline up --stack "$stack" --yes "$@"
