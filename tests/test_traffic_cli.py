"""`traffic`: usage errors, the JSON document, the table, and the query's wiring to the model and the
registered objects (Service port -> targetPort, the gateway's identity and protocol per scenario)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_automation import Run

from stacks.pipeline.diagram import traffic_model
from stacks.pipeline.overrides import parse_override
from stacks.pipeline.report import ExitCode
from stacks.pipeline.stackfile import load_config
from stacks.recording import Program, Resource
from stacks.traffic import model, report
from stacks.traffic.objects import ClusterObjects, Service, ServicePort, StackObjects, read
from stacks.traffic.policy import IstioObject, Workload
from stacks.traffic.query import QueryError, StackTraffic, Target

ROW_KEYS = {
    "from", "to", "route", "cluster", "targetPort", "path", "method", "jwt", "connection",
    "mtlsMode", "mtlsModeSetBy", "verdict", "decidedBy", "reason", "notes",
}  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["traffic"], "--stack"),
        (["traffic", "--stack", "dev", "--from", "gateway"], "both --from and --to"),
        (["traffic", "--stack", "dev", "--to", "orders.shop:8080"], "both --from and --to"),
        (["traffic", "--stack", "dev", "--jwt"], "give --from and --to"),
        (["traffic", "--stack", "dev", "--from", "kong", "--to", "orders.shop:8080"], "--from 'kong'"),
        (
            ["traffic", "--stack", "dev", "--from", "mesh:shop", "--to", "orders.shop:8080"],
            "mesh:NAMESPACE/SERVICEACCOUNT",
        ),
        (["traffic", "--stack", "dev", "--from", "gateway", "--to", "orders:8080"], "SERVICE.NAMESPACE:PORT"),
        (["traffic", "--stack", "dev", "--from", "gateway", "--to", "nothere.shop:8080"], "no workload behind"),
        (["traffic", "--stack", "dev", "--from", "gateway", "--to", "orders.shop:9999"], "has no port 9999"),
        (["traffic", "--stack", "nope"], "Pulumi.nope.yaml not found"),
        (["traffic", "--stack", "dev", "-c", "meshgate:scenario=bogus"], "meshgate:scenario"),
    ],
)
def test_usage_errors_exit_2_and_name_the_problem(argv: list[str], message: str) -> None:
    machine = Run([*argv, "--json"])
    assert machine.code == ExitCode.USAGE == 2 and machine.document["exitCode"] == 2
    assert machine.document["error"]["kind"] in ("usage", "config") and message in machine.document["error"]["message"]
    human = Run(argv)
    assert human.code == 2 and human.stdout == "" and message in human.stderr
    assert machine.opened == human.opened == []  # never the engine


def test_one_query_answers_allow_or_deny_with_the_deciding_object_in_json() -> None:
    run = Run(["traffic", "--stack", "dev", "--from", "outside-mesh", "--to", "orders.shop:8080", "--json"])
    doc = run.document
    assert run.code == 0 and doc["ok"] and doc["command"] == "traffic" and doc["scenario"] == "in-cluster-gateway-mesh"
    assert doc["verdict"] == "deny" and len(doc["traffic"]) == 1 and set(doc["traffic"][0]) == ROW_KEYS
    row = doc["traffic"][0]
    assert (row["connection"], row["decidedBy"]) == ("plaintext", "PeerAuthentication istio-system/default")
    assert run.opened == []


def test_the_matrix_covers_every_route_every_service_pair_and_the_outside_caller() -> None:
    run = Run(["traffic", "--stack", "prod", "--json"])
    rows = run.document["traffic"]
    config = load_config("prod")
    jwt_routes = sum(a.auth == "jwt" for a in config.apis)
    pairs = len(config.services) * (len(config.services) - 1)
    assert len(rows) == len(config.apis) + jwt_routes + pairs + len(config.services)
    assert {r["route"] for r in rows if r["from"] == "gateway"} == {a.name for a in config.apis}
    assert "verdict" not in run.document  # only a single query has one overall verdict


def test_the_human_matrix_is_a_table_on_stdout() -> None:
    run = Run(["traffic", "--stack", "dev"])
    assert run.code == 0
    assert "Traffic (in-cluster-gateway-mesh)" in run.stdout and "decided by" in run.stdout
    assert "AuthorizationPolicy shop/allow-nothing" in run.stdout


def test_one_human_query_ends_with_the_answer_line() -> None:
    run = Run(["traffic", "--stack", "dev", "--from", "outside-mesh", "--to", "orders.shop:8080"])
    assert run.code == 0
    assert "deny: PeerAuthentication istio-system/default (mTLS STRICT on port 8080: plaintext refused)" in run.stdout


def test_the_console_command_has_the_same_parser() -> None:
    from stacks.pipeline.cli import build_parser

    args = build_parser().parse_args(
        ["traffic", "-s", "dev", "--from", "mesh:shop/orders", "--to", "payments.shop:8080", "--jwt", "--path", "/x"]
    )
    assert (args.source, args.target, args.jwt, args.path, args.method) == (
        "mesh:shop/orders", "payments.shop:8080", True, "/x", "GET",
    )  # fmt: skip


# --------------------------------------------------------------------------- query wiring


def _objects(security: list[IstioObject], gateway_principal: str = "cluster.local/ns/gw/sa/kong") -> StackObjects:
    """One cluster `local` with Service web.shop port 80 -> targetPort 8080, and the given policies."""
    web = Service("local", "shop", "web", (ServicePort(80, 8080, "http"),), Workload("shop", {"app": "web"}), "web")
    cluster = ClusterObjects("local", security=security, services=[web])
    outputs: dict[str, Any] = {"principal": gateway_principal}
    return StackObjects({"local": cluster}, [("meshgate:gateways:InClusterMeshGateway", outputs)])


def test_port_level_mtls_is_keyed_by_the_target_port() -> None:
    """https://istio.io/latest/docs/reference/config/security/peer_authentication/ (portLevelMtls:
    the workload's port): a query for Service port 80 meets the policy written for targetPort 8080."""
    strict = IstioObject("PeerAuthentication", "istio-system", "default", {"mtls": {"mode": "STRICT"}})
    plaintext_8080 = IstioObject(
        "PeerAuthentication",
        "shop",
        "web",
        {"selector": {"matchLabels": {"app": "web"}}, "portLevelMtls": {"8080": {"mode": "PERMISSIVE"}}},
    )
    traffic = StackTraffic(load_config("dev"), _objects([strict, plaintext_8080]))
    [verdict] = traffic.ask("outside-mesh", Target("web", "shop", 80))
    assert (verdict.target_port, verdict.decision.verdict, verdict.decision.mode) == (8080, "allow", "PERMISSIVE")
    assert verdict.decision.mode_set_by == "PeerAuthentication shop/web"


def test_ports_in_authorization_rules_are_target_ports() -> None:
    """https://istio.io/latest/docs/reference/config/security/authorization-policy/ (Operation.ports):
    the rule on 8080 allows a request to Service port 80."""
    rule = {"rules": [{"to": [{"operation": {"ports": ["8080"]}}]}]}
    traffic = StackTraffic(load_config("dev"), _objects([IstioObject("AuthorizationPolicy", "shop", "p", rule)]))
    [verdict] = traffic.ask("mesh:shop/client", Target("web", "shop", 80))
    assert verdict.decision.verdict == "allow"


def test_the_gateway_calls_with_its_registered_identity_when_its_hop_is_mtls() -> None:
    """The dev stack's scenario 3 hop (Kong's sidecar -> backends) is mTLS: the gateway is its principal."""
    rule = {"rules": [{"from": [{"source": {"principals": ["cluster.local/ns/gw/sa/kong"]}}]}]}
    traffic = StackTraffic(load_config("dev"), _objects([IstioObject("AuthorizationPolicy", "shop", "p", rule)]))
    assert traffic.ask("gateway", Target("web", "shop", 80))[0].decision.verdict == "allow"
    assert traffic.ask("mesh:gw/other", Target("web", "shop", 80))[0].decision.verdict == "deny"


def test_without_a_sidecar_the_gateway_has_no_identity() -> None:
    """Scenario 2 (Kong outside the mesh): the model's hop is plaintext, so the gateway is refused under STRICT."""
    strict = IstioObject("PeerAuthentication", "istio-system", "default", {"mtls": {"mode": "STRICT"}})
    config = load_config("dev", [])
    config = config.model_copy(update={"scenario": config.scenario.__class__("in-cluster-gateway")})
    objects = _objects([strict])
    objects.gateways = [("meshgate:gateways:InClusterGateway", {"principal": "cluster.local/ns/gw/sa/kong"})]
    [verdict] = StackTraffic(config, objects).ask("gateway", Target("web", "shop", 80))
    assert (verdict.decision.verdict, verdict.decision.mtls) == ("deny", False)


def test_jwt_needs_a_configured_issuer() -> None:
    config = load_config("dev").model_copy(update={"jwt": None})
    with pytest.raises(QueryError, match="meshgate:jwt"):
        StackTraffic(config, _objects([])).ask("outside-mesh", Target("web", "shop", 80), jwt=True)


@pytest.mark.parametrize(
    ("stack", "settings"), report.examples(), ids=[f"{s} {' '.join(o)}" for s, o in report.examples()]
)
def test_gateway_verdicts_agree_with_the_hops_and_the_diagram(stack: str, settings: tuple[str, ...]) -> None:
    """One model: each gateway row's connection is the `hops` entry that carries the route, and the
    diagram's edge into the backend's sidecar is drawn with the same protection."""
    config = load_config(stack, [parse_override(s) for s in settings])
    drawn = traffic_model(config)
    _, verdicts = report.matrix(stack, settings)
    for api in config.apis:
        hop = model.backend_hop(config, api)
        sidecar = f"sc_{api.cluster}_{api.service.namespace}_{api.service.name}".replace("-", "_")
        edges = [e for e in drawn.edges if e.target == sidecar]
        assert [e.mtls for e in edges] == [hop.mtls], api.name
        rows = [v for v in verdicts if v.route == api.name]
        assert rows and all(v.decision.mtls == hop.mtls for v in rows), api.name


# --------------------------------------------------------------------------- reading the registered objects

PROVIDER = "urn:pulumi:dev::meshgate::pulumi:providers:kubernetes::local-k8s"


def _k8s(kind: str, namespace: str, name: str, **body: Any) -> Resource:
    inputs = {"kind": kind, "metadata": {"namespace": namespace, "name": name, **body.pop("metadata", {})}, **body}
    urn = f"urn:pulumi:dev::meshgate::kubernetes:x:{kind}::{namespace}-{name}"
    return Resource(urn, f"kubernetes:x:{kind}", name, True, "", PROVIDER, inputs, [], {}, False)


def _deployment(namespace: str, app: str, inject: str | None = None) -> Resource:
    annotations = {"sidecar.istio.io/inject": inject} if inject else {}
    template = {
        "metadata": {"labels": {"app": app}, "annotations": annotations},
        "spec": {"serviceAccountName": app, "containers": [{"ports": [{"name": "http", "containerPort": 9000}]}]},
    }
    return _k8s("Deployment", namespace, app, spec={"template": template})


def _read(*resources: Resource) -> StackObjects:
    return read(load_config("dev"), Program(resources=list(resources), outputs={}))


def test_a_named_target_port_resolves_through_the_deployment() -> None:
    """https://kubernetes.io/docs/concepts/services-networking/service/ (targetPort may name a container port)."""
    objects = _read(
        _k8s("Namespace", "", "shop", metadata={"labels": {"istio-injection": "enabled"}}),
        _deployment("shop", "web"),
        _k8s(
            "Service", "shop", "web", spec={"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}
        ),
    )
    [web] = objects.services()
    assert web.ports[0].target_port == 9000 and web.service_account == "web"
    assert web.workload is not None and web.workload.sidecar


def test_sidecars_follow_namespace_injection_and_the_pod_opt_out() -> None:
    """https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/ (namespace label, per-pod opt-out)."""
    objects = _read(
        _k8s("Namespace", "", "on", metadata={"labels": {"istio-injection": "enabled"}}),
        _k8s("Namespace", "", "off", metadata={"labels": {}}),
        _deployment("on", "a"),
        _deployment("on", "b", inject="false"),
        _deployment("off", "c"),
        *(
            _k8s("Service", ns, app, spec={"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 9000}]})
            for ns, app in (("on", "a"), ("on", "b"), ("off", "c"))
        ),
    )
    sidecars = {s.name: s.workload.sidecar for s in objects.services() if s.workload is not None}
    assert sidecars == {"a": True, "b": False, "c": False}
