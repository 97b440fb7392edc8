"""One managed root for a mesh across EKS and GKE (`meshgate:istio.ca: {kind: aws-private-ca}`), under
mocks: prod registers one AWS Private CA root; the GKE cluster's aws-privateca-issuer gets AWS
credentials by web-identity federation (an IAM OIDC provider for the cluster's issuer, a role that
only cert-manager/aws-privateca-issuer's token with audience sts.amazonaws.com can assume, the three
acm-pca actions on the one CA) and a projected token; both clusters' intermediates come from the same
CA ARN. google-cas stays refused for such a mesh."""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness import Program, evaluate, stack_config, unwrap

from components.mesh import managed_ca
from stacks.config import ConfigError, parse_raw

REGION = "us-east-1"
GKE_ISSUER = "https://container.googleapis.com/v1/projects/acme-prod/locations/us-central1/clusters/gcp-central"
GKE_ISSUER_HOST_PATH = GKE_ISSUER.removeprefix("https://")


def _with_aws_ca(stack: str) -> dict[str, Any]:
    config = stack_config(stack)
    config["meshgate:istio"] = {**config["meshgate:istio"], "ca": {"kind": "aws-private-ca", "region": REGION}}
    return config


@pytest.fixture(scope="module")
def prod() -> Program:
    return evaluate(_with_aws_ca("prod"), stack="prod")


def _named(program: Program, type_: str, name: str) -> Any:
    (resource,) = [r for r in program.of_type(type_) if r.name == name]
    return resource


def test_one_root_signs_both_clusters(prod: Program) -> None:
    (root,) = prod.of_type("aws:acmpca/certificateAuthority:CertificateAuthority")
    assert root.plain["type"] == "ROOT" and root.plain["region"] == REGION
    assert not prod.of_type("gcp:certificateauthority/authority:Authority")
    issuers = [r for r in prod.resources if r.kind == "AWSPCAClusterIssuer"]
    assert len(issuers) == 2 and len({i.provider for i in issuers}) == 2  # one per cluster
    specs = [i.plain["spec"] for i in issuers]
    assert specs[0] == specs[1] and specs[0]["region"] == REGION  # the same CA ARN in both clouds
    certificates = [
        r for r in prod.resources if r.kind == "Certificate" and r.get("metadata.namespace") == "istio-system"
    ]
    assert len(certificates) == 2 and {c.provider for c in certificates} == {i.provider for i in issuers}
    for cert in certificates:
        assert cert.get("metadata.name") == "cacerts"
        assert cert.plain["spec"]["issuerRef"] == {
            "name": "meshgate-mesh-ca",
            "kind": "AWSPCAClusterIssuer",
            "group": "awspca.cert-manager.io",
        }


def test_gke_issuer_is_trusted_by_web_identity_only_for_its_service_account(prod: Program) -> None:
    providers = prod.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert [p.name for p in providers if "pca" in p.name] == ["gcp-central-pca-issuer-oidc"]
    oidc = _named(prod, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "gcp-central-pca-issuer-oidc")
    assert oidc.plain["url"] == GKE_ISSUER
    assert oidc.plain["clientIdLists"] == ["sts.amazonaws.com"]
    assert not oidc.plain.get("thumbprintLists")  # IAM checks the issuer's certificate against trusted CAs
    role = _named(prod, "aws:iam/role:Role", "gcp-central-pca-issuer")
    (trust,) = json.loads(role.plain["assumeRolePolicy"])["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(trust["Principal"]) == {"Federated"}
    assert trust["Condition"] == {
        "StringEquals": {
            f"{GKE_ISSUER_HOST_PATH}:sub": "system:serviceaccount:cert-manager:aws-privateca-issuer",
            f"{GKE_ISSUER_HOST_PATH}:aud": "sts.amazonaws.com",
        }
    }
    policy = _named(prod, "aws:iam/rolePolicy:RolePolicy", "gcp-central-pca-issuer-policy")
    eks_policy = _named(prod, "aws:iam/rolePolicy:RolePolicy", "aws-east-pca-issuer-policy")
    (statement,) = json.loads(policy.plain["policy"])["Statement"]
    assert sorted(statement["Action"]) == sorted(managed_ca.PCA_ISSUER_ACTIONS)
    assert statement["Resource"] != "*" and policy.plain["policy"] == eks_policy.plain["policy"]
    # EKS keeps Pod Identity; the GKE cluster has no Pod Identity association
    associations = prod.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert [a.name for a in associations if "pca" in a.name] == ["aws-east-pca-issuer-identity"]


def test_gke_issuer_release_has_the_web_identity_token(prod: Program) -> None:
    gke = _named(prod, "kubernetes:helm.sh/v3:Release", "gcp-central-mesh-ca-aws-privateca-issuer")
    values = unwrap(gke.inputs["values"])
    token_dir = "/var/run/secrets/sts.amazonaws.com/serviceaccount"
    assert values["serviceAccount"]["name"] == "aws-privateca-issuer"
    assert values["env"] == {
        "AWS_ROLE_ARN": values["env"]["AWS_ROLE_ARN"],
        "AWS_WEB_IDENTITY_TOKEN_FILE": f"{token_dir}/token",
        "AWS_REGION": REGION,
    }
    # the mocks' ARN of the GKE cluster's role (not the EKS one)
    assert values["env"]["AWS_ROLE_ARN"].endswith(":gcp-central-pca-issuer")
    (volume,) = values["volumes"]
    (source,) = volume["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    assert source["serviceAccountToken"]["path"] == "token"
    assert values["volumeMounts"] == [{"name": volume["name"], "mountPath": token_dir, "readOnly": True}]
    eks = _named(prod, "kubernetes:helm.sh/v3:Release", "aws-east-mesh-ca-aws-privateca-issuer")
    assert "env" not in unwrap(eks.inputs["values"])  # EKS Pod Identity injects its own credentials
    policy = _named(prod, "aws:iam/rolePolicy:RolePolicy", "gcp-central-pca-issuer-policy")
    assert prod.depends_on(gke, policy)  # the pod starts once its role may issue


def test_release_values_exist_in_the_pinned_chart(prod: Program) -> None:
    from stacks import chart_values

    for release in prod.of_type("kubernetes:helm.sh/v3:Release"):
        if release.plain.get("namespace") == "cert-manager":
            chart = chart_values.load(release.plain["chart"], release.plain["version"])
            assert chart.unknown(release.plain.get("values") or {}) == [], release.name


def test_no_private_key_in_the_state(prod: Program) -> None:
    # scenario 3's Kong admin-API keys are generated in the cluster too (cert-manager, installed for the mesh CA)
    assert not prod.of_type("tls:index/privateKey:PrivateKey")
    assert not [
        s.name for s in prod.of_type("kubernetes:core/v1:Secret") if "tls.key" in (s.plain.get("stringData") or {})
    ]
    staging = evaluate(_with_aws_ca("staging"), stack="staging")  # EKS + GKE, scenario 1: no gateway key
    assert not staging.of_type("tls:index/privateKey:PrivateKey")
    providers = staging.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert [p.name for p in providers if "pca" in p.name] == ["gcp-central-pca-issuer-oidc"]
    assert not [
        r for r in staging.resources if r.type == "kubernetes:core/v1:Secret" and r.get("metadata.name") == "cacerts"
    ]


def test_google_cas_across_clouds_is_refused() -> None:
    raw = stack_config("prod")
    raw["meshgate:istio"] = {
        **raw["meshgate:istio"],
        "ca": {"kind": "google-cas", "region": "us-central1", "project": "acme-pki"},
    }
    with pytest.raises(ConfigError, match=r"^meshgate:istio\.ca\.kind .*aws-east \(eks\).*use kind: aws-private-ca"):
        parse_raw(raw)


def test_aws_private_ca_with_a_kubeconfig_cluster_is_refused() -> None:
    raw = stack_config("prod")
    raw["meshgate:clusters"] = [
        *raw["meshgate:clusters"],
        {"name": "onprem", "kind": "kubeconfig", "network": "onprem-net"},
    ]
    raw["meshgate:istio"] = {**raw["meshgate:istio"], "ca": {"kind": "aws-private-ca", "region": REGION}}
    with pytest.raises(ConfigError, match=r"^meshgate:istio\.ca\.kind .*onprem \(kubeconfig\).*no OIDC issuer"):
        parse_raw(raw)
