"""EksAutoscaler: the Kubernetes cluster-autoscaler for an EKS cluster's managed node group.

Official chart (`cluster-autoscaler` from https://kubernetes.github.io/autoscaler), pinned, with
the image of the cluster's Kubernetes minor (the autoscaler's version policy: its minor must
match the cluster's). AWS credentials come from EKS Pod Identity (the agent add-on is
installed), never from the node role: the launch templates keep the metadata hop limit at 1.
The policy is the autoscaler's documented one, with the write actions scoped to the ASGs that
carry this cluster's auto-discovery tag, which EKS sets on every managed node group's ASG
(`k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<cluster>=owned`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.clusters.aws_tags import aws_tags
from components.clusters.eks_iam import pod_identity_trust
from components.helm_release import pinned_release

CHART = "cluster-autoscaler"
CHART_REPO = "https://kubernetes.github.io/autoscaler"
CHART_VERSION = "9.59.0"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
HELM_TIMEOUT_SECONDS = 600

READ_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)
WRITE_ACTIONS = ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")


def discovery_tag(cluster: str) -> str:
    """The ASG tag the autoscaler auto-discovers (EKS sets it to `owned` on managed node groups)."""
    return f"k8s.io/cluster-autoscaler/{cluster}"


def autoscaler_policy(cluster: str) -> str:
    """Least privilege: describe anything, change only the ASGs tagged for this cluster."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": list(WRITE_ACTIONS),
                    "Resource": "*",
                    "Condition": {"StringEquals": {f"aws:ResourceTag/{discovery_tag(cluster)}": "owned"}},
                },
            ],
        },
        sort_keys=True,
    )


def autoscaler_values(cluster: str, region: str, kubernetes_version: str) -> dict[str, object]:
    return {
        "cloudProvider": "aws",
        "awsRegion": region,  # set, so the pod never asks the instance metadata service for it
        "autoDiscovery": {"clusterName": cluster},
        "image": {"tag": f"v{kubernetes_version}.0"},
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        "extraArgs": {"balance-similar-node-groups": True},
    }


@dataclass(frozen=True)
class EksAutoscalerArgs:
    """The cluster (name, region, Kubernetes minor), its EKS name output and its Kubernetes provider."""

    cluster: str
    region: str
    kubernetes_version: str
    cluster_name: pulumi.Input[str]
    provider: k8s.Provider


class EksAutoscaler(pulumi.ComponentResource):
    """IAM role for Pod Identity, its association with the autoscaler's ServiceAccount, and the chart."""

    def __init__(self, name: str, args: EksAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:clusters:EksAutoscaler", name, None, opts)
        cluster = args.cluster
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        role = aws.iam.Role(
            f"{cluster}-autoscaler",  # auto-named: the provider adds 8 characters; IAM allows 64
            description=f"meshgate: cluster-autoscaler of EKS cluster {cluster} (EKS Pod Identity)",
            # Only this cluster's kube-system/cluster-autoscaler may assume it (Pod Identity session tags).
            assume_role_policy=pod_identity_trust(cluster, account, NAMESPACE, SERVICE_ACCOUNT),
            tags=aws_tags(cluster, f"{cluster}-autoscaler"),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{cluster}-cluster-autoscaler-policy", role=role.id, policy=autoscaler_policy(cluster), opts=child
        )
        association = aws.eks.PodIdentityAssociation(
            f"{cluster}-cluster-autoscaler-identity",
            cluster_name=args.cluster_name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            role_arn=role.arn,
            tags=aws_tags(cluster, f"{cluster}-cluster-autoscaler-identity"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.release = pinned_release(
            f"{cluster}-cluster-autoscaler",
            release_name=CHART,
            chart=CHART,
            version=CHART_VERSION,
            repo=CHART_REPO,
            namespace=NAMESPACE,
            values=autoscaler_values(cluster, args.region, args.kubernetes_version),
            timeout_seconds=HELM_TIMEOUT_SECONDS,
            # The association first: pods started before it get no credentials.
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[association]),
        )
        self.register_outputs({"roleArn": role.arn})
