"""Scenario 1: Istio ingress per cluster hosting an API, and the external API gateway in front of it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from gateway_helpers import cloud, cluster_of, gateway_layer, kind, release, run, single
from harness import Program, Resource

from components.gateways.external.aws_http_api import ACCESS_LOG_FORMAT


def aws() -> Program:
    return run(cloud("external-gateway"))


def gcp() -> Program:
    return run(cloud("external-gateway", external="gcp-api-gateway"))


def split_config(external: str = "aws-http-api") -> dict[str, Any]:
    """EKS + GKE without a multi-cluster mesh: every API enters at its own cluster's ingress."""
    config = cloud("external-gateway", external=external)
    config["meshgate:istio"] = {**config["meshgate:istio"], "multicluster": False}
    return config


def split(external: str = "aws-http-api") -> Program:
    return run(split_config(external))


def one(program: Program, type_: str, suffix: str) -> Resource:
    (found,) = [r for r in program.of_type(type_) if r.name.endswith(suffix)]
    return found


def ingress_releases(program: Program) -> dict[str, Resource]:
    return {cluster_of(r): r for r in release(program, "gateway") if r.name.endswith("-ingress-gateway")}


# ---------------------------------------------------------------- in-cluster half


@pytest.mark.parametrize(
    ("variant", "entries"),
    [
        ("aws", {"aws-east"}),  # multi-cluster mesh: everything enters at the VPC-link cluster
        ("gcp", {"gcp-central"}),  # ... or at the first GKE cluster for GCP API Gateway
        ("split", {"aws-east", "gcp-central"}),  # no multi-cluster mesh: each API at its own cluster
        ("single", {"local"}),
    ],
)
def test_an_istio_ingress_in_every_cluster_an_api_enters(variant: str, entries: set[str]) -> None:
    program = {"aws": aws, "gcp": gcp, "split": split, "single": lambda: run(single("external-gateway"))}[variant]()
    ingresses = ingress_releases(program)
    assert set(ingresses) == entries == {api["cluster"] for api in _apis(program)}
    for r in ingresses.values():
        assert r.get("name") == "istio-ingressgateway"
        assert r.get("namespace") == "istio-ingress" != "istio-system"
        assert [p["port"] for p in r.get("values.service.ports")] == [15021, 80, 443]
    assert not release(program, "ingress")  # no Kong


def _apis(program: Program) -> list[dict[str, Any]]:
    return [
        {"name": name, "cluster": cluster_of(vs)}
        for vs in kind(program, "VirtualService")
        for name in [vs.get("metadata.name")]
    ]


def test_vpc_link_cluster_uses_fixed_node_ports_others_a_load_balancer() -> None:
    ingresses = ingress_releases(aws())
    assert ingresses["aws-east"].get("values.service.type") == "NodePort"
    assert {p["port"]: p["nodePort"] for p in ingresses["aws-east"].get("values.service.ports")} == {
        15021: 30021,
        80: 30080,
        443: 30443,
    }
    others = ingress_releases(split())["gcp-central"]
    assert others.get("values.service.type") == "LoadBalancer"
    assert all("nodePort" not in p for p in others.get("values.service.ports"))
    # with the GCP gateway and no multi-cluster mesh, the EKS ingress is a public AWS NLB instead
    eks = ingress_releases(split("gcp-api-gateway"))["aws-east"]
    assert eks.get("values.service.type") == "LoadBalancer"
    assert eks.get("values.service.annotations") == {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}


def test_istio_gateway_serves_https_only_for_the_configured_hostname_and_certificate() -> None:
    gateways = kind(split(), "Gateway")
    assert sorted(cluster_of(g) for g in gateways) == ["aws-east", "gcp-central"]
    for gw in gateways:
        assert gw.get("spec.selector") == {"app": "istio-ingressgateway", "istio": "ingressgateway"}
        (server,) = gw.get("spec.servers")  # no plain-HTTP server: credentials never arrive in clear
        assert server["port"] == {"number": 443, "name": "https", "protocol": "HTTPS"}
        assert server["hosts"] == [f"ingress.{cluster_of(gw)}.example.com"]
        assert server["tls"] == {"mode": "SIMPLE", "credentialName": "ingress-tls"}
    # the certificate is the user's trusted one: no self-signed Secret in scenario 1
    assert not [s for s in kind(split(), "Secret") if s.get("type") == "kubernetes.io/tls"]


def test_with_a_multicluster_mesh_cross_cloud_routes_enter_at_the_edge_cluster() -> None:
    """The other cloud's backend is reached from the edge cluster's ingress over the mesh: the
    VirtualService names the backend's cluster-local host, which istiod knows from the remote
    cluster (multi-primary), and the hops go through gcp-central's east-west gateway."""
    program = aws()
    services = {vs.get("metadata.name"): vs for vs in kind(program, "VirtualService")}
    assert cluster_of(services["catalog"]) == "aws-east"
    (http,) = services["catalog"].get("spec.http")
    assert http["route"] == [{"destination": {"host": "catalog.shop.svc.cluster.local", "port": {"number": 8080}}}]
    assert not kind(program, "ServiceEntry")
    hops = {(h["from"], h["to"]): h for h in program.plain_outputs["hops"]}
    remote = hops[("Istio ingress (aws-east)", "backends (gcp-central)")]
    assert remote["mtls"] is True and remote["via"] == "east-west gateway (gcp-central)"
    assert ("AWS API Gateway (HTTP API)", "Istio ingress (gcp-central)") not in hops
    assert all(h["tls"] for h in program.plain_outputs["hops"])


def test_istio_gateway_and_one_virtual_service_per_api() -> None:
    program = split()
    services = {vs.get("metadata.name"): vs for vs in kind(program, "VirtualService")}
    assert set(services) == {"orders", "payments", "catalog"} and len(services) == len(program.plain_outputs["curl"])
    orders = services["orders"].get("spec")
    assert orders["gateways"] == ["meshgate-ingress"]
    (http,) = orders["http"]
    assert http["match"] == [{"uri": {"prefix": "/orders/"}}, {"uri": {"exact": "/orders"}}]
    assert http["rewrite"] == {"uri": "/"}
    assert http["route"] == [{"destination": {"host": "orders.shop.svc.cluster.local", "port": {"number": 8080}}}]
    assert cluster_of(services["catalog"]) == "gcp-central"


def test_scenario1_adds_no_peer_authentication_and_policies_at_the_ingress_and_the_backends() -> None:
    program = aws()
    assert not kind(program, "PeerAuthentication")
    assert {p.get("metadata.namespace") for p in kind(program, "AuthorizationPolicy")} == {"istio-ingress", "shop"}


INGRESS_PRINCIPAL = "cluster.local/ns/istio-ingress/sa/istio-ingressgateway"


def _backend_policies(program: Program) -> dict[tuple[str, str], Resource]:
    """(cluster, name) -> the Istio security objects in the backends' namespace."""
    found = [*kind(program, "AuthorizationPolicy"), *kind(program, "RequestAuthentication")]
    return {(cluster_of(p), p.get("metadata.name")): p for p in found if p.get("metadata.namespace") == "shop"}


@pytest.mark.parametrize(
    ("variant", "forwarded_token"),
    [("aws", True), ("split", True), ("gcp", False), ("split-gcp", False), ("staging", True)],
)
def test_scenario1_backends_admit_only_the_ingress_identity(variant: str, forwarded_token: bool) -> None:
    """Istio's AuthorizationPolicy reference (https://istio.io/latest/docs/reference/config/security/authorization-policy/):
    an ALLOW policy on a workload denies every request no rule matches, `spec: {}` allows nothing,
    `principals` match the mTLS peer identity and `requestPrincipals` the validated token. So each
    backend namespace gets `allow-nothing` and each backend one ALLOW rule: the ingress's principal
    on the backend's port, with the client's token of the API's issuer where the ingress forwards it
    (AWS: `forwardOriginalToken`; GCP's gateway replaces Authorization with its own token). Before,
    scenario 1 had no policy on the backends: any workload in the mesh called them directly."""
    from harness import stack_config

    config = {
        "aws": lambda: cloud("external-gateway"),
        "split": split_config,
        "gcp": lambda: cloud("external-gateway", external="gcp-api-gateway"),
        "split-gcp": lambda: split_config("gcp-api-gateway"),
        "staging": lambda: stack_config("staging"),
    }[variant]()
    found = _backend_policies(run(config))
    routed = {(a["cluster"], a["service"]["name"]) for a in config["meshgate:apis"]}
    assert {(c, n.removesuffix("-from-gateway")) for c, n in found if n.endswith("-from-gateway")} == routed
    for cluster in {c for c, _ in routed}:
        assert found[(cluster, "allow-nothing")].get("spec") == {}
    for (cluster, name), policy in found.items():
        if not name.endswith("-from-gateway"):
            continue
        (rule,) = policy.get("spec.rules")
        (source,) = rule["from"]
        jwt = name == "orders-from-gateway" and forwarded_token
        assert source["source"]["principals"] == [INGRESS_PRINCIPAL]
        assert source["source"].get("requestPrincipals", []) == (
            [f"{(found[(cluster, 'orders-jwt')].get('spec.jwtRules'))[0]['issuer']}/*"] if jwt else []
        )
        assert rule["to"] == [{"operation": {"ports": ["8080"]}}]
        assert policy.get("spec.selector.matchLabels") == {"app": name.removesuffix("-from-gateway")}
        assert policy.get("spec.action", "ALLOW") == "ALLOW"
    assert any(n == "orders-jwt" for _, n in found) is forwarded_token


# ---------------------------------------------------------------- AWS HTTP API


def test_pulumi_owns_an_internal_nlb_on_the_ingress_node_ports() -> None:
    program = aws()
    nlb = one(program, "aws:lb/loadBalancer:LoadBalancer", "-ingress-nlb-nlb")
    assert nlb.get("internal") is True and nlb.get("loadBalancerType") == "network"
    private = {s.name for s in program.of_type("aws:ec2/subnet:Subnet") if "private" in s.name}
    assert len(nlb.get("subnets")) == len(private) >= 2
    groups = {g.name.rsplit("-", 1)[-1]: g for g in program.of_type("aws:lb/targetGroup:TargetGroup")}
    assert {p: g.get("port") for p, g in groups.items()} == {"443": 30443}  # TLS passthrough only, no port 80
    for g in groups.values():
        assert g.get("targetType") == "instance" and g.get("protocol") == "TCP"
        assert g.get("healthCheck.port") == "30021" and g.get("healthCheck.path") == "/healthz/ready"
    listeners = {x.get("port"): x for x in program.of_type("aws:lb/listener:Listener")}
    assert set(listeners) == {443} and all(x.get("protocol") == "TCP" for x in listeners.values())
    attachments = program.of_type("aws:autoscaling/attachment:Attachment")
    assert sorted(a.get("autoscalingGroupName") for a in attachments) == ["aws-east-nodes-asg"]


def test_node_ports_admit_only_the_private_subnets() -> None:
    """The NLB and the VPC link sit in the private subnets (client IP preserved): the NodePorts
    admit those, not the public subnets or the rest of the VPC, and only HTTPS + status."""
    program = aws()
    subnets = {s.get("cidrBlock"): s for s in program.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("aws-east")}
    private = {c for c, s in subnets.items() if "private" in s.name}
    public = set(subnets) - private
    assert len(private) == 3 and public
    rules = [
        r for r in program.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "nodeport" in r.name
    ]
    assert sorted((r.get("fromPort"), r.get("cidrIpv4")) for r in rules) == sorted(
        (port, cidr) for port in (30021, 30443) for cidr in private
    )
    link_egress = [
        r for r in program.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") if "vpc-link" in r.name
    ]
    assert sorted((r.get("fromPort"), r.get("toPort"), r.get("cidrIpv4")) for r in link_egress) == sorted(
        (443, 443, cidr) for cidr in private
    )


def test_nlb_goes_before_its_subnets() -> None:
    program = aws()
    nlb = one(program, "aws:lb/loadBalancer:LoadBalancer", "-ingress-nlb-nlb")
    # the NLB goes before the VPC on destroy: it depends on the private subnets
    subnet = next(s for s in program.of_type("aws:ec2/subnet:Subnet") if "private" in s.name)
    assert program.depends_on(nlb, subnet)


def _integrations(program: Program) -> dict[str, Resource]:
    return {i.name.rsplit("-", 1)[-1]: i for i in program.of_type("aws:apigatewayv2/integration:Integration")}


@pytest.mark.parametrize("variant", ["aws", "split"])
def test_vpc_link_integrations_use_tls_verified_against_the_ingress_hostname(variant: str) -> None:
    program = {"aws": aws, "split": split}[variant]()
    integrations = _integrations(program)
    listener = one(program, "aws:lb/listener:Listener", "-listener-443")
    # with the multi-cluster mesh even the GKE API enters through the VPC link
    private = ["orders", "payments", "catalog"] if variant == "aws" else ["orders", "payments"]
    for name in private:
        i = integrations[name]
        assert (i.get("integrationType"), i.get("connectionType")) == ("HTTP_PROXY", "VPC_LINK")
        assert program.depends_on(i, listener)
        assert i.get("integrationUri") == f"arn:aws:mock:us-east-1:123456789012:{listener.name}"  # the mock's ARN
        assert i.get("tlsConfig") == {"serverNameToVerify": "ingress.aws-east.example.com"}


def test_integrations_vpc_link_for_eks_internet_for_other_clouds() -> None:
    program = split()
    integrations = _integrations(program)
    assert len(integrations) == len(program.plain_outputs["curl"]) == 3
    catalog = integrations["catalog"]
    assert (catalog.get("integrationType"), catalog.get("connectionType")) == ("HTTP_PROXY", "INTERNET")
    assert catalog.get("integrationUri") == "https://ingress.gcp-central.example.com"
    assert program.plain_outputs["endpoints"]["ingress-gcp-central"] == "gcp-central-ingress-service.lb.example.com"
    assert all(i.plain["requestParameters"]["overwrite:path"] == "$request.path" for i in integrations.values())
    link = one(program, "aws:apigatewayv2/vpcLink:VpcLink", "-vpc-link")
    assert len(link.get("subnetIds")) == 3


def test_two_routes_per_api_and_jwt_authorizer() -> None:
    program = aws()
    routes = {r.get("routeKey"): r for r in program.of_type("aws:apigatewayv2/route:Route")}
    assert set(routes) == {
        f"ANY /{api}{suffix}" for api in ("orders", "payments", "catalog") for suffix in ("", "/{proxy+}")
    }
    (authorizer,) = program.of_type("aws:apigatewayv2/authorizer:Authorizer")
    assert authorizer.get("authorizerType") == "JWT"
    assert authorizer.get("identitySources") == ["$request.header.Authorization"]
    assert authorizer.get("jwtConfiguration") == {
        "issuer": "https://auth.example.com/",
        "audiences": ["https://api.example.com"],
    }
    for key, route in routes.items():
        assert route.get("authorizationType") == ("JWT" if "orders" in key else "NONE")


def test_stage_logs_and_throttles_from_the_catalogue() -> None:
    program = aws()
    stage = one(program, "aws:apigatewayv2/stage:Stage", "-stage")
    assert stage.get("name") == "$default" and stage.get("autoDeploy") is True
    log_group = one(program, "aws:cloudwatch/logGroup:LogGroup", "-access-logs")
    assert log_group.get("retentionInDays") == 90
    assert stage.get("accessLogSettings.format") == ACCESS_LOG_FORMAT
    assert stage.get("accessLogSettings.destinationArn") == f"arn:aws:mock:us-east-1:123456789012:{log_group.name}"
    assert program.depends_on(stage, log_group)
    throttles = {
        s["routeKey"]: (s["throttlingRateLimit"], s["throttlingBurstLimit"]) for s in stage.get("routeSettings")
    }
    assert throttles["ANY /orders"] == throttles["ANY /orders/{proxy+}"] == (10.0, 10)
    assert throttles["ANY /payments"] == (2.0, 2)
    assert throttles["ANY /catalog"] == (20.0, 20)


def test_staging_stack_is_scenario_1_on_aws() -> None:
    from harness import evaluate_stack

    program = evaluate_stack("staging")
    kinds = {(i.get("connectionType")) for i in program.of_type("aws:apigatewayv2/integration:Integration")}
    assert kinds == {"VPC_LINK", "INTERNET"}
    assert program.plain_outputs["endpoints"]["aws-http-api"].startswith("https://")


# ---------------------------------------------------------------- GCP API Gateway


def _document(program: Program) -> dict[str, Any]:
    (config,) = program.of_type("gcp:apigateway/apiConfig:ApiConfig")
    (doc,) = config.get("openapiDocuments")
    assert doc["document"]["path"] == "openapi.json"
    return json.loads(base64.b64decode(doc["document"]["contents"]))


def test_gcp_api_gateway_from_an_openapi_document() -> None:
    program = gcp()
    (api,) = program.of_type("gcp:apigateway/api:Api")
    (gateway,) = program.of_type("gcp:apigateway/gateway:Gateway")
    assert api.get("apiId") == gateway.get("gatewayId") == "acme-api"
    assert gateway.get("region") == "us-central1"
    services = {
        s.get("service") for s in program.of_type("gcp:projects/service:Service") if s.name.startswith("acme-api")
    }
    assert {
        "apigateway.googleapis.com",
        "servicemanagement.googleapis.com",
        "servicecontrol.googleapis.com",
    } <= services
    document = _document(program)
    assert document["swagger"] == "2.0"
    assert set(document["paths"]) == {
        f"/{api}{suffix}" for api in ("orders", "payments", "catalog") for suffix in ("", "/{rest=**}")
    }
    backends = {path: item["x-google-backend"]["address"] for path, item in document["paths"].items()}
    # one multi-cluster mesh: every API enters at the GKE ingress, by its hostname
    assert set(backends.values()) == {"https://ingress.gcp-central.example.com"}
    split_backends = {
        p: i["x-google-backend"]["address"] for p, i in _document(split("gcp-api-gateway"))["paths"].items()
    }
    assert split_backends["/orders"] == "https://ingress.aws-east.example.com"
    assert split_backends["/catalog/{rest=**}"] == "https://ingress.gcp-central.example.com"
    assert (
        document["securityDefinitions"]["orders_jwt"]["x-google-jwks_uri"]
        == "https://auth.example.com/.well-known/jwks.json"
    )
    assert document["paths"]["/orders"]["get"]["security"] == [{"orders_jwt": []}]
    assert document["paths"]["/catalog"]["post"]["security"] == [{"api_key": []}]
    assert document["paths"]["/catalog"]["post"]["x-google-quota"] == {"metricCosts": {"catalog-requests": 1}}
    (limit,) = document["x-google-management"]["quota"]["limits"]
    assert limit["values"] == {"STANDARD": 1200} and limit["unit"] == "1/min/{project}"


def test_openapi_document_is_deterministic() -> None:
    first = gcp().of_type("gcp:apigateway/apiConfig:ApiConfig")[0].get("openapiDocuments")
    config = cloud("external-gateway", external="gcp-api-gateway")
    config["meshgate:protect"] = True  # a different cache key, same catalogue
    again = run(config).of_type("gcp:apigateway/apiConfig:ApiConfig")[0].get("openapiDocuments")
    assert first == again


def test_no_aws_resources_with_the_gcp_gateway_and_vice_versa() -> None:
    assert not [r for r in gateway_layer(gcp()) if r.type.startswith("aws:")]
    assert not [r for r in gateway_layer(aws()) if r.type.startswith("gcp:")]


def test_external_gateway_on_a_kubeconfig_cluster() -> None:
    program = run(single("external-gateway"))
    assert program.of_type("gcp:apigateway/gateway:Gateway")
    assert ingress_releases(program)["local"].get("values.service.type") == "LoadBalancer"


def test_gcp_gateway_on_a_kubeconfig_cluster_loads_no_aws_sdk() -> None:
    import subprocess
    import sys

    from harness import ROOT

    code = (
        "import sys; sys.path[:0] = ['tests', '.'];"
        "from gateway_helpers import run, single; run(single('external-gateway'));"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi_aws');"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["meshgate:apis"][1].update(auth="key"),
            r"^meshgate:apis\[1\]\.auth key is not supported by externalGateway aws-http-api",
        ),
        (
            lambda c: c["meshgate:jwt"].pop("audiences"),
            r"^meshgate:jwt\.audiences is required by externalGateway aws-http-api",
        ),
        (
            lambda c: c["meshgate:externalGateway"].update(region="eu-west-1"),
            r"^meshgate:externalGateway\.region is 'eu-west-1', but the VPC link",
        ),
        (
            lambda c: c["meshgate:clusters"][0].pop("ingress"),
            r"^meshgate:clusters\[0\]\.ingress is required by externalGateway aws-http-api \(the VPC link reaches the "
            r"ingress over TLS",
        ),
    ],
)
def test_what_aws_http_api_cannot_do_is_rejected_before_any_resource(change: Any, message: str) -> None:
    import pulumi
    from harness import evaluate

    config = cloud("external-gateway")
    change(config)
    record: list[Any] = []
    with pytest.raises(pulumi.RunError, match=message):
        evaluate(config, record=record)
    assert record == []


@pytest.mark.parametrize("external", ["aws-http-api", "gcp-api-gateway"])
def test_a_cross_cloud_route_without_mesh_or_trusted_ingress_is_refused_naming_both_options(external: str) -> None:
    import pulumi
    from harness import evaluate

    config = split_config(external)
    other = 1 if external == "aws-http-api" else 0  # the cluster in the other cloud
    config["meshgate:clusters"][other].pop("ingress")
    api = next(
        i for i, a in enumerate(config["meshgate:apis"]) if a["cluster"] == config["meshgate:clusters"][other]["name"]
    )
    record: list[Any] = []
    with pytest.raises(pulumi.RunError) as failure:
        evaluate(config, record=record)
    message = str(failure.value)
    assert f"meshgate:apis[{api}].cluster is " in message
    assert "meshgate:istio.multicluster: true" in message and f"meshgate:clusters[{other}].ingress" in message
    assert record == []


# ---------------------------------------------------------------- only through the external gateway


def _only_from_gateway(program: Program) -> dict[str, Resource]:
    return {
        cluster_of(p): p
        for p in kind(program, "AuthorizationPolicy")
        if p.get("metadata.name") == "external-gateway-only"
    }


@pytest.mark.parametrize("variant", ["aws", "split"])
def test_aws_ingress_admits_only_requests_with_the_http_apis_secret_header(variant: str) -> None:
    """Every integration overwrites x-meshgate-gateway-auth with one random secret; every ingress
    ALLOWs the catalogue's paths only with that exact header value (and, for jwt APIs, a valid
    token again), under allow-nothing; the header never reaches a backend; the secret stays secret."""
    from harness import secret_paths

    program = {"aws": aws, "split": split}[variant]()
    (password,) = program.of_type("random:index/randomPassword:RandomPassword")
    assert password.get("length") >= 32 and password.get("special") is False  # `*` would be an Istio wildcard
    secret = "mock-random-secret"
    for integration in _integrations(program).values():
        assert integration.plain["requestParameters"]["overwrite:header.x-meshgate-gateway-auth"] == secret
        assert "requestParameters" in set(secret_paths(integration.inputs)) or any(
            p.startswith("requestParameters") for p in secret_paths(integration.inputs)
        )
    policies = _only_from_gateway(program)
    assert set(policies) == set(ingress_releases(program))
    for cluster, policy in policies.items():
        spec = policy.plain["spec"]
        assert spec["action"] == "ALLOW" and spec["selector"] == {
            "matchLabels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}
        }
        for rule in spec["rules"]:
            assert rule["when"] == [{"key": "request.headers[x-meshgate-gateway-auth]", "values": [secret]}]
        jwt_rules = [r for r in spec["rules"] if "from" in r]
        assert [r["to"][0]["operation"]["paths"] for r in jwt_rules] == (
            [["/orders", "/orders/*"]] if cluster == "aws-east" else []
        )
        assert all(r["from"] == [{"source": {"requestPrincipals": ["https://auth.example.com//*"]}}] for r in jwt_rules)
        assert any(p.startswith("spec") for p in secret_paths(policy.inputs))
        nothing = [
            p
            for p in kind(program, "AuthorizationPolicy")
            if cluster_of(p) == cluster and p.get("metadata.name") == "allow-nothing"
        ]
        assert "istio-ingress" in [p.get("metadata.namespace") for p in nothing]
    for vs in kind(program, "VirtualService"):
        assert vs.get("spec.http")[0]["headers"] == {"request": {"remove": ["x-meshgate-gateway-auth"]}}
    (jwt,) = [
        r
        for r in kind(program, "RequestAuthentication")
        if cluster_of(r) == "aws-east" and r.get("metadata.namespace") == "istio-ingress"
    ]
    assert jwt.get("spec.jwtRules") == [
        {
            "issuer": "https://auth.example.com/",
            "jwksUri": "https://auth.example.com/.well-known/jwks.json",
            "audiences": ["https://api.example.com"],
            "forwardOriginalToken": True,
        }
    ]


@pytest.mark.parametrize("variant", ["gcp", "split"])
def test_gcp_ingress_admits_only_the_gateways_google_identity(variant: str) -> None:
    """API Gateway authenticates to each backend with a Google ID token of its own service account
    (audience https://<ingress hostname>); each ingress validates that token and ALLOWs only that
    service account's principal."""
    program = gcp() if variant == "gcp" else split("gcp-api-gateway")
    (account,) = [a for a in program.of_type("gcp:serviceaccount/account:Account") if a.name == "acme-api-backend"]
    assert account.get("accountId") == "acme-api-backend"
    (config,) = program.of_type("gcp:apigateway/apiConfig:ApiConfig")
    assert (
        config.get("gatewayConfig.backendConfig.googleServiceAccount")
        == "acme-api-backend@mock-project.iam.gserviceaccount.com"
    )
    for path, item in _document(program)["paths"].items():
        backend = item["x-google-backend"]
        assert "disable_auth" not in backend, path
        assert backend["jwt_audience"] == backend["address"]
    principal = "https://accounts.google.com/mock-unique-id-acme-api-backend"
    policies = _only_from_gateway(program)
    assert set(policies) == set(ingress_releases(program))
    for cluster, policy in policies.items():
        for rule in policy.get("spec.rules"):
            assert rule["from"] == [{"source": {"requestPrincipals": [principal]}}]
        (identity,) = [
            r
            for r in kind(program, "RequestAuthentication")
            if cluster_of(r) == cluster and r.get("metadata.name") == "external-gateway-identity"
        ]
        assert identity.get("spec.jwtRules") == [
            {
                "issuer": "https://accounts.google.com",
                "jwksUri": "https://www.googleapis.com/oauth2/v3/certs",
                "audiences": [f"https://ingress.{cluster}.example.com"],
                "forwardOriginalToken": True,  # every RequestAuthentication forwards the validated token
            }
        ]


def _istio_match(pattern: str, value: str) -> bool:
    """Istio's string match for AuthorizationPolicy fields: exact, `prefix*`, `*suffix` or `*`."""
    if pattern == "*":
        return bool(value)
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _allowed(spec: dict[str, Any], path: str, headers: dict[str, str], principal: str) -> bool:
    """An ALLOW policy's verdict for one request (the fields meshgate's ingress rules use)."""
    for rule in spec["rules"]:
        paths = [p for t in rule.get("to", []) for p in t["operation"].get("paths", [])]
        principals = [p for f in rule.get("from", []) for p in f["source"].get("requestPrincipals", [])]
        if paths and not any(_istio_match(p, path) for p in paths):
            continue
        if principals and not any(_istio_match(p, principal) for p in principals):
            continue
        if all(
            any(_istio_match(v, headers.get(c["key"][len("request.headers[") : -1], "")) for v in c["values"])
            for c in rule.get("when", [])
        ):
            return True
    return False


def test_a_client_that_bypasses_the_gateway_is_denied_at_the_ingress() -> None:
    """The ingress's ALLOW policy evaluated for three requests: through the HTTP API (secret header,
    the client's token validated into a principal), straight to the ingress with a valid token but
    no secret, and straight to the ingress guessing the header. Only the first is allowed."""
    program = split()
    spec = _only_from_gateway(program)["aws-east"].plain["spec"]
    token = "https://auth.example.com//alice"
    through = {"x-meshgate-gateway-auth": "mock-random-secret"}
    assert _allowed(spec, "/orders/headers", through, token)
    assert _allowed(spec, "/payments/x", through, "")
    assert not _allowed(spec, "/orders/headers", through, "")  # jwt API: the token is checked again
    assert not _allowed(spec, "/orders/headers", {}, token)
    assert not _allowed(spec, "/payments/x", {"x-meshgate-gateway-auth": "guess"}, "")
    assert not _allowed(spec, "/admin", through, token)  # only the catalogue's paths
    google = _only_from_gateway(gcp())["gcp-central"].plain["spec"]
    gateway = "https://accounts.google.com/mock-unique-id-acme-api-backend"
    assert _allowed(google, "/catalog/x", {}, gateway)
    assert not _allowed(google, "/catalog/x", {}, "https://accounts.google.com/someone-else")
    assert not _allowed(google, "/catalog/x", {}, "")
