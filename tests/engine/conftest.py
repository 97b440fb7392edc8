"""Fixtures of the real-engine tier: the engine (fails, never skips, when there is none) and a
project copy with its own `file://` backend. How the engine is chosen: engine_project.py."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from engine_project import PASSPHRASE, Engine, EngineUnavailable, Project, copy_project, find_engine


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
