"""Scenario 4: Gateway API CRDs, an Istio-class Gateway, HTTPRoutes, JWT/authz and rate limits at the gateway."""

from __future__ import annotations

import pytest
from gateway_helpers import GATEWAY_API_PRINCIPAL, cloud, cluster_of, gateway_layer, kind, release, run, single
from harness import Program, Resource, secret_paths

from components.gateways.gateway_api.scenario import crds_url
from stacks.config import DEFAULT_GATEWAY_API_VERSION


def programs() -> list[Program]:
    return [run(single("gateway-api")), run(cloud("gateway-api"))]


def crds(program: Program) -> list[Resource]:
    return program.of_type("kubernetes:yaml/v2:ConfigFile")


def gateway(program: Program) -> Resource:
    (found,) = [r for r in kind(program, "Gateway") if r.plain["apiVersion"] == "gateway.networking.k8s.io/v1"]
    return found


def test_pinned_standard_channel_crds() -> None:
    for program in programs():
        (file,) = crds(program)
        assert file.get("file") == crds_url(DEFAULT_GATEWAY_API_VERSION)
        assert file.get("file").endswith(f"/{DEFAULT_GATEWAY_API_VERSION}/standard-install.yaml")


def test_crds_are_skipped_when_already_installed() -> None:
    config = single("gateway-api")
    config["meshgate:gateway"] = {
        **config["meshgate:gateway"],
        "installGatewayApiCrds": False,
        "gatewayApiVersion": "v1.3.0",
    }
    program = run(config)
    assert not crds(program)
    assert kind(program, "HTTPRoute")


def test_gateway_class_listeners_and_namespace() -> None:
    for program in programs():
        gw = gateway(program)
        assert gw.get("metadata.namespace") == "meshgate-gateway" != "istio-system"
        spec = gw.get("spec")
        assert spec["gatewayClassName"] == "istio"
        assert [(x["name"], x["port"], x["protocol"]) for x in spec["listeners"]] == [
            ("http", 80, "HTTP"),
            ("https", 443, "HTTPS"),
        ]
        https = spec["listeners"][1]
        assert https["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": "meshgate-gateway-tls"}]
        allowed = https["allowedRoutes"]["namespaces"]
        assert allowed["from"] == "Selector"
        assert allowed["selector"]["matchExpressions"][0]["values"] == ["shop"]
        assert gw.get("metadata.annotations") == {"pulumi.com/waitFor": "condition=Programmed"}
        assert gw.options["customTimeouts"]["create"] == "600s"
        istiod = next(r for r in program.releases() if r.name == f"{cluster_of(gw)}-istiod")
        assert program.depends_on(gw, istiod)


def test_aws_gateway_service_is_an_nlb() -> None:
    assert gateway(run(cloud("gateway-api"))).get("spec.infrastructure.annotations") == {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb"
    }
    assert "infrastructure" not in gateway(run(single("gateway-api"))).get("spec")


def test_tls_secret_is_secret() -> None:
    program = run(single("gateway-api"))
    (secret,) = [s for s in kind(program, "Secret") if s.get("metadata.name") == "meshgate-gateway-tls"]
    assert secret.get("type") == "kubernetes.io/tls"
    assert set(secret_paths(secret.inputs)) & {"stringData", "stringData.tls.key"}


def test_one_httproute_per_api_each_after_the_crds() -> None:
    for program in programs():
        every = {r.get("metadata.name"): r for r in kind(program, "HTTPRoute")}
        routes = {name: r for name, r in every.items() if name != "meshgate-https-redirect"}
        redirected = {
            m["path"]["value"]
            for rule in (
                every["meshgate-https-redirect"].get("spec.rules") if "meshgate-https-redirect" in every else []
            )
            for m in rule["matches"]
        }
        assert len(routes) == len(program.plain_outputs["curl"])
        (file,) = crds(program)
        for name, route in routes.items():
            assert route.get("metadata.namespace") == "shop"
            (rule,) = route.get("spec.rules")
            parent = {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "name": "meshgate",
                "namespace": "meshgate-gateway",
            }
            if f"/{name}" in redirected:  # a credentialed API: the https listener only
                parent["sectionName"] = "https"
            assert route.get("spec.parentRefs") == [parent]
            assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": f"/{name}"}}]
            assert rule["filters"][0]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
            assert rule["backendRefs"] == [{"group": "", "kind": "Service", "name": name, "port": 8080}]
            assert program.depends_on(route, file)
            assert program.depends_on(route, gateway(program))
        assert program.depends_on(gateway(program), file)


def test_jwt_and_path_authorization_at_the_gateway() -> None:
    program = run(cloud("gateway-api"))
    (ra,) = kind(program, "RequestAuthentication")
    assert ra.get("metadata.namespace") == "meshgate-gateway"
    assert ra.get("spec.selector.matchLabels") == {"gateway.networking.k8s.io/gateway-name": "meshgate"}
    assert ra.get("spec.jwtRules") == [
        {
            "issuer": "https://auth.example.com/",
            "jwksUri": "https://auth.example.com/.well-known/jwks.json",
            "audiences": ["https://api.example.com"],
            "forwardOriginalToken": True,
        }
    ]
    (edge,) = [p for p in kind(program, "AuthorizationPolicy") if p.get("metadata.name") == "catalogue-only"]
    rules = edge.get("spec.rules")
    assert edge.get("spec.action") == "ALLOW" and len(rules) == 4  # + the token-free redirect on port 80
    assert rules[0] == {
        "to": [{"operation": {"paths": ["/orders", "/orders/*"]}}],
        "from": [{"source": {"requestPrincipals": ["https://auth.example.com//*"]}}],
    }
    assert rules[1] == {"to": [{"operation": {"paths": ["/payments", "/payments/*"]}}]}


def test_local_rate_limit_per_api() -> None:
    program = run(cloud("gateway-api"))
    (flt,) = kind(program, "EnvoyFilter")
    assert flt.get("spec.workloadSelector.labels") == {"gateway.networking.k8s.io/gateway-name": "meshgate"}
    http_filter, route_patch = flt.get("spec.configPatches")
    assert http_filter["patch"]["value"]["name"] == "envoy.filters.http.local_ratelimit"
    descriptors = http_filter["patch"]["value"]["typed_config"]["value"]["descriptors"]
    buckets = {d["entries"][0]["value"]: d["token_bucket"] for d in descriptors}
    assert buckets == {
        "orders": {"max_tokens": 600, "tokens_per_fill": 600, "fill_interval": "60s"},
        "payments": {"max_tokens": 120, "tokens_per_fill": 120, "fill_interval": "60s"},
        "catalog": {"max_tokens": 1200, "tokens_per_fill": 1200, "fill_interval": "60s"},
    }
    actions = route_patch["patch"]["value"]["route"]["rate_limits"]
    regexes = [
        a["actions"][0]["header_value_match"]["headers"][0]["string_match"]["safe_regex"]["regex"] for a in actions
    ]
    assert regexes == ["^/orders([/?].*)?$", "^/payments([/?].*)?$", "^/catalog([/?].*)?$"]


def test_no_envoy_filter_without_rate_limits() -> None:
    config = single("gateway-api")
    config["meshgate:apis"] = [
        {k: v for k, v in a.items() if k != "rateLimitPerMinute"} for a in config["meshgate:apis"]
    ]
    assert not kind(run(config), "EnvoyFilter")


def test_backends_allow_only_the_gateway_identity() -> None:
    program = run(cloud("gateway-api"))
    allows = {
        p.get("metadata.name"): p for p in kind(program, "AuthorizationPolicy") if p.name.endswith("-from-gateway")
    }
    assert set(allows) == {"orders-from-gateway", "payments-from-gateway", "catalog-from-gateway"}
    for policy in allows.values():
        assert policy.get("spec.rules.0.from") == [{"source": {"principals": [GATEWAY_API_PRINCIPAL]}}]
    assert cluster_of(allows["catalog-from-gateway"]) == "gcp-central"
    deny = sorted(
        (cluster_of(p), p.get("metadata.namespace"))
        for p in kind(program, "AuthorizationPolicy")
        if p.get("metadata.name") == "allow-nothing"
    )
    assert deny == [("aws-east", "meshgate-gateway"), ("aws-east", "shop"), ("gcp-central", "shop")]


def test_no_kong_and_no_ingress_chart() -> None:
    for program in programs():
        assert not release(program, "ingress")
        assert not [r for r in release(program, "gateway") if r.name.endswith("-ingress-gateway")]
        assert not [r for r in gateway_layer(program) if r.type == "kubernetes:helm.sh/v3:Release"]


@pytest.mark.parametrize("scenario", ["gateway-api"])
def test_auth_key_is_rejected_before_any_resource(scenario: str) -> None:
    import pulumi
    from harness import evaluate, stack_config

    config = stack_config("dev")
    config["meshgate:scenario"] = scenario
    with pytest.raises(
        pulumi.RunError, match=r"^meshgate:apis\[1\]\.auth key is not supported by scenario gateway-api"
    ):
        evaluate(config)


def test_https_redirects_fold_per_namespace_within_the_httproute_limits() -> None:
    """Credentialed APIs' paths redirect from the HTTP listener through one HTTPRoute per app namespace.

    Limits from the Gateway API v1.6.1 standard-channel HTTPRoute CRD: `rules[].matches` has
    maxItems 64 and a CEL rule allows at most 128 matches over all rules of a route; a namespace with
    more credentialed APIs gets a second route.
    """
    from components.gateways.gateway_api.scenario import https_redirects
    from components.gateways.shared.catalogue import Route

    def route(i: int, namespace: str, auth: str) -> Route:
        return Route(
            name=f"api-{i}",
            path=f"/api-{i}",
            cluster="local",
            namespace=namespace,
            service=f"svc-{i}",
            port=8080,
            target_port=8080,
            auth=auth,  # type: ignore[arg-type]
            rate_limit_per_minute=None,
            jwt=None,
            demo=False,
        )

    routes = [route(i, "team-a", "jwt") for i in range(300)]
    routes += [route(1000 + i, "team-b", "jwt" if i % 2 else "none") for i in range(10)]
    found = https_redirects(routes, "meshgate-gateway")
    names = [(namespace, name) for name, namespace, _ in found]
    assert names == [
        ("team-a", "meshgate-https-redirect"),
        ("team-a", "meshgate-https-redirect-2"),
        ("team-a", "meshgate-https-redirect-3"),
        ("team-b", "meshgate-https-redirect"),
    ]
    matched: list[str] = []
    for _, _, spec in found:
        assert spec["parentRefs"][0]["sectionName"] == "http"
        rules = spec["rules"]
        assert all(len(rule["matches"]) <= 64 for rule in rules)
        assert sum(len(rule["matches"]) for rule in rules) <= 128
        for rule in rules:
            assert "backendRefs" not in rule
            assert rule["filters"] == [
                {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
            ]
            matched += [m["path"]["value"] for m in rule["matches"] if m["path"]["type"] == "PathPrefix"]
    credentialed = [r.path for r in routes if r.auth == "jwt"]
    assert sorted(matched) == sorted(credentialed)  # each credentialed path once, no public one
