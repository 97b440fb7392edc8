"""Reachability of the cluster API servers: from the deployer, and from every peer of a multi-cluster mesh.

The same `pulumi up` that creates an EKS or GKE cluster applies Kubernetes objects to it, and
in a multi-cluster mesh every istiod reads its peers' API servers through remote secrets;
both fail (or silently leave cross-cluster endpoints undiscovered) when an API allowlist
does not admit them. Checks work on the dependency graph, so they hold at preview, and
compare addresses when their values are known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .graph import Graph
from .model import (
    HELM_RELEASE,
    Check,
    Level,
    StackCheck,
    StackResource,
    Violation,
    get,
    is_true,
    items,
    mapping,
    of_types,
    open_to_world,
)

EKS_CLUSTER = "aws:eks/cluster:Cluster"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
API_SERVERS = (EKS_CLUSTER, GKE_CLUSTER)
NETWORKS = ("aws:ec2/vpc:Vpc", "gcp:compute/network:Network")
NATS = ("aws:ec2/natGateway:NatGateway", "gcp:compute/routerNat:RouterNat")
ADDRESSES = ("aws:ec2/eip:Eip", "gcp:compute/address:Address")
REMOTE_SECRET_LABEL = "istio/multiCluster"

DEPLOYER_TAG = "meshgate:deployer"  # EKS tag; GKE resource label `meshgate-deployer`
DEPLOYER_LABEL = "meshgate-deployer"
INSIDE_NETWORK = "inside-network"


def allowlist(resource: StackResource) -> list[Any]:
    """The CIDRs an API server's public endpoint admits (None entries when still unknown)."""
    if resource.type == EKS_CLUSTER:
        return items(get(resource.props, "vpcConfig.publicAccessCidrs"))
    return [
        get(block, "cidrBlock") for block in items(get(resource.props, "masterAuthorizedNetworksConfig.cidrBlocks"))
    ]


def open_to_every_address(resource: StackResource) -> bool:
    """A public endpoint without an allowlist: EKS without `publicAccessCidrs` defaults to 0.0.0.0/0,
    GKE without `masterAuthorizedNetworksConfig` admits any address (the openness itself is
    `eks-endpoint-not-public` / `gke-master-authorized-networks`' business, not reachability's)."""
    if resource.type == EKS_CLUSTER:
        cidrs = get(resource.props, "vpcConfig.publicAccessCidrs")
        return cidrs is None or open_to_world(cidrs)
    return resource.props.get("masterAuthorizedNetworksConfig") is None


def public_endpoint(resource: StackResource) -> bool:
    if resource.type == EKS_CLUSTER:
        return is_true(get(resource.props, "vpcConfig.endpointPublicAccess"))
    return not is_true(get(resource.props, "privateClusterConfig.enablePrivateEndpoint"))


def private_endpoint(resource: StackResource) -> bool:
    """The API server has an endpoint inside its network: EKS `endpointPrivateAccess`; GKE a private
    cluster (`privateClusterConfig.enablePrivateNodes`), whose control plane always has one."""
    if resource.type == EKS_CLUSTER:
        return is_true(get(resource.props, "vpcConfig.endpointPrivateAccess"))
    return is_true(get(resource.props, "privateClusterConfig.enablePrivateNodes"))


def deployer_inside(resource: StackResource) -> bool:
    """The stack declared that `pulumi up` reaches this API server from inside its network."""
    if resource.type == EKS_CLUSTER:
        return mapping(resource.props.get("tags")).get(DEPLOYER_TAG) == INSIDE_NETWORK
    return mapping(resource.props.get("resourceLabels")).get(DEPLOYER_LABEL) == INSIDE_NETWORK


def address_cidr(resource: StackResource) -> str | None:
    """`<ip>/32` of an egress address when its value is known (engine outputs), else None."""
    ip = resource.props.get("publicIp") if resource.type == ADDRESSES[0] else resource.props.get("address")
    return f"{ip}/32" if isinstance(ip, str) and ip else None


class _Egress:
    """Which egress addresses belong to which network, from NAT -> address and NAT -> network edges."""

    def __init__(self, resources: Sequence[StackResource]) -> None:
        self.graph = Graph(resources)
        self.by_urn = self.graph.by_urn
        self.addresses_of_network: dict[str, set[str]] = {}
        for nat in (r for r in resources if r.type in NATS):
            used = {d for d in nat.dependencies if self._type(d) in ADDRESSES}
            for network in self.networks(nat.urn):
                self.addresses_of_network.setdefault(network, set()).update(used)

    def _type(self, urn: str) -> str:
        resource = self.by_urn.get(urn)
        return resource.type if resource else ""

    def networks(self, urn: str) -> set[str]:
        return {u for u in self.graph.ancestors(urn) if self._type(u) in NETWORKS}

    def peer_addresses(self, server: StackResource) -> set[str]:
        """The egress addresses of every network except the API server's own."""
        own = self.networks(server.urn)
        return {a for network, found in self.addresses_of_network.items() if network not in own for a in found}


def _multicluster(resources: Sequence[StackResource]) -> bool:
    return any(
        r.type.startswith("kubernetes:")
        and r.type.endswith(":Secret")
        and str(get(r.props, f"metadata.labels.{REMOTE_SECRET_LABEL}", "")).lower() == "true"
        for r in resources
    )


def _from_peers(resources: Sequence[StackResource]) -> list[Violation]:
    if not _multicluster(resources):
        return []
    egress = _Egress(resources)
    out: list[Violation] = []
    for server in (r for r in resources if r.type in API_SERVERS):
        if public_endpoint(server) and open_to_every_address(server):
            continue
        listed = set(allowlist(server))
        for address in sorted(egress.peer_addresses(server)):
            peer = egress.by_urn[address]
            cidr = address_cidr(peer)
            if address not in server.dependencies or (cidr is not None and listed and cidr not in listed):
                out.append(
                    Violation(
                        f"API server {server.name} does not admit peer egress address {peer.name}"
                        f"{f' ({cidr})' if cidr else ''}: the peer's istiod cannot read its endpoints "
                        "(add every peer's egress addresses to the allowlist)",
                        server.urn,
                    )
                )
            elif not public_endpoint(server):
                out.append(
                    Violation(
                        f"API server {server.name} has no public endpoint: peers in other networks cannot reach it",
                        server.urn,
                    )
                )
    return out


def _from_deployer(resources: Sequence[StackResource]) -> list[Violation]:
    egress = _Egress(resources) if _multicluster(resources) else None
    out: list[Violation] = []
    for server in (r for r in resources if r.type in API_SERVERS):
        if deployer_inside(server):
            if not private_endpoint(server):
                out.append(
                    Violation(
                        f"API server {server.name}: the deployer runs "
                        "inside the network but the private endpoint is off",
                        server.urn,
                    )
                )
            continue
        if public_endpoint(server) and open_to_every_address(server):
            continue
        peers = len(egress.peer_addresses(server)) if egress else 0
        entries = allowlist(server)
        if not public_endpoint(server) or len(entries) <= peers:
            allowed = "only the peers' egress addresses" if entries and public_endpoint(server) else "nobody"
            out.append(
                Violation(
                    f"API server {server.name} admits no deployer: its public endpoint allows {allowed}; "
                    "add meshgate:deployerCidrs or declare meshgate:deployerInsideNetwork: true",
                    server.urn,
                )
            )
    return out


NETWORK_LABEL = "topology.istio.io/network"
REQUESTED_NETWORK_VIEW = "ISTIO_META_REQUESTED_NETWORK_VIEW"
MULTI_PRIMARY_PORTS = {15021, 15443}


def _is_eastwest(props: Mapping[str, Any]) -> bool:
    chart = props.get("chart")
    if not (isinstance(chart, str) and chart.rstrip("/").rsplit("/", 1)[-1] == "gateway"):
        return False
    values = mapping(props.get("values"))
    return bool(values.get("networkGateway")) or REQUESTED_NETWORK_VIEW in mapping(values.get("env"))


def _eastwest_restricted(_: str, props: Mapping[str, Any]) -> list[str]:
    if not _is_eastwest(props):
        return []
    values = mapping(props.get("values"))
    service = mapping(values.get("service"))
    out: list[str] = []
    if values.get("networkGateway"):
        out.append(
            "networkGateway makes the chart expose 15012 (istiod xDS) "
            "and 15017 (webhooks), which multi-primary does not use"
        )
    ports = {int(p) for p in (get(port, "port") for port in items(service.get("ports"))) if isinstance(p, (int, float))}
    extra = sorted(ports - MULTI_PRIMARY_PORTS)
    if extra:
        out.append(
            f"east-west gateway exposes ports {extra}; multi-primary needs only 15443 (and 15021 for health checks)"
        )
    if service.get("type", "LoadBalancer") == "LoadBalancer":
        ranges = items(service.get("loadBalancerSourceRanges"))
        if not ranges or open_to_world(ranges):
            out.append(
                "east-west load balancer admits every source; restrict "
                "loadBalancerSourceRanges to the peers' egress addresses"
            )
    return out


CHECKS: tuple[Check, ...] = (
    Check(
        "istio-eastwest-restricted",
        "East-west gateways expose only 15443 and 15021 and admit only the peers' egress addresses.",
        Level.MANDATORY,
        "Istio multi-primary on different networks (only 15443 crosses networks); meshgate static egress",
        of_types(HELM_RELEASE),
        _eastwest_restricted,
    ),
)


STACK_CHECKS: tuple[StackCheck, ...] = (
    StackCheck(
        "api-server-reachable-from-deployer",
        "Every EKS/GKE API server admits the deployer: listed deployer "
        "CIDRs on its public endpoint, or a declared in-network deployer.",
        Level.MANDATORY,
        "meshgate: `pulumi up` applies Kubernetes objects to the clusters it creates (meshgate:deployerCidrs)",
        _from_deployer,
    ),
    StackCheck(
        "api-server-reachable-from-peers",
        "In a multi-cluster mesh every API server admits every peer network's egress (NAT) addresses.",
        Level.MANDATORY,
        "Istio multi-primary on different networks (remote secrets: "
        "istiod reads each peer's API server); meshgate static egress",
        _from_peers,
    ),
)
