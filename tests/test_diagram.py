"""Traffic-path diagrams for the four scenarios: nodes, hops and their mTLS marking, Mermaid and DOT output."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from components.gateways.edge import MESH_SERVICES
from stacks.config import Scenario, StackConfig
from stacks.pipeline import diagram
from stacks.pipeline.diagram import LOCALHOST, MTLS, PLAINTEXT, TLS_OUTSIDE_MESH, TrafficModel, traffic_model
from stacks.pipeline.overrides import parse_override
from stacks.pipeline.stackfile import load_config


def model(stack: str, *overrides: str) -> TrafficModel:
    return traffic_model(load_config(stack, [parse_override(o) for o in overrides]))


def config(stack: str, *overrides: str) -> StackConfig:
    return load_config(stack, [parse_override(o) for o in overrides])


def ids(nodes: list[diagram.Node]) -> list[str]:
    return [n.id for n in nodes]


def test_scenario_1_external_gateway_then_ingress_outside_the_mesh_then_mtls() -> None:
    m = model("staging")
    assert m.scenario is Scenario.EXTERNAL_GATEWAY
    assert m.node("external_gateway").label == "AWS API Gateway (HTTP API)" and m.node("external_gateway").cluster is None
    assert ids(m.of_kind("ingress-gateway")) == ["ingress_aws_east", "ingress_gcp_central"]
    client = m.edge("client", "external_gateway")
    assert not client.mtls and client.label == TLS_OUTSIDE_MESH
    vpc_link = m.edge("external_gateway", "ingress_aws_east")  # VPC link -> internal NLB :80
    assert not vpc_link.mtls and vpc_link.label.startswith(PLAINTEXT) and "outside mesh" in vpc_link.label
    internet = m.edge("external_gateway", "ingress_gcp_central")  # HTTPS to the GKE public ingress
    assert not internet.mtls and internet.label == TLS_OUTSIDE_MESH
    assert m.edge("ingress_aws_east", "sc_aws_east_shop_orders").mtls
    assert m.edge("ingress_gcp_central", "sc_gcp_central_shop_catalog").mtls
    assert not m.of_kind("eastwest-gateway")  # staging is two separate meshes
    assert not m.of_kind("api-gateway")


def test_scenario_1_on_gcp_api_gateway_uses_tls_to_every_ingress() -> None:
    m = model(
        "staging",
        "meshgate:externalGateway.kind=gcp-api-gateway",
        "meshgate:externalGateway.region=us-central1",
        "meshgate:externalGateway.project=acme-staging",
        "meshgate:externalGateway.cluster=gcp-central",
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
    between = m.edge("sc_local_shop_orders", "sc_local_shop_payments")
    assert between.mtls and between.bidirectional  # services among themselves: STRICT mTLS
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
    # catalog runs in gcp-central: through that network's east-west gateway, mTLS all the way
    assert m.edge("kong_sidecar", "ew_gcp_central").mtls
    assert m.edge("ew_gcp_central", "sc_gcp_central_shop_catalog").mtls
    assert not [e for e in m.edges if (e.source, e.target) == ("kong_sidecar", "sc_gcp_central_shop_catalog")]
    link = m.edge("ew_aws_east", "ew_gcp_central")
    assert link.mtls and link.bidirectional and link.label.startswith(MTLS)
    assert sorted(n.cluster or "" for n in m.of_kind("eastwest-gateway")) == ["aws-east", "gcp-central"]


def test_scenario_4_istio_gateway_api_gateway_then_mtls() -> None:
    m = model("prod", "meshgate:scenario=gateway-api", "meshgate:apis[1].auth=jwt")
    (gateway,) = m.of_kind("api-gateway")
    assert gateway.id == "istio_gateway" and "Gateway API" in gateway.label and gateway.cluster == "aws-east"
    assert not m.edge("client", "istio_gateway").mtls
    assert m.edge("istio_gateway", "sc_aws_east_shop_orders").mtls
    assert m.edge("istio_gateway", "ew_gcp_central").mtls
    assert m.edge("ew_gcp_central", "sc_gcp_central_shop_catalog").mtls
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
                assert m.node(edge.source).kind in ("sidecar", "ingress-gateway", "api-gateway", "eastwest-gateway")


def test_demo_services_without_an_api_still_appear_in_their_cluster() -> None:
    m = model("dev", "meshgate:services[2].name=audit", "meshgate:services[2].namespace=ops", "meshgate:services[2].cluster=local")
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
    assert len(edges) == len(m.edges)
    for match, edge in zip(edges, m.edges):
        assert match is not None
        source, arrow, label, target = match.groups()
        assert (source, label, target) == (edge.source, edge.label, edge.target)
        assert ("." not in arrow) == edge.mtls  # dotted exactly when not mTLS
        assert arrow.startswith("<") == edge.bidirectional
    assert '  kong_sidecar -->|"mTLS"| ew_gcp_central' in lines
    assert '  kong -.->|"plaintext (localhost)"| kong_sidecar' in lines
    green = next(line for line in lines if line.startswith("  linkStyle") and "#2e7d32" in line)
    assert sorted(int(i) for i in green.split()[1].split(",")) == [i for i, e in enumerate(m.edges) if e.mtls]


def test_mermaid_escapes_quotes_in_labels() -> None:
    m = TrafficModel(
        Scenario.GATEWAY_API, "t", (), (diagram.Node("client", 'say "hi"', "client"),), ()
    )
    assert '  client(["say #quot;hi#quot;"])' in diagram.mermaid(m).splitlines()


def test_dot_has_clusters_and_styles() -> None:
    m = model("staging")
    text = diagram.dot(m)
    assert text.startswith('digraph "Scenario 1: API gateway with Istio ingress" {')
    assert "  subgraph cluster_aws_east {" in text and "  subgraph cluster_gcp_central {" in text
    assert 'external_gateway -> ingress_aws_east [label="plaintext (VPC link, outside mesh)", style=dashed' in text
    assert 'ingress_aws_east -> sc_aws_east_shop_orders [label="mTLS", style=solid' in text
    assert text.count(" -> ") == len(m.edges)
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


def _component_hops(m: TrafficModel, cfg: StackConfig) -> list[object]:
    """The hop list the scenario's gateway component exports (`hops` output), for the same config."""
    from components.gateways import external, gateway_api, in_cluster, in_cluster_mesh

    remote = list(dict.fromkeys(a.cluster for a in cfg.apis if a.cluster != cfg.gateway_cluster))
    if m.scenario is Scenario.EXTERNAL_GATEWAY:
        assert cfg.external_gateway is not None
        eks = [c.name for c in cfg.clusters if c.kind == "eks"]
        private = (cfg.external_gateway.cluster or eks[0]) if cfg.external_gateway.kind == "aws-http-api" else None
        return list(external.hops(cfg.external_gateway.kind, private, list(dict.fromkeys(a.cluster for a in cfg.apis))))
    if m.scenario is Scenario.IN_CLUSTER_GATEWAY:
        return list(in_cluster.hops())
    if m.scenario is Scenario.IN_CLUSTER_GATEWAY_MESH:
        return list(in_cluster_mesh.hops(remote))
    return list(gateway_api.hops(remote))


@pytest.mark.parametrize("scenario", list(Scenario))
def test_hops_agree_with_what_the_gateway_components_export(scenario: Scenario) -> None:
    """The diagram and the stack's `hops` output describe the same protection on every hop."""
    stack, overrides = diagram.DOC_EXAMPLES[scenario]
    cfg = config(stack, *overrides)
    m = traffic_model(cfg)
    hops = _component_hops(m, cfg)
    client_hop = next(h for h in hops if getattr(h, "source") == "client")
    (client_edge,) = [e for e in m.edges if e.source == "client"]
    assert client_edge.mtls is getattr(client_hop, "mtls") is False
    assert client_edge.label.startswith(TLS_OUTSIDE_MESH if getattr(client_hop, "tls") else PLAINTEXT)
    edge_node = client_edge.target
    for hop in hops:
        source, target, mtls, tls = (getattr(hop, k) for k in ("source", "target", "mtls", "tls"))
        if source == "client":
            continue
        if target == MESH_SERVICES:  # service to service
            assert all(e.mtls for e in m.edges if e.source.startswith("sc_") and e.target.startswith("sc_"))
        elif scenario is Scenario.EXTERNAL_GATEWAY and str(target).startswith("Istio ingress ("):
            cluster = str(target)[len("Istio ingress (") : -1]
            edge = m.edge(edge_node, f"ingress_{cluster.replace('-', '_')}")
            assert edge.mtls is mtls is False
            assert edge.label.startswith(TLS_OUTSIDE_MESH if tls else PLAINTEXT)
        else:  # the gateway (or its sidecar) towards the backends
            outbound = [e for e in m.edges if e.source in (edge_node, "kong_sidecar") and e.target.startswith(("sc_", "ew_"))]
            if scenario is Scenario.EXTERNAL_GATEWAY:
                outbound = [e for e in m.edges if e.source.startswith("ingress_")]
            assert outbound and all(e.mtls is mtls for e in outbound), (hop, outbound)
