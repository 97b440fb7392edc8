#!/usr/bin/env bash
# Deploy a stack (default: dev, onto your kubeconfig context) with state in a local file backend:
# no cloud account, no Pulumi Cloud login.
#   scripts/deploy.sh [stack] [--yes] [extra pipeline args...]     e.g. scripts/deploy.sh dev
# Steps: install requirements.txt and policy/requirements.txt (the policy pack) into .venv; set up
# the shared environment (scripts/env.sh: engine on PATH, state in .pulumi-state/); print the
# clusters the stack deploys to and refuse (exit 2) when a kubeconfig context is missing; refuse
# (exit 2) a stack with EKS/GKE clusters whose state would be encrypted with an empty passphrase
# (set PULUMI_CONFIG_PASSPHRASE[_FILE] or a KMS secrets provider: docs/security.md); then `up`,
# which shows the preview and asks before applying. --yes skips the question (CI; also needed
# without a terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
stack=dev
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then stack="$1"; shift; fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# The program, the deployment tooling (the `meshgate` command) and the policy pack's runtime.
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-cli.txt -r policy/requirements.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .

eval "$(bash scripts/env.sh)"

.venv/bin/python -m stacks.pipeline.targets --stack "$stack"
.venv/bin/python -m stacks.pipeline.state_encryption --stack "$stack"
exec .venv/bin/python -m stacks.pipeline up --stack "$stack" "$@"
