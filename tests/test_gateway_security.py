"""Gateway-side security and behaviour: tokens reach the backend, policies use the workload port,
credentials travel over HTTPS only, and Kong's admin API admits only its controller."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gateway_helpers import cloud, kind, kong_on_managed_ca, run, single
from harness import secret_paths

from stacks.config import ConfigError, parse_raw

IN_CLUSTER = ("in-cluster-gateway", "in-cluster-gateway-mesh", "gateway-api")


# ---------------------------------------------------------------- JWTs reach the backend


@pytest.mark.parametrize("scenario", IN_CLUSTER)
def test_validated_jwt_is_forwarded_to_the_backend(scenario: str) -> None:
    """Istio removes the token after validation unless `forwardOriginalToken` is set (JWTRule,
    default false): backends could not read its claims. Scenarios 2 and 3 validate at the
    backend's sidecar, scenario 4 at the gateway; every rule keeps the token."""
    program = run(cloud(scenario))
    rules = [rule for ra in kind(program, "RequestAuthentication") for rule in ra.get("spec.jwtRules")]
    assert rules
    assert all(rule["forwardOriginalToken"] is True for rule in rules)


# ---------------------------------------------------------------- policies use the workload port


def mapped_ports(scenario: str) -> dict[str, Any]:
    """prod's clusters in `scenario`; orders is a demo workload behind Service port 80 -> container 8080,
    payments an external backend (no demo) whose Service maps 80 -> 9090 (`targetPort` on the API)."""
    config = cloud(scenario)
    for api in config["meshgate:apis"]:
        if api["name"] == "orders":
            api["service"] = {**api["service"], "port": 80}
        if api["name"] == "payments":
            api["service"] = {**api["service"], "port": 80, "targetPort": 9090}
    config["meshgate:services"] = [
        {**s, "port": 80, "targetPort": 8080} if s["name"] == "orders" else s
        for s in config["meshgate:services"]
        if s["name"] != "payments"
    ]
    return config


def test_demo_workload_listens_on_its_target_port() -> None:
    program = run(mapped_ports("in-cluster-gateway-mesh"))
    (service,) = [s for s in program.of_type("kubernetes:core/v1:Service") if s.get("metadata.name") == "orders"]
    assert service.get("spec.ports") == [
        {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP", "appProtocol": "http"}
    ]
    (deployment,) = [d for d in kind(program, "Deployment", gateway_only=False) if d.get("metadata.name") == "orders"]
    (container,) = deployment.get("spec.template.spec.containers")
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert {"name": "PORT", "value": "8080"} in container["env"]


def test_scenario2_permissive_port_is_the_container_port() -> None:
    config = mapped_ports("in-cluster-gateway")
    program = run(config)
    ports = {
        pa.get("spec.selector.matchLabels.app"): pa.get("spec.portLevelMtls")
        for pa in kind(program, "PeerAuthentication")
    }
    assert ports == {"orders": {"8080": {"mode": "PERMISSIVE"}}, "payments": {"9090": {"mode": "PERMISSIVE"}}}
    # the route still calls the Service port
    backends = {
        i.get("metadata.name"): i.get("spec.rules.0.http.paths.0.backend.service.port.number")
        for i in kind(program, "Ingress")
    }
    assert backends == {"orders": 80, "payments": 80}


@pytest.mark.parametrize("scenario", ["in-cluster-gateway-mesh", "gateway-api"])
def test_allow_policies_match_the_container_port(scenario: str) -> None:
    program = run(mapped_ports(scenario))
    ports = {
        p.get("spec.selector.matchLabels.app"): p.get("spec.rules.0.to.0.operation.ports")
        for p in kind(program, "AuthorizationPolicy")
        if p.get("metadata.name", "").endswith("-from-gateway")
    }
    assert ports["orders"] == ["8080"] and ports["payments"] == ["9090"] and ports["catalog"] == ["8080"]


def test_scenario4_routes_call_the_service_port() -> None:
    program = run(mapped_ports("gateway-api"))
    refs = {r.get("metadata.name"): r.get("spec.rules.0.backendRefs.0.port") for r in kind(program, "HTTPRoute")}
    assert refs["orders"] == 80 and refs["payments"] == 80


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["meshgate:apis"][0]["service"].update(port=8081), "meshgate:apis[0].service.port"),
        (lambda c: c["meshgate:apis"][0]["service"].update(targetPort=9000), "meshgate:apis[0].service.targetPort"),
    ],
)
def test_api_and_demo_workload_ports_must_agree(change: Any, key: str) -> None:
    config = mapped_ports("in-cluster-gateway-mesh")
    change(config)
    with pytest.raises(ConfigError) as caught:
        parse_raw(config)
    assert str(caught.value).startswith(f"{key} ("), str(caught.value)


# ---------------------------------------------------------------- credentials over HTTPS only

CREDENTIALED = {"orders": "jwt", "catalog": "key"}  # cloud(): payments has auth: none


@pytest.mark.parametrize("scenario", ["in-cluster-gateway", "in-cluster-gateway-mesh"])
def test_kong_serves_credentialed_routes_over_https_only(scenario: str) -> None:
    """Kong answers a route whose protocols exclude http with `https_redirect_status_code` when it is
    called over HTTP; the default protocols (http,https) would take API keys and JWTs on port 80."""
    program = run(cloud(scenario))
    seen = set()
    for ingress in kind(program, "Ingress"):
        name = ingress.get("metadata.name")
        annotations = ingress.get("metadata.annotations")
        seen.add(name)
        if name in CREDENTIALED:
            assert annotations["konghq.com/protocols"] == "https"
            assert annotations["konghq.com/https-redirect-status-code"] == "301"
        else:
            assert annotations["konghq.com/protocols"] == "http,https"
            assert "konghq.com/https-redirect-status-code" not in annotations
    assert "payments" in seen and "orders" in seen


def _routes(program: Any) -> dict[str, Any]:
    return {r.get("metadata.name"): r for r in kind(program, "HTTPRoute")}


def test_gateway_api_credentialed_routes_attach_to_the_https_listener() -> None:
    program = run(cloud("gateway-api"))  # orders: jwt; payments, catalog: none
    routes = _routes(program)
    (listeners,) = [
        g.get("spec.listeners") for g in kind(program, "Gateway") if g.type.startswith("kubernetes:gateway")
    ]
    assert {(x["name"], x["protocol"]) for x in listeners} == {("http", "HTTP"), ("https", "HTTPS")}
    assert [p["sectionName"] for p in routes["orders"].get("spec.parentRefs")] == ["https"]
    assert all("sectionName" not in p for p in routes["payments"].get("spec.parentRefs"))  # both listeners
    redirect = routes["meshgate-https-redirect"]  # one per app namespace, every credentialed path of it
    assert redirect.get("metadata.namespace") == "shop"
    assert [p["sectionName"] for p in redirect.get("spec.parentRefs")] == ["http"]
    (rule,) = redirect.get("spec.rules")
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/orders"}}]
    assert rule["filters"] == [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]
    assert "backendRefs" not in rule  # nothing is forwarded from port 80
    assert set(routes) == {"orders", "payments", "catalog", "meshgate-https-redirect"}


def test_gateway_api_redirect_is_not_denied_by_the_edge_policy() -> None:
    """RBAC runs before the router: without a token-free ALLOW on port 80 for the redirected paths,
    a client without a token would get 403 there instead of the redirect."""
    program = run(cloud("gateway-api"))
    (edge,) = [p for p in kind(program, "AuthorizationPolicy") if p.get("metadata.name") == "catalogue-only"]
    port80 = [r for r in edge.get("spec.rules") if r["to"][0]["operation"].get("ports")]
    assert port80 == [{"to": [{"operation": {"ports": ["80"], "paths": ["/orders", "/orders/*"]}}]}]


def test_gateway_api_rate_limits_patch_forwarding_routes_only() -> None:
    """Merging `route.rate_limits` into a redirect route would turn it into an invalid route action."""
    program = run(cloud("gateway-api"))
    (limits,) = kind(program, "EnvoyFilter")
    (route_patch,) = [p for p in limits.get("spec.configPatches") if p["applyTo"] == "HTTP_ROUTE"]
    assert route_patch["match"]["routeConfiguration"]["vhost"]["route"] == {"action": "ROUTE"}


@pytest.mark.parametrize("scenario", ["in-cluster-gateway", "in-cluster-gateway-mesh", "gateway-api"])
def test_no_shipped_scenario_serves_credentials_over_http(scenario: str) -> None:
    from policy_inputs import stack_resources

    from policy.checks import BY_ID

    check = BY_ID["gateway-credentials-https-only"]
    assert check(stack_resources(run(cloud(scenario)))) == []  # type: ignore[arg-type]


# ---------------------------------------------------------------- Kong's admin API admits only its controller

KONG_SCENARIOS = ("in-cluster-gateway", "in-cluster-gateway-mesh")
# Pod labels of the kong/ingress 0.24.0 chart (its `controller` and `gateway` kong subcharts'
# selectorLabels: app.kubernetes.io/name = the alias, instance = the release, component = app).
GATEWAY_PODS = {
    "app.kubernetes.io/name": "gateway",
    "app.kubernetes.io/instance": "kong",
    "app.kubernetes.io/component": "app",
}
CONTROLLER_PODS = {**GATEWAY_PODS, "app.kubernetes.io/name": "controller"}


def _kong(program: Any) -> Any:
    (found,) = [r for r in program.releases() if r.get("chart") == "ingress"]
    return found


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_admin_api_requires_the_controllers_client_certificate(scenario: str) -> None:
    """kong/kong 3.2.0 (the subchart of kong/ingress 0.24.0): `admin.tls.client.caBundle` makes the
    gateway set KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=on against that CA; the controller presents the
    certificate of `ingressController.adminApi.tls.client.secretName` (certProvided: no generated pair)."""
    for program in (run(single(scenario)), run(cloud(scenario))):
        release = _kong(program)
        admin = release.get("values.gateway.admin")
        assert admin["http"] == {"enabled": False}  # no plaintext admin listener
        assert admin["tls"]["enabled"] is True and admin["tls"]["containerPort"] == 8444
        (ca,) = [c for c in program.of_type("tls:index/selfSignedCert:SelfSignedCert") if c.name == "kong-admin-ca"]
        assert ca.get("isCaCertificate") is True
        assert admin["tls"]["client"] == {"caBundle": "-----MOCK CERT kong-admin-ca-----"}
        client = release.get("values.controller.ingressController.adminApi.tls.client")
        assert client == {"enabled": True, "certProvided": True, "secretName": "kong-admin-api-client"}
        (cert,) = [
            c
            for c in program.of_type("tls:index/locallySignedCert:LocallySignedCert")
            if c.name == "kong-admin-client-cert"
        ]
        assert cert.get("caCertPem") == "-----MOCK CERT kong-admin-ca-----"
        assert "client_auth" in cert.get("allowedUses") and "server_auth" not in cert.get("allowedUses")
        (secret,) = [
            s for s in program.of_type("kubernetes:core/v1:Secret") if s.get("metadata.name") == "kong-admin-api-client"
        ]
        assert secret.get("metadata.namespace") == "meshgate-gateway" and secret.get("type") == "kubernetes.io/tls"
        assert secret.get("stringData")["tls.crt"] == "-----MOCK CERT kong-admin-client-cert-----"
        assert {"stringData", "stringData.tls.key"} & set(secret_paths(secret.inputs))  # the key stays a secret
        assert program.depends_on(release, secret)
        # a re-issued certificate rolls the controller (it reads the files at start)
        assert release.get("values.controller.podAnnotations")["meshgate.io/admin-client-cert"]


ADMIN_SERVER_SECRET = "kong-admin-api-server"
MOUNTED = f"/etc/secrets/{ADMIN_SERVER_SECRET}"  # kong/kong 3.2.0 kong.volumeMounts: /etc/secrets/<secretVolumes entry>


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_with_cert_manager_the_gateway_verifies_clients_against_the_mounted_ca(scenario: str) -> None:
    """cert-manager mode (managed mesh CA): the gateway mounts the server certificate's Secret
    (`secretVolumes`) and `env` sets Kong's injected directives (`KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=on`,
    `KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE` = its `ca.crt`, which cert-manager's CA issuer writes) and
    the admin listener's certificate (`KONG_ADMIN_SSL_CERT`/`_KEY`) — the variables kong/kong 3.2.0 itself
    derives from `admin.tls.client.caBundle` and `certificates.admin`. No caBundle: the CA never reaches
    the program; `admin.tls.client.secretName` would make the chart `lookup` the Secret, which finds
    nothing while Pulumi previews the release (the chart then fails)."""
    from stacks import chart_values

    program = run(kong_on_managed_ca("aws-private-ca", scenario))
    release = _kong(program)
    gateway = release.get("values.gateway")
    assert gateway["env"] == {
        "database": "off",
        "role": "traditional",
        "proxy_access_log": "/dev/stdout",
        "nginx_admin_ssl_verify_client": "on",
        "nginx_admin_ssl_client_certificate": f"{MOUNTED}/ca.crt",
        "admin_ssl_cert": f"{MOUNTED}/tls.crt",
        "admin_ssl_cert_key": f"{MOUNTED}/tls.key",
    }
    assert gateway["secretVolumes"] == [ADMIN_SERVER_SECRET]
    assert gateway["admin"]["tls"] == {"enabled": True, "containerPort": 8444, "servicePort": 8444}
    assert gateway["admin"]["http"] == {"enabled": False}
    client = release.get("values.controller.ingressController.adminApi.tls.client")
    assert client == {"enabled": True, "certProvided": True, "secretName": "kong-admin-api-client"}
    assert "meshgate.io/admin-client-cert" not in release.get("values.controller.podAnnotations")
    chart = chart_values.load(release.get("chart"), release.get("version"))
    assert chart.unknown(release.plain["values"]) == []  # env.* and secretVolumes are the chart's own


def _kong_certificates(program: Any) -> dict[str, Any]:
    return {
        r.get("metadata.name") + "/" + r.kind: r
        for r in program.resources
        if r.type.startswith("kubernetes:cert-manager.io/v1:") and r.get("metadata.namespace") == "meshgate-gateway"
    }


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_with_cert_manager_the_admin_pki_is_generated_in_the_cluster(scenario: str) -> None:
    """cert-manager.io/v1: a `selfSigned` Issuer signs the CA Certificate (isCA), a `ca` Issuer on its Secret
    signs the controller's client certificate (`client auth`) and the admin listener's server certificate
    (`server auth`; the names the controller's gateway discovery dials, `<pod-ip>.<admin service>.<ns>.svc`).
    Each waits for the cluster's cert-manager and is Ready before the release installs."""
    program = run(kong_on_managed_ca("google-cas", scenario))
    objects = _kong_certificates(program)
    assert set(objects) == {
        "kong-admin-api-selfsigned/Issuer",
        "kong-admin-api-ca/Certificate",
        "kong-admin-api-ca/Issuer",
        "kong-admin-api-client/Certificate",
        "kong-admin-api-server/Certificate",
    }
    assert objects["kong-admin-api-selfsigned/Issuer"].get("spec") == {"selfSigned": {}}
    ca = objects["kong-admin-api-ca/Certificate"].get("spec")
    assert ca["isCA"] is True and ca["secretName"] == "kong-admin-api-ca"
    assert ca["issuerRef"] == {"name": "kong-admin-api-selfsigned", "kind": "Issuer", "group": "cert-manager.io"}
    assert ca["privateKey"]["algorithm"] == "ECDSA" and ca["privateKey"]["size"] == 256
    assert objects["kong-admin-api-ca/Issuer"].get("spec") == {"ca": {"secretName": "kong-admin-api-ca"}}
    signed_by_ca = {"name": "kong-admin-api-ca", "kind": "Issuer", "group": "cert-manager.io"}
    client = objects["kong-admin-api-client/Certificate"].get("spec")
    server = objects["kong-admin-api-server/Certificate"].get("spec")
    assert client["secretName"] == "kong-admin-api-client" and server["secretName"] == ADMIN_SERVER_SECRET
    assert sorted(client["usages"]) == ["client auth", "digital signature"]
    assert sorted(server["usages"]) == ["digital signature", "server auth"]
    assert server["dnsNames"] == [
        "kong-gateway-admin.meshgate-gateway.svc",
        "*.kong-gateway-admin.meshgate-gateway.svc",
    ]
    for leaf in (client, server):
        assert leaf["issuerRef"] == signed_by_ca and "isCA" not in leaf
        assert leaf["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
        assert (leaf["duration"], leaf["renewBefore"]) == ("17520h", "720h")
    cert_manager = next(
        r for r in program.releases() if r.get("chart") == "cert-manager" and r.provider == _kong(program).provider
    )
    release = _kong(program)
    for obj in objects.values():
        assert obj.get("metadata.annotations") == {"pulumi.com/waitFor": "condition=Ready"}
        assert program.depends_on(obj, cert_manager)
    assert program.depends_on(release, objects["kong-admin-api-client/Certificate"])
    assert program.depends_on(release, objects["kong-admin-api-server/Certificate"])


def test_self_managed_cloud_stacks_keep_pulumi_tls() -> None:
    """Without a managed mesh CA there is no cert-manager in the cluster: prod keeps the pulumi-tls keys."""
    program = run(cloud("in-cluster-gateway-mesh"))
    assert not _kong_certificates(program)
    assert _kong(program).get("values.gateway.admin.tls.client.caBundle")


@pytest.mark.parametrize("scenario", KONG_SCENARIOS)
def test_network_policy_admits_the_admin_port_only_from_the_controller(scenario: str) -> None:
    in_mesh = scenario == "in-cluster-gateway-mesh"
    for program in (run(single(scenario)), run(cloud(scenario))):
        (policy,) = [p for p in kind(program, "NetworkPolicy") if p.get("metadata.name") == "kong-admin-api"]
        assert policy.get("metadata.namespace") == "meshgate-gateway"
        spec = policy.get("spec")
        assert spec["podSelector"] == {"matchLabels": GATEWAY_PODS} and spec["policyTypes"] == ["Ingress"]
        admin, public = spec["ingress"]
        assert admin == {
            "from": [{"podSelector": {"matchLabels": CONTROLLER_PODS}}],
            "ports": [{"protocol": "TCP", "port": 8444}],
        }
        assert "from" not in public  # from anywhere: clients arrive through the LoadBalancer
        ports = {p["port"] for p in public["ports"]}
        expected = {8000, 8443, 8100} | ({15020, 15021, 15090} if in_mesh else set())
        assert ports == expected and 8444 not in ports
        # the proxy's container ports are the ones the policy opens
        proxy = _kong(program).get("values.gateway.proxy")
        assert {proxy["http"]["containerPort"], proxy["tls"]["containerPort"]} <= ports
        assert program.depends_on(_kong(program), policy)


def test_in_the_mesh_the_admin_connection_bypasses_the_controllers_sidecar() -> None:
    """Kong checks the client certificate itself: the controller's sidecar must not re-wrap port 8444,
    and the gateway's sidecar does not capture inbound traffic (includeInboundPorts: "")."""
    release = _kong(run(cloud("in-cluster-gateway-mesh")))
    assert release.get("values.controller.podAnnotations")["traffic.sidecar.istio.io/excludeOutboundPorts"] == "8444"
    assert release.get("values.gateway.podAnnotations")["traffic.sidecar.istio.io/includeInboundPorts"] == ""


def test_eks_enforces_network_policies() -> None:
    """The VPC CNI ignores NetworkPolicy unless its network policy agent is enabled."""
    program = run(cloud("in-cluster-gateway-mesh"))
    (cni,) = [a for a in program.of_type("aws:eks/addon:Addon") if a.get("addonName") == "vpc-cni"]
    assert json.loads(cni.get("configurationValues")) == {"enableNetworkPolicy": "true"}


def test_scenario2_backend_ports_admit_only_kongs_gateway_pods() -> None:
    """https://kubernetes.io/docs/concepts/services-networking/network-policies/: a pod selected by
    an Ingress NetworkPolicy admits only what its rules allow, and one `from` element with both a
    `namespaceSelector` and a `podSelector` admits only the matching pods of the matching
    namespaces (`kubernetes.io/metadata.name` is set on every namespace). Kong's gateway pods carry
    the kong chart's selector labels (`kong.selectorLabels` in Kong/charts charts/kong/templates/
    _helpers.tpl: name = the `gateway` alias, `component: app`, `instance: <release>`). Before, a
    scenario-2 backend port was PERMISSIVE and open to every pod."""
    program = run(single("in-cluster-gateway"))
    policies = {
        p.get("metadata.name"): p for p in kind(program, "NetworkPolicy") if p.get("metadata.namespace") == "shop"
    }
    kong_pods = next(p for p in kind(program, "NetworkPolicy") if p.get("metadata.name") == "kong-admin-api")
    gateway_labels = kong_pods.get("spec.podSelector.matchLabels")
    assert gateway_labels == {
        "app.kubernetes.io/name": "gateway",
        "app.kubernetes.io/instance": "kong",
        "app.kubernetes.io/component": "app",
    }
    assert set(policies) == {"orders-from-gateway-pods", "payments-from-gateway-pods"}
    for name, policy in policies.items():
        spec = policy.get("spec")
        assert spec["podSelector"] == {"matchLabels": {"app": name.removesuffix("-from-gateway-pods")}}
        assert spec["policyTypes"] == ["Ingress"]
        backend, agent = spec["ingress"]
        assert backend["from"] == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "meshgate-gateway"}},
                "podSelector": {"matchLabels": gateway_labels},
            }
        ]
        assert backend["ports"] == [{"protocol": "TCP", "port": 8080}]
        assert "from" not in agent and {p["port"] for p in agent["ports"]} == {15020, 15021, 15090}
    for scenario in ("in-cluster-gateway-mesh", "gateway-api"):  # identities do it there: no NetworkPolicy
        assert not [p for p in kind(run(single(scenario)), "NetworkPolicy") if p.get("metadata.namespace") == "shop"]
