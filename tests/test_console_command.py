"""The `meshgate` console command that `pip install -e .` (scripts/test.sh's install step) creates."""

import subprocess
import sys
from pathlib import Path

import pytest

COMMAND = Path(sys.executable).parent / "meshgate"


@pytest.fixture(scope="module")
def help_text() -> str:
    assert COMMAND.exists(), f"{COMMAND} is missing: install the project with `pip install -e .` (scripts/test.sh does)"
    done = subprocess.run([str(COMMAND), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_meshgate_help_names_itself_and_every_command(help_text: str) -> None:
    assert help_text.startswith("usage: meshgate ")
    for command in ("preview", "up", "refresh", "destroy", "outputs", "diagram"):
        assert command in help_text


def test_module_form_keeps_its_own_name() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stacks.pipeline", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m stacks.pipeline ")


def test_program_runtime_requirements_leave_out_the_tooling() -> None:
    root = Path(__file__).resolve().parents[1]
    program = (root / "requirements.txt").read_text()
    tooling = (root / "requirements-cli.txt").read_text()
    assert "rich" not in program and "rich==" in tooling
