"""EgressAddresses: a cluster's static public egress addresses, created before any cluster.

Every cluster sends its outbound traffic (istiod reading a peer's API server, calls to a
peer's east-west gateway) through NAT with addresses reserved here: Elastic IPs for the
NAT gateways of an EKS VPC, reserved external `gcp.compute.Address`es for a GKE cluster's
Cloud NAT (`MANUAL_ONLY`). They are registered outside the cluster components so that a
peer's API allowlist can list them without waiting for anything else of this cluster: in
the dependency graph, address resources (and the Compute Engine API they need) are the only
edges between clouds, and the clusters themselves are still created in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi

from components.clusters.aws_tags import aws_tags

COMPUTE_API = "compute.googleapis.com"

DEPLOYER_TAG = "meshgate:deployer"
"""EKS tag (GKE resource label `meshgate-deployer`) recording that `pulumi up` reaches the API
server from inside its network; the policy pack's deployer-reachability check reads it."""
DEPLOYER_LABEL = "meshgate-deployer"
INSIDE_NETWORK = "inside-network"

GKE_NAT_ADDRESSES = 1
"""Reserved addresses per GKE Cloud NAT. One address gives 64,512 source ports; at Cloud NAT's
default of 64 ports per VM that serves about 1,000 nodes."""


@dataclass(frozen=True)
class AllowedSource:
    """One entry of a cluster's API allowlist: why it is there (GKE shows it as the display name) and the CIDR."""

    name: str
    cidr: pulumi.Input[str]


def eks_nat_eip_name(cluster: str, index: int) -> str:
    return f"{cluster}-nat-{index}-eip"


def gke_nat_address_name(cluster: str, index: int) -> str:
    return f"{cluster}-nat-{index}"


@dataclass(frozen=True)
class EgressAddressesArgs:
    """Which cluster the addresses are for, on which cloud, how many, and whether to protect them.

    `region`/`project` place a GKE cluster's addresses (the gcp provider supplies defaults).
    """

    cluster: str
    cloud: Literal["aws", "gcp"]
    count: int
    protect: bool
    region: str | None = None
    project: str | None = None


class EgressAddresses(pulumi.ComponentResource):
    """The static egress addresses of one cluster.

    `ids` are what the cluster's NAT takes (EIP allocation ids on AWS, address self links on
    GCP); `cidrs` the same addresses as `/32` CIDRs for a peer's allowlists; `resources`
    the address resources a peer may depend on; `apis` what else a cluster of this cloud must
    wait for (the Compute Engine API on GCP).
    """

    cluster: str
    ids: list[pulumi.Output[str]]
    cidrs: list[pulumi.Output[str]]
    resources: list[pulumi.Resource]
    apis: list[pulumi.Resource]

    def __init__(self, name: str, args: EgressAddressesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:clusters:EgressAddresses", name, None, opts)
        self.cluster = args.cluster
        self.apis = []
        if args.cloud == "aws":
            self._aws(args)
        else:
            self._gcp(args)
        self.register_outputs({"cidrs": self.cidrs})

    def _aws(self, args: EgressAddressesArgs) -> None:
        import pulumi_aws as aws

        cluster = args.cluster
        # These EIPs were children of the cluster's AwsNetwork before they moved here: the alias
        # keeps their URNs, so existing stacks keep their NAT addresses.
        network_urn = pulumi.create_urn(
            f"{cluster}-network",
            "meshgate:clusters:AwsNetwork",
            parent=pulumi.create_urn(cluster, "meshgate:clusters:EksCluster"),
        )
        eips = [
            aws.ec2.Eip(
                eks_nat_eip_name(cluster, i),
                domain="vpc",
                tags=aws_tags(cluster, f"{cluster}-nat-{i}"),
                opts=pulumi.ResourceOptions(
                    parent=self, protect=args.protect, aliases=[pulumi.Alias(parent=network_urn)]
                ),
            )
            for i in range(args.count)
        ]
        self.resources = list(eips)
        self.ids = [eip.allocation_id for eip in eips]
        self.cidrs = [eip.public_ip.apply(lambda ip: f"{ip}/32") for eip in eips]

    def _gcp(self, args: EgressAddressesArgs) -> None:
        import pulumi_gcp as gcp

        cluster = args.cluster
        # The Compute Engine API was enabled by the GkeCluster before it moved here (alias keeps the URN).
        api = gcp.projects.Service(
            f"{cluster}-api-compute",
            project=args.project,
            service=COMPUTE_API,
            disable_on_destroy=False,
            disable_dependent_services=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                aliases=[pulumi.Alias(parent=pulumi.create_urn(cluster, "meshgate:clusters:GkeCluster"))],
            ),
        )
        addresses = [
            gcp.compute.Address(
                gke_nat_address_name(cluster, i),
                name=gke_nat_address_name(cluster, i),
                description=f"meshgate: static Cloud NAT egress address of GKE cluster {cluster}",
                project=args.project,
                region=args.region,
                address_type="EXTERNAL",
                network_tier="PREMIUM",
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[api]),
            )
            for i in range(args.count)
        ]
        self.apis = [api]
        self.resources = list(addresses)
        self.ids = [a.self_link for a in addresses]
        self.cidrs = [a.address.apply(lambda ip: f"{ip}/32") for a in addresses]
