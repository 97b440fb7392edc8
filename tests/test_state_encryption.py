"""Encrypted state for cloud stacks: the pipeline and scripts/deploy.sh refuse an empty passphrase
for a stack with EKS or GKE clusters (exit 2, saying how to fix it) and accept a KMS secrets
provider (`secretsprovider:` as `pulumi stack change-secrets-provider` writes it) or a passphrase."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_automation import Run

from stacks.pipeline import state_encryption
from stacks.pipeline.stackfile import ROOT, load_config

EMPTY = {"PULUMI_CONFIG_PASSPHRASE": ""}


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize("command", [["preview"], ["up", "--yes"], ["refresh", "--yes"]])
def test_pipeline_refuses_an_empty_passphrase_for_cloud_stacks(stack: str, command: list[str]) -> None:
    run = Run([*command, "--stack", stack, "--json"], environ=EMPTY)
    assert run.code == 2 and run.opened == []  # nothing was run
    error = run.document["error"]
    assert error["kind"] == "setup"
    for fix in ("PULUMI_CONFIG_PASSPHRASE_FILE", f"change-secrets-provider --stack {stack}", "awskms://", "gcpkms://"):
        assert fix in error["message"]


def test_passphrase_file_must_not_be_empty(tmp_path: Path) -> None:
    empty, real = tmp_path / "empty", tmp_path / "real"
    empty.write_text("")
    real.write_text("a long random passphrase\n")
    assert (
        Run(["preview", "--stack", "prod", "--json"], environ={"PULUMI_CONFIG_PASSPHRASE_FILE": str(empty)}).code == 2
    )
    run = Run(["preview", "--stack", "prod", "--json"], environ={"PULUMI_CONFIG_PASSPHRASE_FILE": str(real)})
    assert run.code == 0 and "stateEncryption" not in run.document


def test_destroy_and_outputs_of_an_existing_cloud_stack_still_run() -> None:
    """Tearing down (or reading) a stack that was created unencrypted must not need a migration first."""
    assert Run(["outputs", "--stack", "prod", "--json"], environ=EMPTY).code == 0


def test_kubeconfig_and_render_stacks_keep_an_empty_passphrase_with_one_warning() -> None:
    for stack in ("dev", "render"):
        run = Run(["preview", "--stack", stack, "--json"], environ=EMPTY)
        assert run.code == 0, run.stdout
        warning = run.document["stateEncryption"]
        assert warning.startswith(f"warning: stack {stack} keeps its state with an empty passphrase")
        assert "\n" not in warning


def _stack_file(root: Path, provider: str | None) -> None:
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    if provider:
        text = f"secretsprovider: {provider}\nencryptedkey: AQICAHh=\n" + text
    (root / "Pulumi.prod.yaml").write_text(text)


@pytest.mark.parametrize(
    ("provider", "backend", "encrypted"),
    [
        ("awskms://alias/meshgate-state?region=us-east-1", None, True),
        ("gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k", None, True),
        ("passphrase", None, False),
        (None, "s3://bucket/state", False),
        (None, "https://api.pulumi.com", True),  # the service's own per-stack keys
        ("passphrase", "https://api.pulumi.com", False),
    ],
)
def test_secrets_provider_of_the_stack_file(
    tmp_path: Path, provider: str | None, backend: str | None, encrypted: bool
) -> None:
    _stack_file(tmp_path, provider)
    environ = {**EMPTY, **({"PULUMI_BACKEND_URL": backend} if backend else {})}
    state = state_encryption.encryption("prod", environ, tmp_path)
    assert state.encrypted is encrypted
    config = load_config("prod")
    if encrypted:
        assert state_encryption.require("prod", config, state) is None
    else:
        with pytest.raises(state_encryption.StateEncryptionError, match="aws-east, gcp-central"):
            state_encryption.require("prod", config, state)


def test_module_exits_2_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert state_encryption.main(["--stack", "staging"], EMPTY) == 2
    assert "change-secrets-provider --stack staging" in capsys.readouterr().err
    assert state_encryption.main(["--stack", "staging"], {"PULUMI_CONFIG_PASSPHRASE": "x"}) == 0
    assert state_encryption.main(["--stack", "dev"], EMPTY) == 0
    assert "empty passphrase" in capsys.readouterr().err
