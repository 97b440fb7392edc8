"""The collector validates every configuration the program generates (`otelcol-meshgate validate`).

The binary is built by scripts/build-otelcol.sh from tools/otelcol (the OpenTelemetry Collector
Builder's output for exactly the components meshgate uses, at the pinned image's version 0.158.0).
Like the analyzer tests, these fail, never skip, without it: scripts/test.sh builds it first.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ROOT, evaluate_stack

from components.observability.collector import agent_config

pytestmark = pytest.mark.otelcol


@pytest.fixture(scope="module")
def otelcol() -> Path:
    found = os.environ.get("MESHGATE_OTELCOL")
    if not found:
        run = subprocess.run(
            ["bash", str(ROOT / "scripts" / "build-otelcol.sh"), "--cached"], capture_output=True, text=True
        )
        found = run.stdout.strip().splitlines()[-1] if run.returncode == 0 and run.stdout.strip() else ""
    if not found or not Path(found).is_file():
        pytest.fail("no otelcol-meshgate: run `bash scripts/build-otelcol.sh` (scripts/test.sh does)")
    return Path(found)


def validate(binary: Path, config: dict[str, Any], directory: Path) -> subprocess.CompletedProcess[str]:
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, "MY_POD_IP": "127.0.0.1"}  # the chart sets it from the pod's IP
    return subprocess.run(
        [str(binary), "validate", f"--config={path}"], capture_output=True, text=True, env=env, timeout=120
    )


def collector_configs(stack: str) -> list[tuple[str, dict[str, Any]]]:
    program = evaluate_stack(stack)
    return [
        (r.name, r.plain["values"]["alternateConfig"])
        for r in program.releases()
        if r.plain["chart"] == "opentelemetry-collector"
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_generated_collector_config_validates(otelcol: Path, stack: str, tmp_path: Path) -> None:
    configs = collector_configs(stack)
    assert len(configs) >= 2  # agents and a hub
    for name, config in configs:
        result = validate(otelcol, config, tmp_path)
        assert result.returncode == 0, f"{stack} {name}: {result.stderr or result.stdout}"


def test_validate_refuses_a_broken_config(otelcol: Path, tmp_path: Path) -> None:
    """The check has teeth: a misspelled setting fails validation."""
    config = agent_config("c", "otel-hub:4317")
    config["processors"]["batch"] = {"send_batch_sise": 10}
    result = validate(otelcol, config, tmp_path)
    assert result.returncode != 0 and "send_batch_sise" in (result.stderr + result.stdout)
