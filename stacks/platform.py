"""The platform a stack describes: clusters, then a mesh per cluster, then the scenario's gateway layer."""

from __future__ import annotations

import pulumi

from stacks.clusters import build_clusters
from stacks.config import StackConfig


def build(config: StackConfig) -> None:
    """Register every resource of the stack and export its outputs."""
    clusters = build_clusters(config)
    pulumi.export("scenario", config.scenario.value)
    pulumi.export(
        "clusters",
        {name: {"cloud": c.handle.cloud, "network": c.handle.network} for name, c in clusters.items()},
    )
    pulumi.export("kubeconfigs", {name: c.handle.kubeconfig for name, c in clusters.items()})
