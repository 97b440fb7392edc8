"""The policy pack's checks against every stack file's recorded resources, and a failing case for each check.

Positive side: every check runs over the resources each `Pulumi.<stack>.yaml` registers
under mocks; staging and prod have zero mandatory violations, dev only the exemptions
listed in DEV_EXEMPTIONS. Negative side: for every check a weakened resource (the recorded
one when the stacks register that type, else a realistic baseline below) or a weakened
stack graph trips it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from harness import STACK_FILES, Resource, stack_program
from policy_inputs import as_policy_sees, stack_resources

from policy.checks import ALL, BY_ID, RESOURCE_CHECKS, STACK_CHECKS, Check, Level, StackCheck, StackResource

# Check id -> why dev may violate it. Dev adopts a local cluster (kind, minikube): no cloud
# resources, so the cloud checks have nothing to look at; nothing needs an exemption today.
DEV_EXEMPTIONS: dict[str, str] = {}


def mandatory_findings(stack: str, check: Check | StackCheck) -> list[str]:
    program = stack_program(stack)
    if isinstance(check, StackCheck):
        resources = [replace(r, props=as_policy_sees(dict(r.props))) for r in stack_resources(program)]
        return [f"{v.urn}: {v.message}" for v in check(resources)]
    return [f"{r.type} {r.name}: {m}" for r in program.resources for m in check(r.type, as_policy_sees(r.plain))]


# --------------------------------------------------------------------------- the catalogue


def test_at_least_twenty_checks_with_unique_ids() -> None:
    assert len(ALL) >= 20
    assert len(BY_ID) == len(ALL)


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.id)
def test_check_is_documented(check: Check | StackCheck) -> None:
    assert check.id == check.id.lower() and " " not in check.id
    assert check.description and "\n" not in check.description and check.description.endswith(".")
    assert check.level in (Level.MANDATORY, Level.ADVISORY)
    assert any(
        s in check.source for s in ("CIS", "Checkov", "Istio", "docs/upstream-facts.md", "EKS", "pulumi", "meshgate")
    ), check.source


def test_docs_list_every_check() -> None:
    from harness import ROOT

    doc = (ROOT / "docs" / "security.md").read_text()
    missing = [c.id for c in ALL if f"`{c.id}`" not in doc]
    assert not missing, f"docs/security.md does not list {missing}"


# --------------------------------------------------------------------------- stacks pass


@pytest.mark.parametrize("stack", sorted(STACK_FILES))
@pytest.mark.parametrize("check", ALL, ids=lambda c: c.id)
def test_stack_has_no_mandatory_violation(stack: str, check: Check | StackCheck) -> None:
    if check.level is not Level.MANDATORY or (stack == "dev" and check.id in DEV_EXEMPTIONS):
        return
    assert mandatory_findings(stack, check) == []


def test_dev_exemptions_are_still_needed() -> None:
    for check_id in DEV_EXEMPTIONS:
        assert mandatory_findings("dev", BY_ID[check_id]), f"{check_id} no longer fires on dev: drop the exemption"


def test_checks_see_the_cloud_resources_they_are_about() -> None:
    """The recorded stacks register the types the cloud checks read (else 'no violations' means nothing)."""
    seen = {r.type for stack in ("staging", "prod") for r in stack_program(stack).resources}
    for type_ in (
        "aws:eks/cluster:Cluster",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:kms/key:Key",
        "gcp:container/cluster:Cluster",
        "gcp:container/nodePool:NodePool",
        "gcp:compute/firewall:Firewall",
        "pulumi:providers:kubernetes",
    ):
        assert type_ in seen
        assert any(c.applies(type_) for c in RESOURCE_CHECKS), type_


# --------------------------------------------------------------------------- baselines

K8S_META = {"name": "orders", "namespace": "shop", "labels": {"app": "orders"}}

GOOD_CONTAINER = {
    "name": "app",
    "image": "ghcr.io/mccutchen/go-httpbin:2.15.0",
    "ports": [{"containerPort": 8080}],
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    },
    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
}

ISTIO_REPO = {"repo": "https://blob.istio.io/istio-release/charts"}

SYNTHETIC: dict[str, dict[str, Any]] = {
    "kubernetes:apps/v1:Deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": K8S_META,
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "orders"}},
            "template": {
                "metadata": {"labels": {"app": "orders"}},
                "spec": {"securityContext": {"runAsNonRoot": True}, "containers": [GOOD_CONTAINER]},
            },
        },
    },
    "kubernetes:core/v1:Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kong-proxy", "namespace": "meshgate-gateway"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "kong"}, "ports": [{"port": 443, "targetPort": 8443}]},
    },
    "kubernetes:core/v1:ConfigMap": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": K8S_META,
        "data": {"config.yaml": "listen: 8080\n"},
    },
    "kubernetes:helm.sh/v3:Release": {
        "name": "istio-ingressgateway",
        "chart": "gateway",
        "version": "1.31.0",
        "namespace": "istio-ingress",
        "repositoryOpts": ISTIO_REPO,
        "values": {"service": {"type": "LoadBalancer"}, "replicaCount": 2},
        "atomic": True,
        "skipAwait": False,
    },
    "kubernetes:security.istio.io/v1:PeerAuthentication": {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "orders-from-gateway", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "orders"}}, "mtls": {"mode": "PERMISSIVE"}},
    },
    "kubernetes:security.istio.io/v1:AuthorizationPolicy": {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "allow-gateway", "namespace": "shop"},
        "spec": {
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/meshgate-gateway/sa/kong"]}}]}],
        },
    },
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "meshgate", "namespace": "meshgate-gateway"},
        "spec": {"gatewayClassName": "istio", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
    },
    "kubernetes:networking.istio.io/v1:Gateway": {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "cross-network-gateway", "namespace": "istio-system"},
        "spec": {
            "selector": {"istio": "eastwestgateway"},
            "servers": [
                {
                    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                    "hosts": ["api.example.com"],
                    "tls": {"mode": "SIMPLE"},
                }
            ],
        },
    },
    "aws:ec2/securityGroup:SecurityGroup": {
        "vpcId": "vpc-1",
        "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8"]}],
    },
    "aws:ec2/securityGroupRule:SecurityGroupRule": {
        "type": "ingress",
        "protocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
        "cidrBlocks": ["0.0.0.0/0"],
        "securityGroupId": "sg-1",
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
        "securityGroupId": "sg-1",
        "ipProtocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
        "cidrIpv4": "0.0.0.0/0",
    },
    "aws:lb/loadBalancer:LoadBalancer": {"loadBalancerType": "network", "internal": True, "subnets": ["subnet-1"]},
    "aws:apigatewayv2/stage:Stage": {
        "apiId": "api-1",
        "name": "$default",
        "autoDeploy": True,
        "accessLogSettings": {"destinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:api", "format": "{}"},
    },
    "aws:cloudwatch/logGroup:LogGroup": {
        "name": "/aws/eks/c/cluster",
        "retentionInDays": 90,
        "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1",
    },
}


def baseline(type_: str, pick: Callable[[Resource], bool] = lambda _: True) -> dict[str, Any]:
    """Props of a compliant resource of `type_`: recorded by staging/prod when they register one, else synthetic."""
    for stack in ("prod", "staging"):
        for r in stack_program(stack).of_type(type_):
            if pick(r):
                return copy.deepcopy(r.plain)
    return copy.deepcopy(SYNTHETIC[type_])


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(props: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = props
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(leaf)] = value
        elif value is _DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value

    return mutate


_DELETE = object()
CONTAINER = "spec.template.spec.containers.0"
POD = "spec.template.spec"

EKS = "aws:eks/cluster:Cluster"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
GKE = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
DEPLOY = "kubernetes:apps/v1:Deployment"
RELEASE = "kubernetes:helm.sh/v3:Release"
PA = "kubernetes:security.istio.io/v1:PeerAuthentication"
AP = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
K8S_PROVIDER = "pulumi:providers:kubernetes"

STATIC_KUBECONFIG = (
    '{"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "c", "cluster": {"server": "https://x"}}], '
    '"users": [{"name": "c", "user": {"token": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.payload.sig"}}]}'
)
PEM_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"

# (check id, resource type, how to weaken the baseline)
WEAKENINGS: list[tuple[str, str, Callable[[dict[str, Any]], object]]] = [
    ("kiali-exposed-authenticated", RELEASE, _set("values.deployment.service_type", "LoadBalancer")),
    ("kiali-exposed-authenticated", RELEASE, _set("values.deployment.ingress.enabled", True)),
    ("eks-control-plane-logs", EKS, _set("enabledClusterLogTypes", ["api", "audit"])),
    ("eks-secrets-kms", EKS, _set("encryptionConfig", _DELETE)),
    ("eks-endpoint-not-public", EKS, _set("vpcConfig.publicAccessCidrs", ["0.0.0.0/0"])),
    ("eks-endpoint-not-public", EKS, _set("vpcConfig.publicAccessCidrs", _DELETE)),
    ("eks-private-endpoint", EKS, _set("vpcConfig.endpointPrivateAccess", False)),
    ("eks-api-auth-mode", EKS, _set("accessConfig.authenticationMode", "CONFIG_MAP")),
    ("eks-no-bootstrap-admin", EKS, _set("accessConfig.bootstrapClusterCreatorAdminPermissions", True)),
    ("eks-no-bootstrap-admin", EKS, _set("accessConfig.bootstrapClusterCreatorAdminPermissions", _DELETE)),
    ("ec2-imdsv2-required", LT, _set("metadataOptions.httpTokens", "optional")),
    ("ec2-imds-hop-limit", LT, _set("metadataOptions.httpPutResponseHopLimit", 2)),
    ("ec2-ebs-encrypted", LT, _set("blockDeviceMappings.0.ebs.encrypted", "false")),
    (
        "ec2-no-admin-ports-from-world",
        "aws:ec2/securityGroup:SecurityGroup",
        _set("ingress", [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]),
    ),
    ("ec2-no-admin-ports-from-world", "aws:ec2/securityGroupRule:SecurityGroupRule", _set("protocol", "-1")),
    (
        "ec2-no-admin-ports-from-world",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        lambda p: p.update(
            ipProtocol="tcp", fromPort=3389, toPort=3389, cidrIpv4="0.0.0.0/0", referencedSecurityGroupId=None
        ),
    ),
    ("eks-node-group-no-ssh", "aws:eks/nodeGroup:NodeGroup", _set("remoteAccess", {"ec2SshKey": "ops"})),
    ("kms-key-rotation", "aws:kms/key:Key", _set("enableKeyRotation", False)),
    ("kms-key-policy", "aws:kms/key:Key", _set("policy", _DELETE)),
    (
        "kms-key-policy",
        "aws:kms/key:Key",
        _set(
            "policy",
            '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": '
            '"arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]}',
        ),
    ),
    ("cloudwatch-log-group-kms", "aws:cloudwatch/logGroup:LogGroup", _set("kmsKeyId", _DELETE)),
    ("gke-secrets-encryption", GKE, _set("databaseEncryption", _DELETE)),
    ("gke-secrets-encryption", GKE, _set("databaseEncryption.state", "DECRYPTED")),
    ("cloudwatch-log-retention", "aws:cloudwatch/logGroup:LogGroup", _set("retentionInDays", _DELETE)),
    ("lb-internal", "aws:lb/loadBalancer:LoadBalancer", _set("internal", False)),
    ("apigateway-access-logs", "aws:apigatewayv2/stage:Stage", _set("accessLogSettings", _DELETE)),
    ("cloud-names-within-limits", "aws:lb/targetGroup:TargetGroup", _set("name", "aws-east-ingress-nlb-tg-80-a1b2c3d")),
    ("cloud-names-within-limits", "gcp:compute/network:Network", _set("name", "Gcp_Central_Net")),
    ("gke-private-nodes", GKE, _set("privateClusterConfig.enablePrivateNodes", False)),
    (
        "gke-master-authorized-networks",
        GKE,
        _set("masterAuthorizedNetworksConfig.cidrBlocks", [{"cidrBlock": "0.0.0.0/0"}]),
    ),
    ("gke-master-authorized-networks", GKE, _set("masterAuthorizedNetworksConfig", _DELETE)),
    ("gke-master-authorized-networks", GKE, _set("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled", True)),
    ("gke-workload-identity", GKE, _set("workloadIdentityConfig", _DELETE)),
    ("gke-workload-identity", POOL, _set("nodeConfig.workloadMetadataConfig.mode", "GCE_METADATA")),
    ("gke-shielded-nodes", GKE, _set("enableShieldedNodes", False)),
    ("gke-shielded-nodes", POOL, _set("nodeConfig.shieldedInstanceConfig.enableSecureBoot", False)),
    ("gke-network-policy", GKE, _set("datapathProvider", "LEGACY_DATAPATH")),
    ("gke-legacy-abac-off", GKE, _set("enableLegacyAbac", True)),
    ("gke-no-client-certificate", GKE, _set("masterAuth.clientCertificateConfig.issueClientCertificate", True)),
    ("gke-dedicated-node-service-account", POOL, _set("nodeConfig.serviceAccount", _DELETE)),
    (
        "gke-dedicated-node-service-account",
        POOL,
        _set("nodeConfig.serviceAccount", "123-compute@developer.gserviceaccount.com"),
    ),
    (
        "gke-dedicated-node-service-account",
        GKE,
        lambda p: (p.update(removeDefaultNodePool=False), p.update(nodeConfig={"serviceAccount": "default"})),
    ),
    ("gke-release-channel", GKE, _set("releaseChannel.channel", "UNSPECIFIED")),
    ("gke-legacy-metadata-disabled", POOL, _set("nodeConfig.metadata", {"disable-legacy-endpoints": "false"})),
    ("gke-node-auto-repair-upgrade", POOL, _set("management.autoUpgrade", False)),
    (
        "gcp-firewall-no-admin-ports-from-world",
        "gcp:compute/firewall:Firewall",
        lambda p: p.update(sourceRanges=["0.0.0.0/0"], allows=[{"protocol": "tcp", "ports": ["20-30"]}]),
    ),
    (
        "k8s-run-as-non-root",
        DEPLOY,
        lambda p: (
            _set(f"{POD}.securityContext", {})(p),
            _set(f"{CONTAINER}.securityContext.runAsNonRoot", _DELETE)(p),
            _set(f"{CONTAINER}.securityContext.runAsUser", _DELETE)(p),
        ),
    ),
    ("k8s-run-as-non-root", DEPLOY, _set(f"{CONTAINER}.securityContext.runAsUser", 0)),
    ("k8s-no-privilege-escalation", DEPLOY, _set(f"{CONTAINER}.securityContext.allowPrivilegeEscalation", _DELETE)),
    ("k8s-no-privileged-or-host-namespaces", DEPLOY, _set(f"{CONTAINER}.securityContext.privileged", True)),
    ("k8s-no-privileged-or-host-namespaces", DEPLOY, _set(f"{POD}.hostNetwork", True)),
    ("k8s-resources-set", DEPLOY, _set(f"{CONTAINER}.resources.limits", _DELETE)),
    ("k8s-image-pinned", DEPLOY, _set(f"{CONTAINER}.image", "ghcr.io/mccutchen/go-httpbin:latest")),
    ("k8s-image-pinned", DEPLOY, _set(f"{CONTAINER}.image", "localhost:5000/httpbin")),
    (
        "k8s-load-balancer-awaited",
        "kubernetes:core/v1:Service",
        lambda p: (
            _set("spec.type", "LoadBalancer")(p),
            _set("metadata.annotations", {"pulumi.com/skipAwait": "true"})(p),
        ),
    ),
    ("helm-chart-pinned", RELEASE, _set("version", _DELETE)),
    ("helm-chart-pinned", RELEASE, _set("version", "~1.24")),
    ("helm-release-awaited", RELEASE, _set("skipAwait", True)),
    ("helm-values-images-pinned", RELEASE, _set("values.global", {"proxy": {"image": "docker.io/istio/proxyv2"}})),
    ("helm-values-images-pinned", RELEASE, _set("values.image", {"repository": "kong", "tag": "latest"})),
    ("no-plaintext-credentials", "kubernetes:core/v1:ConfigMap", _set("data.kubeconfig", STATIC_KUBECONFIG)),
    ("no-plaintext-credentials", DEPLOY, _set(f"{CONTAINER}.env", [{"name": "TLS_KEY", "value": PEM_KEY}])),
    ("no-plaintext-credentials", RELEASE, _set("values.license", PEM_KEY)),
    ("k8s-provider-exec-auth", K8S_PROVIDER, _set("kubeconfig", STATIC_KUBECONFIG)),
    ("k8s-provider-no-delete-unreachable", K8S_PROVIDER, _set("deleteUnreachable", "true")),
    ("istio-authz-positive-allow", AP, _set("spec.rules.0.from.0.source", {"notNamespaces": ["shop"]})),
    (
        "istio-authz-positive-allow",
        AP,
        _set("spec.rules.0.from.0.source", {"notPrincipals": ["cluster.local/ns/x/sa/y"]}),
    ),
    ("istio-authz-positive-allow", AP, _set("spec.rules.0.to", [{"operation": {"notPaths": ["/admin"]}}])),
    (
        "istio-permissive-scoped",
        PA,
        lambda p: (
            _set("spec.selector", _DELETE)(p),
            _set("metadata.namespace", "shop")(p),
            _set("spec.mtls.mode", "PERMISSIVE")(p),
        ),
    ),
    (
        "istio-permissive-scoped",
        PA,
        lambda p: (
            _set("spec.selector", _DELETE)(p),
            _set("metadata.namespace", "istio-system")(p),
            _set("spec.mtls.mode", "DISABLE")(p),
        ),
    ),
    (
        "istio-permissive-scoped",
        PA,
        lambda p: (
            _set("spec.selector", {"matchLabels": {"app": "orders"}})(p),
            _set("spec.portLevelMtls", {"8080": {"mode": "DISABLE"}})(p),
        ),
    ),
    ("istio-gateway-own-namespace", RELEASE, _set("namespace", "istio-system")),
    (
        "istio-gateway-own-namespace",
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        _set("metadata.namespace", "istio-system"),
    ),
    ("istio-gateway-hosts-explicit", "kubernetes:networking.istio.io/v1:Gateway", _set("spec.servers.0.hosts", ["*"])),
    ("istio-eastwest-restricted", RELEASE, _set("values.service.loadBalancerSourceRanges", _DELETE)),
    ("istio-eastwest-restricted", RELEASE, _set("values.service.loadBalancerSourceRanges", ["0.0.0.0/0"])),
    ("istio-eastwest-restricted", RELEASE, _set("values.networkGateway", "aws-net")),
    (
        "istio-eastwest-restricted",
        RELEASE,
        lambda p: p["values"]["service"]["ports"].append({"name": "tls-istiod", "port": 15012, "targetPort": 15012}),
    ),
    ("kong-admin-api-authenticated", RELEASE, _set("values.gateway.admin.tls.client", _DELETE)),
    ("kong-admin-api-authenticated", RELEASE, _set("values.gateway.admin.tls.client.caBundle", "")),
    ("kong-admin-api-authenticated", RELEASE, _set("values.gateway.admin.http", {"enabled": True})),
    (
        "kong-admin-api-authenticated",
        RELEASE,
        _set("values.gateway", {"env": {"database": "off"}}),
    ),  # chart defaults: admin on, no client check
    # `env` and `customEnv` override the variables the chart derives from caBundle (kong/kong 3.2.0 kong.env)
    ("kong-admin-api-authenticated", RELEASE, _set("values.gateway.env.nginx_admin_ssl_verify_client", "off")),
    (
        "kong-admin-api-authenticated",
        RELEASE,
        _set("values.gateway.customEnv", {"KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT": "optional_no_ca"}),
    ),
    (  # the directive without a CA to verify against
        "kong-admin-api-authenticated",
        RELEASE,
        lambda p: (
            _set("values.gateway.admin.tls.client", _DELETE)(p),
            _set("values.gateway.env.nginx_admin_ssl_verify_client", "on")(p),
        ),
    ),
]


def _is_gateway_release(r: Resource) -> bool:
    return r.get("chart") == "gateway"


def _baseline_for(check_id: str, type_: str) -> dict[str, Any]:
    if check_id.startswith("kiali-"):
        return baseline(
            type_,
            lambda r: r.get("chart") == "kiali-server" and not r.get("values.deployment.remote_cluster_resources_only"),
        )
    if check_id.startswith("kong-"):
        return baseline(type_, lambda r: r.get("chart") == "ingress")  # prod's Kong (kong/ingress)
    if type_ == RELEASE:
        return baseline(type_, _is_gateway_release)
    if type_ == AP:
        return baseline(type_, lambda r: bool(r.get("spec.rules.0.from")))
    return baseline(type_)


@pytest.mark.parametrize(
    ("check_id", "type_", "weaken"), WEAKENINGS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(WEAKENINGS)]
)
def test_weakened_resource_trips_its_check(
    check_id: str, type_: str, weaken: Callable[[dict[str, Any]], object]
) -> None:
    check = BY_ID[check_id]
    assert isinstance(check, Check)
    props = _baseline_for(check_id, type_)
    assert check(type_, props) == [], "the baseline must pass before it is weakened"
    weaken(props)
    messages = check(type_, as_policy_sees(props))
    assert messages and all(isinstance(m, str) and m for m in messages)


def test_every_resource_check_has_a_weakened_case() -> None:
    covered = {c for c, _, _ in WEAKENINGS}
    assert {c.id for c in RESOURCE_CHECKS} <= covered


@pytest.mark.parametrize("type_", sorted(SYNTHETIC))
def test_synthetic_baselines_pass_every_check(type_: str) -> None:
    props = SYNTHETIC[type_]
    for check in RESOURCE_CHECKS:
        assert check(type_, props) == [], check.id


def test_kong_admin_check_reads_both_kong_charts() -> None:
    """kong/kong keeps the admin API on localhost unless `admin.enabled`; kong/ingress enables it
    (values.yaml 0.24.0)."""
    check = BY_ID["kong-admin-api-authenticated"]
    assert isinstance(check, Check)
    kong = {
        "chart": "kong",
        "version": "3.2.0",
        "namespace": "kong",
        "repositoryOpts": {"repo": "https://charts.konghq.com"},
    }
    assert check(RELEASE, {**kong, "values": {"env": {"database": "off"}}}) == []
    assert check(RELEASE, {**kong, "values": {"admin": {"enabled": True}}})
    assert (
        check(RELEASE, {**kong, "values": {"admin": {"enabled": True, "tls": {"client": {"secretName": "admin-ca"}}}}})
        == []
    )
    # the injected directives themselves (cert-manager mode: the CA comes from a mounted Secret)
    mounted = "/etc/secrets/kong-admin-api-server"
    directives = {"nginx_admin_ssl_verify_client": "on", "nginx_admin_ssl_client_certificate": f"{mounted}/ca.crt"}
    assert check(RELEASE, {**kong, "values": {"admin": {"enabled": True}, "env": directives}}) == []
    assert check(
        RELEASE,
        {
            **kong,
            "values": {"admin": {"enabled": True}, "env": {**directives, "nginx_admin_ssl_verify_client": "optional"}},
        },
    )
    # the same values under another chart (Istio's gateway) are not Kong's
    assert (
        check(
            RELEASE, {**kong, "chart": "gateway", "repositoryOpts": ISTIO_REPO, "values": {"admin": {"enabled": True}}}
        )
        == []
    )


def test_checks_ignore_other_types() -> None:
    props = baseline(EKS)
    props["enabledClusterLogTypes"] = []
    assert BY_ID["eks-control-plane-logs"]("aws:eks/nodeGroup:NodeGroup", props) == []  # type: ignore[call-arg]


# --------------------------------------------------------------------------- stack checks


def _k8s(
    urn_name: str, type_: str, props: dict[str, Any], provider: str = "p", deps: tuple[str, ...] = ()
) -> StackResource:
    return StackResource(
        urn=f"urn:{urn_name}", type=type_, name=urn_name, props=props, provider=provider, dependencies=deps
    )


ISTIOD = {"chart": "istiod", "version": "1.31.0", "namespace": "istio-system", "repositoryOpts": ISTIO_REPO}
BASE = {"chart": "base", "version": "1.31.0", "namespace": "istio-system", "repositoryOpts": ISTIO_REPO}
STRICT = {"metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}}}
ALLOW_NOTHING = {"metadata": {"name": "allow-nothing", "namespace": "shop"}, "spec": {}}


def _run(check_id: str, resources: list[StackResource]) -> list[str]:
    check = BY_ID[check_id]
    assert isinstance(check, StackCheck)
    return [v.message for v in check(resources)]


def test_mesh_wide_strict_required_per_cluster() -> None:
    good = [_k8s("istiod", RELEASE, ISTIOD), _k8s("default", PA, STRICT)]
    assert _run("istio-mesh-wide-strict", good) == []
    other_cluster = [*good, _k8s("istiod-2", RELEASE, ISTIOD, provider="p2")]
    assert len(_run("istio-mesh-wide-strict", other_cluster)) == 1
    permissive = copy.deepcopy(STRICT)
    permissive["spec"]["mtls"]["mode"] = "PERMISSIVE"
    assert _run("istio-mesh-wide-strict", [_k8s("istiod", RELEASE, ISTIOD), _k8s("default", PA, permissive)])
    scoped = copy.deepcopy(STRICT)
    scoped["spec"]["selector"] = {"matchLabels": {"app": "x"}}
    assert _run("istio-mesh-wide-strict", [_k8s("istiod", RELEASE, ISTIOD), _k8s("default", PA, scoped)])


def test_custom_resources_depend_on_their_crds() -> None:
    base = _k8s("base", RELEASE, BASE)
    assert _run("k8s-crds-before-custom-resources", [base, _k8s("default", PA, STRICT, deps=(base.urn,))]) == []
    assert _run("k8s-crds-before-custom-resources", [base, _k8s("default", PA, STRICT)])
    # Istio preinstalled (no base chart in the stack): nothing to order against.
    assert _run("k8s-crds-before-custom-resources", [_k8s("default", PA, STRICT)]) == []
    crds = _k8s(
        "gateway-api",
        "kubernetes:yaml/v2:ConfigFile",
        {"files": ["https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.2.1/standard-install.yaml"]},
    )
    gateway = SYNTHETIC["kubernetes:gateway.networking.k8s.io/v1:Gateway"]
    assert _run(
        "k8s-crds-before-custom-resources",
        [crds, _k8s("gw", "kubernetes:gateway.networking.k8s.io/v1:Gateway", gateway)],
    )


def test_default_deny_baseline() -> None:
    allow = SYNTHETIC[AP]
    assert _run("istio-default-deny", [_k8s("allow", AP, allow), _k8s("nothing", AP, ALLOW_NOTHING)]) == []
    assert _run("istio-default-deny", [_k8s("allow", AP, allow)])


def test_eks_clusters_need_an_admin_access_entry_in_the_stack() -> None:
    program = stack_program("staging")
    resources = stack_resources(program)
    assert _run("eks-admin-access-entry", resources) == []
    without_association = [r for r in resources if r.type != "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"]
    assert _run("eks-admin-access-entry", without_association)
    viewers = [
        replace(r, props={**r.props, "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"})
        if r.type == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
        else r
        for r in resources
    ]
    assert _run("eks-admin-access-entry", viewers)


def test_the_cni_policy_never_sits_on_the_node_role() -> None:
    resources = stack_resources(stack_program("prod"))
    assert _run("eks-cni-own-role", resources) == []
    node_role = next(r for r in resources if r.type == "aws:iam/role:Role" and r.name.endswith("-node-role"))
    on_nodes = StackResource(
        urn="urn:cni-on-nodes",
        type="aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        name="cni-on-nodes",
        props={"policyArn": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy", "role": node_role.name},
        dependencies=(node_role.urn,),
    )
    assert _run("eks-cni-own-role", [*resources, on_nodes])
    no_identity = [
        replace(r, props={k: v for k, v in r.props.items() if k != "podIdentityAssociations"})
        if r.type == "aws:eks/addon:Addon"
        else r
        for r in resources
    ]
    assert _run("eks-cni-own-role", no_identity)


def test_every_vpc_needs_a_flow_log() -> None:
    resources = stack_resources(stack_program("staging"))
    assert _run("vpc-flow-logs", resources) == []
    assert _run("vpc-flow-logs", [r for r in resources if r.type != "aws:ec2/flowLog:FlowLog"])


INGRESS = {
    "chart": "gateway",
    "version": "1.24.2",
    "namespace": "istio-ingress",
    "repositoryOpts": ISTIO_REPO,
    "values": {},
}
INTEGRATION = "aws:apigatewayv2/integration:Integration"


def _gateway_only(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "external-gateway-only", "namespace": "istio-ingress"},
        "spec": {"action": "ALLOW", "rules": rules},
    }


def test_ingress_behind_an_external_gateway_admits_only_the_gateways_proof() -> None:
    check = "ingress-only-from-external-gateway"
    ingress = _k8s("ingress", RELEASE, INGRESS)
    edge = StackResource(urn="urn:integration", type=INTEGRATION, name="orders", props={})
    header = {"key": "request.headers[x-meshgate-gateway-auth]", "values": ["s3cret"]}
    paths = [{"operation": {"paths": ["/orders", "/orders/*"]}}]
    good = _gateway_only([{"to": paths, "when": [header]}])
    assert _run(check, [edge, ingress, _k8s("only", AP, good)]) == []
    google = _gateway_only(
        [{"from": [{"source": {"requestPrincipals": ["https://accounts.google.com/1234"]}}], "to": paths}]
    )
    assert _run(check, [edge, ingress, _k8s("only", AP, google)]) == []
    # no policy at all: anyone who reaches the ingress skips the gateway
    assert _run(check, [edge, ingress])
    # a rule with only paths, a wildcard header value or any token of an issuer proves nothing
    for loose in (
        {"to": paths},
        {"to": paths, "when": [{**header, "values": ["*"]}]},
        {"to": paths, "from": [{"source": {"requestPrincipals": ["https://auth.example.com//*"]}}]},
    ):
        assert _run(check, [edge, ingress, _k8s("only", AP, _gateway_only([{"to": paths, "when": [header]}, loose]))])
    # no external gateway (scenarios 2-4), or an east-west gateway: not this check's business
    assert _run(check, [ingress]) == []
    east_west = {**INGRESS, "values": {"networkGateway": "aws-net"}}
    assert _run(check, [edge, _k8s("ew", RELEASE, east_west)]) == []


def _prod_with(change: Callable[[StackResource], StackResource | None]) -> list[StackResource]:
    """prod's recorded resources, each passed through `change` (None drops it)."""
    out = []
    for r in stack_resources(stack_program("prod")):
        changed = change(r)
        if changed is not None:
            out.append(changed)
    return out


def _eks_cluster(r: StackResource) -> bool:
    return r.type == EKS


def test_api_servers_admit_every_peers_egress_addresses() -> None:
    prod = stack_resources(stack_program("prod"))
    assert _run("api-server-reachable-from-peers", prod) == []
    assert (
        _run("api-server-reachable-from-peers", stack_resources(stack_program("staging"))) == []
    )  # no multi-cluster mesh
    address = next(r for r in prod if r.type == "gcp:compute/address:Address")
    # The EKS allowlist no longer waits for (so cannot name) the GKE cluster's NAT address.
    dropped = _prod_with(
        lambda r: (
            replace(r, dependencies=tuple(d for d in r.dependencies if d != address.urn)) if _eks_cluster(r) else r
        )
    )
    assert _run("api-server-reachable-from-peers", dropped) == [
        f"API server aws-east-cluster does not admit peer egress address {address.name}: the peer's istiod cannot read "
        "its endpoints (add every peer's egress addresses to the allowlist)"
    ]
    # Once the engine knows the address, the allowlist must hold it.
    moved = _prod_with(lambda r: replace(r, props={**r.props, "address": "34.9.9.9"}) if r.urn == address.urn else r)
    assert len(_run("api-server-reachable-from-peers", moved)) == 1
    known = {r.urn: r for r in prod}[address.urn]
    from stacks.recording import fake_ip as _fake_ip

    right = _prod_with(
        lambda r: (
            replace(r, props={**r.props, "address": _fake_ip("34.0.0.0", known.name)}) if r.urn == address.urn else r
        )
    )
    assert _run("api-server-reachable-from-peers", right) == []


def test_api_servers_admit_the_deployer() -> None:
    assert _run("api-server-reachable-from-deployer", stack_resources(stack_program("prod"))) == []

    def only_peers(r: StackResource) -> StackResource:
        if not _eks_cluster(r):
            return r
        vpc = dict(r.props["vpcConfig"])
        vpc["publicAccessCidrs"] = [c for c in vpc["publicAccessCidrs"] if c.startswith("34.")]  # the GKE NAT /32 only
        return replace(r, props={**r.props, "vpcConfig": vpc})

    assert _run("api-server-reachable-from-deployer", _prod_with(only_peers)) == [
        "API server aws-east-cluster admits no deployer: its public endpoint allows only the peers' egress addresses; "
        "add meshgate:deployerCidrs or declare meshgate:deployerInsideNetwork: true"
    ]

    def private(r: StackResource, inside: bool) -> StackResource:
        if not _eks_cluster(r):
            return r
        vpc = {**r.props["vpcConfig"], "endpointPublicAccess": False, "publicAccessCidrs": None}
        tags = {**r.props["tags"], **({"meshgate:deployer": "inside-network"} if inside else {})}
        return replace(r, props={**r.props, "vpcConfig": vpc, "tags": tags})

    assert len(_run("api-server-reachable-from-deployer", _prod_with(lambda r: private(r, inside=False)))) == 1
    assert _run("api-server-reachable-from-deployer", _prod_with(lambda r: private(r, inside=True))) == []


KONG_INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
KONG_PLUGIN = "kubernetes:configuration.konghq.com/v1:KongPlugin"
RA = "kubernetes:security.istio.io/v1:RequestAuthentication"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"


def _kong_ingress(protocols: str | None, plugins: str = "payments-key-auth") -> dict[str, Any]:
    annotations = {"konghq.com/plugins": plugins, "konghq.com/strip-path": "true"}
    if protocols is not None:
        annotations["konghq.com/protocols"] = protocols
    path = {
        "path": "/payments",
        "pathType": "Prefix",
        "backend": {"service": {"name": "payments", "port": {"number": 8080}}},
    }
    return {
        "metadata": {"name": "payments", "namespace": "shop", "annotations": annotations},
        "spec": {"ingressClassName": "kong", "rules": [{"http": {"paths": [path]}}]},
    }


def _plugin(name: str, plugin: str) -> StackResource:
    return _k8s(name, KONG_PLUGIN, {"metadata": {"name": name, "namespace": "shop"}, "plugin": plugin})


def test_kong_route_with_credentials_is_https_only() -> None:
    check = "gateway-credentials-https-only"
    key_auth = _plugin("payments-key-auth", "key-auth")
    assert _run(check, [key_auth, _k8s("ing", KONG_INGRESS, _kong_ingress("https"))]) == []
    for protocols in (None, "http,https", "http"):  # Kong's default is http,https
        (message,) = _run(check, [key_auth, _k8s("ing", KONG_INGRESS, _kong_ingress(protocols))])
        assert "Ingress shop/payments takes credentials (plugin payments-key-auth)" in message
    # a non-auth plugin does not make a route credentialed
    limit = _plugin("payments-key-auth", "rate-limiting")
    assert _run(check, [limit, _k8s("ing", KONG_INGRESS, _kong_ingress("http,https"))]) == []
    # the backend validates JWTs (Istio RequestAuthentication on its pods)
    jwt = _k8s(
        "ra",
        RA,
        {
            "metadata": {"name": "payments-jwt", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": {"app": "payments"}}},
        },
    )
    (message,) = _run(check, [jwt, _k8s("ing", KONG_INGRESS, _kong_ingress("http,https", plugins=""))])
    assert "backend payments validates JWTs" in message
    # ...but not on another cluster
    assert (
        _run(check, [replace(jwt, provider="p2"), _k8s("ing", KONG_INGRESS, _kong_ingress("http,https", plugins=""))])
        == []
    )


def _gateway() -> StackResource:
    listeners = [
        {"name": "http", "port": 80, "protocol": "HTTP"},
        {"name": "https", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Terminate"}},
    ]
    return _k8s(
        "gw",
        GATEWAY,
        {
            "metadata": {"name": "meshgate", "namespace": "gw"},
            "spec": {"gatewayClassName": "istio", "listeners": listeners},
        },
    )


def _route(section: str | None, *, forward: bool = True) -> StackResource:
    parent: dict[str, Any] = {"kind": "Gateway", "name": "meshgate", "namespace": "gw"}
    if section is not None:
        parent["sectionName"] = section
    rule: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": "/orders"}}]}
    if forward:
        rule["backendRefs"] = [{"name": "orders", "port": 8080}]
    else:
        rule["filters"] = [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}]
    return _k8s(
        "route",
        HTTP_ROUTE,
        {"metadata": {"name": "orders", "namespace": "shop"}, "spec": {"parentRefs": [parent], "rules": [rule]}},
    )


def test_gateway_api_route_with_jwt_is_https_only() -> None:
    check = "gateway-credentials-https-only"
    edge = {
        "metadata": {"name": "catalogue-only", "namespace": "gw"},
        "spec": {
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"requestPrincipals": ["https://auth/*"]}}],
                    "to": [{"operation": {"paths": ["/orders", "/orders/*"]}}],
                }
            ],
        },
    }
    jwt_at_gateway = [_gateway(), _k8s("edge", AP, edge)]
    assert _run(check, [*jwt_at_gateway, _route("https")]) == []
    assert _run(check, [*jwt_at_gateway, _route("http", forward=False)]) == []  # a redirect only
    for section in (None, "http"):  # no sectionName: every listener, port 80 included
        (message,) = _run(check, [*jwt_at_gateway, _route(section)])
        assert "HTTPRoute shop/orders takes JWTs but forwards from the plain-HTTP listener http" in message
    # without any JWT requirement the route may be served on both listeners
    assert _run(check, [_gateway(), _route(None)]) == []


def test_telemetry_providers_must_point_at_deployed_services() -> None:
    """dev's istiod points both providers at its agent collector; a provider at a Service nobody
    deploys (the old `zipkin.istio-system:9411`) and a Telemetry selecting an undefined provider fail."""
    dev = stack_resources(stack_program("dev"))
    assert _run("telemetry-provider-deployed", dev) == []
    istiod = next(r for r in dev if r.type == RELEASE and r.props.get("chart") == "istiod")
    zipkin = copy.deepcopy(dict(istiod.props))
    zipkin["values"]["meshConfig"]["extensionProviders"] = [
        {"name": "otel-tracing", "zipkin": {"service": "zipkin.istio-system.svc.cluster.local", "port": 9411}},
        {"name": "otel-als", "envoyOtelAls": {"service": "otel-agent.meshgate-telemetry.svc.cluster.local"}},
    ]
    broken = [replace(r, props=zipkin) if r is istiod else r for r in dev]
    assert _run("telemetry-provider-deployed", broken) == [
        "extension provider otel-tracing (zipkin) sends to zipkin.istio-system.svc.cluster.local, which this stack "
        "does not deploy in that cluster: istiod drops it and nothing is sent"
    ]
    undefined = copy.deepcopy(zipkin)
    undefined["values"]["meshConfig"]["extensionProviders"] = undefined["values"]["meshConfig"]["extensionProviders"][
        1:
    ]
    messages = _run("telemetry-provider-deployed", [replace(r, props=undefined) if r is istiod else r for r in dev])
    assert messages == ["Telemetry selects tracing provider otel-tracing, which istiod does not define"]


def test_every_stack_check_has_a_failing_case_above() -> None:
    exercised = {
        "telemetry-provider-deployed",
        "istio-mesh-wide-strict",
        "k8s-crds-before-custom-resources",
        "istio-default-deny",
    }
    exercised.update({"eks-admin-access-entry", "eks-cni-own-role", "vpc-flow-logs"})
    exercised.add("ingress-only-from-external-gateway")
    exercised.add("eks-admin-access-entry")
    exercised |= {"api-server-reachable-from-deployer", "api-server-reachable-from-peers"}
    exercised.add("gateway-credentials-https-only")
    exercised |= {"kong-admin-reachable-only-from-controller", "external-gateway-upstream-verified"}  # ..._reachability
    exercised.add("teardown-load-balancers-before-network")  # tests/test_teardown.py
    exercised.add("mesh-ca-managed-on-cloud")  # tests/test_managed_ca.py
    assert {c.id for c in STACK_CHECKS} <= exercised
