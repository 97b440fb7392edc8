"""What a newcomer sees when the environment or the command line is wrong: exit 2 (nothing ran),
the subcommand's own usage line, and no engine summary (`Duration: ...`) before the error."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from stacks.pipeline.cli import main


def run(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, environ=environ, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_missing_pulumi_cli_exits_2_without_a_duration_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Exit 2 is documented as "environment not set up, nothing ran"; a missing CLI is exactly that."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": ""}
    code, _, err = run(["preview", "--stack", "dev"], env)
    assert code == 2, err
    assert "Pulumi CLI was not found" in err and "scripts/env.sh" in err
    assert "Duration" not in err, err
    assert err.lstrip().startswith("error:"), err  # the error is the first thing shown

    code, out, _ = run(["preview", "--stack", "dev", "--json"], env)
    document = json.loads(out)
    assert code == 2 and document["exitCode"] == 2 and document["error"]["kind"] == "setup"
    assert document["durationSeconds"] is None


@pytest.mark.parametrize("command", ["preview", "up", "refresh", "destroy", "outputs"])
def test_missing_stack_prints_the_subcommands_usage(command: str) -> None:
    code, _, err = run([command], {})
    assert code == 2
    first = err.splitlines()[0]
    assert first.startswith(f"usage: python -m stacks.pipeline {command} "), err
    assert "--stack" in err and "the following arguments are required: --stack/-s" in err


def test_no_command_prints_the_top_level_usage() -> None:
    code, _, err = run([], {})
    assert code == 2 and err.startswith("usage: python -m stacks.pipeline [-h] COMMAND")
