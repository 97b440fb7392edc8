"""EksCluster: CIS EKS hardening, network plan, node security, ordering, protection, kubeconfig."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pulumi
import pytest
from harness import Program, Resource, evaluate, stack_config
from pulumi.runtime import rpc

from components.clusters.aws_network import carve_subnets
from components.clusters.eks import CONTROL_PLANE_LOG_TYPES, access_entry_slug
from components.clusters.eks_iam import NODE_POLICIES
from components.clusters.eks_nodes import ami_type

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADDON = "aws:eks/addon:Addon"
ADMINS = ["arn:aws:iam::123456789012:role/platform-admins", "arn:aws:iam::123456789012:user/alice"]


def eks_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "eks-one",
        "kind": "eks",
        "region": "eu-west-1",
        "vpcCidr": "10.40.0.0/16",
        "adminPrincipalArns": ADMINS[:1],
    }
    spec.update(overrides)
    return spec


def eks_only(protect: bool = False, **overrides: Any) -> Program:
    """A stack with one EKS cluster and no second cloud."""
    return evaluate(
        {
            "meshgate:scenario": "gateway-api",
            "meshgate:clusters": [eks_spec(**overrides)],
            "meshgate:protect": protect,
        }
    )


@pytest.fixture(scope="module")
def private_only() -> Program:
    """No public endpoint CIDRs, two admin principals, a Graviton node type."""
    return eks_only(
        adminPrincipalArns=ADMINS, nodes={"instanceType": "m7g.large", "min": 1, "max": 2, "diskSizeGb": 80}
    )


def eks_name(stack: str) -> str:
    return next(c["name"] for c in stack_config(stack)["meshgate:clusters"] if c["kind"] == "eks")


def eks_entry(stack: str) -> dict[str, Any]:
    return next(c for c in stack_config(stack)["meshgate:clusters"] if c["kind"] == "eks")


def inside(program: Program, component_name: str) -> list[Resource]:
    """Every resource below the EksCluster component `component_name`."""
    by_urn = program.by_urn()
    root = next(r for r in program.of_type("meshgate:clusters:EksCluster") if r.name == component_name)
    found = []
    for r in program.resources:
        parent = r.parent
        while parent and parent != root.urn:
            parent = by_urn[parent].parent if parent in by_urn else ""
        if parent == root.urn:
            found.append(r)
    return found


def of_type_inside(program: Program, component_name: str, type_: str) -> list[Resource]:
    """Resources of `type_` registered by the EksCluster `component_name` (not by the gateway layer)."""
    return [r for r in inside(program, component_name) if r.type == type_]


@pytest.fixture(params=["staging", "prod"])
def stack(request: pytest.FixtureRequest) -> tuple[str, Program]:
    """(stack name, its Program) for each stack file with an EKS cluster."""
    return request.param, request.getfixturevalue(request.param)


# ------------------------------------------------------------------ control plane


def test_all_five_control_plane_log_types_into_a_retained_log_group_created_first(stack: tuple[str, Program]) -> None:
    name, program = stack
    cluster = program.one(CLUSTER)
    assert sorted(cluster.get("enabledClusterLogTypes")) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )
    assert tuple(cluster.get("enabledClusterLogTypes")) == CONTROL_PLANE_LOG_TYPES
    log_group = next(
        g
        for g in of_type_inside(program, eks_name(name), "aws:cloudwatch/logGroup:LogGroup")
        if g.get("name") == f"/aws/eks/{eks_name(name)}/cluster"
    )
    assert log_group.get("retentionInDays", 0) >= 30
    assert program.depends_on(cluster, log_group), "EKS would create the log group itself, without retention"


def test_secrets_envelope_encrypted_with_a_rotating_kms_key(stack: tuple[str, Program]) -> None:
    name, program = stack
    cluster = program.one(CLUSTER)
    key = program.named(f"{eks_name(stack[0])}-secrets-key")
    assert key.get("enableKeyRotation") is True
    encryption = cluster.get("encryptionConfig")
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["keyArn"].endswith(f":{key.name}")  # the mock ARN of that key
    assert program.depends_on(cluster, key)
    kms_policy = program.named(f"{eks_name(stack[0])}-cluster-role-kms")
    statement = json.loads(kms_policy.get("policy"))["Statement"][0]
    assert statement["Resource"].endswith(f":{key.name}") and "kms:Encrypt" in statement["Action"]
    assert program.depends_on(cluster, kms_policy)


def test_endpoint_private_and_public_only_from_configured_cidrs_and_peers(stack: tuple[str, Program]) -> None:
    name, program = stack
    vpc_config = program.one(CLUSTER).get("vpcConfig")
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["endpointPublicAccess"] is True
    configured = eks_entry(name).get("endpointPublicAccessCidrs", []) + stack_config(name)["meshgate:deployerCidrs"]
    assert vpc_config["publicAccessCidrs"][: len(configured)] == configured
    peers = vpc_config["publicAccessCidrs"][len(configured) :]  # prod's multi-cluster mesh: the GKE NAT address
    assert len(peers) == (1 if name == "prod" else 0) and all(p.endswith("/32") for p in peers)
    assert "0.0.0.0/0" not in vpc_config["publicAccessCidrs"]


def test_without_public_cidrs_the_endpoint_is_private_only(private_only: Program) -> None:
    vpc_config = private_only.one(CLUSTER).get("vpcConfig")
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc_config  # unset + public would mean 0.0.0.0/0


def test_open_endpoint_cidr_is_rejected_before_any_resource() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        eks_only(endpointPublicAccessCidrs=["0.0.0.0/0"])
    assert str(caught.value).startswith("meshgate:clusters[0].endpointPublicAccessCidrs[0] ")


def test_api_auth_mode_without_a_hidden_creator_admin(stack: tuple[str, Program]) -> None:
    name, program = stack
    access = program.one(CLUSTER).get("accessConfig")
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    entries = of_type_inside(program, eks_name(name), "aws:eks/accessEntry:AccessEntry")
    assert sorted(e.get("principalArn") for e in entries) == sorted(eks_entry(name)["adminPrincipalArns"])


def test_an_assumed_role_admin_gets_the_access_entry_of_its_role_path_included() -> None:
    """`aws sts get-caller-identity` under SSO/CI prints a session ARN; the entry needs the role's (with its path)."""
    session = "arn:aws:sts::123456789012:assumed-role/ci-deployer/github-actions-1234"
    program = eks_only(adminPrincipalArns=[session, ADMINS[1]])
    entries = {e.get("principalArn"): e for e in program.of_type("aws:eks/accessEntry:AccessEntry")}
    # the mock's iam:GetRole answers with the path /mock-path/, which the session ARN cannot show
    assert set(entries) == {"arn:aws:iam::123456789012:role/mock-path/ci-deployer", ADMINS[1]}
    role_entry = entries["arn:aws:iam::123456789012:role/mock-path/ci-deployer"]
    assert role_entry.name == f"eks-one-admin-{access_entry_slug('arn:aws:iam::123456789012:role/ci-deployer')}"
    association = next(
        a
        for a in program.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a.get("principalArn") == role_entry.get("principalArn")
    )
    assert association.get("policyArn").endswith("/AmazonEKSClusterAdminPolicy")


def test_access_entry_and_cluster_admin_policy_for_each_admin_principal(private_only: Program) -> None:
    entries = private_only.of_type("aws:eks/accessEntry:AccessEntry")
    assert sorted(e.get("principalArn") for e in entries) == sorted(ADMINS)
    associations = private_only.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert len(associations) == len(ADMINS)
    cluster = private_only.one(CLUSTER)
    for entry in entries:
        assert entry.get("type") == "STANDARD"
        assert private_only.depends_on(entry, cluster)
        association = next(a for a in associations if a.get("principalArn") == entry.get("principalArn"))
        assert association.get("policyArn") == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        assert association.get("accessScope") == {"type": "cluster"}
        assert private_only.depends_on(association, entry)
    # names come from the ARN, not from the list position: reordering replaces nothing
    assert {e.name for e in entries} == {f"eks-one-admin-{access_entry_slug(a)}" for a in ADMINS}


# ------------------------------------------------------------------ nodes


def test_launch_template_requires_imdsv2_with_hop_limit_1_and_encrypted_gp3_root(stack: tuple[str, Program]) -> None:
    name, program = stack
    template = program.one(TEMPLATE)
    assert template.get("metadataOptions") == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    (root,) = template.get("blockDeviceMappings")
    assert root["deviceName"] == "/dev/xvda"
    assert root["ebs"]["encrypted"] == "true" and root["ebs"]["volumeType"] == "gp3"
    assert root["ebs"]["volumeSize"] == eks_entry(name).get("nodes", {}).get("diskSizeGb", 50)
    assert "instanceType" not in template.plain, "instance type lives in the node group only"
    assert "keyName" not in template.plain and "userData" not in template.plain


def test_node_group_on_the_template_in_private_subnets_sized_from_config(stack: tuple[str, Program]) -> None:
    name, program = stack
    nodes = eks_entry(name)["nodes"]
    group = program.one(NODE_GROUP)
    template = program.one(TEMPLATE)
    assert group.get("launchTemplate") == {"id": f"{template.name}-id", "version": "1"}
    assert group.get("instanceTypes") == [nodes["instanceType"]]
    assert group.get("amiType") == "AL2023_x86_64_STANDARD"
    assert group.get("scalingConfig") == {"minSize": nodes["min"], "maxSize": nodes["max"], "desiredSize": nodes["min"]}
    assert group.get("updateConfig") == {"maxUnavailable": 1}
    private = sorted(f"{s.name}-id" for s in program.of_type(SUBNET) if "-private-" in s.name)
    assert sorted(group.get("subnetIds")) == private
    assert "remoteAccess" not in group.plain
    assert "scalingConfig.desiredSize" in group.options["ignoreChanges"]


def test_private_only_stack_sizes_disk_and_picks_arm_ami_for_graviton(private_only: Program) -> None:
    group = private_only.one(NODE_GROUP)
    assert group.get("amiType") == "AL2023_ARM_64_STANDARD"
    assert group.get("scalingConfig") == {"minSize": 1, "maxSize": 2, "desiredSize": 1}
    assert private_only.one(TEMPLATE).get("blockDeviceMappings.0.ebs.volumeSize") == 80


def test_nodes_carry_cluster_and_node_security_groups(stack: tuple[str, Program]) -> None:
    name, program = stack
    (node_sg,) = of_type_inside(program, eks_name(name), "aws:ec2/securityGroup:SecurityGroup")
    cluster_sg = f"{eks_name(name)}-cluster-csg"  # the mock's cluster.vpcConfig.clusterSecurityGroupId
    assert sorted(program.one(TEMPLATE).get("vpcSecurityGroupIds")) == sorted([cluster_sg, f"{node_sg.name}-id"])


@pytest.mark.parametrize("port", [443, 10250, 10251, 15012, 15017])
def test_control_plane_reaches_nodes_on_webhook_kubelet_and_xds_ports(stack: tuple[str, Program], port: int) -> None:
    name, program = stack
    (node_sg,) = of_type_inside(program, eks_name(name), "aws:ec2/securityGroup:SecurityGroup")
    rules = [
        r
        for r in program.of_type(INGRESS)
        if r.get("fromPort") == port
        and r.get("toPort") == port
        and r.get("ipProtocol") == "tcp"
        and r.get("referencedSecurityGroupId") == f"{eks_name(name)}-cluster-csg"
    ]
    assert len(rules) == 1
    assert rules[0].get("securityGroupId") == f"{node_sg.name}-id"


def test_no_ingress_from_anywhere_and_no_ssh(stack: tuple[str, Program]) -> None:
    name, program = stack
    ingress = of_type_inside(program, eks_name(name), INGRESS)  # the gateway layer adds its own (NodePorts)
    assert ingress
    for rule in ingress:
        assert "cidrIpv4" not in rule.plain and "cidrIpv6" not in rule.plain, rule.name
        assert rule.get("referencedSecurityGroupId"), rule.name
        assert rule.get("fromPort") != 22, rule.name
    default_sg = program.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default_sg.get("ingress") and not default_sg.get("egress")
    (node_sg,) = of_type_inside(program, eks_name(name), "aws:ec2/securityGroup:SecurityGroup")
    self_rule = [r for r in ingress if r.get("referencedSecurityGroupId") == f"{node_sg.name}-id"]
    assert len(self_rule) == 1 and self_rule[0].get("ipProtocol") == "-1"


def test_vpc_cni_gets_its_own_pod_identity_role_and_the_node_role_not_the_cni_policy(
    stack: tuple[str, Program],
) -> None:
    name, program = stack
    cluster = eks_name(name)
    roles = {r.name: r for r in program.of_type("aws:iam/role:Role")}
    attached = {
        a.name: a.get("policyArn") for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    cni = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    assert [n for n, arn in attached.items() if arn == cni] == [f"{cluster}-vpc-cni-role-amazoneks-cni-policy"]
    trust = json.loads(roles[f"{cluster}-vpc-cni-role"].get("assumeRolePolicy"))["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "123456789012",
        "aws:RequestTag/eks-cluster-name": cluster,
        "aws:RequestTag/kubernetes-namespace": "kube-system",
        "aws:RequestTag/kubernetes-service-account": "aws-node",
    }
    addons = {a.get("addonName"): a for a in program.of_type(ADDON)}
    assert addons["vpc-cni"].get("podIdentityAssociations") == [
        {"serviceAccount": "aws-node", "roleArn": f"arn:aws:mock:us-east-1:123456789012:{cluster}-vpc-cni-role"}
    ]
    assert program.depends_on(addons["vpc-cni"], addons["eks-pod-identity-agent"]), "credentials come from the agent"
    cni_attachment = program.named(f"{cluster}-vpc-cni-role-amazoneks-cni-policy")
    assert program.depends_on(addons["vpc-cni"], cni_attachment)
    for other in ("kube-proxy", "coredns", "eks-pod-identity-agent"):
        assert not addons[other].get("podIdentityAssociations"), other


def test_volumes_are_provisioned_by_the_ebs_csi_driver_through_a_default_gp3_class(
    stack: tuple[str, Program],
) -> None:
    """EKS 1.23+ provisions no volume without the EBS CSI driver, and 1.30+ has no default
    StorageClass: Prometheus' and Tempo's claims (meshgate:observability) name none."""
    name, program = stack
    cluster = eks_name(name)
    addons = {a.get("addonName"): a for a in program.of_type(ADDON)}
    assert addons["aws-ebs-csi-driver"].get("podIdentityAssociations") == [
        {
            "serviceAccount": "ebs-csi-controller-sa",
            "roleArn": f"arn:aws:mock:us-east-1:123456789012:{cluster}-ebs-csi-role",
        }
    ]
    assert program.depends_on(addons["aws-ebs-csi-driver"], program.one(NODE_GROUP))
    roles = {r.name: r for r in program.of_type("aws:iam/role:Role")}
    trust = json.loads(roles[f"{cluster}-ebs-csi-role"].get("assumeRolePolicy"))["Statement"][0]
    assert trust["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == "ebs-csi-controller-sa"
    attached = program.named(f"{cluster}-ebs-csi-role-service-role-amazonebscsidriverpolicy")
    assert attached.get("policyArn") == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    classes = [r for r in program.k8s_objects("StorageClass") if r.provider.endswith(f"{cluster}-k8s")]
    assert len(classes) == 1
    gp3 = classes[0].plain
    assert gp3["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert gp3["provisioner"] == "ebs.csi.aws.com"
    assert gp3["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert gp3["volumeBindingMode"] == "WaitForFirstConsumer"


def test_node_role_has_the_worker_policies_and_an_ec2_trust(stack: tuple[str, Program]) -> None:
    _, program = stack
    roles = {r.name: r for r in program.of_type("aws:iam/role:Role")}
    trust = json.loads(roles[f"{eks_name(stack[0])}-node-role"].get("assumeRolePolicy"))
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = {
        a.get("policyArn")
        for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith(f"{eks_name(stack[0])}-node-role-")
    }
    assert attached == {f"arn:aws:iam::aws:policy/{p}" for p in NODE_POLICIES}
    assert "AmazonEKS_CNI_Policy" not in NODE_POLICIES
    cluster_trust = json.loads(roles[f"{eks_name(stack[0])}-cluster-role"].get("assumeRolePolicy"))
    assert cluster_trust["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}


# ------------------------------------------------------------------ network


@pytest.mark.parametrize("stack_name,azs", [("staging", 2), ("prod", 3)])
def test_subnets_per_az_tagged_for_load_balancers(request: pytest.FixtureRequest, stack_name: str, azs: int) -> None:
    program: Program = request.getfixturevalue(stack_name)
    cluster = eks_name(stack_name)
    vpc = ipaddress.IPv4Network(eks_entry(stack_name)["vpcCidr"])
    subnets = program.of_type(SUBNET)
    public = [s for s in subnets if "-public-" in s.name]
    private = [s for s in subnets if "-private-" in s.name]
    assert len(public) == len(private) == azs
    for group, role in ((public, "kubernetes.io/role/elb"), (private, "kubernetes.io/role/internal-elb")):
        assert len({s.get("availabilityZone") for s in group}) == azs
        for s in group:
            assert s.get("tags")[role] == "1"
            assert s.get("tags")[f"kubernetes.io/cluster/{cluster}"] == "shared"
            assert s.get("mapPublicIpOnLaunch") is False
    networks = [ipaddress.IPv4Network(s.get("cidrBlock")) for s in subnets]
    assert all(n.subnet_of(vpc) for n in networks)
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


def test_one_nat_gateway_per_az_in_prod_and_private_routes_stay_in_their_az(prod: Program) -> None:
    program, stack_name = prod, "prod"
    cluster = eks_name(stack_name)
    azs = eks_entry(stack_name).get("availabilityZones", 2)
    nats = program.of_type(NAT)
    assert len(nats) == azs == len(program.of_type("aws:ec2/eip:Eip")) == 3
    assert sorted(n.get("subnetId") for n in nats) == sorted(f"{cluster}-public-{i}-id" for i in range(azs))
    routes = {r.name: r for r in program.of_type("aws:ec2/route:Route")}
    for i in range(azs):
        route = routes[f"{cluster}-private-{i}-default-route"]
        assert route.get("natGatewayId") == f"{cluster}-nat-{i}-id"
        assert route.get("routeTableId") == f"{cluster}-private-{i}-rt-id"
    assert routes[f"{cluster}-public-default-route"].get("gatewayId") == f"{cluster}-igw-id"
    vpc = program.one("aws:ec2/vpc:Vpc")
    assert vpc.get("enableDnsHostnames") is True and vpc.get("enableDnsSupport") is True


def test_one_nat_gateway_outside_production_every_az_routes_through_it(staging: Program) -> None:
    """Non-production stacks default to one NAT gateway (~$33/month each saved per extra AZ); prod keeps one per AZ."""
    cluster = eks_name("staging")
    (nat,) = staging.of_type(NAT)
    assert nat.get("subnetId") == f"{cluster}-public-0-id"
    assert len(staging.of_type("aws:ec2/eip:Eip")) == 1
    routes = {r.name: r for r in staging.of_type("aws:ec2/route:Route")}
    for i in range(eks_entry("staging").get("availabilityZones", 2)):
        assert routes[f"{cluster}-private-{i}-default-route"].get("natGatewayId") == f"{cluster}-nat-0-id"
    per_zone = eks_only(natGateways="per-zone")
    assert len(per_zone.of_type(NAT)) == 2, "natGateways overrides the environment's default"


def test_kms_deletion_window_is_7_days_outside_prod_and_30_in_prod(staging: Program, prod: Program) -> None:
    for program, days in ((staging, 7), (prod, 30)):
        keys = program.of_type("aws:kms/key:Key")
        assert len(keys) == 2 and {k.get("deletionWindowInDays") for k in keys} == {days}


def test_keys_have_explicit_policies_without_root_kms_star(stack: tuple[str, Program]) -> None:
    name, program = stack
    cluster = eks_name(name)
    secrets = json.loads(program.named(f"{cluster}-secrets-key").get("policy"))
    logs = json.loads(program.named(f"{cluster}-logs-key").get("policy"))
    root = "arn:aws:iam::123456789012:root"
    for policy in (secrets, logs):
        root_actions = [
            a
            for st in policy["Statement"]
            if st["Principal"] == {"AWS": root}
            for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
        ]
        assert "kms:*" not in root_actions and not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} & set(
            root_actions
        )
        assert "kms:PutKeyPolicy" in root_actions and "kms:ScheduleKeyDeletion" in root_actions, (
            "the key stays manageable"
        )
        grant = next(st for st in policy["Statement"] if st["Action"] == "kms:CreateGrant")
        assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    use = next(st for st in secrets["Statement"] if st["Sid"] == "EnvelopeEncryptionByTheClusterRole")
    assert use["Principal"] == {"AWS": f"arn:aws:mock:us-east-1:123456789012:{cluster}-cluster-role"}
    assert sorted(use["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants"]
    service = next(st for st in logs["Statement"] if st["Sid"] == "CloudWatchLogsForTheseLogGroups")
    region = eks_entry(name)["region"]
    assert service["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
    allowed = service["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert f"arn:aws:logs:{region}:123456789012:log-group:/aws/eks/{cluster}/*" in allowed
    assert f"arn:aws:logs:{region}:123456789012:log-group:/aws/vpc/{cluster}/*" in allowed


def test_every_log_group_is_encrypted_with_the_logs_key(stack: tuple[str, Program]) -> None:
    name, program = stack
    groups = program.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) >= 2
    key_arn = f"arn:aws:mock:us-east-1:123456789012:{eks_name(name)}-logs-key"
    for group in groups:
        assert group.get("kmsKeyId") == key_arn, group.name
        assert program.depends_on(group, program.named(f"{eks_name(name)}-logs-key"))


def test_vpc_flow_logs_to_an_encrypted_log_group_with_a_scoped_role(staging: Program, prod: Program) -> None:
    for program, stack_name, traffic in ((staging, "staging", "REJECT"), (prod, "prod", "ALL")):
        cluster = eks_name(stack_name)
        (flow,) = program.of_type("aws:ec2/flowLog:FlowLog")
        assert flow.get("vpcId") == f"{cluster}-vpc-id"
        assert flow.get("trafficType") == traffic and flow.get("maxAggregationInterval") == 600
        assert flow.get("logDestinationType") == "cloud-watch-logs"
        group = program.named(f"{cluster}-flow-logs")
        assert flow.get("logDestination") == f"arn:aws:mock:us-east-1:123456789012:{group.name}"
        assert group.get("name") == f"/aws/vpc/{cluster}/flow-logs" and group.get("retentionInDays") == 90
        role = program.named(f"{cluster}-flow-logs-role")
        trust = json.loads(role.get("assumeRolePolicy"))["Statement"][0]
        assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
        write = json.loads(program.named(f"{cluster}-flow-logs-write").get("policy"))["Statement"][0]
        assert write["Resource"][0] == f"arn:aws:mock:us-east-1:123456789012:{group.name}"
        assert program.depends_on(flow, program.named(f"{cluster}-flow-logs-write"))


def test_subnet_carve_is_deterministic_and_stable_when_adding_an_az() -> None:
    two = carve_subnets("10.10.0.0/16", 2)
    three = carve_subnets("10.10.0.0/16", 3)
    assert [(p.private, p.public) for p in three] == [
        ("10.10.0.0/18", "10.10.192.0/20"),
        ("10.10.64.0/18", "10.10.208.0/20"),
        ("10.10.128.0/18", "10.10.224.0/20"),
    ]
    assert three[:2] == two
    small = carve_subnets("10.50.16.0/20", 3)
    assert [p.private for p in small] == ["10.50.16.0/22", "10.50.20.0/22", "10.50.24.0/22"]
    assert [p.public for p in small] == ["10.50.28.0/24", "10.50.29.0/24", "10.50.30.0/24"]
    with pytest.raises(ValueError):
        carve_subnets("10.10.0.0/16", 4)


def test_ami_type_follows_the_instance_architecture() -> None:
    assert ami_type("m6i.large") == "AL2023_x86_64_STANDARD"
    assert ami_type("g5.xlarge") == "AL2023_x86_64_STANDARD"
    assert ami_type("m7i-flex.large") == "AL2023_x86_64_STANDARD"
    for graviton in ("m7g.large", "c6gn.xlarge", "t4g.medium", "m6gd.large", "g5g.xlarge"):
        assert ami_type(graviton) == "AL2023_ARM_64_STANDARD", graviton


# ------------------------------------------------------------------ ordering, add-ons, providers


def test_node_group_waits_for_cluster_roles_and_networking_addons(stack: tuple[str, Program]) -> None:
    name, program = stack
    cluster = program.one(CLUSTER)
    group = program.one(NODE_GROUP)
    addons = {a.get("addonName"): a for a in program.of_type(ADDON)}
    assert set(addons) == {
        "vpc-cni",
        "kube-proxy",
        "coredns",
        "eks-pod-identity-agent",
        "metrics-server",
        "aws-ebs-csi-driver",
    }
    # HPAs (gateways, istiod) need the metrics API; the add-on's pods need nodes.
    assert program.depends_on(addons["metrics-server"], group)
    assert program.depends_on(group, cluster)
    for early in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert program.depends_on(group, addons[early]), early
    assert program.depends_on(addons["coredns"], group), "CoreDNS needs nodes to become healthy"
    for addon in addons.values():
        assert addon.get("resolveConflictsOnUpdate") == "OVERWRITE"
        assert program.depends_on(addon, cluster)
    for attachment in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        dependent = (
            group
            if "-node-role-" in attachment.name
            else addons["vpc-cni"]
            if "-vpc-cni-role-" in attachment.name
            else addons["aws-ebs-csi-driver"]
            if "-ebs-csi-role-" in attachment.name
            else cluster
        )
        assert program.depends_on(dependent, attachment), attachment.name


def test_kubernetes_provider_waits_for_the_nodes(stack: tuple[str, Program]) -> None:
    name, program = stack
    provider = program.named(f"{eks_name(name)}-k8s")
    assert program.depends_on(provider, program.one(NODE_GROUP))
    assert program.depends_on(provider, program.one(CLUSTER))


def test_every_aws_resource_uses_the_clusters_explicit_provider(stack: tuple[str, Program]) -> None:
    name, program = stack
    cluster = eks_name(name)
    provider = program.one("pulumi:providers:aws", f"{cluster}-aws")
    assert provider.get("region") == eks_entry(name)["region"]
    aws_children = [r for r in inside(program, cluster) if r.type.startswith("aws:")]
    assert len(aws_children) >= 40
    for r in aws_children:
        assert r.provider == provider.urn, f"{r.type} {r.name} uses {r.provider or 'the default provider'}"


def test_every_aws_resource_is_tagged_with_its_cluster(stack: tuple[str, Program]) -> None:
    name, program = stack
    cluster = eks_name(name)
    taggable = [r for r in inside(program, cluster) if r.type.startswith("aws:") and "tags" in r.plain]
    assert len(taggable) >= 20
    for r in taggable:
        assert r.get("tags")["meshgate:cluster"] == cluster, r.name
        assert r.get("tags")["Name"], r.name


# ------------------------------------------------------------------ protection


PROTECTED_TYPES = {
    "aws:ec2/vpc:Vpc",
    SUBNET,
    NAT,
    "aws:ec2/internetGateway:InternetGateway",
    CLUSTER,
    NODE_GROUP,
    "aws:kms/key:Key",
}


def test_prod_protects_network_cluster_nodes_and_key(prod: Program) -> None:
    resources = inside(prod, eks_name("prod"))
    protected = [r for r in resources if r.type in PROTECTED_TYPES]
    assert {r.type for r in protected} == PROTECTED_TYPES
    assert all(r.protect for r in protected), [r.name for r in protected if not r.protect]
    # routes, rules and add-ons stay replaceable
    assert not any(r.protect for r in resources if r.type in (ADDON, INGRESS, "aws:ec2/route:Route"))
    eips = prod.of_type("aws:ec2/eip:Eip")  # the static egress addresses live outside the cluster component
    assert eips and all(e.protect for e in eips)


def test_unprotected_stack_protects_nothing(staging: Program) -> None:
    assert not any(r.protect for r in inside(staging, eks_name("staging")))


# ------------------------------------------------------------------ kubeconfig


def test_kubeconfig_is_secret_and_uses_aws_eks_get_token(stack: tuple[str, Program]) -> None:
    name, program = stack
    cluster = eks_name(name)
    assert rpc.is_rpc_secret(program.outputs["kubeconfigs"])
    document = json.loads(program.plain_outputs["kubeconfigs"][cluster])
    (user,) = document["users"]
    assert set(user["user"]) == {"exec"}, "no token, password or client key embedded"
    exec_spec = user["user"]["exec"]
    assert exec_spec["command"] == "aws"
    args = exec_spec["args"]
    assert args[:2] == ["eks", "get-token"]
    assert args[args.index("--cluster-name") + 1] == program.one(CLUSTER).get("name") == cluster
    assert args[args.index("--region") + 1] == eks_entry(name)["region"]
    (entry,) = document["clusters"]
    assert entry["cluster"]["server"] == f"https://{cluster}-cluster.eks.example.com"
    assert entry["cluster"]["certificate-authority-data"] == "Q0EtREFUQQ=="
    assert "token" not in json.dumps(document).replace("get-token", "")


def test_irsa_oidc_provider_from_the_cluster_issuer(stack: tuple[str, Program]) -> None:
    name, program = stack
    oidc = program.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.get("url") == f"https://oidc.eks.example.com/id/{eks_name(name)}-cluster"
    assert oidc.get("clientIdLists") == ["sts.amazonaws.com"]


# ------------------------------------------------------------------ autoscaling


def test_cluster_autoscaler_with_pod_identity_and_a_policy_scoped_to_the_clusters_asgs(
    stack: tuple[str, Program],
) -> None:
    name, program = stack
    cluster = eks_name(name)
    (release,) = [r for r in program.releases() if r.get("chart") == "cluster-autoscaler"]
    assert release.get("version") == "9.59.0" and release.get("namespace") == "kube-system"
    assert release.get("repositoryOpts.repo") == "https://kubernetes.github.io/autoscaler"
    values = release.get("values")
    # The autoscaler's minor must match the cluster's (its version policy).
    assert values["image"]["tag"] == f"v{program.one(CLUSTER).get('version')}.0"
    assert values["autoDiscovery"] == {"clusterName": cluster} and values["awsRegion"] == eks_entry(name)["region"]
    assert values["rbac"]["serviceAccount"] == {"create": True, "name": "cluster-autoscaler"}
    (association,) = [
        a
        for a in program.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.get("serviceAccount") == "cluster-autoscaler"
    ]
    assert association.get("namespace") == "kube-system"
    role = program.one("aws:iam/role:Role", f"{cluster}-autoscaler")
    assert association.get("roleArn").endswith(f":{role.name}")
    trust = json.loads(role.get("assumeRolePolicy"))["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    # Only this cluster's kube-system/cluster-autoscaler: the session tags EKS Pod Identity sets
    # (AWS EKS user guide, "Pod Identity ... session tags"), as for the add-on roles.
    assert trust["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "123456789012",
        "aws:RequestTag/eks-cluster-name": cluster,
        "aws:RequestTag/kubernetes-namespace": "kube-system",
        "aws:RequestTag/kubernetes-service-account": "cluster-autoscaler",
    }
    statements = json.loads(
        program.one("aws:iam/rolePolicy:RolePolicy", f"{cluster}-cluster-autoscaler-policy").get("policy")
    )["Statement"]
    writes = [s for s in statements if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert writes == [
        {
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}},
        }
    ]
    assert all(
        a.split(":")[1].startswith(("Describe", "Get")) for s in statements if s not in writes for a in s["Action"]
    )
    assert program.depends_on(release, association), "pods started before the association get no credentials"
    # Pod Identity, not the node role: the metadata hop limit stays 1.
    assert all(t.get("metadataOptions.httpPutResponseHopLimit") == 1 for t in program.of_type(TEMPLATE))
