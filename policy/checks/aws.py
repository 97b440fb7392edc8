"""AWS checks: the EKS control plane, node launch templates, security groups, KMS, logs, the edge."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .model import (
    Check,
    Level,
    StackCheck,
    StackResource,
    Violation,
    get,
    is_false,
    is_true,
    items,
    mapping,
    number,
    of_types,
    open_to_world,
)

EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOAD_BALANCER = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
API_V2_STAGE = "aws:apigatewayv2/stage:Stage"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
CNI_POLICY = "AmazonEKS_CNI_Policy"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"

EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ADMIN_PORTS = {22: "SSH", 3389: "RDP"}


def _eks_logs(_: str, props: Mapping[str, Any]) -> list[str]:
    enabled = {t for t in items(props.get("enabledClusterLogTypes")) if isinstance(t, str)}
    missing = [t for t in EKS_LOG_TYPES if t not in enabled]
    return [f"control-plane log types not enabled: {', '.join(missing)}"] if missing else []


def _eks_secrets_kms(_: str, props: Mapping[str, Any]) -> list[str]:
    config = props.get("encryptionConfig")
    configs = items(config) if not isinstance(config, Mapping) else [config]
    for entry in configs:
        if "secrets" in items(get(entry, "resources")) and get(entry, "provider.keyArn"):
            return []
    return [
        "Kubernetes secrets are not envelope-encrypted with a KMS "
        "key (encryptionConfig.resources=[secrets], provider.keyArn)"
    ]


def _eks_endpoint(_: str, props: Mapping[str, Any]) -> list[str]:
    vpc = mapping(props.get("vpcConfig"))
    public = vpc.get("endpointPublicAccess")
    if is_false(public):
        return []
    # Unset means public (the EKS default), and public without CIDRs means 0.0.0.0/0.
    cidrs = items(vpc.get("publicAccessCidrs"))
    if not cidrs:
        return ["public API endpoint is open to 0.0.0.0/0 (no publicAccessCidrs); restrict it or disable public access"]
    if open_to_world(cidrs):
        return ["public API endpoint allows 0.0.0.0/0 in publicAccessCidrs"]
    return []


def _eks_private_endpoint(_: str, props: Mapping[str, Any]) -> list[str]:
    if is_true(get(props, "vpcConfig.endpointPrivateAccess")):
        return []
    return ["private API endpoint is disabled: nodes and in-VPC clients reach the API server over the internet"]


def _eks_api_auth(_: str, props: Mapping[str, Any]) -> list[str]:
    mode = get(props, "accessConfig.authenticationMode")
    if mode == "API":
        return []
    return [
        f"authenticationMode is {mode or 'unset (CONFIG_MAP)'}; use "
        "API (EKS access entries) instead of the aws-auth ConfigMap"
    ]


def _eks_no_bootstrap_admin(_: str, props: Mapping[str, Any]) -> list[str]:
    # The provider and the EKS API default to true: only an explicit false passes.
    if is_false(get(props, "accessConfig.bootstrapClusterCreatorAdminPermissions")):
        return []
    return [
        "bootstrapClusterCreatorAdminPermissions is not false: whoever creates the cluster becomes a permanent "
        "admin outside the stack's access entries"
    ]


def _belongs_to(resource: StackResource, cluster: StackResource) -> bool:
    if cluster.urn in resource.dependencies:
        return True
    name = cluster.props.get("name")
    return isinstance(name, str) and resource.props.get("clusterName") == name


def eks_admin_entry_gaps(resources: Sequence[StackResource]) -> list[Violation]:
    """EKS clusters without an access entry bound to the cluster-admin access policy."""
    out: list[Violation] = []
    entries = [r for r in resources if r.type == ACCESS_ENTRY]
    associations = [r for r in resources if r.type == ACCESS_POLICY_ASSOCIATION]
    for cluster in (r for r in resources if r.type == EKS_CLUSTER):
        admins = [
            a
            for a in associations
            if _belongs_to(a, cluster) and str(a.props.get("policyArn", "")).endswith(f"/{CLUSTER_ADMIN_POLICY}")
        ]
        bound = [
            e
            for e in entries
            if _belongs_to(e, cluster)
            and any(
                e.urn in a.dependencies or a.props.get("principalArn") == e.props.get("principalArn") for a in admins
            )
        ]
        if not bound:
            out.append(
                Violation(
                    f"EKS cluster {cluster.name} has no access entry with {CLUSTER_ADMIN_POLICY}: "
                    "nobody the stack knows of can administer it",
                    cluster.urn,
                )
            )
    return out


def _trusts(role: StackResource, service: str) -> bool:
    document = role.props.get("assumeRolePolicy")
    try:
        statements = json.loads(document)["Statement"] if isinstance(document, str) else []
    except (ValueError, KeyError, TypeError):
        return False
    for statement in statements if isinstance(statements, list) else [statements]:
        services = get(statement, "Principal.Service")
        if service in (services if isinstance(services, list) else [services]):
            return True
    return False


def cni_role_gaps(resources: Sequence[StackResource]) -> list[Violation]:
    """AmazonEKS_CNI_Policy on a node (EC2) role, or a vpc-cni add-on without its own role."""
    out: list[Violation] = []
    roles = {r.urn: r for r in resources if r.type == ROLE}
    for attachment in (r for r in resources if r.type == ROLE_POLICY_ATTACHMENT):
        if not str(attachment.props.get("policyArn", "")).endswith(f"/{CNI_POLICY}"):
            continue
        for urn in attachment.dependencies:
            role = roles.get(urn)
            if role is not None and _trusts(role, "ec2.amazonaws.com"):
                out.append(
                    Violation(
                        f"{CNI_POLICY} is attached to the node role {role.name}: every host-network pod can manage "
                        "ENIs and IPs; give the vpc-cni add-on its own role (Pod Identity or IRSA)",
                        attachment.urn,
                    )
                )
    for addon in (r for r in resources if r.type == ADDON and r.props.get("addonName") == "vpc-cni"):
        associations = [
            a for a in items(addon.props.get("podIdentityAssociations")) if get(a, "serviceAccount") == "aws-node"
        ]
        if not associations and not addon.props.get("serviceAccountRoleArn"):
            out.append(
                Violation(
                    "the vpc-cni add-on has no role of its own (podIdentityAssociations for aws-node or "
                    "serviceAccountRoleArn), so it runs on the node role's credentials",
                    addon.urn,
                )
            )
    return out


def _imdsv2(_: str, props: Mapping[str, Any]) -> list[str]:
    options = mapping(props.get("metadataOptions"))
    if options.get("httpEndpoint") == "disabled":
        return []
    if options.get("httpTokens") != "required":
        return ["instance metadata accepts IMDSv1 (metadataOptions.httpTokens is not 'required')"]
    return []


def _imds_hop_limit(_: str, props: Mapping[str, Any]) -> list[str]:
    options = mapping(props.get("metadataOptions"))
    if options.get("httpEndpoint") == "disabled":
        return []
    hops = number(options.get("httpPutResponseHopLimit"))
    if hops is None or hops > 1:
        return [
            f"metadata response hop limit is {int(hops) if hops else 'unset'}; "
            "1 keeps pods from reaching the node role's credentials"
        ]
    return []


def _ebs_encrypted(_: str, props: Mapping[str, Any]) -> list[str]:
    mappings = items(props.get("blockDeviceMappings"))
    if not mappings:
        return [
            "launch template declares no root volume, so its encryption "
            "is left to the account default; declare it encrypted"
        ]
    bad = [
        str(get(m, "deviceName", "?"))
        for m in mappings
        if get(m, "ebs") is not None and not is_true(get(m, "ebs.encrypted"))
    ]
    return [f"EBS volume {d} is not encrypted" for d in bad]


def _port_range(rule: Mapping[str, Any]) -> tuple[float, float] | None:
    protocol = str(rule.get("protocol", rule.get("ipProtocol", ""))).lower()
    if protocol in ("-1", "all"):
        return (0, 65535)
    if protocol not in ("tcp", "6"):
        return None
    low = number(rule.get("fromPort"))
    high = number(rule.get("toPort"))
    if low is None or high is None:
        return None
    return (low, high)


def _admin_ports_exposed(rule: Mapping[str, Any]) -> list[str]:
    ports = _port_range(rule)
    if ports is None:
        return []
    return [f"{name} ({port})" for port, name in ADMIN_PORTS.items() if ports[0] <= port <= ports[1]]


def _no_admin_ingress_from_world(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    rules: list[Mapping[str, Any]] = []
    if resource_type == SECURITY_GROUP:
        rules = [mapping(r) for r in items(props.get("ingress"))]
    elif resource_type == SECURITY_GROUP_RULE and props.get("type") == "ingress":
        rules = [props]
    elif resource_type == INGRESS_RULE:
        rules = [{**props, "cidrBlocks": [props.get("cidrIpv4"), props.get("cidrIpv6")]}]
    out: list[str] = []
    for rule in rules:
        world = open_to_world(rule.get("cidrBlocks")) or open_to_world(rule.get("ipv6CidrBlocks"))
        if world:
            out += [f"ingress from 0.0.0.0/0 or ::/0 reaches {port}" for port in _admin_ports_exposed(rule)]
    return out


def _node_group_no_remote_access(_: str, props: Mapping[str, Any]) -> list[str]:
    if props.get("remoteAccess"):
        return [
            "remoteAccess opens SSH to the nodes (from 0.0.0.0/0 unless "
            "sourceSecurityGroupIds is set); use SSM Session Manager"
        ]
    return []


def _kms_rotation(_: str, props: Mapping[str, Any]) -> list[str]:
    if props.get("customerMasterKeySpec", props.get("keySpec", "SYMMETRIC_DEFAULT")) not in (None, "SYMMETRIC_DEFAULT"):
        return []  # rotation exists only for symmetric keys
    return [] if is_true(props.get("enableKeyRotation")) else ["automatic key rotation is off (enableKeyRotation)"]


def _kms_key_policy(_: str, props: Mapping[str, Any]) -> list[str]:
    document = props.get("policy")
    if not isinstance(document, str) or not document.strip():
        return [
            "no key policy: KMS applies its default (the account "
            "root may do kms:*, so any IAM policy can grant decrypt)"
        ]
    try:
        statements = json.loads(document).get("Statement", [])
    except (ValueError, AttributeError):
        return ["key policy is not valid JSON"]
    out: list[str] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = get(statement, "Principal.AWS", get(statement, "Principal"))
        principals = principal if isinstance(principal, list) else [principal]
        actions = get(statement, "Action")
        actions = actions if isinstance(actions, list) else [actions]
        if (
            get(statement, "Effect") == "Allow"
            and any(str(p).endswith(":root") or p == "*" for p in principals)
            and any(a in ("kms:*", "*") for a in actions)
        ):
            out.append("key policy lets the account root (any IAM policy) do kms:*; limit it to key administration")
    return out


def _log_group_kms(_: str, props: Mapping[str, Any]) -> list[str]:
    return [] if props.get("kmsKeyId") else ["log group is not encrypted with a customer-managed KMS key (kmsKeyId)"]


def vpc_flow_log_gaps(resources: Sequence[StackResource]) -> list[Violation]:
    """VPCs without a flow log."""
    logs = [r for r in resources if r.type == FLOW_LOG]
    out: list[Violation] = []
    for vpc in (r for r in resources if r.type == VPC):
        if not any(vpc.urn in f.dependencies for f in logs):
            out.append(Violation(f"VPC {vpc.name} has no flow log (CIS AWS Foundations 3.9)", vpc.urn))
    return out


def _log_retention(_: str, props: Mapping[str, Any]) -> list[str]:
    days = number(props.get("retentionInDays"))
    return [] if days else ["log group keeps logs forever (no retentionInDays): set a retention period"]


def _internal_load_balancer(_: str, props: Mapping[str, Any]) -> list[str]:
    if is_true(props.get("internal")):
        return []
    return [
        "load balancer is internet-facing; the external API gateway "
        "reaches the Istio ingress through an internal NLB (VPC link)"
    ]


def _stage_access_logs(_: str, props: Mapping[str, Any]) -> list[str]:
    if get(props, "accessLogSettings.destinationArn") and get(props, "accessLogSettings.format"):
        return []
    return ["API stage has no access logging (accessLogSettings.destinationArn and format)"]


CHECKS: tuple[Check, ...] = (
    Check(
        "eks-control-plane-logs",
        "EKS sends all five control-plane log types (api, audit, "
        "authenticator, controllerManager, scheduler) to CloudWatch.",
        Level.MANDATORY,
        "CIS EKS 2.1.1; Checkov CKV_AWS_37",
        of_types(EKS_CLUSTER),
        _eks_logs,
    ),
    Check(
        "eks-secrets-kms",
        "Kubernetes secrets in EKS are envelope-encrypted with a customer-managed KMS key.",
        Level.MANDATORY,
        "CIS EKS 5.3.1; Checkov CKV_AWS_58",
        of_types(EKS_CLUSTER),
        _eks_secrets_kms,
    ),
    Check(
        "eks-endpoint-not-public",
        "The EKS public API endpoint is disabled or limited to listed CIDRs, never 0.0.0.0/0.",
        Level.MANDATORY,
        "CIS EKS 5.4.1; Checkov CKV_AWS_38",
        of_types(EKS_CLUSTER),
        _eks_endpoint,
    ),
    Check(
        "eks-private-endpoint",
        "The EKS private API endpoint is on, so nodes reach the control plane inside the VPC.",
        Level.MANDATORY,
        "CIS EKS 5.4.2",
        of_types(EKS_CLUSTER),
        _eks_private_endpoint,
    ),
    Check(
        "eks-api-auth-mode",
        "EKS grants cluster access through access entries (authenticationMode API), not aws-auth ConfigMap edits.",
        Level.MANDATORY,
        "EKS Best Practices Guide: Identity and Access Management (access entries)",
        of_types(EKS_CLUSTER),
        _eks_api_auth,
    ),
    Check(
        "eks-no-bootstrap-admin",
        "EKS gives the cluster creator no implicit admin access (bootstrapClusterCreatorAdminPermissions: false).",
        Level.MANDATORY,
        "EKS Best Practices Guide: Identity and Access Management (access entries, cluster creator)",
        of_types(EKS_CLUSTER),
        _eks_no_bootstrap_admin,
    ),
    Check(
        "ec2-imdsv2-required",
        "Node launch templates require IMDSv2 session tokens.",
        Level.MANDATORY,
        "Checkov CKV_AWS_79; EKS Best Practices: restrict access to the instance profile",
        of_types(LAUNCH_TEMPLATE),
        _imdsv2,
    ),
    Check(
        "ec2-imds-hop-limit",
        "Node launch templates set the metadata hop limit to 1 so pods cannot borrow the node role.",
        Level.MANDATORY,
        "Checkov CKV_AWS_341; EKS Best Practices: restrict access to the instance profile",
        of_types(LAUNCH_TEMPLATE),
        _imds_hop_limit,
    ),
    Check(
        "ec2-ebs-encrypted",
        "Node root volumes declared by launch templates are encrypted.",
        Level.MANDATORY,
        "Checkov CKV_AWS_8",
        of_types(LAUNCH_TEMPLATE),
        _ebs_encrypted,
    ),
    Check(
        "ec2-no-admin-ports-from-world",
        "No security group admits SSH (22) or RDP (3389) from 0.0.0.0/0 or ::/0.",
        Level.MANDATORY,
        "Checkov CKV_AWS_24, CKV_AWS_25; CIS AWS Foundations 5.2",
        of_types(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
        _no_admin_ingress_from_world,
    ),
    Check(
        "eks-node-group-no-ssh",
        "Managed node groups have no remoteAccess (implicit SSH); operators use SSM Session Manager.",
        Level.MANDATORY,
        "Checkov CKV_AWS_100",
        of_types(EKS_NODE_GROUP),
        _node_group_no_remote_access,
    ),
    Check(
        "kms-key-rotation",
        "Customer-managed symmetric KMS keys rotate automatically.",
        Level.MANDATORY,
        "Checkov CKV_AWS_7",
        of_types(KMS_KEY),
        _kms_rotation,
    ),
    Check(
        "kms-key-policy",
        "KMS keys carry an explicit key policy that does not give the account root kms:*.",
        Level.MANDATORY,
        "AWS KMS Developer Guide: default key policy and least privilege; Checkov CKV_AWS_33 (no kms:* to everyone)",
        of_types(KMS_KEY),
        _kms_key_policy,
    ),
    Check(
        "cloudwatch-log-group-kms",
        "CloudWatch log groups are encrypted with a customer-managed KMS key.",
        Level.MANDATORY,
        "Checkov CKV_AWS_158",
        of_types(LOG_GROUP),
        _log_group_kms,
    ),
    Check(
        "cloudwatch-log-retention",
        "CloudWatch log groups set a retention period instead of keeping logs forever.",
        Level.ADVISORY,
        "Checkov CKV_AWS_66",
        of_types(LOG_GROUP),
        _log_retention,
    ),
    Check(
        "lb-internal",
        "Load balancers the program owns are internal; the edge is the API gateway, not the NLB.",
        Level.MANDATORY,
        "docs/upstream-facts.md#scenario-1-the-external-gateway (VPC link to an internal NLB)",
        of_types(*LOAD_BALANCER),
        _internal_load_balancer,
    ),
    Check(
        "apigateway-access-logs",
        "API Gateway stages write access logs.",
        Level.ADVISORY,
        "Checkov CKV_AWS_76 (terraform), CKV_AWS_95 (cloudformation)",
        of_types(API_V2_STAGE),
        _stage_access_logs,
    ),
)


STACK_CHECKS: tuple[StackCheck, ...] = (
    StackCheck(
        "eks-admin-access-entry",
        "Every EKS cluster has at least one access entry bound to AmazonEKSClusterAdminPolicy, kept in the stack.",
        Level.MANDATORY,
        "EKS Best Practices Guide: Identity and Access Management (access entries)",
        eks_admin_entry_gaps,
    ),
    StackCheck(
        "eks-cni-own-role",
        "The VPC CNI runs on its own IAM role (Pod Identity or IRSA); AmazonEKS_CNI_Policy is not on the node role.",
        Level.MANDATORY,
        "EKS User Guide: Configure the Amazon VPC CNI plugin to use "
        "its own role; EKS Best Practices: restrict the node role",
        cni_role_gaps,
    ),
    StackCheck(
        "vpc-flow-logs",
        "Every VPC the program creates has a flow log.",
        Level.MANDATORY,
        "CIS AWS Foundations 3.9; Checkov CKV2_AWS_11",
        vpc_flow_log_gaps,
    ),
)
