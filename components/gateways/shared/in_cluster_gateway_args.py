"""The one Args type of the gateways that run inside a cluster (scenarios 2, 3 and 4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.gateways.shared.backend_policies import Namespaces
from components.gateways.shared.catalogue import Route
from components.mesh.handle import MeshHandle
from stacks.config import GatewaySpec


@dataclass(frozen=True)
class InClusterEdgeArgs:
    """Routes, every cluster's mesh, the gateway's cluster, the app namespaces of every cluster,
    the gateway settings and (scenario 3) the backend Services of the gateway's cluster."""

    routes: list[Route]
    meshes: dict[str, MeshHandle]
    cluster: str
    namespaces: Namespaces
    gateway: GatewaySpec
    services: Mapping[tuple[str, str], pulumi.Resource] = field(default_factory=dict)
