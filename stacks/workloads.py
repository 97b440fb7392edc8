"""Workload wiring (issue: API gateway). Being built: namespaces and demo services per cluster."""

from __future__ import annotations

from typing import Any

from stacks.config import StackConfig


def build_workloads(config: StackConfig, meshes: dict[str, Any]) -> dict[str, Any]:
    return {}
