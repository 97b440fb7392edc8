"""Traffic-path diagrams for the four scenarios: nodes, hops and their mTLS marking, Mermaid and DOT output."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from harness import evaluate

from stacks.config import Scenario, StackConfig
from stacks.pipeline import diagram
from stacks.pipeline.diagram import (
    LOCALHOST,
    MTLS,
    PASSTHROUGH,
    PLAINTEXT,
    TLS_OUTSIDE_MESH,
    TrafficModel,
    traffic_model,
)
from stacks.pipeline.overrides import parse_override
from stacks.pipeline.stackfile import load_config, raw_config
from stacks.traffic.model import Hop, hops_output
from stacks.traffic.model import hops as scenario_hops


def model(stack: str, *overrides: str) -> TrafficModel:
    return traffic_model(load_config(stack, [parse_override(o) for o in overrides]))


def config(stack: str, *overrides: str) -> StackConfig:
    return load_config(stack, [parse_override(o) for o in overrides])


def ids(nodes: list[diagram.Node]) -> list[str]:
    return [n.id for n in nodes]


def test_scenario_1_external_gateway_then_ingress_outside_the_mesh_then_mtls() -> None:
    m = model("staging")
    assert m.scenario is Scenario.EXTERNAL_GATEWAY
    assert (
        m.node("external_gateway").label == "AWS API Gateway (HTTP API)" and m.node("external_gateway").cluster is None
    )
    assert ids(m.of_kind("ingress-gateway")) == ["ingress_aws_east", "ingress_gcp_central"]
    client = m.edge("client", "external_gateway")
    assert not client.mtls and client.label == TLS_OUTSIDE_MESH
    vpc_link = m.edge("external_gateway", "ingress_aws_east")  # VPC link -> internal NLB :443 (TLS) -> NodePort
    assert not vpc_link.mtls and vpc_link.label == f"{TLS_OUTSIDE_MESH}, VPC link"
    # the VPC-link ingress is a NodePort Service behind the internal NLB, HTTPS only
    private = m.node("ingress_aws_east").label
    assert "HTTPS NodePort 30443" in private and "internal NLB" in private and "30080" not in private
    assert "HTTPS 443, LoadBalancer" in m.node("ingress_gcp_central").label
    internet = m.edge("external_gateway", "ingress_gcp_central")  # HTTPS to the GKE public ingress
    assert not internet.mtls and internet.label == TLS_OUTSIDE_MESH
    assert m.edge("ingress_aws_east", "sc_aws_east_shop_orders").mtls
    assert m.edge("ingress_gcp_central", "sc_gcp_central_shop_catalog").mtls
    assert not m.of_kind("eastwest-gateway")  # staging is two separate meshes
    assert not m.of_kind("api-gateway")


def test_scenario_1_with_a_multicluster_mesh_enters_at_the_edge_ingress_only() -> None:
    m = model("staging", "meshgate:istio.multicluster=true")
    assert ids(m.of_kind("ingress-gateway")) == ["ingress_aws_east"]
    remote = m.edge("ingress_aws_east", "sc_gcp_central_shop_catalog")
    assert remote.mtls and remote.via == "ew_gcp_central"


def test_scenario_1_on_gcp_api_gateway_uses_tls_to_every_ingress() -> None:
    m = model(
        "staging",
        "meshgate:externalGateway.kind=gcp-api-gateway",
        "meshgate:externalGateway.region=us-central1",
        "meshgate:externalGateway.project=acme-staging",
        "meshgate:externalGateway.cluster=gcp-central",
        "meshgate:apis[0].auth=key",  # GCP API Gateway rate-limits only API-key routes
        "meshgate:apis[1].auth=key",
    )
    assert m.node("external_gateway").label == "GCP API Gateway"
    for ingress in m.of_kind("ingress-gateway"):
        hop = m.edge("external_gateway", ingress.id)
        assert not hop.mtls and hop.label == TLS_OUTSIDE_MESH


def test_scenario_2_kong_outside_the_mesh_calls_services_in_plaintext() -> None:
    m = model("dev", "meshgate:scenario=in-cluster-gateway")
    (kong,) = m.of_kind("api-gateway")
    assert kong.id == "kong" and kong.cluster == "local" and "outside mesh" in kong.label
    assert not m.edge("client", "kong").mtls
    for backend in ("sc_local_shop_orders", "sc_local_shop_payments"):
        hop = m.edge("kong", backend)
        assert not hop.mtls and hop.label == PLAINTEXT
    assert "kong_sidecar" not in ids(list(m.nodes))  # no sidecar on Kong
    # orders and payments do not call each other: no edge between them
    assert not [e for e in m.edges if e.source.startswith("sc_") and e.target.startswith("sc_")]
    assert not m.of_kind("ingress-gateway") and not m.of_kind("external-gateway")


def test_scenario_3_kong_sidecar_bypassed_inbound_mtls_outbound_across_networks() -> None:
    m = model("prod")
    assert m.scenario is Scenario.IN_CLUSTER_GATEWAY_MESH
    inbound = m.edge("client", "kong")
    assert not inbound.mtls and "sidecar inbound bypassed" in inbound.label
    local = m.edge("kong", "kong_sidecar")
    assert not local.mtls and local.label == LOCALHOST
    assert m.node("kong_sidecar").kind == "sidecar" and m.node("kong_sidecar").cluster == "aws-east"
    assert m.edge("kong_sidecar", "sc_aws_east_shop_orders").mtls  # same cluster: direct
    # catalog runs in gcp-central: ONE mTLS connection from Kong's sidecar to catalog's sidecar,
    # passed through (not terminated) by gcp-central's east-west gateway
    remote = m.edge("kong_sidecar", "sc_gcp_central_shop_catalog")
    assert remote.mtls and remote.via == "ew_gcp_central"
    assert not [e for e in m.edges if "ew_" in e.source or e.target.startswith("ew_")]  # no hop ends at a gateway
    assert [n.cluster for n in m.of_kind("eastwest-gateway")] == ["gcp-central"]  # only the one on a path
    drawn = diagram.links(m)
    assert ("kong_sidecar", "ew_gcp_central", True, remote.label) in drawn
    assert ("ew_gcp_central", "sc_gcp_central_shop_catalog", True, PASSTHROUGH) in drawn
    assert not [link for link in drawn if link[0].startswith("ew_") and link[1].startswith("ew_")]


def test_scenario_4_istio_gateway_api_gateway_then_mtls() -> None:
    m = model("prod", "meshgate:scenario=gateway-api", "meshgate:apis[1].auth=jwt")
    (gateway,) = m.of_kind("api-gateway")
    assert gateway.id == "istio_gateway" and "Gateway API" in gateway.label and gateway.cluster == "aws-east"
    assert not m.edge("client", "istio_gateway").mtls
    assert m.edge("istio_gateway", "sc_aws_east_shop_orders").mtls
    remote = m.edge("istio_gateway", "sc_gcp_central_shop_catalog")
    assert remote.mtls and remote.via == "ew_gcp_central"
    assert "kong" not in ids(list(m.nodes))


def test_every_service_has_its_sidecar_and_only_the_edge_and_localhost_hops_are_not_mtls() -> None:
    for stack, overrides in diagram.DOC_EXAMPLES.values():
        m = model(stack, *overrides)
        services = m.of_kind("service")
        assert services
        for svc in services:
            sidecar = svc.id.replace("svc_", "sc_", 1)
            hop = m.edge(sidecar, svc.id)
            assert hop.label == LOCALHOST and not hop.mtls and m.node(sidecar).cluster == svc.cluster
        for edge in m.edges:
            if not edge.mtls:
                assert edge.label in (PLAINTEXT, LOCALHOST, TLS_OUTSIDE_MESH) or edge.label.startswith(
                    (PLAINTEXT, TLS_OUTSIDE_MESH)
                ), edge
                assert edge.source in ("client", "external_gateway", "kong") or edge.target.startswith("svc_"), edge
            else:
                assert edge.label.startswith(MTLS)
                assert m.node(edge.source).kind in ("sidecar", "ingress-gateway", "api-gateway")
                assert m.node(edge.target).kind == "sidecar"


def test_demo_services_without_an_api_still_appear_in_their_cluster() -> None:
    m = model(
        "dev",
        "meshgate:services[2].name=audit",
        "meshgate:services[2].namespace=ops",
        "meshgate:services[2].cluster=local",
    )
    assert m.node("svc_local_ops_audit").cluster == "local"
    assert not [e for e in m.edges if e.target == "sc_local_ops_audit" and e.source == "kong_sidecar"]


# --------------------------------------------------------------------------- renderings

EDGE = re.compile(r'^  (\w+) (-->|<-->|-\.->|<-\.->)\|"([^"]*)"\| (\w+)$')


def test_mermaid_flowchart_has_subgraphs_solid_mtls_and_dotted_plaintext() -> None:
    m = model("prod")
    text = diagram.mermaid(m)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  subgraph cluster_aws_east["aws-east · eks · network aws-net"]' in lines
    assert '  subgraph cluster_gcp_central["gcp-central · gke · network gcp-net"]' in lines
    assert lines.count("  end") == 2
    edges = [EDGE.match(line) for line in lines if EDGE.match(line)]
    drawn = diagram.links(m)
    assert len(edges) == len(drawn) == len(m.edges) + 1  # the remote hop: two arrows, one connection
    for match, (source, target, mtls, label) in zip(edges, drawn, strict=False):
        assert match is not None
        assert match.groups() == (source, "-->" if mtls else "-.->", label, target)  # dotted exactly when not mTLS
    assert '  kong_sidecar -->|"mTLS (one connection, via east-west gateway)"| ew_gcp_central' in lines
    assert '  ew_gcp_central -->|"SNI passthrough, same connection"| sc_gcp_central_shop_catalog' in lines
    assert '  kong -.->|"plaintext (localhost)"| kong_sidecar' in lines
    green = next(line for line in lines if line.startswith("  linkStyle") and "#2e7d32" in line)
    assert sorted(int(i) for i in green.split()[1].split(",")) == [i for i, link in enumerate(drawn) if link[2]]


def test_mermaid_escapes_quotes_in_labels() -> None:
    m = TrafficModel(Scenario.GATEWAY_API, "t", (), (diagram.Node("client", 'say "hi"', "client"),), ())
    assert '  client(["say #quot;hi#quot;"])' in diagram.mermaid(m).splitlines()


def test_dot_has_clusters_and_styles() -> None:
    m = model("staging")
    text = diagram.dot(m)
    assert text.startswith('digraph "Scenario 1: API gateway with Istio ingress" {')
    assert "  subgraph cluster_aws_east {" in text and "  subgraph cluster_gcp_central {" in text
    assert 'external_gateway -> ingress_aws_east [label="TLS (outside mesh), VPC link", style=dashed' in text
    assert 'ingress_aws_east -> sc_aws_east_shop_orders [label="mTLS", style=solid' in text
    assert text.count(" -> ") == len(diagram.links(m))
    assert text.rstrip().endswith("}")


def test_graphviz_missing_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(diagram.GraphvizMissing, match="dot"):
        diagram.render_graphviz(model("dev"), "svg")


def test_graphviz_is_fed_the_dot_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "dot"
    fake.write_text(f'#!/bin/sh\necho "format=$1"\nexec {shutil.which("cat")}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    out = diagram.render_graphviz(model("dev"), "svg").decode()
    assert out.startswith("format=-Tsvg\ndigraph ")
    assert "kong -> kong_sidecar" in out


def test_docs_pages_are_up_to_date() -> None:
    """docs/diagrams/<scenario>.md are exactly what `diagram --all` writes (regenerate when this fails)."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "diagrams"
    for scenario, (stack, overrides) in diagram.DOC_EXAMPLES.items():
        m = model(stack, *overrides)
        assert m.scenario is scenario
        page = (docs / f"{scenario.value}.md").read_text()
        assert f"```mermaid\n{diagram.mermaid(m)}```" in page
        assert page.startswith(f"# {diagram.SCENARIO_TITLES[scenario]}\n")


def test_every_scenario_has_a_docs_example() -> None:
    assert set(diagram.DOC_EXAMPLES) == set(Scenario)
    assert all(isinstance(config(stack, *o), StackConfig) for stack, o in diagram.DOC_EXAMPLES.values())


STACKS = [(stack, ()) for stack in ("dev", "staging", "prod", "render")] + [
    (stack, tuple(o)) for stack, o in diagram.DOC_EXAMPLES.values()
]


@pytest.mark.parametrize(("stack", "overrides"), STACKS, ids=[f"{s}{'+' if o else ''}{'/'.join(o)}" for s, o in STACKS])
def test_the_diagram_draws_exactly_the_hops_the_stack_exports(stack: str, overrides: tuple[str, ...]) -> None:
    """The `hops` output (under mocks) is the traffic model's hop list, which the diagram is drawn from,
    and every drawn edge other than sidecar -> app on localhost is one of its hops."""
    parsed = [parse_override(o) for o in overrides]
    cfg = load_config(stack, parsed)
    hops = scenario_hops(cfg)
    exported = evaluate(raw_config(stack, parsed), stack=stack).plain_outputs["hops"]
    assert exported == hops_output(hops)
    m = traffic_model(cfg)
    drawn = [e for e in m.edges if e.label != LOCALHOST or (e.source, e.target) == ("kong", "kong_sidecar")]
    assert len(drawn) == sum(_edges_for(cfg, h) for h in hops)
    assert sorted(e.mtls for e in drawn) == sorted(h.mtls for h in hops for _ in range(_edges_for(cfg, h)))
    assert sum(e.via is not None for e in m.edges) == sum(_edges_for(cfg, h) for h in hops if h.via)


def _edges_for(cfg: StackConfig, hop: Hop) -> int:
    """How many diagram edges a hop becomes: one per API backend it reaches, else one (Kong's hop
    into its own sidecar adds the localhost edge)."""
    source, target = str(hop.source), str(hop.target)
    if target == "backends":  # the backends in the source's cluster
        home = source[len("Istio ingress (") : -1] if source.startswith("Istio ingress (") else cfg.gateway_cluster
        return len({(a.cluster, a.service.namespace, a.service.name) for a in cfg.apis if a.cluster == home})
    if target.startswith("backends ("):
        return len({(a.cluster, a.service.namespace, a.service.name) for a in cfg.apis if a.cluster == target[10:-1]})
    return 2 if target == "Kong + Envoy sidecar" else 1


@pytest.mark.parametrize(("stack", "overrides"), STACKS, ids=[f"{s}{'+' if o else ''}{'/'.join(o)}" for s, o in STACKS])
def test_no_invented_connections(stack: str, overrides: tuple[str, ...]) -> None:
    """No service-to-service edge (the config does not say who calls whom) and no east-west to
    east-west connection (Istio's multi-network model has none)."""
    m = model(stack, *overrides)
    for source, target, _, _ in diagram.links(m):
        assert not (source.startswith("sc_") and target.startswith("sc_")), (source, target)
        assert not (source.startswith("ew_") and target.startswith("ew_")), (source, target)
