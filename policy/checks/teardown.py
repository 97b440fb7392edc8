"""Safe teardown: everything that owns a cloud load balancer is deleted before the network under it.

The engine deletes a resource before everything it depends on, so the checks are on the
dependency graph:

* Controller-owned load balancers: a LoadBalancer Service (directly, or inside a gateway
  chart release or a Gateway API Gateway) makes the cloud controller create an NLB/ELB
  (AWS) or forwarding rules, backend services and firewall rules (GCP) that Pulumi does
  not see, in subnets the controller picks. While they exist, subnets, the internet
  gateway (public IPs) and the VPC/network cannot be deleted. Such an owner must depend on
  every piece of the cluster network it touches (VPC, subnets, NAT and internet gateways;
  network, subnetwork, router, Cloud NAT).
* Program-owned load balancers (aws.lb, VPC links, forwarding rules): Pulumi knows their
  subnets, which are already dependencies. They must depend on the VPC/network too and,
  when internet-facing, on the internet gateway whose detachment their public IPs block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .graph import Graph
from .istio import GATEWAY_API, is_gateway_release
from .model import (
    HELM_RELEASE,
    Level,
    StackCheck,
    StackResource,
    Violation,
    api_group,
    get,
    is_true,
    kubernetes_kind,
    mapping,
)

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


INTERNET_GATEWAYS = ("aws:ec2/internetGateway:InternetGateway",)


def owns_load_balancer(r: StackResource) -> bool:
    """Whether deleting `r` deletes a cloud load balancer (directly or through a cloud controller)."""
    return r.type in CLOUD_LOAD_BALANCERS or controller_owns_load_balancer(r)


def internet_facing(r: StackResource) -> bool:
    """A program-owned AWS load balancer with public addresses (internal unset means internet-facing)."""
    return r.type in (
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:alb/loadBalancer:LoadBalancer",
        "aws:elb/loadBalancer:LoadBalancer",
    ) and not is_true(r.props.get("internal"))


def controller_owns_load_balancer(r: StackResource) -> bool:
    """Whether a Kubernetes object makes a cloud controller create a load balancer Pulumi does not see."""
    props: Mapping[str, Any] = r.props
    if kubernetes_kind(r.type) == "Service" and api_group(r.type) == "core":
        return get(props, "spec.type") == "LoadBalancer"
    if r.type == HELM_RELEASE and is_gateway_release(props):
        types = [get(props, f"values.{path}") for path in _CHART_SERVICE_TYPES]
        return not any(t in _NOT_LB for t in types)
    if kubernetes_kind(r.type) == "Gateway" and api_group(r.type) == GATEWAY_API:
        return mapping(get(props, "metadata.annotations")).get("networking.istio.io/service-type") not in _NOT_LB
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


def required(owner: StackResource, members: Sequence[StackResource]) -> list[StackResource]:
    """The pieces of one network `owner` must depend on (see the module docstring)."""
    if controller_owns_load_balancer(owner):
        return list(members)
    needed = [m for m in members if m.type in NETWORK_ROOTS]
    if internet_facing(owner):
        needed += [m for m in members if m.type in INTERNET_GATEWAYS]
    return needed


def teardown_gaps(resources: Sequence[StackResource]) -> list[Violation]:
    """Load-balancer owners that do not depend on the pieces of a network they touch."""
    graph = Graph(resources)
    groups = network_groups(resources, graph)
    out: list[Violation] = []
    for owner in resources:
        if not owns_load_balancer(owner):
            continue
        ancestors = graph.ancestors(owner.urn)
        for _root, members in sorted(groups.items()):
            if not any(m.urn in ancestors for m in members):
                continue
            missing = sorted(m.name for m in required(owner, members) if m.urn not in ancestors)
            if missing:
                out.append(
                    Violation(
                        f"{owner.type} {owner.name} owns a cloud load balancer but does not depend on "
                        f"{', '.join(missing)}: destroy could delete them "
                        "first and fail on the load balancer's ENIs/IPs",
                        owner.urn,
                    )
                )
    return out


STACK_CHECKS: tuple[StackCheck, ...] = (
    StackCheck(
        "teardown-load-balancers-before-network",
        "Load-balancer owners are deleted before their network: controller-owned ones (LoadBalancer "
        "Services, gateway releases, Gateway API Gateways) depend on the whole cluster network, "
        "program-owned ones (NLB, VPC link) on its VPC and, if public, its internet gateway.",
        Level.MANDATORY,
        "pulumi-eks #194/#382 (destroy blocked by ELBs); docs/upstream-facts.md#teardown-and-state",
        teardown_gaps,
    ),
)
