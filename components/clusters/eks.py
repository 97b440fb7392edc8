"""EksCluster: a hardened EKS cluster in its own VPC, exposed through an exec-auth kubeconfig.

Built from: `AwsNetwork` (aws_network.py: VPC, subnets, NAT), IAM roles (eks_iam.py), a KMS
key for secrets envelope encryption, the control-plane log group, the EKS cluster with
access entries, `EksNodeGroup` (eks_nodes.py: launch template, node security group, managed
node group), the core add-ons and the IAM OIDC provider for IRSA.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.clusters.aws_flow_logs import FlowLogSettings, vpc_flow_logs
from components.clusters.aws_kms import logs_key_policy, secrets_key_policy
from components.clusters.aws_network import AwsNetwork, AwsNetworkArgs
from components.clusters.aws_tags import aws_tags
from components.clusters.cost_defaults import LOW_COST, EnvironmentDefaults
from components.clusters.egress import DEPLOYER_TAG, INSIDE_NETWORK
from components.clusters.eks_iam import (
    EBS_CSI_SERVICE_ACCOUNT,
    VPC_CNI_SERVICE_ACCOUNT,
    cluster_role,
    ebs_csi_role,
    kms_use_policy,
    node_role,
    vpc_cni_role,
)
from components.clusters.eks_nodes import EksNodeGroup, EksNodeGroupArgs, EksNodes
from components.clusters.handle import Cloud
from components.clusters.kubeconfig import ExecAuth, exec_kubeconfig

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
LOG_RETENTION_DAYS = 90
# Log groups under these prefixes may use the cluster's logs key (control plane, flow logs, API Gateway access logs).
LOG_GROUP_PREFIXES = ("/aws/eks/{cluster}/", "/aws/vpc/{cluster}/", "/aws/apigateway/")
# DaemonSets that nodes need (networking, service proxy, pod identity) go in before the nodes;
# CoreDNS is a Deployment and only becomes healthy once nodes exist.
ADDONS_BEFORE_NODES = ("eks-pod-identity-agent", "kube-proxy", "vpc-cni")
# metrics-server: the EKS community add-on (add-on name `metrics-server`, serves on 10251), what
# HorizontalPodAutoscalers (the gateways' and Istio's) read CPU from; without it they never scale.
# aws-ebs-csi-driver: provisions EBS volumes for PersistentVolumeClaims (Prometheus, Tempo of
# meshgate:observability); EKS has no in-tree volume provisioning since 1.23.
ADDONS_AFTER_NODES = ("coredns", "metrics-server", "aws-ebs-csi-driver")
ADDON_CONFIGURATION = {"vpc-cni": json.dumps({"enableNetworkPolicy": "true"})}
"""The VPC CNI enforces Kubernetes NetworkPolicy only when its network policy agent is enabled
(e.g. the policy that keeps Kong's admin port to the ingress controller)."""
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
AWS_CLI_HINT = (
    "meshgate's EKS kubeconfig runs `aws eks get-token`: install the AWS CLI v2 "
    "(https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) "
    "and sign in with an identity that has an EKS access entry."
)


@dataclass(frozen=True)
class EksClusterArgs:
    """What one EKS cluster is: where, how big, who administers it, what its API endpoint admits."""

    region: str
    """AWS region, e.g. us-east-1 (also the region of `aws eks get-token` in the kubeconfig)."""
    vpc_cidr: str
    """The VPC's private range (/16-/20), carved into public and private subnets per zone."""
    network: str
    """Istio network name of the cluster (`topology.istio.io/network`)."""
    kubernetes_version: str
    """EKS Kubernetes version of the control plane and the node group, e.g. 1.33."""
    nodes: EksNodes
    """The managed node group's instance type and size."""
    nat_allocation_ids: Sequence[pulumi.Input[str]]
    """The cluster's static egress EIPs (`EgressAddresses`), one per NAT gateway (one in total, or one per AZ)."""
    protect: bool = False
    """Protect the long-lived resources (VPC, cluster, KMS key) from `pulumi destroy`."""
    availability_zones: int = 2
    """Zones the subnets and nodes span (2-3)."""
    admin_principal_arns: Sequence[str] = ()
    """IAM roles/users given cluster-admin access entries (an assumed-role session ARN is resolved to its role)."""
    api_allowlist: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """Every CIDR the public API endpoint admits (configured CIDRs, the deployer's, peers' egress addresses);
    empty = private endpoint only."""
    defaults: EnvironmentDefaults = LOW_COST
    """Cost defaults: KMS deletion window, flow-log traffic and aggregation."""
    deployer_inside_network: bool = False
    """`pulumi up` reaches the private endpoint (tagged `meshgate:deployer=inside-network` for the policy pack)."""


def access_entry_slug(principal_arn: str) -> str:
    """A stable resource-name fragment for an IAM principal: its last path segment plus a short hash."""
    tail = principal_arn.rsplit("/", 1)[-1].lower()
    tail = re.sub(r"[^a-z0-9-]+", "-", tail).strip("-")[:32] or "principal"
    return f"{tail}-{hashlib.sha256(principal_arn.encode()).hexdigest()[:8]}"


ASSUMED_ROLE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+$")


def principal_arn(arn: str, parent: pulumi.Resource) -> pulumi.Input[str]:
    """The IAM ARN an access entry needs for a configured admin principal.

    An assumed-role session ARN (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, what
    `aws sts get-caller-identity` prints under SSO or CI) names no IAM principal; its role's
    ARN may carry a path the session ARN omits (`role/aws-reserved/sso.amazonaws.com/ROLE`),
    so the role is looked up (`iam:GetRole`, in the cluster's account) instead of rebuilt.
    """
    match = ASSUMED_ROLE.match(arn)
    if match is None:
        return arn
    role = aws.iam.get_role_output(name=match["role"], opts=pulumi.InvokeOutputOptions(parent=parent))
    return role.arn


def eks_exec_auth(cluster: str, region: str) -> ExecAuth:
    """Kubeconfig credentials from `aws eks get-token` (short-lived tokens minted per call, never stored)."""
    return ExecAuth(
        "aws",
        ("eks", "get-token", "--cluster-name", cluster, "--region", region, "--output", "json"),
        install_hint=AWS_CLI_HINT,
    )


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster (API auth mode, KMS-encrypted secrets, all control-plane logs, restricted endpoint) and its nodes.

    Exposes the cluster-handle surface (`cloud`, `network`, `kubeconfig`, `api_server`,
    `ca_data`) plus what an AWS-side gateway needs: VPC, subnets, security groups, node group.
    """

    cloud: Cloud = "aws"
    network: str
    kubeconfig: pulumi.Output[str]
    api_server: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    private_subnet_ids: pulumi.Output[list[str]]
    private_subnet_cidrs: list[str]
    public_subnet_ids: pulumi.Output[list[str]]
    cluster_security_group_id: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    node_group: aws.eks.NodeGroup
    autoscaling_group_names: pulumi.Output[list[str]]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    logs_key_arn: pulumi.Output[str]  # KMS key for log groups under /aws/apigateway/ (API access logs)

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:clusters:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        network = AwsNetwork(
            f"{name}-network",
            AwsNetworkArgs(
                cluster_name=name,
                cidr=args.vpc_cidr,
                az_count=args.availability_zones,
                protect=args.protect,
                nat_allocation_ids=args.nat_allocation_ids,
            ),
            child,
        )

        # Secrets envelope encryption and control-plane logs exist before the cluster. Both keys
        # carry explicit key policies (components/clusters/aws_kms.py): no root kms:*.
        control_role = cluster_role(name, partition, self)
        deletion_window = args.defaults.kms_deletion_window_days
        key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"meshgate: envelope encryption of Kubernetes secrets in EKS cluster {name}",
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window,
            policy=secrets_key_policy(partition, account, control_role.role.arn),
            tags=aws_tags(name, f"{name}-secrets-key"),
            opts=protected,
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias", name=f"alias/meshgate/{name}/eks-secrets", target_key_id=key.key_id, opts=child
        )
        logs_key = aws.kms.Key(
            f"{name}-logs-key",
            description=(
                f"meshgate: CloudWatch log groups of EKS cluster {name} (control plane, flow logs, API access logs)"
            ),
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window,
            policy=logs_key_policy(
                partition, account, args.region, [p.format(cluster=name) for p in LOG_GROUP_PREFIXES]
            ),
            tags=aws_tags(name, f"{name}-logs-key"),
            opts=protected,
        )
        aws.kms.Alias(
            f"{name}-logs-key-alias", name=f"alias/meshgate/{name}/logs", target_key_id=logs_key.key_id, opts=child
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=logs_key.arn,
            tags=aws_tags(name, f"/aws/eks/{name}/cluster"),
            opts=child,
        )
        vpc_flow_logs(
            name,
            network.vpc_id,
            FlowLogSettings(
                traffic_type=args.defaults.flow_log_traffic,
                max_aggregation_interval=args.defaults.flow_log_aggregation_seconds,
                retention_days=LOG_RETENTION_DAYS,
                kms_key_arn=logs_key.arn,
            ),
            partition,
            account,
            args.region,
            self,
        )

        kms_policy = aws.iam.RolePolicy(
            f"{name}-cluster-role-kms",
            role=control_role.role.id,
            policy=kms_use_policy(key.arn),
            opts=child,
        )

        public_cidrs = list(args.api_allowlist)
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=name,
            version=args.kubernetes_version,
            role_arn=control_role.role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=network.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=bool(public_cidrs),
                # Never left unset when public: EKS would default to 0.0.0.0/0.
                public_access_cidrs=public_cidrs or None,
            ),
            # API mode: access is granted only by the access entries below, kept in the stack.
            # No bootstrap entry: it would make whoever runs the first `up` a permanent admin
            # that no later run can see or remove.
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
                resources=["secrets"],
            ),
            # STANDARD: no extended-support surcharge; EKS upgrades the control plane at end of support.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            tags=aws_tags(name, name, {DEPLOYER_TAG: INSIDE_NETWORK} if args.deployer_inside_network else None),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=[log_group, kms_policy, *control_role.attachments],
                # The EKS API cannot change the bootstrap flag of an existing cluster (the provider would
                # replace it): clusters created before it was turned off keep theirs (docs/clusters-eks.md).
                ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"],
            ),
        )

        for arn in args.admin_principal_arns:
            session = ASSUMED_ROLE.match(arn)
            # An assumed role is named by its role, so a new session ARN in config replaces nothing.
            slug = access_entry_slug(
                f"arn:{session['partition']}:iam::{session['account']}:role/{session['role']}" if session else arn
            )
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{slug}",
                cluster_name=cluster.name,
                principal_arn=principal_arn(arn, self),
                type="STANDARD",
                tags=aws_tags(name, f"{name}-admin-{slug}"),
                opts=child,
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{slug}-policy",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=partition.apply(lambda p: f"arn:{p}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}"),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            )

        # The VPC CNI's own role, handed to aws-node by the add-on's Pod Identity association
        # (the agent runs on the host network, so it serves credentials before pod networking works).
        cni_role = vpc_cni_role(name, partition, account, self)
        ebs_role = ebs_csi_role(name, partition, account, self)
        identities: dict[str, tuple[list[aws.eks.AddonPodIdentityAssociationArgs], list[pulumi.Resource]]] = {
            "vpc-cni": (
                [
                    aws.eks.AddonPodIdentityAssociationArgs(
                        role_arn=cni_role.role.arn, service_account=VPC_CNI_SERVICE_ACCOUNT
                    )
                ],
                list(cni_role.attachments),
            ),
            "aws-ebs-csi-driver": (
                [
                    aws.eks.AddonPodIdentityAssociationArgs(
                        role_arn=ebs_role.role.arn, service_account=EBS_CSI_SERVICE_ACCOUNT
                    )
                ],
                list(ebs_role.attachments),
            ),
        }

        def addon(addon_name: str, depends_on: list[pulumi.Resource]) -> aws.eks.Addon:
            associations, needs = identities.get(addon_name, ([], []))
            return aws.eks.Addon(
                f"{name}-addon-{addon_name}",
                cluster_name=cluster.name,
                addon_name=addon_name,
                configuration_values=ADDON_CONFIGURATION.get(addon_name),
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                pod_identity_associations=associations or None,
                tags=aws_tags(name, f"{name}-{addon_name}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, *needs]),
            )

        early: dict[str, aws.eks.Addon] = {}
        for a in ADDONS_BEFORE_NODES:  # the Pod Identity agent first: vpc-cni's credentials come from it
            early[a] = addon(a, [cluster, *(early.values() if a in identities else [])])
        early_addons = list(early.values())
        cluster_sg_id = cluster.vpc_config.apply(lambda vpc: vpc.cluster_security_group_id or "")
        workers_role = node_role(name, partition, self)
        nodes = EksNodeGroup(
            f"{name}-node-group",
            EksNodeGroupArgs(
                cluster=name,
                cluster_name=cluster.name,
                kubernetes_version=cluster.version,
                cluster_security_group_id=cluster_sg_id,
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                node_role_arn=workers_role.role.arn,
                nodes=args.nodes,
                protect=args.protect,
                depends_on=[cluster, *workers_role.attachments, *early_addons],
            ),
            child,
        )
        for a in ADDONS_AFTER_NODES:
            addon(a, [nodes.node_group])

        issuer = cluster.identities.apply(
            lambda ids: next((o.issuer for i in ids for o in (i.oidcs or []) if o.issuer), "")
        )
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            # No thumbprint_lists: IAM validates EKS issuers against its own trusted CAs.
            client_id_lists=["sts.amazonaws.com"],
            tags=aws_tags(name, f"{name}-oidc"),
            opts=child,
        )

        self.network = args.network
        # What Kubernetes objects wait for: the whole network (so on destroy every load balancer goes
        # before it) and the nodes — not the CoreDNS add-on, which would add a minute to every chain.
        self.provider_dependencies: list[pulumi.Resource] = [network, nodes]
        self.cluster_name = cluster.name
        self.api_server = cluster.endpoint
        self.ca_data = cluster.certificate_authority.apply(lambda ca: ca.data or "")
        self.kubeconfig = exec_kubeconfig(name, self.api_server, self.ca_data, eks_exec_auth(name, args.region))
        self.vpc_id = network.vpc_id
        self.vpc_cidr = network.vpc_cidr
        self.private_subnet_ids = network.private_subnet_ids
        self.private_subnet_cidrs = network.private_subnet_cidrs
        self.public_subnet_ids = network.public_subnet_ids
        self.cluster_security_group_id = cluster_sg_id
        self.node_security_group_id = nodes.security_group.id
        self.node_group = nodes.node_group
        self.autoscaling_group_names = nodes.autoscaling_group_names
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer_url = issuer
        self.logs_key_arn = logs_key.arn
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "apiServer": self.api_server,
                "network": self.network,
                "vpcId": self.vpc_id,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "nodeSecurityGroupId": self.node_security_group_id,
                "oidcProviderArn": self.oidc_provider_arn,
                "kubeconfig": self.kubeconfig,
            }
        )
