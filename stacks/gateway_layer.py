"""Gateway layer wiring (issue: API gateway). Being built: the scenario's edge path."""

from __future__ import annotations

from typing import Any

from stacks.clusters import BuiltCluster
from stacks.config import StackConfig


def build_gateway_layer(
    config: StackConfig, clusters: dict[str, BuiltCluster], meshes: dict[str, Any], workloads: dict[str, Any]
) -> None:
    return None
