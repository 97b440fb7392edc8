"""IAM for EKS: the cluster service role and the node instance role, with AWS-managed policies.

Trust policies are plain JSON built with `json.dumps(sort_keys=True)`, so they are known at
preview and never diff. Managed-policy ARNs use the account's partition (aws, aws-cn, aws-us-gov).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.clusters.aws_tags import aws_tags

CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
# No AmazonEKS_CNI_Policy on the nodes: every host-network pod could manage ENIs and IPs with it.
# The VPC CNI (aws-node) gets it through its own Pod Identity role (vpc_cni_role).
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
)
CNI_POLICIES = ("AmazonEKS_CNI_Policy",)
VPC_CNI_SERVICE_ACCOUNT = "aws-node"  # kube-system/aws-node, created by the vpc-cni add-on
EBS_CSI_POLICIES = ("service-role/AmazonEBSCSIDriverPolicy",)
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"  # kube-system, created by the aws-ebs-csi-driver add-on
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


def assume_role_policy(
    service: str, actions: Sequence[str] = ("sts:AssumeRole",), conditions: Mapping[str, Any] | None = None
) -> str:
    """A trust policy letting the AWS service principal `service` assume the role (under `conditions`)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": sorted(actions)}
    if conditions:
        statement["Condition"] = dict(conditions)
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def managed_policy_arn(partition: pulumi.Input[str], policy: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(partition).apply(lambda p: f"arn:{p}:iam::aws:policy/{policy}")


@dataclass(frozen=True)
class ServiceRole:
    """A role and its policy attachments (depend on the attachments before using the role)."""

    role: aws.iam.Role
    attachments: list[aws.iam.RolePolicyAttachment]


def service_role(
    cluster: str,
    purpose: str,
    trust_policy: pulumi.Input[str],
    policies: Sequence[str],
    partition: pulumi.Input[str],
    parent: pulumi.Resource,
) -> ServiceRole:
    """Role `<cluster>-<purpose>-role` trusted per `trust_policy`, with the managed `policies` attached."""
    name = f"{cluster}-{purpose}-role"
    role = aws.iam.Role(
        name,
        description=f"meshgate EKS {purpose} role for cluster {cluster}",
        assume_role_policy=trust_policy,
        tags=aws_tags(cluster, name),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.lower().replace('_', '-').replace('/', '-')}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, policy),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for policy in policies
    ]
    return ServiceRole(role=role, attachments=attachments)


def cluster_role(cluster: str, partition: pulumi.Input[str], parent: pulumi.Resource) -> ServiceRole:
    """The EKS control plane's service role (AmazonEKSClusterPolicy)."""
    trust = assume_role_policy("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession"))
    return service_role(cluster, "cluster", trust, CLUSTER_POLICIES, partition, parent)


def node_role(cluster: str, partition: pulumi.Input[str], parent: pulumi.Resource) -> ServiceRole:
    """The worker nodes' instance role (kubelet, Pod Identity agent, ECR pulls, SSM Session Manager instead of SSH)."""
    trust = assume_role_policy("ec2.amazonaws.com")
    return service_role(cluster, "node", trust, NODE_POLICIES, partition, parent)


def pod_identity_trust(
    cluster_name: pulumi.Input[str], account: pulumi.Input[str], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """Trust for EKS Pod Identity as its guide gives it (`pods.eks.amazonaws.com`, AssumeRole and
    TagSession), narrowed with the session tags Pod Identity sets (cluster name, namespace, service
    account) and `aws:SourceAccount`: only that ServiceAccount of that cluster in this account."""
    return pulumi.Output.all(cluster_name, account).apply(
        lambda parts: assume_role_policy(
            POD_IDENTITY_PRINCIPAL,
            ("sts:AssumeRole", "sts:TagSession"),
            {
                "StringEquals": {
                    "aws:SourceAccount": parts[1],
                    "aws:RequestTag/eks-cluster-name": parts[0],
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": service_account,
                }
            },
        )
    )


def pod_identity_role(
    cluster: str,
    purpose: str,
    service_account: str,
    policies: Sequence[str],
    partition: pulumi.Input[str],
    account: pulumi.Input[str],
    parent: pulumi.Resource,
) -> ServiceRole:
    """Role `<cluster>-<purpose>-role` with `policies`, assumable through EKS Pod Identity only by
    kube-system/`service_account` of this cluster (`pod_identity_trust`)."""
    trust = pod_identity_trust(cluster, account, "kube-system", service_account)
    return service_role(cluster, purpose, trust, policies, partition, parent)


def vpc_cni_role(
    cluster: str, partition: pulumi.Input[str], account: pulumi.Input[str], parent: pulumi.Resource
) -> ServiceRole:
    """The VPC CNI's role (AmazonEKS_CNI_Policy) for kube-system/aws-node."""
    return pod_identity_role(cluster, "vpc-cni", VPC_CNI_SERVICE_ACCOUNT, CNI_POLICIES, partition, account, parent)


def ebs_csi_role(
    cluster: str, partition: pulumi.Input[str], account: pulumi.Input[str], parent: pulumi.Resource
) -> ServiceRole:
    """The EBS CSI controller's role (AmazonEBSCSIDriverPolicy) for kube-system/ebs-csi-controller-sa:
    without the driver, EKS (1.23+) provisions no volume for a PersistentVolumeClaim."""
    return pod_identity_role(cluster, "ebs-csi", EBS_CSI_SERVICE_ACCOUNT, EBS_CSI_POLICIES, partition, account, parent)


def kms_use_policy(key_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """Inline policy letting the cluster role use the secrets-encryption key (envelope encryption)."""
    return pulumi.Output.from_input(key_arn).apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants"],
                        "Resource": arn,
                    }
                ],
            },
            sort_keys=True,
        )
    )
