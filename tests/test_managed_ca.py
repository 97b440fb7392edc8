"""A managed root of trust (`meshgate:istio.ca`): under mocks, a cloud stack with AWS Private CA or
Google CAS registers no `tls` private key and no Secret holding a CA key; every cluster's intermediate
is a cert-manager Certificate (key generated in the cluster, `cacerts`), signed by the one root
through the cloud's issuer with the cluster's own workload identity (least privilege)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gateway_helpers import kong_on_managed_ca, run
from harness import Program, evaluate, stack_config, stack_program, unwrap

from components.mesh import managed_ca
from stacks.config import ConfigError, parse_raw
from stacks.config_rules import warnings

AWS_WEST = {
    "name": "aws-west",
    "kind": "eks",
    "region": "us-west-2",
    "vpcCidr": "10.30.0.0/16",
    "network": "aws-west-net",
    "adminPrincipalArns": ["arn:aws:iam::123456789012:role/platform-admins"],
    "ingress": {"hostname": "catalog.staging.example.com", "tlsSecret": "ingress-tls"},
}
GCP_WEST = {
    "name": "gcp-west",
    "kind": "gke",
    "project": "acme-staging",
    "region": "us-west1",
    "vpcCidr": "10.30.0.0/16",
    "network": "gcp-west-net",
    "masterCidr": "172.16.0.32/28",
    "ingress": {"hostname": "orders.staging.example.com", "tlsSecret": "ingress-tls"},
}


def _one_cloud(kind: str) -> dict[str, Any]:
    """staging (scenario 1: no gateway key of its own) as a two-cluster mesh on one cloud: the other
    cloud's cluster replaced by a second cluster of this cloud."""
    config = stack_config("staging")
    eks, gke = config["meshgate:clusters"]
    if kind == "aws-private-ca":
        config = json.loads(json.dumps(config).replace("gcp-central", "aws-west"))
        config["meshgate:clusters"] = [eks, AWS_WEST]
        ca = {"kind": kind, "region": "us-east-1"}
    else:
        config = json.loads(json.dumps(config).replace("aws-east", "gcp-west"))
        config["meshgate:clusters"] = [GCP_WEST, gke]
        config["meshgate:externalGateway"] = {
            "kind": "gcp-api-gateway",
            "region": "us-central1",
            "project": "acme-staging",
            "cluster": "gcp-central",
        }
        # API Gateway quotas count per API key: no rate limit on an API without key auth
        config["meshgate:apis"] = [
            {k: v for k, v in api.items() if k != "rateLimitPerMinute"} for api in config["meshgate:apis"]
        ]
        ca = {"kind": kind, "region": "us-central1", "project": "acme-pki"}
    config["meshgate:istio"] = {**config["meshgate:istio"], "multicluster": True, "ca": ca}
    return config


@pytest.fixture(scope="module", params=["aws-private-ca", "google-cas"])
def managed(request: pytest.FixtureRequest) -> tuple[str, Program]:
    return request.param, evaluate(_one_cloud(request.param), stack="staging")


def _is_ca_key(value: Any) -> bool:
    text = json.dumps(unwrap(value))
    return any(k in text for k in ("ca-key.pem", "PRIVATE KEY", "MOCK KEY"))


def test_no_ca_private_key_in_the_state(managed: tuple[str, Program]) -> None:
    _, program = managed
    assert not [r.name for r in program.resources if r.type == "tls:index/privateKey:PrivateKey"]
    secrets = program.of_type("kubernetes:core/v1:Secret")
    assert not [s.name for s in secrets if _is_ca_key(s.inputs.get("stringData")) or _is_ca_key(s.inputs.get("data"))]
    assert not [s.name for s in secrets if s.get("metadata.name") == "cacerts"]  # cert-manager writes it


def test_every_cluster_gets_an_intermediate_from_the_one_root(managed: tuple[str, Program]) -> None:
    kind, program = managed
    certificates = [r for r in program.resources if r.kind == "Certificate"]
    assert len(certificates) == 2
    issuers = [r for r in program.resources if r.kind in ("AWSPCAClusterIssuer", "GoogleCASClusterIssuer")]
    assert len(issuers) == 2
    specs = [i.plain["spec"] for i in issuers]
    assert specs[0] == specs[1]  # both clusters sign with the same root: cross-cluster mTLS verifies
    for cert in certificates:
        assert cert.get("metadata.namespace") == "istio-system" and cert.get("metadata.name") == "cacerts"
        spec = cert.plain["spec"]
        assert spec["secretName"] == "cacerts" and spec["isCA"] is True
        assert spec["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
        assert spec["issuerRef"]["kind"] == issuers[0].kind
        istiod = next(
            r
            for r in program.resources
            if r.type == "kubernetes:helm.sh/v3:Release"
            and r.plain.get("name") == "istiod"
            and r.provider == cert.provider
        )
        assert program.depends_on(istiod, cert)  # istiod starts with the managed intermediate
    roots = [r for r in program.resources if r.type in ("aws:acmpca/certificateAuthority:CertificateAuthority",)]
    pools = [r for r in program.resources if r.type == "gcp:certificateauthority/authority:Authority"]
    assert len(roots) + len(pools) == 1
    if kind == "aws-private-ca":
        assert roots[0].plain["type"] == "ROOT" and roots[0].plain["permanentDeletionTimeInDays"] == 7
        assert {s["pcaTemplate"]["defaultTemplateName"] for s in specs} == {"SubordinateCACertificate_PathLen0/V1"}
    else:
        assert pools[0].plain["type"] == "SELF_SIGNED" and pools[0].plain["deletionProtection"] is False


def test_issuer_identity_is_least_privilege(managed: tuple[str, Program]) -> None:
    kind, program = managed
    if kind == "aws-private-ca":
        associations = [
            r for r in program.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") if "pca" in r.name
        ]
        assert {(a.plain["namespace"], a.plain["serviceAccount"]) for a in associations} == {
            ("cert-manager", "aws-privateca-issuer")
        }
        roles = [r for r in program.of_type("aws:iam/role:Role") if r.name.endswith("-pca-issuer")]
        assert len(roles) == 2
        for role in roles:
            (trust,) = json.loads(role.plain["assumeRolePolicy"])["Statement"]
            tags = trust["Condition"]["StringEquals"]
            assert tags["aws:RequestTag/kubernetes-namespace"] == "cert-manager"
            assert tags["aws:RequestTag/kubernetes-service-account"] == "aws-privateca-issuer"
            assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        policies = [r for r in program.of_type("aws:iam/rolePolicy:RolePolicy") if "pca-issuer" in r.name]
        assert len(policies) == 2
        for policy in policies:
            (statement,) = json.loads(policy.plain["policy"])["Statement"]
            assert sorted(statement["Action"]) == sorted(managed_ca.PCA_ISSUER_ACTIONS)
            assert statement["Resource"] != "*"
    else:
        members = program.of_type("gcp:certificateauthority/caPoolIamMember:CaPoolIamMember")
        assert {m.plain["role"] for m in members} == {"roles/privateca.certificateRequester"}
        bindings = program.of_type("gcp:serviceaccount/iAMMember:IAMMember")
        assert {b.plain["member"] for b in bindings} == {
            "serviceAccount:acme-staging.svc.id.goog[cert-manager/cert-manager-google-cas-issuer]"
        }


def test_charts_are_pinned(managed: tuple[str, Program]) -> None:
    _, program = managed
    charts = {
        (r.plain["chart"], r.plain["version"])
        for r in program.of_type("kubernetes:helm.sh/v3:Release")
        if r.plain.get("namespace") == "cert-manager"
    }
    assert ("cert-manager", "v1.21.1") in charts
    assert charts & {("aws-privateca-issuer", "v1.9.0"), ("cert-manager-google-cas-issuer", "v0.12.0")}


@pytest.mark.parametrize(
    ("ca", "message"),
    [
        ({"kind": "aws-private-ca"}, r"^meshgate:istio\.ca\.region is required"),
        ({"kind": "google-cas", "region": "us-central1"}, r"^meshgate:istio\.ca\.project is required"),
        (
            {"kind": "google-cas", "region": "us-central1", "project": "acme-pki"},
            r"^meshgate:istio\.ca\.kind .*aws-east \(eks\)",
        ),
    ],
)
def test_bad_managed_ca_config(ca: dict[str, str], message: str) -> None:
    raw = stack_config("prod")
    raw["meshgate:istio"] = {**raw["meshgate:istio"], "ca": ca}
    with pytest.raises(ConfigError, match=message):
        parse_raw(raw)


def test_self_managed_ca_on_a_cloud_stack_is_a_warning() -> None:
    (warning,) = [w for w in warnings(parse_raw(stack_config("prod"))) if "istio.ca" in w]
    assert "kept in the stack's state" in warning
    assert not [w for w in warnings(parse_raw(stack_config("dev"))) if "istio.ca" in w]
    assert not [w for w in warnings(parse_raw(_one_cloud("google-cas"))) if "istio.ca" in w]


def test_release_values_exist_in_the_pinned_charts(managed: tuple[str, Program]) -> None:
    from stacks import chart_values

    _, program = managed
    for release in program.of_type("kubernetes:helm.sh/v3:Release"):
        chart, version = release.plain["chart"], release.plain["version"]
        assert chart_values.load(chart, version).unknown(release.plain.get("values") or {}) == [], release.name


def test_policy_flags_a_self_managed_ca_on_a_cloud_stack(managed: tuple[str, Program]) -> None:
    from dataclasses import replace

    from policy_inputs import as_policy_sees, stack_resources

    from policy.checks.istio import STACK_CHECKS
    from policy.checks.model import Level

    (check,) = [c for c in STACK_CHECKS if c.id == "mesh-ca-managed-on-cloud"]
    assert check.level is Level.ADVISORY

    def violations(program: Program) -> list[str]:
        resources = [replace(r, props=as_policy_sees(dict(r.props))) for r in stack_resources(program)]
        return [v.message for v in check(resources)]

    prod = violations(stack_program("prod"))  # EKS + GKE, self-managed CA in both clusters
    assert len(prod) == 2 and all("cacerts" in m and "in the stack's state" in m for m in prod)
    assert violations(managed[1]) == []
    assert violations(stack_program("dev")) == []  # no cloud cluster: a self-managed CA is fine there


@pytest.mark.parametrize("scenario", ["in-cluster-gateway", "in-cluster-gateway-mesh"])
@pytest.mark.parametrize("kind", ["aws-private-ca", "google-cas"])
def test_no_private_key_in_the_state_with_kong(kind: str, scenario: str) -> None:
    """Scenarios 2 and 3 add Kong's admin-API CA and client certificate: with a managed mesh CA
    cert-manager generates those keys in the cluster too, so the stack still holds no key."""
    program = run(kong_on_managed_ca(kind, scenario))
    assert not [r.name for r in program.resources if r.type.startswith("tls:")]
    secrets = program.of_type("kubernetes:core/v1:Secret")
    assert not [s.name for s in secrets if _is_ca_key(s.inputs.get("stringData")) or _is_ca_key(s.inputs.get("data"))]
    assert not [s.get("metadata.name") for s in secrets if s.get("metadata.name", "").startswith("kong-admin")]
    kong = [r for r in program.resources if r.type.startswith("kubernetes:cert-manager.io/") and "kong" in r.name]
    assert {(r.kind, r.get("metadata.name")) for r in kong} == {
        ("Issuer", "kong-admin-api-selfsigned"),
        ("Certificate", "kong-admin-api-ca"),
        ("Issuer", "kong-admin-api-ca"),
        ("Certificate", "kong-admin-api-client"),
        ("Certificate", "kong-admin-api-server"),
    }


@pytest.mark.parametrize("scenario", ["in-cluster-gateway", "in-cluster-gateway-mesh"])
def test_policy_pack_passes_a_managed_ca_stack_with_kong(scenario: str) -> None:
    """No mandatory finding and no `mesh-ca-managed-on-cloud` advisory on a managed-CA stack with Kong in
    cert-manager mode (the admin API still requires the controller's certificate: the injected directives)."""
    from dataclasses import replace

    from policy_inputs import as_policy_sees, stack_resources

    from policy.checks import ALL, Level, StackCheck

    program = run(kong_on_managed_ca("aws-private-ca", scenario))
    resources = [replace(r, props=as_policy_sees(dict(r.props))) for r in stack_resources(program)]
    found: dict[str, list[str]] = {}
    for check in ALL:
        if isinstance(check, StackCheck):
            messages = [v.message for v in check(resources)]
        else:
            messages = [m for r in program.resources for m in check(r.type, as_policy_sees(r.plain))]
        if messages and (check.level is Level.MANDATORY or check.id == "mesh-ca-managed-on-cloud"):
            found[check.id] = messages
    assert found == {}
