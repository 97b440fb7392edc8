"""VPC flow logs of an EKS cluster's VPC into an encrypted CloudWatch log group (CIS AWS Foundations 3.9).

The delivery role trusts `vpc-flow-logs.amazonaws.com` only for flow logs of this account
(`aws:SourceAccount`, `aws:SourceArn`: the confused-deputy guard of the VPC flow logs guide)
and may write only to its log group. Traffic type and aggregation interval come from the
stack's environment (`meshgate:environment`): rejected flows every 10 minutes outside
production, all flows in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.clusters.aws_tags import aws_tags
from components.clusters.eks_iam import assume_role_policy

FLOW_LOGS_PRINCIPAL = "vpc-flow-logs.amazonaws.com"


def flow_log_group_name(cluster: str) -> str:
    return f"/aws/vpc/{cluster}/flow-logs"


@dataclass(frozen=True)
class FlowLogSettings:
    """What is logged and how the log group is kept."""

    traffic_type: str  # ALL | REJECT | ACCEPT
    max_aggregation_interval: int  # 60 or 600 seconds
    retention_days: int
    kms_key_arn: pulumi.Input[str]


def vpc_flow_logs(
    cluster: str,
    vpc_id: pulumi.Input[str],
    settings: FlowLogSettings,
    partition: pulumi.Input[str],
    account: pulumi.Input[str],
    region: str,
    parent: pulumi.Resource,
) -> aws.ec2.FlowLog:
    """The log group, the delivery role and the flow log of `vpc_id`, children of `parent`."""
    child = pulumi.ResourceOptions(parent=parent)
    log_group = aws.cloudwatch.LogGroup(
        f"{cluster}-flow-logs",
        name=flow_log_group_name(cluster),
        retention_in_days=settings.retention_days,
        kms_key_id=settings.kms_key_arn,
        tags=aws_tags(cluster, flow_log_group_name(cluster)),
        opts=child,
    )
    trust = pulumi.Output.all(partition, account).apply(
        lambda v: assume_role_policy(
            FLOW_LOGS_PRINCIPAL,
            ("sts:AssumeRole",),
            {
                "StringEquals": {"aws:SourceAccount": v[1]},
                "ArnLike": {"aws:SourceArn": f"arn:{v[0]}:ec2:{region}:{v[1]}:vpc-flow-log/*"},
            },
        )
    )
    role = aws.iam.Role(
        f"{cluster}-flow-logs-role",
        description=f"meshgate: VPC flow log delivery for cluster {cluster}",
        assume_role_policy=trust,
        tags=aws_tags(cluster, f"{cluster}-flow-logs-role"),
        opts=child,
    )
    write = aws.iam.RolePolicy(
        f"{cluster}-flow-logs-write",
        role=role.id,
        policy=log_group.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:DescribeLogGroups",
                                "logs:DescribeLogStreams",
                                "logs:PutLogEvents",
                            ],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    ],
                },
                sort_keys=True,
            )
        ),
        opts=child,
    )
    return aws.ec2.FlowLog(
        f"{cluster}-flow-log",
        vpc_id=vpc_id,
        traffic_type=settings.traffic_type,
        log_destination_type="cloud-watch-logs",
        log_destination=log_group.arn,
        iam_role_arn=role.arn,
        max_aggregation_interval=settings.max_aggregation_interval,
        tags=aws_tags(cluster, f"{cluster}-flow-log"),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[write]),
    )
