"""AwsNetwork: the VPC an EKS cluster runs in (subnets per AZ, internet and NAT gateways, routes).

Subnet carve (deterministic, from the VPC CIDR alone, see `carve_subnets`): the VPC is cut
into four quarters (prefix +2). Quarters 0–2 are the private subnets of AZ 0–2 — large,
because the VPC CNI gives every pod a VPC address. Quarter 3 is cut into four (prefix +4
of the VPC): blocks 0–2 are the public subnets of AZ 0–2 (load balancers and NAT
gateways only), block 3 stays free. For 10.10.0.0/16: private 10.10.0.0/18,
10.10.64.0/18, 10.10.128.0/18; public 10.10.192.0/20, 10.10.208.0/20, 10.10.224.0/20.
Adding a third AZ later never moves the subnets of the first two.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.clusters.aws_tags import aws_tags

MAX_AZS = 3

# Zone IDs in which EKS cannot place control-plane ENIs (UnsupportedAvailabilityZoneException).
# Zone IDs, unlike zone names, are the same in every account.
EKS_UNSUPPORTED_ZONE_IDS = ("use1-az3", "usw1-az2", "cac1-az3")

ELB_ROLE_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class SubnetPlan:
    """The two subnets of one availability zone."""

    az_index: int
    private: str
    public: str


def carve_subnets(vpc_cidr: str, az_count: int) -> list[SubnetPlan]:
    """Private and public subnet CIDRs for the first `az_count` AZs (see the module docstring)."""
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"az_count must be between 1 and {MAX_AZS}, got {az_count}")
    vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    quarters = list(vpc.subnets(prefixlen_diff=2))
    public_blocks = list(quarters[3].subnets(prefixlen_diff=2))
    return [SubnetPlan(i, str(quarters[i]), str(public_blocks[i])) for i in range(az_count)]


def cluster_discovery_tag(cluster: str) -> str:
    """The tag that lets Kubernetes load-balancer controllers use a subnet for `cluster`."""
    return f"kubernetes.io/cluster/{cluster}"


@dataclass(frozen=True)
class AwsNetworkArgs:
    """What the network is for: the cluster it is tagged for, its CIDR, its AZ count.

    `nat_allocation_ids`: the Elastic IPs (`EgressAddresses`, created before the cluster) the
    NAT gateways use, one per NAT gateway: one per AZ, or one in AZ 0 that every AZ routes through.
    """

    cluster_name: str
    cidr: str
    az_count: int
    protect: bool
    nat_allocation_ids: Sequence[pulumi.Input[str]]


def _zone(names: list[str], index: int, wanted: int) -> str:
    if len(names) < wanted:
        raise ValueError(
            f"the region offers only {len(names)} EKS-capable availability zones ({', '.join(names)}); "
            f"availabilityZones asks for {wanted}"
        )
    return names[index]


class AwsNetwork(pulumi.ComponentResource):
    """A VPC over N AZs: public subnets (IGW, one NAT gateway per AZ on a given static EIP) and private subnets
    routed through their AZ's NAT.

    The default security group is emptied, DNS support and hostnames are on (required by the
    EKS private endpoint). Subnets carry the Kubernetes load-balancer discovery tags.
    """

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    availability_zones: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    private_subnet_cidrs: list[str]

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:clusters:AwsNetwork", name, None, opts)
        cluster = args.cluster_name
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)
        plans = carve_subnets(args.cidr, args.az_count)
        self.private_subnet_cidrs = [plan.private for plan in plans]
        discovery = {cluster_discovery_tag(cluster): "shared"}

        zones = aws.get_availability_zones_output(
            state="available",
            exclude_zone_ids=list(EKS_UNSUPPORTED_ZONE_IDS),
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )

        vpc = aws.ec2.Vpc(
            f"{cluster}-vpc",
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=aws_tags(cluster, f"{cluster}-vpc"),
            opts=protected,
        )
        aws.ec2.DefaultSecurityGroup(
            f"{cluster}-default-sg",
            vpc_id=vpc.id,
            tags=aws_tags(cluster, f"{cluster}-default-sg-unused"),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{cluster}-igw", vpc_id=vpc.id, tags=aws_tags(cluster, f"{cluster}-igw"), opts=protected
        )
        public_rt = aws.ec2.RouteTable(
            f"{cluster}-public-rt", vpc_id=vpc.id, tags=aws_tags(cluster, f"{cluster}-public"), opts=child
        )
        aws.ec2.Route(
            f"{cluster}-public-default-route",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        public: list[aws.ec2.Subnet] = []
        private: list[aws.ec2.Subnet] = []
        az_names: list[pulumi.Output[str]] = []
        nats: list[aws.ec2.NatGateway] = []
        for plan in plans:
            i = plan.az_index
            az = zones.names.apply(lambda names, i=i: _zone(list(names), i, args.az_count))
            az_names.append(az)
            pub = aws.ec2.Subnet(
                f"{cluster}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=plan.public,
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags=aws_tags(cluster, f"{cluster}-public-{i}", {**discovery, ELB_ROLE_TAG: "1"}),
                opts=protected,
            )
            aws.ec2.RouteTableAssociation(
                f"{cluster}-public-{i}-rta", subnet_id=pub.id, route_table_id=public_rt.id, opts=child
            )
            if i < len(args.nat_allocation_ids):
                nats.append(
                    aws.ec2.NatGateway(
                        f"{cluster}-nat-{i}",
                        allocation_id=args.nat_allocation_ids[i],
                        subnet_id=pub.id,
                        connectivity_type="public",
                        tags=aws_tags(cluster, f"{cluster}-nat-{i}"),
                        opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[igw]),
                    )
                )
            # One NAT per AZ keeps each AZ's egress in the AZ; a single NAT (non-production) serves all.
            nat = nats[i] if i < len(nats) else nats[0]
            priv = aws.ec2.Subnet(
                f"{cluster}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=plan.private,
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags=aws_tags(cluster, f"{cluster}-private-{i}", {**discovery, INTERNAL_ELB_ROLE_TAG: "1"}),
                opts=protected,
            )
            private_rt = aws.ec2.RouteTable(
                f"{cluster}-private-{i}-rt",
                vpc_id=vpc.id,
                tags=aws_tags(cluster, f"{cluster}-private-{i}"),
                opts=child,
            )
            aws.ec2.Route(
                f"{cluster}-private-{i}-default-route",
                route_table_id=private_rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{cluster}-private-{i}-rta", subnet_id=priv.id, route_table_id=private_rt.id, opts=child
            )
            public.append(pub)
            private.append(priv)

        self.vpc = vpc
        self.vpc_id = vpc.id
        self.vpc_cidr = args.cidr
        self.availability_zones = pulumi.Output.all(*az_names).apply(lambda names: [str(n) for n in names])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public]).apply(lambda ids: [str(i) for i in ids])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private]).apply(lambda ids: [str(i) for i in ids])
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "availabilityZones": self.availability_zones,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )
