"""Safe teardown: everything that owns a cloud load balancer is deleted before the network under it.

A LoadBalancer Service makes the cloud controller create an NLB/ELB (AWS) or forwarding
rules, backend services and firewall rules (GCP) that Pulumi does not see. While they
exist, their subnets, internet gateway and VPC cannot be deleted. The engine deletes a
resource before everything it depends on, so the check is: each load-balancer owner
depends on every piece of the cluster network it touches (VPC, subnets, NAT and internet
gateways; network, subnetwork, router, Cloud NAT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Mapping

from .graph import Graph
from .model import HELM_RELEASE, Level, StackCheck, StackResource, Violation, api_group, get, kubernetes_kind
from .istio import GATEWAY_API, is_gateway_release

NETWORK_ROOTS = ("aws:ec2/vpc:Vpc", "gcp:compute/network:Network")
NETWORK_PARTS = NETWORK_ROOTS + (
    "aws:ec2/subnet:Subnet",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
    "gcp:compute/subnetwork:Subnetwork",
    "gcp:compute/router:Router",
    "gcp:compute/routerNat:RouterNat",
)
CLOUD_LOAD_BALANCERS = (
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:alb/loadBalancer:LoadBalancer",
    "aws:elb/loadBalancer:LoadBalancer",
    "aws:apigatewayv2/vpcLink:VpcLink",
    "aws:apigateway/vpcLink:VpcLink",
    "gcp:compute/forwardingRule:ForwardingRule",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule",
    "gcp:compute/networkEndpointGroup:NetworkEndpointGroup",
)
_NOT_LB = ("ClusterIP", "NodePort")
# Where the charts that run gateways take their Service type (default LoadBalancer):
# Istio `gateway` (service.type), kong/kong (proxy.type), kong/ingress (gateway.proxy.type).
_CHART_SERVICE_TYPES = ("service.type", "proxy.type", "gateway.proxy.type")


def owns_load_balancer(r: StackResource) -> bool:
    """Whether deleting `r` deletes a cloud load balancer (directly or through a cloud controller)."""
    if r.type in CLOUD_LOAD_BALANCERS:
        return True
    props: Mapping[str, Any] = r.props
    if kubernetes_kind(r.type) == "Service" and api_group(r.type) == "core":
        return get(props, "spec.type") == "LoadBalancer"
    if r.type == HELM_RELEASE and is_gateway_release(props):
        types = [get(props, f"values.{path}") for path in _CHART_SERVICE_TYPES]
        return not any(t in _NOT_LB for t in types)
    if kubernetes_kind(r.type) == "Gateway" and api_group(r.type) == GATEWAY_API:
        return get(props, "metadata.annotations", {}).get("networking.istio.io/service-type") not in _NOT_LB
    return False


def network_groups(resources: Sequence[StackResource], graph: Graph) -> dict[str, list[StackResource]]:
    """Network pieces grouped by the VPC/network they belong to (root URN -> members, root included)."""
    roots = [r for r in resources if r.type in NETWORK_ROOTS]
    groups: dict[str, list[StackResource]] = {root.urn: [root] for root in roots}
    for r in resources:
        if r.type in NETWORK_PARTS and r.type not in NETWORK_ROOTS:
            for root in roots:
                if graph.depends_on(r.urn, root.urn):
                    groups[root.urn].append(r)
    return groups


def teardown_gaps(resources: Sequence[StackResource]) -> list[Violation]:
    """Load-balancer owners that do not depend on all of a network they touch."""
    graph = Graph(resources)
    groups = network_groups(resources, graph)
    out: list[Violation] = []
    for owner in resources:
        if not owns_load_balancer(owner):
            continue
        ancestors = graph.ancestors(owner.urn)
        for root, members in sorted(groups.items()):
            if not any(m.urn in ancestors for m in members):
                continue
            missing = sorted(m.name for m in members if m.urn not in ancestors)
            if missing:
                out.append(
                    Violation(
                        f"{owner.type} {owner.name} owns a cloud load balancer but does not depend on "
                        f"{', '.join(missing)}: destroy could delete them first and fail on the load balancer's ENIs/IPs",
                        owner.urn,
                    )
                )
    return out


STACK_CHECKS: tuple[StackCheck, ...] = (
    StackCheck(
        "teardown-load-balancers-before-network",
        "Every load-balancer owner (LoadBalancer Service, gateway release, Gateway API Gateway, NLB, VPC link) depends on its whole cluster network.",
        Level.MANDATORY,
        "pulumi-eks #194/#382 (destroy blocked by ELBs); DESIGN.md §4 reliability pitfalls",
        teardown_gaps,
    ),
)
