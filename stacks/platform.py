"""The platform a stack describes: clusters, a mesh per cluster, workloads, then the scenario's gateway layer."""

from __future__ import annotations

import pulumi

from stacks.clusters import build_clusters
from stacks.config import StackConfig
from stacks.gateway_layer import build_gateway_layer
from stacks.mesh import build_meshes, managed_issuers
from stacks.observability import build_observability
from stacks.workloads import build_workloads


def build(config: StackConfig) -> None:
    """Register every resource of the stack and export its outputs.

    Layers, bottom to top: clusters (stacks.clusters), Istio per cluster (stacks.mesh),
    demo workloads (stacks.workloads), observability (stacks.observability), and the gateway
    layer of the chosen scenario (stacks.gateway_layer) — the only layer that changes when `meshgate:scenario` changes.
    """
    clusters = build_clusters(config)
    issuers = managed_issuers(config, clusters)
    meshes = build_meshes(config, clusters, issuers)
    workloads = build_workloads(config, meshes)
    build_observability(config, meshes)
    build_gateway_layer(config, clusters, meshes, workloads, {name: i.cert_manager for name, i in issuers.items()})
    pulumi.export("scenario", config.scenario.value)
    pulumi.export(
        "clusters",
        {name: {"cloud": c.handle.cloud, "network": c.handle.network} for name, c in clusters.items()},
    )
    pulumi.export("kubeconfigs", {name: c.handle.kubeconfig for name, c in clusters.items()})
