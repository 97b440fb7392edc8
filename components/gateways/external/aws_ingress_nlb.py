"""IngressNlb: an internal Network Load Balancer, owned by Pulumi, in front of the EKS Istio ingress.

The NLB a `LoadBalancer` Service would get is created by a cloud controller, so its listener
ARN (which an API Gateway VPC-link integration needs) is unknown to the program, and
`pulumi destroy` cannot order its deletion. Here Pulumi owns the NLB: the ingress Service is a
NodePort on fixed ports, the node group's Auto Scaling group is attached to an instance target
group, and the node security group admits only the private subnets (where the NLB and the VPC
link live) on the HTTPS and status NodePorts. Only 443 is forwarded, as TCP: TLS passes through
to the ingress, so requests and credentials never cross the VPC in clear. Every resource depends
on the cluster's subnets, so it is deleted before the VPC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.clusters.aws_tags import aws_tags
from components.gateways.external.istio_ingress import NODE_PORTS, STATUS_PORT
from components.naming import bounded_name

HEALTH_PATH = "/healthz/ready"
TLS_PORT = 443
"""The one listener: TLS passthrough to the ingress's HTTPS port (the VPC link verifies its certificate)."""


@dataclass(frozen=True)
class IngressNlbArgs:
    """The EKS cluster's network (VPC, private subnets and their CIDRs), its node security group and Auto
    Scaling groups."""

    cluster: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    private_subnet_cidrs: Sequence[str]
    node_security_group_id: pulumi.Input[str]
    autoscaling_group_names: pulumi.Output[list[str]]


class IngressNlb(pulumi.ComponentResource):
    """Internal NLB with one TCP listener on 443 (TLS passthrough to the ingress's HTTPS NodePort).

    Health checks probe the ingress's readiness endpoint on the status NodePort. A managed
    node group has exactly one Auto Scaling group; it is attached to both target groups.
    """

    load_balancer: aws.lb.LoadBalancer
    listeners: dict[int, aws.lb.Listener]
    dns_name: pulumi.Output[str]

    def __init__(self, name: str, args: IngressNlbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:IngressNlb", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = args.cluster
        # Explicit names (load balancers and target groups: 32 characters), salted with what
        # forces a replacement, so a replacement gets a new name and is created first.
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-nlb",
            name=bounded_name(cluster, "ingress", limit=32, salt="internal/network"),
            internal=True,
            load_balancer_type="network",
            subnets=args.private_subnet_ids,
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=False,
            tags=aws_tags(cluster, f"{cluster}-istio-ingress"),
            opts=child,
        )
        asg = args.autoscaling_group_names.apply(lambda names: names[0])
        self.listeners = {}
        for port in (TLS_PORT,):
            node_port = NODE_PORTS[port]
            group = aws.lb.TargetGroup(
                f"{name}-tg-{port}",
                name=bounded_name(cluster, "ingress", str(port), limit=32, salt=f"{node_port}/TCP/instance"),
                port=node_port,
                protocol="TCP",
                target_type="instance",
                vpc_id=args.vpc_id,
                deregistration_delay=30,
                connection_termination=True,
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    enabled=True,
                    protocol="HTTP",
                    port=str(NODE_PORTS[STATUS_PORT]),
                    path=HEALTH_PATH,
                    healthy_threshold=2,
                    unhealthy_threshold=2,
                    interval=10,
                ),
                tags=aws_tags(cluster, f"{cluster}-istio-ingress-{port}"),
                opts=child,
            )
            aws.autoscaling.Attachment(
                f"{name}-asg-{port}", autoscaling_group_name=asg, lb_target_group_arn=group.arn, opts=child
            )
            self.listeners[port] = aws.lb.Listener(
                f"{name}-listener-{port}",
                load_balancer_arn=self.load_balancer.arn,
                port=port,
                protocol="TCP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=group.arn)],
                tags=aws_tags(cluster, f"{cluster}-istio-ingress-{port}"),
                opts=child,
            )
        # Client IP preservation (instance targets): the nodes see the VPC link's addresses, and the
        # NLB's own for health checks; both live in the private subnets, so only those are admitted.
        for port in (TLS_PORT, STATUS_PORT):
            node_port = NODE_PORTS[port]
            for index, cidr in enumerate(args.private_subnet_cidrs):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-nodeport-{node_port}-private-{index}",
                    security_group_id=args.node_security_group_id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=node_port,
                    to_port=node_port,
                    description=(
                        f"private subnet {cidr} (internal NLB, VPC link) to the Istio ingress NodePort for port {port}"
                    ),
                    tags=aws_tags(cluster, f"{cluster}-istio-ingress-nodeport-{node_port}"),
                    opts=child,
                )
        self.dns_name = self.load_balancer.dns_name
        self.register_outputs(
            {"dnsName": self.dns_name, "listenerArns": {str(p): listener.arn for p, listener in self.listeners.items()}}
        )
