"""The policy builders and the IstioGateway component, driven by a small program under mocks."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from harness import Program, Resource, evaluate
from mesh_helpers import policy_program, small_mesh

from components.istio_security.authorization import allow_from
from components.istio_security.peer_authentication import peer_authentication
from components.mesh.gateway import IstioGateway, IstioGatewayArgs

GATEWAY_PRINCIPAL = "cluster.local/ns/kong/sa/kong-gateway"  # MeshHandle.principal("kong", "kong-gateway")


def _gateways(revision: str | None) -> Any:
    def program() -> None:
        mesh = small_mesh(revision)
        gateway = IstioGateway(
            "c1-ingress",
            IstioGatewayArgs(
                mesh=mesh.handle,
                namespace="istio-ingress",
                release_name="istio-ingressgateway",
                kind="ingress",
                service_annotations={"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
                extra_values={"service": {"externalTrafficPolicy": "Local"}, "autoscaling": {"maxReplicas": 9}},
                replicas=3,
            ),
            pulumi.ResourceOptions(parent=mesh),
        )
        pulumi.export("address", gateway.address)
        pulumi.export("selector", gateway.selector_labels)
        pulumi.export("service", gateway.service_name)

    return program


@pytest.fixture(scope="module")
def policies() -> Program:
    return evaluate({}, program=policy_program)


@pytest.fixture(scope="module")
def ingress() -> Program:
    return evaluate({}, program=_gateways(None))


def cr(program: Program, kind: str, name: str) -> Resource:
    found = [r for r in program.k8s_objects(kind) if r.get("metadata.name") == name]
    assert len(found) == 1
    return found[0]


# ------------------------------------------------------------------ policy builders


def test_allow_nothing_is_an_empty_policy(policies: Program) -> None:
    policy = cr(policies, "AuthorizationPolicy", "allow-nothing")
    assert policy.get("apiVersion") == "security.istio.io/v1"
    assert policy.get("metadata.namespace") == "shop"
    assert policy.get("spec") == {}


def test_allow_from_the_gateway_identity(policies: Program) -> None:
    policy = cr(policies, "AuthorizationPolicy", "allow-gateway")
    assert policy.get("spec") == {
        "action": "ALLOW",
        "selector": {"matchLabels": {"app": "orders"}},
        "rules": [
            {
                "from": [{"source": {"principals": [GATEWAY_PRINCIPAL]}}],
                "to": [{"operation": {"paths": ["/orders", "/orders/*"], "ports": ["8080"]}}],
            }
        ],
    }
    assert cr(policies, "AuthorizationPolicy", "require-jwt").get("spec.rules.0") == {
        "from": [{"source": {"requestPrincipals": ["*"]}}]
    }


def test_no_negative_matches_are_ever_produced(policies: Program) -> None:
    text = str([r.plain for r in policies.k8s_objects("AuthorizationPolicy")])
    assert "notPrincipals" not in text and "notNamespaces" not in text


def test_port_scoped_permissive(policies: Program) -> None:
    assert cr(policies, "PeerAuthentication", "orders-plaintext").get("spec") == {
        "mtls": {"mode": "STRICT"},
        "selector": {"matchLabels": {"app": "orders"}},
        "portLevelMtls": {"8080": {"mode": "PERMISSIVE"}},
    }
    assert cr(policies, "PeerAuthentication", "shop").get("spec") == {"mtls": {"mode": "STRICT"}}


def test_request_authentication(policies: Program) -> None:
    assert cr(policies, "RequestAuthentication", "jwt").get("spec") == {
        "jwtRules": [
            {
                "issuer": "https://auth.example.com/",
                "jwksUri": "https://auth.example.com/jwks.json",
                "audiences": ["orders"],
                "forwardOriginalToken": True,
            }
        ],
        "selector": {"matchLabels": {"app": "kong"}},
    }


def test_every_policy_waits_for_the_crds_and_targets_the_cluster(policies: Program) -> None:
    base = [r for r in policies.releases() if r.get("chart") == "base"][0]
    crs = [r for r in policies.k8s_objects() if ".istio.io/" in r.type]
    assert len(crs) == 6
    for r in crs:
        assert policies.depends_on(r, base)
        assert r.provider.endswith("::c1-k8s")
        assert r.name == f"c1-{r.get('metadata.namespace')}-{r.get('metadata.name')}"


def test_builders_reject_unsafe_or_emptypolicy_program() -> None:
    def no_selector() -> None:
        mesh = small_mesh()
        peer_authentication("x", "shop", mesh=mesh.handle, parent=mesh, port_level_mtls={8080: "PERMISSIVE"})

    def no_source() -> None:
        mesh = small_mesh()
        allow_from("x", "shop", mesh=mesh.handle, parent=mesh, paths=["/"])

    for program in (no_selector, no_source):
        with pytest.raises(Exception, match="selector|principals"):
            evaluate({}, program=program)


# ------------------------------------------------------------------ IstioGateway


def test_ingress_gateway_chart(ingress: Program) -> None:
    gw = [r for r in ingress.releases() if r.get("chart") == "gateway"][0]
    assert gw.get("name") == "istio-ingressgateway"
    assert gw.get("namespace") == "istio-ingress"
    assert gw.get("version") == "1.31.0"
    assert gw.get("repositoryOpts.repo") == "https://blob.istio.io/istio-release/charts"
    assert gw.get("timeout") == 600
    values = gw.get("values")
    assert sorted(p["port"] for p in values["service"]["ports"]) == [80, 443, 15021]
    assert values["service"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
    assert values["service"]["externalTrafficPolicy"] == "Local"  # extra_values deep-merged
    assert values["service"]["type"] == "LoadBalancer"
    assert values["autoscaling"] == {"enabled": True, "minReplicas": 3, "maxReplicas": 9}
    assert values["podDisruptionBudget"] == {"minAvailable": 1}
    assert "networkGateway" not in values and "revision" not in values


def test_ingress_gateway_namespace_and_order(ingress: Program) -> None:
    gw = [r for r in ingress.releases() if r.get("chart") == "gateway"][0]
    istiod = [r for r in ingress.releases() if r.get("chart") == "istiod"][0]
    ns = [r for r in ingress.k8s_objects("Namespace") if r.get("metadata.name") == "istio-ingress"][0]
    assert ns.get("metadata.labels")["istio-injection"] == "enabled"
    assert ingress.depends_on(gw, istiod)
    assert ingress.depends_on(gw, ns)
    assert ingress.plain_outputs["address"] == "istio-ingressgateway.istio-ingress.svc"
    assert ingress.plain_outputs["selector"] == {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    assert ingress.plain_outputs["service"] == "istio-ingressgateway"


def test_gateway_follows_the_mesh_revision() -> None:
    program = evaluate({}, program=_gateways("canary"))
    gw = [r for r in program.releases() if r.get("chart") == "gateway"][0]
    assert gw.get("values")["revision"] == "canary"
    ns = [r for r in program.k8s_objects("Namespace") if r.get("metadata.name") == "istio-ingress"][0]
    assert ns.get("metadata.labels")["istio.io/rev"] == "canary"
    assert "istio-injection" not in ns.get("metadata.labels")


def test_gateway_selector_labels_match_the_chart() -> None:
    from components.mesh.gateway import selector_labels

    assert selector_labels("istio-ingressgateway") == {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    assert selector_labels("edge") == {"app": "edge", "istio": "edge"}
