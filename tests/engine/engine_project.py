"""Engine tier helpers and fixtures: which Pulumi engine runs (`find_engine`, fixture `engine`) and a
throw-away project (`Project`, fixture `render_project`). Test modules import the fixtures (there is no
conftest.py here: a second `conftest` module would shadow tests/conftest.py for `from conftest import`).

Engine, in this order:
1. `MESHGATE_ENGINE_BIN`: a directory holding `pulumi` and its plugins (scripts/test.sh sets it
   to the output of `scripts/build-engine.sh`, so CI always runs the engine built from source);
2. a `pulumi` already on PATH (a user's machine: the official CLI, plugins downloaded as usual);
3. the engine `scripts/build-engine.sh` already built (`--cached`: never starts a build here).
None of them: every engine test fails with what to run. They never skip.

Each test module gets a copy of the project in a temporary directory (program, stack files,
policy pack, a `.venv` link to the interpreter running the tests) and a `file://` backend
beside it, so nothing is written into the repository: no state, no rendered manifests, no
config persisted by `--config`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-engine.sh"
PASSPHRASE = "meshgate-engine-tests"
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "components", "stacks", "policy")
ENGINE_TIMEOUT_SECONDS = 600


class EngineUnavailable(Exception):
    """No engine to run: the message says how to get one."""


@dataclass(frozen=True)
class Engine:
    """Where `pulumi` comes from and the environment its commands need (without backend/home)."""

    source: str
    bin_dir: Path | None  # None: the `pulumi` on PATH
    env: dict[str, str] = field(default_factory=dict)

    @property
    def built_here(self) -> bool:
        return self.bin_dir is not None


def _from_dir(bin_dir: Path, source: str) -> Engine:
    """The engine in `bin_dir`, which must be `<root>/bin` (the layout the Automation API expects)."""
    if bin_dir.name != "bin":
        raise EngineUnavailable(f"{source}: {bin_dir} must be a directory named bin (<root>/bin/pulumi)")
    if not (bin_dir / "pulumi").is_file() or not os.access(bin_dir / "pulumi", os.X_OK):
        raise EngineUnavailable(f"{source}: {bin_dir} has no executable `pulumi`")
    return Engine(
        source=source,
        bin_dir=bin_dir,
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            # Plugins come from bin_dir (on PATH); never download one.
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        },
    )


def find_engine() -> Engine:
    """The engine these tests use (module docstring); raises EngineUnavailable."""
    explicit = os.environ.get("MESHGATE_ENGINE_BIN")
    if explicit:
        return _from_dir(Path(explicit), "MESHGATE_ENGINE_BIN")
    on_path = shutil.which("pulumi")
    if on_path:
        return Engine(source=f"pulumi on PATH ({on_path})", bin_dir=None)
    cached = subprocess.run(["bash", str(BUILD_SCRIPT), "--cached"], capture_output=True, text=True, check=False)
    if cached.returncode == 0 and cached.stdout.strip():
        return _from_dir(Path(cached.stdout.strip().splitlines()[-1]), "scripts/build-engine.sh (cached)")
    raise EngineUnavailable(
        "no Pulumi engine: the engine tier needs a real `pulumi`. Build it once with "
        "`bash scripts/build-engine.sh` (~20 min cold, cached afterwards; docs/engine.md), or put the "
        "Pulumi CLI on PATH, or set MESHGATE_ENGINE_BIN to a directory holding `pulumi` and its plugins. "
        f"(`scripts/build-engine.sh --cached`: {cached.stderr.strip() or cached.returncode})"
    )


@dataclass
class Project:
    """A copy of the project with its own backend: run the pipeline command or open the stack."""

    dir: Path
    env: dict[str, str]
    engine: Engine

    def pipeline(self, *args: str) -> tuple[int, dict[str, Any]]:
        """`python -m stacks.pipeline <args> --json` in the copy: (exit code, the JSON document)."""
        proc = subprocess.run(
            [sys.executable, "-m", "stacks.pipeline", *args, "--json"],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=ENGINE_TIMEOUT_SECONDS,
            check=False,
        )
        try:
            document = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(
                f"pipeline {' '.join(args)} printed no JSON (exit {proc.returncode})\n"
                f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
            ) from None
        return proc.returncode, document

    def workspace(self) -> auto.LocalWorkspace:
        """An Automation API workspace on the copy, with the engine's `pulumi` and environment."""
        bin_dir = self.engine.bin_dir
        command = auto.PulumiCommand(root=str(bin_dir.parent)) if bin_dir else auto.PulumiCommand()  # <root>/bin/pulumi
        return auto.LocalWorkspace(work_dir=str(self.dir), env_vars=dict(self.env), pulumi_command=command)

    def stack(self, name: str) -> auto.Stack:
        return auto.Stack.select(name, self.workspace())

    def stack_file(self, name: str) -> Path:
        return self.dir / f"Pulumi.{name}.yaml"


def copy_project(target: Path, stacks: tuple[str, ...]) -> Path:
    """The program, the given stack files and the policy pack, without caches; `.venv` links to ours."""
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    for stack in stacks:
        shutil.copy2(ROOT / f"Pulumi.{stack}.yaml", target / f"Pulumi.{stack}.yaml")
    # Pulumi.yaml and policy/PulumiPolicy.yaml name the virtualenv `.venv` / `../.venv`.
    (target / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return target


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        return find_engine()
    except EngineUnavailable as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="module")
def render_project(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """The `render` stack's project copy and an empty `file://` backend (module-scoped)."""
    base = tmp_path_factory.mktemp("engine")
    state = base / "state"
    state.mkdir()
    keep = () if engine.built_here else ("PULUMI_HOME",)  # a user's CLI keeps its plugins
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_") or k in keep}
    env.update(engine.env)
    env.update(
        {
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
    )
    if engine.built_here:  # keep the CLI's own files out of ~/.pulumi
        env["PULUMI_HOME"] = str(base / "pulumi-home")
    yield Project(dir=copy_project(base / "project", ("render",)), env=env, engine=engine)
