"""Scenarios 2 and 3: Kong (chart kong/ingress) outside / inside the mesh, its routes, plugins and policies."""

from __future__ import annotations

import json

import pytest
from gateway_helpers import KONG_PRINCIPAL, cloud, cluster_of, gateway_layer, kind, release, run, single
from harness import Program, Resource

from stacks import versions
from stacks.config import DEFAULT_KONG_CHART_VERSION

KONG_SCENARIOS = ("in-cluster-gateway", "in-cluster-gateway-mesh")


def kong(program: Program) -> Resource:
    (found,) = release(program, "ingress")
    return found


def programs(scenario: str) -> list[Program]:
    return [run(single(scenario)), run(cloud(scenario))]


def api_count(program: Program) -> int:
    return len(program.plain_outputs["curl"])


# ---------------------------------------------------------------- shared by 2 and 3


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_kong_chart_db_less_80_443_only_admin_internal(scenario: str) -> None:
    for program in programs(scenario):
        r = kong(program)
        assert r.get("repositoryOpts.repo") == "https://charts.konghq.com"
        assert r.get("version") == DEFAULT_KONG_CHART_VERSION == "0.24.0"
        assert r.get("namespace") == "meshgate-gateway" != "istio-system"
        gateway = r.get("values.gateway")
        assert gateway["env"]["database"] == "off"
        proxy = gateway["proxy"]
        assert proxy["type"] == "LoadBalancer"
        assert (proxy["http"]["servicePort"], proxy["tls"]["servicePort"]) == (80, 443)
        assert proxy["stream"] == [] and gateway["udpProxy"] == {"enabled": False}
        admin = gateway["admin"]
        assert (admin["enabled"], admin["type"], admin["clusterIP"]) == (
            True,
            "ClusterIP",
            "None",
        )  # headless, internal
        for exposed in ("manager", "portal", "portalapi", "cluster"):
            assert gateway[exposed] == {"enabled": False}
        ctx = gateway["containerSecurityContext"]
        assert ctx["runAsNonRoot"] and ctx["readOnlyRootFilesystem"] and not ctx["allowPrivilegeEscalation"]
        assert gateway["deployment"]["serviceAccount"]["name"] == "kong-gateway"
        assert r.get("values.controller.ingressController.ingressClass") == "kong"


def test_proxy_is_an_nlb_on_aws_only() -> None:
    assert kong(run(cloud("in-cluster-gateway"))).get("values.gateway.proxy.annotations") == {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb"
    }
    assert kong(run(single("in-cluster-gateway"))).get("values.gateway.proxy.annotations") == {}


def test_replicas_come_from_the_config() -> None:
    assert kong(run(single("in-cluster-gateway"))).get("values.gateway.replicaCount") == 1
    prod = run(cloud("in-cluster-gateway-mesh"))
    assert kong(prod).get("values.gateway.replicaCount") == 3
    assert kong(prod).get("values.gateway.podDisruptionBudget") == {"enabled": True, "maxUnavailable": 1}


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_no_istio_ingress_gateway(scenario: str) -> None:
    for program in programs(scenario):
        charts = [r.get("values.service.type") for r in release(program, "gateway") if "eastwest" not in r.name]
        assert charts == []
        assert not [r for r in gateway_layer(program) if r.type == "kubernetes:networking.istio.io/v1:Gateway"]


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_one_kong_ingress_per_api_with_its_plugins(scenario: str) -> None:
    for program in programs(scenario):
        ingresses = kind(program, "Ingress")
        assert len(ingresses) == api_count(program) >= 2
        plugins = {r.get("metadata.name"): r for r in kind(program, "KongPlugin")}
        release_ = kong(program)
        for ingress in ingresses:
            name = ingress.get("metadata.name")
            assert ingress.get("spec.ingressClassName") == "kong"
            (rule,) = ingress.get("spec.rules")
            (path,) = rule["http"]["paths"]
            assert path["path"] == f"/{name}" and path["pathType"] == "Prefix"
            assert path["backend"]["service"] == {"name": name, "port": {"number": 8080}}
            annotations = ingress.get("metadata.annotations")
            assert annotations["konghq.com/strip-path"] == "true"
            attached = annotations["konghq.com/plugins"].split(",")
            assert any(p.startswith("rate-limit-") and p.endswith("-per-minute") for p in attached)
            for plugin in attached:
                assert plugins[plugin].get("metadata.namespace") == ingress.get("metadata.namespace")
                assert program.depends_on(ingress, plugins[plugin])
            assert program.depends_on(ingress, release_)
        for plugin in plugins.values():
            assert program.depends_on(plugin, release_)


def test_plugin_bodies() -> None:
    program = run(single("in-cluster-gateway"))
    plugins = {r.get("metadata.name"): r.plain for r in kind(program, "KongPlugin")}
    assert plugins["rate-limit-600-per-minute"]["plugin"] == "rate-limiting"
    assert plugins["rate-limit-600-per-minute"]["config"] == {"minute": 600, "policy": "local"}
    assert plugins["rate-limit-120-per-minute"]["config"] == {"minute": 120, "policy": "local"}
    assert plugins["key-auth"]["plugin"] == "key-auth"
    assert plugins["key-auth"]["config"]["key_names"] == ["apikey"]
    ingresses = {
        r.get("metadata.name"): r.get("metadata.annotations")["konghq.com/plugins"].split(",")
        for r in kind(program, "Ingress")
    }
    assert ingresses["orders"] == ["rate-limit-600-per-minute"]  # orders has auth: none
    assert ingresses["payments"] == ["rate-limit-120-per-minute", "key-auth"]


def test_apis_with_the_same_settings_share_their_plugins() -> None:
    """One KongPlugin per distinct setting and namespace, attached to every Ingress that needs it: the
    controller creates one Kong plugin per route it is attached to, and Kong keys rate-limiting
    counters by route, so each API keeps its own limit."""
    config = single("in-cluster-gateway")
    template = config["meshgate:apis"][0]
    config["meshgate:apis"] = [
        {**template, "name": f"api-{i}", "path": f"/api-{i}", "auth": "key", "rateLimitPerMinute": 600}
        for i in range(6)
    ]
    program = run(config)
    plugins = kind(program, "KongPlugin")
    assert sorted(p.get("metadata.name") for p in plugins) == ["key-auth", "rate-limit-600-per-minute"]
    for ingress in kind(program, "Ingress"):
        assert ingress.get("metadata.annotations")["konghq.com/plugins"] == "rate-limit-600-per-minute,key-auth"
        assert all(program.depends_on(ingress, p) for p in plugins)


# ---------------------------------------------------------------- scenario 2


def test_scenario2_kong_is_outside_the_mesh() -> None:
    for program in programs("in-cluster-gateway"):
        (ns,) = [r for r in kind(program, "Namespace") if r.get("metadata.name") == "meshgate-gateway"]
        assert ns.get("metadata.labels")["istio-injection"] == "disabled"
        for part in ("gateway", "controller"):
            assert kong(program).get(f"values.{part}.podAnnotations")["sidecar.istio.io/inject"] == "false"
        assert not program.depends_on(kong(program), next(r for r in program.releases() if r.name.endswith("istiod")))
        assert all(
            r.get("metadata.annotations")["konghq.com/preserve-host"] == "true" for r in kind(program, "Ingress")
        )


def test_scenario2_backend_ports_alone_accept_plaintext() -> None:
    for program in programs("in-cluster-gateway"):
        exceptions = kind(program, "PeerAuthentication")
        backends = {r.get("spec.rules.0.http.paths.0.backend.service.name") for r in kind(program, "Ingress")}
        assert {r.get("spec.selector.matchLabels.app") for r in exceptions} == backends
        assert len(exceptions) == len(backends)
        for pa in exceptions:
            spec = pa.get("spec")
            assert spec["mtls"] == {"mode": "STRICT"}
            assert spec["selector"]["matchLabels"]["app"] in ("orders", "payments")
            assert spec["portLevelMtls"] == {"8080": {"mode": "PERMISSIVE"}}
        # the mesh-wide default stays STRICT
        defaults = [
            r for r in program.k8s_objects("PeerAuthentication") if r.get("metadata.namespace") == "istio-system"
        ]
        assert defaults and all(r.get("spec.mtls.mode") == "STRICT" for r in defaults)


def test_scenario2_no_principal_based_authorization() -> None:
    for program in programs("in-cluster-gateway"):
        for policy in kind(program, "AuthorizationPolicy"):
            for rule in policy.get("spec.rules", []):
                for source in rule.get("from", []):
                    assert "principals" not in source["source"]


def test_scenario2_jwt_is_validated_by_the_backend_sidecar() -> None:
    program = run(cloud("in-cluster-gateway"))  # orders has auth: jwt
    (ra,) = kind(program, "RequestAuthentication")
    assert ra.get("spec.selector.matchLabels") == {"app": "orders"}
    assert ra.get("spec.jwtRules.0.issuer") == "https://auth.example.com/"
    (policy,) = kind(program, "AuthorizationPolicy")
    assert policy.get("spec.rules") == [
        {
            "from": [{"source": {"requestPrincipals": ["https://auth.example.com//*"]}}],
            "to": [{"operation": {"ports": ["8080"]}}],
        }
    ]


# ---------------------------------------------------------------- scenario 3


def test_scenario3_kong_has_a_sidecar() -> None:
    for program in programs("in-cluster-gateway-mesh"):
        (ns,) = [r for r in kind(program, "Namespace") if r.get("metadata.name") == "meshgate-gateway"]
        assert ns.get("metadata.labels")["istio-injection"] == "enabled"
        annotations = kong(program).get("values.gateway.podAnnotations")
        assert annotations["traffic.sidecar.istio.io/includeInboundPorts"] == ""
        assert json.loads(annotations["proxy.istio.io/config"]) == {"holdApplicationUntilProxyStarts": True}
        istiod = next(r for r in program.releases() if r.name == f"{cluster_of(kong(program))}-istiod")
        assert program.depends_on(kong(program), istiod)
        assert all(
            r.get("metadata.annotations")["konghq.com/preserve-host"] == "false" for r in kind(program, "Ingress")
        )


def test_scenario3_revision_label_on_the_kong_namespace() -> None:
    config = single("in-cluster-gateway-mesh")
    config["meshgate:istio"] = {**config["meshgate:istio"], "revision": "canary"}
    program = run(config)
    (ns,) = [r for r in kind(program, "Namespace") if r.get("metadata.name") == "meshgate-gateway"]
    assert ns.get("metadata.labels")["istio.io/rev"] == "canary"


def test_scenario3_upstream_services_are_annotated_by_patches_not_by_workloads() -> None:
    for program in programs("in-cluster-gateway-mesh"):
        patches = program.of_type("kubernetes:core/v1:ServicePatch")
        assert {(p.get("metadata.namespace"), p.get("metadata.name")) for p in patches} == {
            ("shop", r.get("metadata.name")) for r in kind(program, "Ingress")
        }
        for patch in patches:
            assert patch.get("metadata.annotations") == {"ingress.kubernetes.io/service-upstream": "true"}
            assert cluster_of(patch) == cluster_of(kong(program))
            service = [
                s
                for s in program.k8s_objects("Service")
                if s.get("metadata.name") == patch.get("metadata.name") and cluster_of(s) == cluster_of(patch)
            ]
            assert service and program.depends_on(patch, service[0])
            assert "annotations" not in service[0].get("metadata")


def test_scenario3_each_route_waits_for_its_own_backend_patch_only() -> None:
    """O(APIs) edges: an Ingress depending on every patch made evaluation quadratic in APIs."""
    for program in programs("in-cluster-gateway-mesh"):
        patches = {p.urn: p for p in program.of_type("kubernetes:core/v1:ServicePatch")}
        assert len(patches) >= 2
        for ingress in kind(program, "Ingress"):
            backend = ingress.get("spec.rules.0.http.paths.0.backend.service.name")
            waited = [patches[u] for u in ingress.dependencies if u in patches]
            assert [p.get("metadata.name") for p in waited] == [backend], ingress.name


def test_scenario3_default_deny_and_allow_only_kong() -> None:
    for program in programs("in-cluster-gateway-mesh"):
        policies = kind(program, "AuthorizationPolicy")
        deny = [p for p in policies if p.get("metadata.name") == "allow-nothing"]
        assert deny and all(p.get("spec") == {} for p in deny)
        allows = [p for p in policies if p.get("metadata.name") != "allow-nothing"]
        assert len(allows) == api_count(program)
        for policy in allows:
            spec = policy.get("spec")
            assert spec["action"] == "ALLOW"
            (rule,) = spec["rules"]
            (source,) = rule["from"]
            assert source["source"]["principals"] == [KONG_PRINCIPAL]
            assert rule["to"] == [{"operation": {"ports": ["8080"]}}]
            assert spec["selector"]["matchLabels"]["app"] == policy.get("metadata.name").removesuffix("-from-gateway")
        assert not [p for p in kind(program, "PeerAuthentication")]  # STRICT everywhere, no exception


def test_scenario3_multicluster_policies_live_with_the_backend() -> None:
    program = run(cloud("in-cluster-gateway-mesh"))
    where = {
        p.get("metadata.name"): cluster_of(p)
        for p in kind(program, "AuthorizationPolicy")
        if p.name.endswith("-from-gateway")
    }
    assert where == {
        "orders-from-gateway": "aws-east",
        "payments-from-gateway": "aws-east",
        "catalog-from-gateway": "gcp-central",
    }
    deny = sorted(
        cluster_of(p) for p in kind(program, "AuthorizationPolicy") if p.get("metadata.name") == "allow-nothing"
    )
    assert deny == ["aws-east", "gcp-central"]
    # Kong (aws-east) routes catalog through the declared remote Service
    catalog = next(r for r in kind(program, "Ingress") if r.get("metadata.name") == "catalog")
    assert cluster_of(catalog) == "aws-east"
    assert program.depends_on(
        program.one("kubernetes:core/v1:ServicePatch", "aws-east-shop-catalog-service-upstream"),
        program.named("aws-east-apps-shop-catalog-remote"),
    )


def test_scenario3_jwt_needs_kong_identity_and_a_token() -> None:
    program = run(cloud("in-cluster-gateway-mesh"))
    (ra,) = kind(program, "RequestAuthentication")
    assert ra.get("spec.selector.matchLabels") == {"app": "orders"}
    assert ra.get("spec.jwtRules.0.audiences") == ["https://api.example.com"]
    orders = next(p for p in kind(program, "AuthorizationPolicy") if p.get("metadata.name") == "orders-from-gateway")
    assert orders.get("spec.rules.0.from.0.source") == {
        "principals": [KONG_PRINCIPAL],
        "requestPrincipals": ["https://auth.example.com//*"],
    }


def test_scenario3_policies_depend_on_the_istio_crds() -> None:
    program = run(cloud("in-cluster-gateway-mesh"))
    for policy in kind(program, "AuthorizationPolicy"):
        base = program.named(f"{cluster_of(policy)}-istio-base")
        assert program.depends_on(policy, base)


@pytest.mark.parametrize("scenario", [*KONG_SCENARIOS, "gateway-api"])
def test_every_policy_waits_for_its_namespace(scenario: str) -> None:
    program = run(cloud(scenario))
    namespaces = {(cluster_of(n), n.get("metadata.name")): n for n in program.k8s_objects("Namespace")}
    policies = [r for r in gateway_layer(program) if r.type.startswith("kubernetes:security.istio.io/")]
    assert policies
    for policy in policies:
        namespace = namespaces[(cluster_of(policy), policy.get("metadata.namespace"))]
        assert program.depends_on(policy, namespace), policy.name


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_kong_gateway_image_is_pinned_from_the_versions_matrix(scenario: str) -> None:
    # Without gateway.image the chart (kong/kong 3.2.0 values.yaml) runs kong:3.9, unsupported since 2025-12-12.
    for program in programs(scenario):
        image = kong(program).get("values.gateway")["image"]
        assert image == {"repository": versions.KONG_GATEWAY_IMAGE, "tag": versions.KONG_GATEWAY_TAG}
        assert image["repository"] == "kong/kong-gateway"
        release = versions.kong_gateway_release(image["tag"])
        assert release is not None and release.supported_on(versions.CHECKED_ON)


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_kong_ingress_controller_image_is_pinned_from_the_versions_matrix(scenario: str) -> None:
    # Without controller.ingressController.image the chart (kong/kong 3.2.0 values.yaml) runs the floating
    # kong/kubernetes-ingress-controller:3.5 tag, whatever build a node pulled last.
    for program in programs(scenario):
        image = kong(program).get("values.controller")["ingressController"].get("image")
        assert image == {"repository": versions.KIC_IMAGE, "tag": versions.KIC_TAG}
        assert image["repository"] == "kong/kubernetes-ingress-controller"
        release = versions.kic_release(image["tag"])
        assert release is not None and release.supported_on(versions.CHECKED_ON)
        assert release.supports_gateway(kong(program).get("values.gateway")["image"]["tag"])
