"""scripts/deploy.sh and scripts/env.sh, run for real with bash in a fake environment.

The checkout is copied to a temporary directory with a stub `.venv/bin/python` that records
pip and pipeline calls (and runs everything else, e.g. the kubeconfig check, with the real
interpreter) and a stub `pulumi` on PATH, so nothing is installed or deployed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.pipeline import engine

REPO = Path(__file__).resolve().parent.parent

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: {current}
contexts:
  - name: kind-kind
    context: {{cluster: kind-kind, user: kind-kind}}
clusters:
  - name: kind-kind
    cluster: {{server: https://127.0.0.1:6443}}
users:
  - name: kind-kind
    user: {{}}
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    (root / "policy").mkdir()
    for name in ("deploy.sh", "env.sh"):
        shutil.copy(REPO / "scripts" / name, root / "scripts" / name)
    shutil.copy(REPO / "requirements.txt", root / "requirements.txt")
    shutil.copy(REPO / "policy" / "requirements.txt", root / "policy" / "requirements.txt")
    venv_bin = root / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    log = tmp_path / "calls.log"
    # Records pip and pipeline runs; the target check runs for real from the repository.
    (venv_bin / "python").write_text(
        "#!/usr/bin/env bash\n"
        f'case "$*" in\n'
        f'  "-m pip "*|"-m stacks.pipeline "*) echo "python $*" >>{log}; '
        f'echo "backend=$PULUMI_BACKEND_URL" >>{log}; exit 0;;\n'
        f"esac\n"
        f'PYTHONPATH={REPO} exec {sys.executable} "$@"\n'
    )
    (venv_bin / "python").chmod(0o755)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "pulumi").write_text("#!/bin/sh\nexit 0\n")
    (fake_bin / "pulumi").chmod(0o755)
    return root


def deploy(
    checkout: Path,
    *args: str,
    kubeconfig: str | None,
    stdout: list[str] | None = None,
    passphrase: str | None = None,
) -> tuple[int, str, list[str]]:
    tmp = checkout.parent
    env = {"PATH": f"{tmp / 'bin'}:/usr/bin:/bin", "HOME": str(tmp / "home")}
    if passphrase is not None:
        env["PULUMI_CONFIG_PASSPHRASE"] = passphrase
    if kubeconfig is not None:
        (tmp / "kubeconfig").write_text(kubeconfig)
        env["KUBECONFIG"] = str(tmp / "kubeconfig")
    result = subprocess.run(
        ["bash", str(checkout / "scripts" / "deploy.sh"), *args], env=env, capture_output=True, text=True, check=False
    )
    if stdout is not None:
        stdout.append(result.stdout)
    log = tmp / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    return result.returncode, result.stdout + result.stderr, calls


def test_shows_the_target_context_then_lets_the_pipeline_preview_and_ask(checkout: Path) -> None:
    code, output, calls = deploy(checkout, kubeconfig=KUBECONFIG.format(current="kind-kind"))
    assert code == 0, output
    assert "local: kubeconfig context 'kind-kind'" in output
    pipeline = [c for c in calls if c.startswith("python -m stacks.pipeline")]
    assert pipeline == ["python -m stacks.pipeline up --stack dev"]  # no --yes: preview, then the question


def test_yes_skips_the_question_for_ci(checkout: Path) -> None:
    stdout: list[str] = []
    code, output, calls = deploy(
        checkout, "dev", "--yes", "--json", kubeconfig=KUBECONFIG.format(current="kind-kind"), stdout=stdout
    )
    assert code == 0, output
    assert "python -m stacks.pipeline up --stack dev --yes --json" in calls
    assert stdout == [""]  # the target list goes to stderr: stdout is the pipeline's JSON document alone


def test_installs_what_the_documented_commands_need(checkout: Path) -> None:
    """The policy pack (`--policy-pack policy`) needs pulumi-policy from policy/requirements.txt; the
    pipeline needs the tooling's requirements-cli.txt; `meshgate` is the project installed editable."""
    _, output, calls = deploy(checkout, kubeconfig=KUBECONFIG.format(current="kind-kind"))
    requirements, project = [c for c in calls if c.startswith("python -m pip")]
    for needed in ("-r requirements.txt", "-r requirements-cli.txt", "-r policy/requirements.txt"):
        assert needed in requirements, output
    assert project.endswith("--no-deps -e ."), output


@pytest.mark.parametrize(
    ("kubeconfig", "expected"),
    [
        (None, "no kubeconfig at"),
        (KUBECONFIG.format(current='""'), "has no current-context"),
        (KUBECONFIG.format(current="kind-gone"), "kubeconfig context 'kind-gone' not found"),
    ],
    ids=["no-kubeconfig", "no-current-context", "unknown-context"],
)
def test_refuses_without_the_context(checkout: Path, kubeconfig: str | None, expected: str) -> None:
    code, output, calls = deploy(checkout, kubeconfig=kubeconfig)
    assert code == 2, output
    assert expected in output and "meshgate:clusters[0] (local)" in output
    assert not [c for c in calls if c.startswith("python -m stacks.pipeline")]


def test_cloud_stacks_name_the_clusters_they_create(checkout: Path) -> None:
    code, output, _ = deploy(checkout, "staging", kubeconfig=None, passphrase="a long random passphrase")
    assert code == 0, output
    assert "aws-east: new eks cluster" in output and "gcp-central: new gke cluster" in output


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_refuses_a_cloud_stack_with_the_default_empty_passphrase(checkout: Path, stack: str) -> None:
    code, output, calls = deploy(checkout, stack, kubeconfig=None)
    assert code == 2, output
    assert "empty passphrase does not encrypt them" in output and f"change-secrets-provider --stack {stack}" in output
    assert not [c for c in calls if c.startswith("python -m stacks.pipeline")]


def test_dev_keeps_the_empty_passphrase_with_a_warning(checkout: Path) -> None:
    code, output, _ = deploy(checkout, kubeconfig=KUBECONFIG.format(current="kind-kind"))
    assert code == 0 and "warning: stack dev keeps its state with an empty passphrase" in output


def test_env_sh_points_every_command_at_the_pipelines_state(tmp_path: Path) -> None:
    """`eval "$(bash scripts/env.sh)"` gives the plain CLI the backend the pipeline uses by default."""
    fake_bin = tmp_path / "engine"
    fake_bin.mkdir()
    (fake_bin / "pulumi").write_text("#!/bin/sh\nexit 0\n")
    (fake_bin / "pulumi").chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MESHGATE_ENGINE_BIN": str(fake_bin)}
    script = f'eval "$(bash {REPO / "scripts" / "env.sh"})" && env'
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert seen["PULUMI_BACKEND_URL"] == f"file://{engine.DEFAULT_STATE_DIR}"
    assert seen["PATH"].split(os.pathsep)[0] == str(fake_bin)
    assert seen["PULUMI_CONFIG_PASSPHRASE"] == "" and seen["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert seen["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    kept = subprocess.run(
        ["bash", "-c", script],
        env={**env, "PULUMI_BACKEND_URL": "s3://b", "PULUMI_CONFIG_PASSPHRASE": "pp"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "PULUMI_BACKEND_URL=s3://b" in kept and "PULUMI_CONFIG_PASSPHRASE=pp" in kept
