"""The VPC a private GKE cluster lives in: network, subnetwork with pod/service ranges, Cloud NAT.

Address plan, carved deterministically from the cluster's `vpcCidr` (any /16 to /20):

    lower half, first quarter   -> nodes     (subnetwork primary range)     10.20.0.0/18   for 10.20.0.0/16
    lower half, second quarter  -> services  (secondary range `services`)   10.20.64.0/18
    upper half                  -> pods      (secondary range `pods`)       10.20.128.0/17

Private nodes have no external IPs: Cloud Router + Cloud NAT give them egress (image pulls
from registries outside Google), Private Google Access covers Google APIs. Cloud NAT uses
only the static addresses reserved before the cluster (`MANUAL_ONLY`, see
`components/clusters/egress.py`), so peers can allow them by address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class GkeRanges:
    """The three non-overlapping ranges of a VPC-native GKE subnetwork."""

    nodes: str
    services: str
    pods: str


def carve_ranges(vpc_cidr: str) -> GkeRanges:
    """Split `vpc_cidr` (/16–/20) into node, service and pod ranges (see the module docstring)."""
    net = ipaddress.IPv4Network(vpc_cidr, strict=True)
    if not 16 <= net.prefixlen <= 20:
        raise ValueError(f"vpcCidr {vpc_cidr} must be between /16 and /20")
    lower, pods = net.subnets(prefixlen_diff=1)
    nodes, services = lower.subnets(prefixlen_diff=1)
    return GkeRanges(nodes=str(nodes), services=str(services), pods=str(pods))


@dataclass(frozen=True)
class GkeNetwork:
    """The network resources a GkeCluster builds on."""

    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork
    router: gcp.compute.Router
    nat: gcp.compute.RouterNat
    ranges: GkeRanges


def create_network(
    name: str,
    region: str,
    vpc_cidr: str,
    parent: pulumi.Resource,
    protect: bool,
    nat_addresses: Sequence[pulumi.Input[str]],
    depends_on: Sequence[pulumi.Resource] = (),
    flow_sampling: float = 0.1,
    flow_interval: str = "INTERVAL_5_MIN",
) -> GkeNetwork:
    """Create the custom-mode VPC, the regional subnetwork and Cloud NAT as children of `parent`.

    `nat_addresses` are the self links of the reserved egress addresses Cloud NAT uses;
    `depends_on` are the resources the network waits for (the Compute Engine API);
    `flow_sampling` and `flow_interval` size the subnetwork's flow logs (the environment's defaults).
    """
    ranges = carve_ranges(vpc_cidr)
    protected = pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=list(depends_on))

    network = gcp.compute.Network(
        f"{name}-net",
        name=f"{name}-net",
        description=f"meshgate: VPC of GKE cluster {name}",
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
        opts=protected,
    )
    subnetwork = gcp.compute.Subnetwork(
        f"{name}-subnet",
        name=f"{name}-subnet",
        description=f"meshgate: nodes, pods and services of GKE cluster {name}",
        network=network.id,
        region=region,
        ip_cidr_range=ranges.nodes,
        secondary_ip_ranges=[
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=ranges.pods),
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE, ip_cidr_range=ranges.services),
        ],
        private_ip_google_access=True,
        stack_type="IPV4_ONLY",
        log_config=gcp.compute.SubnetworkLogConfigArgs(
            aggregation_interval=flow_interval,
            flow_sampling=flow_sampling,
            metadata="INCLUDE_ALL_METADATA",
        ),
        opts=protected,
    )
    unprotected = pulumi.ResourceOptions(parent=parent)
    router = gcp.compute.Router(
        f"{name}-router",
        name=f"{name}-router",
        description=f"meshgate: Cloud NAT router of GKE cluster {name}",
        network=network.id,
        region=region,
        opts=unprotected,
    )
    nat = gcp.compute.RouterNat(
        f"{name}-nat",
        name=f"{name}-nat",
        router=router.name,
        region=region,
        nat_ip_allocate_option="MANUAL_ONLY",
        nat_ips=list(nat_addresses),
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
        opts=unprotected,
    )
    return GkeNetwork(network=network, subnetwork=subnetwork, router=router, nat=nat, ranges=ranges)
