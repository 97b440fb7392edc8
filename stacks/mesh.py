"""Mesh layer wiring (issue: Istio mesh). Being built: returns one MeshHandle per cluster."""

from __future__ import annotations

from typing import Any

from stacks.clusters import BuiltCluster
from stacks.config import StackConfig


def build_meshes(config: StackConfig, clusters: dict[str, BuiltCluster]) -> dict[str, Any]:
    return {}
