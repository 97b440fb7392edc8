"""The one Args type of the gateways that run inside a cluster (scenarios 2, 3 and 4), and their settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.gateways.shared.backend_policies import Namespaces
from components.gateways.shared.catalogue import Route
from components.mesh.handle import MeshHandle


@dataclass(frozen=True)
class GatewaySettings:
    """How the in-cluster gateway is deployed."""

    kong_chart_version: str
    """Version of the `kong/ingress` chart (scenarios 2 and 3)."""
    gateway_api_version: str
    """Gateway API release whose standard CRDs are installed (scenario 4), e.g. v1.3.0."""
    namespace: str = "meshgate-gateway"
    """Namespace of the gateway's pods, Service and certificate."""
    replicas: int = 2
    """Gateway pods (Kong) or ingress pods."""
    install_gateway_api_crds: bool = True
    """Scenario 4: install the Gateway API CRDs (False: they are managed elsewhere, e.g. by the cloud)."""


@dataclass(frozen=True)
class CertManagerKeys:
    """cert-manager generates the gateway's private keys inside the cluster (Kong's admin-API CA, client and
    server keys): none in the state or in rendered YAML.

    `after`: what must exist before the Issuers and Certificates — the cluster's cert-manager release
    when the stack installs it (managed mesh CA); empty when the cluster already has cert-manager
    (a rendered cluster: the user's cluster must run it)."""

    after: tuple[pulumi.Resource, ...] = ()


@dataclass(frozen=True)
class InClusterEdgeArgs:
    """Routes, every cluster's mesh, the gateway's cluster, the app namespaces of every cluster,
    the gateway settings and (scenario 3) the backend Services of the gateway's cluster."""

    routes: list[Route]
    """The API catalogue."""
    meshes: dict[str, MeshHandle]
    """Every cluster's mesh, by cluster name (backends in other clusters are reached through theirs)."""
    cluster: str
    """The cluster the gateway runs in."""
    namespaces: Namespaces
    """(cluster, namespace) -> the app Namespace object of every cluster."""
    gateway: GatewaySettings
    """How the gateway is deployed."""
    services: Mapping[tuple[str, str], pulumi.Resource] = field(default_factory=dict)
    """(namespace, name) -> backend Service objects in the gateway's cluster (scenario 3 waits for them)."""
    admin_keys: CertManagerKeys | None = None
    """Scenarios 2 and 3: Kong's admin-API keys come from cert-manager in the gateway's cluster; None: pulumi-tls."""
