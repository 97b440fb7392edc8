"""Stack checks of what the network lets reach the gateways' control interfaces (issue: behaviour
tier, reachability): each passes on the shipped stacks and fails on a recorded stack changed in one place."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness import stack_program
from policy_inputs import stack_resources
from stack_programs import shipped_programs

from policy.checks import BY_ID, StackCheck, StackResource

RELEASE = "kubernetes:helm.sh/v3:Release"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ADMIN_CHECK = "kong-admin-reachable-only-from-controller"
KONG_POLICY = "kong-admin-network-policy"  # the resource of components/gateways/kong admin access


def _run(check_id: str, resources: list[StackResource]) -> list[str]:
    check = BY_ID[check_id]
    assert isinstance(check, StackCheck)
    return [v.message for v in check(resources)]


def _dev_with(change: Callable[[StackResource], StackResource | None]) -> list[StackResource]:
    """dev's recorded resources (Kong in the cluster), each passed through `change` (None drops it)."""
    return [c for c in (change(r) for r in stack_resources(stack_program("dev"))) if c is not None]


def _with_props(r: StackResource, edit: Callable[[dict[str, Any]], None]) -> StackResource:
    props = copy.deepcopy(dict(r.props))
    edit(props)
    return replace(r, props=props)


def test_every_shipped_stack_keeps_the_kong_admin_api_to_its_controller() -> None:
    for stack in ("dev", "prod", "staging", "render"):
        assert _run(ADMIN_CHECK, stack_resources(stack_program(stack))) == [], stack


def test_no_network_policy_leaves_the_admin_port_open_to_every_pod() -> None:
    (message,) = _run(ADMIN_CHECK, _dev_with(lambda r: None if r.name == KONG_POLICY else r))
    assert "no NetworkPolicy selects the Kong gateway pods in meshgate-gateway" in message
    assert "admin port 8444" in message


def test_a_policy_selecting_other_pods_does_not_count() -> None:
    def other_pods(r: StackResource) -> StackResource:
        if r.type != NETWORK_POLICY or r.name != KONG_POLICY:
            return r
        return _with_props(r, lambda p: p["spec"]["podSelector"]["matchLabels"].update({"app.kubernetes.io/name": "x"}))

    assert len(_run(ADMIN_CHECK, _dev_with(other_pods))) == 1


def test_an_extra_rule_opening_the_admin_port_is_a_violation() -> None:
    """NetworkPolicies add up: a second rule (or policy) admitting 8444 from anywhere opens it."""
    opened = {"ports": [{"protocol": "TCP", "port": 8444}]}
    all_ports = {"from": [{"podSelector": {"matchLabels": {"app": "shop"}}}]}  # no ports: every port
    by_ip = {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 8444}]}
    for rule in (opened, all_ports, by_ip):

        def add(r: StackResource, rule: dict[str, Any] = rule) -> StackResource:
            return r if r.name != KONG_POLICY else _with_props(r, lambda p: p["spec"]["ingress"].append(rule))

        (message,) = _run(ADMIN_CHECK, _dev_with(add))
        assert (
            "NetworkPolicy meshgate-gateway/kong-admin-api spec.ingress[2] admits the Kong admin port 8444" in message
        )


def test_an_admin_service_outside_the_cluster_is_a_violation() -> None:
    def node_port(r: StackResource) -> StackResource:
        if r.type != RELEASE or r.props.get("chart") != "ingress":
            return r
        return _with_props(r, lambda p: p["values"]["gateway"]["admin"].pop("type"))  # chart default: NodePort

    (message,) = _run(ADMIN_CHECK, _dev_with(node_port))
    assert "values.gateway.admin.type is NodePort" in message


def test_a_closed_admin_api_needs_no_policy() -> None:
    def disabled(r: StackResource) -> StackResource | None:
        if r.name == KONG_POLICY:
            return None
        if r.type != RELEASE or r.props.get("chart") != "ingress":
            return r
        return _with_props(r, lambda p: p["values"]["gateway"]["admin"].update({"enabled": False}))

    assert _run(ADMIN_CHECK, _dev_with(disabled)) == []


# --------------------------------------------------------------------------- external gateway -> ingress TLS

UPSTREAM_CHECK = "external-gateway-upstream-verified"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
API_CONFIG = "gcp:apigateway/apiConfig:ApiConfig"
ISTIO_GATEWAY = "kubernetes:networking.istio.io/v1:Gateway"


def _staging_with(change: Callable[[StackResource], StackResource | None]) -> list[StackResource]:
    """staging's recorded resources (AWS HTTP API: a VPC-link and an internet integration)."""
    return [c for c in (change(r) for r in stack_resources(stack_program("staging"))) if c is not None]


def test_every_shipped_external_gateway_verifies_its_upstream() -> None:
    checked = 0
    for label, program in shipped_programs():
        resources = stack_resources(program)
        checked += any(r.type in (INTEGRATION, API_CONFIG) for r in resources)
        assert _run(UPSTREAM_CHECK, resources) == [], label
    assert checked >= 2  # staging and prod@external-gateway (AWS HTTP API; GCP below, synthetic)


def test_an_unverified_hop_is_a_violation() -> None:
    def plain(r: StackResource) -> StackResource:
        if r.type != INTEGRATION:
            return r
        if r.props.get("connectionType") == "VPC_LINK":
            return _with_props(r, lambda p: p.pop("tlsConfig"))
        return _with_props(r, lambda p: p.update(integrationUri="http://catalog.staging.example.com"))

    messages = _run(UPSTREAM_CHECK, _staging_with(plain))
    assert sorted(m.split(" reaches")[0] for m in messages) == [
        "integration acme-staging-api-catalog",
        "integration acme-staging-api-orders",
    ]


def test_an_ingress_that_does_not_terminate_tls_is_a_violation() -> None:
    def passthrough(r: StackResource) -> StackResource:
        if r.type != ISTIO_GATEWAY or "aws-east" not in r.name:
            return r
        return _with_props(r, lambda p: p["spec"]["servers"][0]["tls"].update(mode="PASSTHROUGH"))

    (message,) = _run(UPSTREAM_CHECK, _staging_with(passthrough))
    assert "serves orders.staging.example.com with TLS mode PASSTHROUGH" in message
    (missing,) = _run(
        UPSTREAM_CHECK, _staging_with(lambda r: None if r.type == ISTIO_GATEWAY and "gcp" in r.name else r)
    )
    assert "no Istio Gateway server terminates TLS for catalog.staging.example.com" in missing


def test_a_certificate_the_program_signs_is_a_violation() -> None:
    """A cloud API gateway trusts public CAs only: a Secret made from a `tls` provider certificate fails."""
    staging = stack_resources(stack_program("staging"))
    gateway = next(r for r in staging if r.type == ISTIO_GATEWAY and "aws-east" in r.name)
    cert = StackResource(urn="urn:cert", type="tls:index/selfSignedCert:SelfSignedCert", name="cert", props={})
    secret = StackResource(
        urn="urn:ingress-tls",
        type="kubernetes:core/v1:Secret",
        name="ingress-tls",
        props={"kind": "Secret", "metadata": {"name": "ingress-tls", "namespace": "istio-ingress"}},
        provider=gateway.provider,
        dependencies=("urn:cert",),
    )
    (message,) = _run(UPSTREAM_CHECK, [*staging, cert, secret])
    assert "serves orders.staging.example.com with Secret ingress-tls, signed by the program's own CA" in message


def test_a_gcp_backend_over_http_is_a_violation() -> None:
    document = {"paths": {"/orders": {"get": {"x-google-backend": {"address": "http://orders.example.com"}}}}}
    contents = base64.b64encode(json.dumps(document).encode()).decode()
    config = StackResource(
        urn="urn:cfg",
        type=API_CONFIG,
        name="cfg",
        props={"openapiDocuments": [{"document": {"path": "openapi.json", "contents": contents}}]},
    )
    (message,) = _run(UPSTREAM_CHECK, [config])
    assert message.startswith("API config cfg path /orders reaches its upstream without TLS it verifies")


# --------------------------------------------------------------------------- API servers: GKE as well as EKS

DEPLOYER = "api-server-reachable-from-deployer"
PEERS = "api-server-reachable-from-peers"
GKE = "gcp:container/cluster:Cluster"
EKS = "aws:eks/cluster:Cluster"


def _prod_with(change: Callable[[StackResource], StackResource | None]) -> list[StackResource]:
    """prod's recorded resources (EKS + GKE, multi-cluster mesh), each passed through `change`."""
    return [c for c in (change(r) for r in stack_resources(stack_program("prod"))) if c is not None]


def _gke(edit: Callable[[dict[str, Any]], None]) -> Callable[[StackResource], StackResource]:
    return lambda r: _with_props(r, edit) if r.type == GKE else r


def test_gke_must_admit_every_aws_egress_address() -> None:
    assert _run(PEERS, _prod_with(lambda r: r)) == []

    def drop_first_peer(props: dict[str, Any]) -> None:
        blocks = props["masterAuthorizedNetworksConfig"]["cidrBlocks"]
        props["masterAuthorizedNetworksConfig"]["cidrBlocks"] = [
            b for b in blocks if b["displayName"] != "peer-aws-east-nat-0"
        ]

    def with_known_ips(r: StackResource) -> StackResource:  # after `up`: the EIPs' addresses are known
        if r.type != "aws:ec2/eip:Eip":
            return _gke(drop_first_peer)(r)
        ip = {
            "aws-east-nat-0-eip": "52.0.146.175",
            "aws-east-nat-1-eip": "52.0.157.110",
            "aws-east-nat-2-eip": "52.0.229.50",
        }
        return _with_props(r, lambda p: p.update(publicIp=ip[r.name]))

    assert _run(PEERS, _prod_with(with_known_ips)) == [
        "API server gcp-central does not admit peer egress address aws-east-nat-0-eip (52.0.146.175/32): the "
        "peer's istiod cannot read its endpoints (add every peer's egress addresses to the allowlist)"
    ]
    only_private = _prod_with(_gke(lambda p: p["privateClusterConfig"].update(enablePrivateEndpoint=True)))
    assert any("gcp-central has no public endpoint" in m for m in _run(PEERS, only_private))


def test_gke_must_admit_the_deployer() -> None:
    def peers_only(props: dict[str, Any]) -> None:
        blocks = props["masterAuthorizedNetworksConfig"]["cidrBlocks"]
        props["masterAuthorizedNetworksConfig"]["cidrBlocks"] = [
            b for b in blocks if b["displayName"].startswith("peer")
        ]

    assert _run(DEPLOYER, _prod_with(_gke(peers_only))) == [
        "API server gcp-central admits no deployer: its public endpoint allows only the peers' egress "
        "addresses; add meshgate:deployerCidrs or declare meshgate:deployerInsideNetwork: true"
    ]

    def inside(private_nodes: bool) -> Callable[[dict[str, Any]], None]:
        def edit(props: dict[str, Any]) -> None:
            peers_only(props)
            props["resourceLabels"]["meshgate-deployer"] = "inside-network"
            props["privateClusterConfig"]["enablePrivateNodes"] = private_nodes

        return edit

    assert _run(DEPLOYER, _prod_with(_gke(inside(True)))) == []
    assert _run(DEPLOYER, _prod_with(_gke(inside(False)))) == [
        "API server gcp-central: the deployer runs inside the network but the private endpoint is off"
    ]


def test_an_endpoint_without_allowlist_admits_everyone() -> None:
    """EKS without publicAccessCidrs (default 0.0.0.0/0) and GKE without authorized networks are
    reachable by the deployer and the peers; their openness is other checks' finding."""

    def open_all(r: StackResource) -> StackResource:
        if r.type == GKE:
            return _with_props(r, lambda p: p.pop("masterAuthorizedNetworksConfig"))
        if r.type == EKS:
            return _with_props(r, lambda p: p["vpcConfig"].pop("publicAccessCidrs"))
        return r

    opened = _prod_with(open_all)
    assert _run(DEPLOYER, opened) == [] and _run(PEERS, opened) == []
    assert BY_ID["gke-master-authorized-networks"](GKE, next(r for r in opened if r.type == GKE).props)  # type: ignore[call-arg]
