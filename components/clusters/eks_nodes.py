"""EksNodeGroup: the managed node group, its launch template and its security group."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.clusters.aws_tags import aws_tags

# Ports the control plane (EKS cluster security group) must reach on the nodes
# (Istio's: docs/upstream-facts.md#istio-ports-and-webhook-reachability).
CONTROL_PLANE_TO_NODE_PORTS: dict[int, str] = {
    443: "webhooks and extension API servers on 443",
    10250: "kubelet API (logs, exec, metrics)",
    10251: "metrics API served by the metrics-server EKS add-on",
    15012: "istiod xDS / CA",
    15017: "istiod sidecar-injection and validation webhooks",
}

ROOT_DEVICE = "/dev/xvda"  # root volume of the EKS-optimized Amazon Linux 2023 AMIs


def ami_type(instance_type: str) -> str:
    """The EKS Amazon Linux 2023 AMI type for `instance_type` (Graviton families carry a `g`: m7g, c6gn, t4g)."""
    family = instance_type.split(".", 1)[0]
    match = re.fullmatch(r"[a-z]+\d+([a-z]*)(-flex)?", family)
    arm = bool(match and "g" in match.group(1))
    return "AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD"


@dataclass(frozen=True)
class EksNodes:
    """Size and shape of an EKS managed node group."""

    instance_type: str
    """EC2 instance type, e.g. m6i.large (a Graviton type such as m7g.large selects the ARM AMI)."""
    min: int
    """Fewest nodes (also the desired size at creation)."""
    max: int
    """Most nodes the autoscaler may run."""
    disk_size_gb: int = 50
    """Root volume size (gp3, encrypted)."""


@dataclass(frozen=True)
class EksNodeGroupArgs:
    """Where the nodes join (cluster, its security group, VPC, subnets), as whom, and how many."""

    cluster: str
    cluster_name: pulumi.Input[str]
    kubernetes_version: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    node_role_arn: pulumi.Input[str]
    nodes: EksNodes
    protect: bool
    depends_on: Sequence[pulumi.Resource] = ()  # role policy attachments, add-ons needed before nodes


class EksNodeGroup(pulumi.ComponentResource):
    """A managed node group on a hardened launch template.

    IMDSv2 only with hop limit 1 (pods cannot borrow the node role), encrypted gp3 root
    volume, nodes in private subnets, no SSH (use SSM Session Manager). Nodes carry the EKS
    cluster security group (control plane <-> nodes, load balancers) and a dedicated node
    security group: all traffic between nodes, the control plane on 443/10250/10251/15012/15017,
    all egress, nothing from anywhere else.
    """

    security_group: aws.ec2.SecurityGroup
    launch_template: aws.ec2.LaunchTemplate
    node_group: aws.eks.NodeGroup
    autoscaling_group_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: EksNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:clusters:EksNodeGroup", name, None, opts)
        cluster = args.cluster
        child = pulumi.ResourceOptions(parent=self)

        sg = aws.ec2.SecurityGroup(
            f"{cluster}-node-sg",
            description=f"meshgate: worker nodes of EKS cluster {cluster}",
            vpc_id=args.vpc_id,
            revoke_rules_on_delete=True,
            tags=aws_tags(cluster, f"{cluster}-node"),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{cluster}-node-from-nodes",
            security_group_id=sg.id,
            referenced_security_group_id=sg.id,
            ip_protocol="-1",
            description="node to node, all protocols (pods, DNS, Istio data plane)",
            opts=child,
        )
        for port, why in CONTROL_PLANE_TO_NODE_PORTS.items():
            aws.vpc.SecurityGroupIngressRule(
                f"{cluster}-node-from-control-plane-{port}",
                security_group_id=sg.id,
                referenced_security_group_id=args.cluster_security_group_id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"control plane to nodes: {why}",
                opts=child,
            )
        aws.vpc.SecurityGroupEgressRule(
            f"{cluster}-node-egress",
            security_group_id=sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="-1",
            description="all egress (image pulls, AWS APIs, other clusters of the mesh) via NAT",
            opts=child,
        )

        node_tags = aws_tags(cluster, f"{cluster}-node")
        template = aws.ec2.LaunchTemplate(
            f"{cluster}-node-template",
            description=f"meshgate: hardened nodes of EKS cluster {cluster}",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.nodes.disk_size_gb,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            # Setting security groups here replaces the ones EKS would attach: include the
            # cluster security group, or nodes cannot talk to the control plane.
            vpc_security_group_ids=[args.cluster_security_group_id, sg.id],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=node_tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            tags=aws_tags(cluster, f"{cluster}-node-template"),
            opts=child,
        )

        nodes = args.nodes
        node_group = aws.eks.NodeGroup(
            f"{cluster}-nodes",
            cluster_name=args.cluster_name,
            version=args.kubernetes_version,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            ami_type=ami_type(nodes.instance_type),
            capacity_type="ON_DEMAND",
            instance_types=[nodes.instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=nodes.min, max_size=nodes.max, desired_size=nodes.min
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={"meshgate.io/cluster": cluster},
            tags=aws_tags(cluster, f"{cluster}-nodes"),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=list(args.depends_on),
                # A cluster autoscaler owns the current size; Pulumi owns the bounds.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

        self.security_group = sg
        self.launch_template = template
        self.node_group = node_group
        self.autoscaling_group_names = node_group.resources.apply(
            lambda resources: [
                asg.name for r in resources for asg in (r.autoscaling_groups or []) if asg.name is not None
            ]
        )
        self.register_outputs(
            {
                "nodeGroupName": node_group.node_group_name,
                "nodeSecurityGroupId": sg.id,
                "autoscalingGroupNames": self.autoscaling_group_names,
            }
        )
