"""Traffic-path diagrams from the stack config alone: a model of nodes and hops, rendered as Mermaid or DOT.

`traffic_model(config)` draws the hop list of stacks/traffic/model.py (what the gateway layer
exports as the `hops` stack output), expanded to boxes per cluster: every hop
becomes one edge; "backends" become the API backends' Envoy sidecars (each with its
application behind it on localhost). Only connections a request through the gateway makes are
drawn — no edge between services (which of them call each other is not in the config), and
none between east-west gateways: in Istio's multi-network model a client sidecar opens ONE
mTLS connection to the remote sidecar, which the remote network's east-west gateway (port
15443, AUTO_PASSTHROUGH) routes by SNI without terminating it. Such a hop is drawn through the
east-west gateway as one connection.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from components.gateways.external.istio_ingress import NODE_PORTS
from stacks.config import Scenario, StackConfig
from stacks.traffic import model as traffic
from stacks.traffic.model import BACKENDS, GATEWAY_API, KONG, KONG_WITH_SIDECAR, Hop

NodeKind = Literal[
    "client", "external-gateway", "ingress-gateway", "api-gateway", "sidecar", "service", "eastwest-gateway"
]

MTLS = "mTLS"
PLAINTEXT = "plaintext"
TLS_OUTSIDE_MESH = "TLS (outside mesh)"
LOCALHOST = "plaintext (localhost)"
PASSTHROUGH = "SNI passthrough, same connection"

SCENARIO_TITLES = {
    Scenario.EXTERNAL_GATEWAY: "Scenario 1: API gateway with Istio ingress",
    Scenario.IN_CLUSTER_GATEWAY: "Scenario 2: API gateway without Istio ingress",
    Scenario.IN_CLUSTER_GATEWAY_MESH: "Scenario 3: API gateway with Envoy proxy",
    Scenario.GATEWAY_API: "Scenario 4: Istio gateway (Kubernetes Gateway API)",
}


@dataclass(frozen=True)
class Node:
    """A box in the diagram; `cluster` is None for what runs outside every cluster."""

    id: str
    label: str
    kind: NodeKind
    cluster: str | None = None


@dataclass(frozen=True)
class Edge:
    """A connection: `mtls` says whether Istio mutual TLS protects it; `label` is what the diagram prints.

    `via` names a node the connection passes through without being terminated (an east-west
    gateway): drawn as two segments, it is still one connection.
    """

    source: str
    target: str
    mtls: bool
    label: str
    via: str | None = None


@dataclass(frozen=True)
class ClusterBox:
    name: str
    kind: str
    network: str


@dataclass(frozen=True)
class TrafficModel:
    """The traffic paths of one stack config."""

    scenario: Scenario
    title: str
    clusters: tuple[ClusterBox, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def of_kind(self, kind: NodeKind, cluster: str | None = None) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind and (cluster is None or n.cluster == cluster)]

    def edge(self, source: str, target: str) -> Edge:
        found = [e for e in self.edges if (e.source, e.target) == (source, target)]
        assert len(found) == 1, f"expected one edge {source} -> {target}, found {len(found)}"
        return found[0]

    def as_dict(self) -> dict[str, object]:
        return {
            "scenario": self.scenario.value,
            "title": self.title,
            "clusters": [c.__dict__ for c in self.clusters],
            "nodes": [n.__dict__ for n in self.nodes],
            "edges": [e.__dict__ for e in self.edges],
        }


def _id(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


@dataclass(frozen=True)
class _Service:
    cluster: str
    namespace: str
    name: str
    port: int

    @property
    def sidecar(self) -> str:
        return _id("sc", self.cluster, self.namespace, self.name)

    @property
    def app(self) -> str:
        return _id("svc", self.cluster, self.namespace, self.name)


def _services(config: StackConfig) -> list[_Service]:
    """Backends of the API catalogue, then the demo workloads, each once, in config order."""
    found: dict[tuple[str, str, str], _Service] = {}
    for api in config.apis:
        key = (api.cluster, api.service.namespace, api.service.name)
        found.setdefault(key, _Service(*key, api.service.port))
    for svc in config.services:
        key = (svc.cluster, svc.namespace, svc.name)
        found.setdefault(key, _Service(*key, svc.port))
    return list(found.values())


def _label(hop: Hop) -> str:
    """The edge label of a hop: what protects it, and the detail a reader needs."""
    if hop.mtls:
        return f"{MTLS} (one connection, via east-west gateway)" if hop.via else MTLS
    if hop.tls:
        if hop.bypasses_sidecar:
            return f"{TLS_OUTSIDE_MESH}, sidecar inbound bypassed"
        return f"{TLS_OUTSIDE_MESH}, VPC link" if hop.vpc_link else TLS_OUTSIDE_MESH
    return f"{PLAINTEXT} (VPC link, outside mesh)" if hop.vpc_link else PLAINTEXT


class _Builder:
    """Maps the hop list's names onto diagram nodes."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.services = _services(config)
        self.private = traffic.vpc_link_cluster(config)
        self.gateway_cluster = config.gateway_cluster

    def node(self, node: Node) -> str:
        if all(n.id != node.id for n in self.nodes):
            self.nodes.append(node)
        return node.id

    def edge(self, edge: Edge) -> None:
        if all((e.source, e.target) != (edge.source, edge.target) for e in self.edges):
            self.edges.append(edge)

    def api_backends(self, cluster: str) -> list[_Service]:
        wanted = {(a.cluster, a.service.namespace, a.service.name) for a in self.config.apis}
        return [s for s in self.services if (s.cluster, s.namespace, s.name) in wanted and s.cluster == cluster]

    def ingress(self, cluster: str) -> str:
        if cluster == self.private:
            ports = f"HTTPS NodePort {NODE_PORTS[443]}<br/>behind the internal NLB"
        else:
            ports = "HTTPS 443, LoadBalancer"
        return self.node(
            Node(_id("ingress", cluster), f"Istio ingress gateway<br/>{ports}", "ingress-gateway", cluster)
        )

    def source(self, name: str) -> tuple[str, str | None]:
        """(node id, cluster) of a hop's source; the cluster is where its plain "backends" live."""
        if name == traffic.CLIENT:
            return self.node(Node("client", "Client", "client")), None
        if name in traffic.EXTERNAL_GATEWAY_NAMES.values():
            return self.node(Node("external_gateway", name, "external-gateway")), None
        cluster = self.gateway_cluster
        if name == KONG:
            return self.node(
                Node("kong", "Kong API gateway<br/>(no sidecar, outside mesh)", "api-gateway", cluster)
            ), cluster
        if name == KONG_WITH_SIDECAR:  # Kong and its sidecar: a request leaves through the sidecar
            self.node(Node("kong", "Kong API gateway", "api-gateway", cluster))
            return self.node(Node("kong_sidecar", "Envoy sidecar (Kong)", "sidecar", cluster)), cluster
        if name == GATEWAY_API:
            label = "Istio gateway<br/>(Gateway API, gatewayClassName: istio)"
            return self.node(Node("istio_gateway", label, "api-gateway", cluster)), cluster
        for box in self.config.clusters:
            if name == traffic.ingress_name(box.name):
                return self.ingress(box.name), box.name
        raise ValueError(f"hop source {name!r} has no diagram node")

    def entry(self, name: str) -> str:
        """The node a hop into `name` arrives at (Kong with a sidecar: Kong itself)."""
        node, _ = self.source(name)
        return "kong" if name == KONG_WITH_SIDECAR else node

    def targets(self, name: str, home: str | None) -> list[_Service] | None:
        """The backends a hop to `name` reaches, or None when `name` is a single node."""
        if name == BACKENDS and home is not None:
            return self.api_backends(home)
        for box in self.config.clusters:
            if name == traffic.backends(box.name):
                return self.api_backends(box.name)
        return None

    def hop(self, hop: Hop) -> None:
        source, home = self.source(hop.source)
        reached = self.targets(hop.target, home)
        if reached is None:
            self.edge(Edge(source, self.entry(hop.target), hop.mtls, _label(hop)))
            if hop.target == KONG_WITH_SIDECAR:  # Kong hands every request to its own sidecar
                self.edge(Edge("kong", "kong_sidecar", False, LOCALHOST))
            return
        via = None
        if hop.via is not None:
            cluster = next(c.name for c in self.config.clusters if traffic.east_west(c.name) == hop.via)
            via = self.node(
                Node(_id("ew", cluster), "East-west gateway<br/>:15443 AUTO_PASSTHROUGH", "eastwest-gateway", cluster)
            )
        for svc in reached:
            self.edge(Edge(source, svc.sidecar, hop.mtls, _label(hop), via))


def traffic_model(config: StackConfig) -> TrafficModel:
    """The traffic paths of `config`'s scenario: its hop list, drawn (see the module docstring)."""
    b = _Builder(config)
    for hop in traffic.hops(config):
        b.hop(hop)
    for svc in b.services:
        b.node(Node(svc.sidecar, f"Envoy sidecar<br/>{svc.name}", "sidecar", svc.cluster))
        b.node(Node(svc.app, f"{svc.name}.{svc.namespace}:{svc.port}", "service", svc.cluster))
        b.edge(Edge(svc.sidecar, svc.app, False, LOCALHOST))
    scenario = config.scenario
    boxes = tuple(ClusterBox(c.name, c.kind, c.network_name) for c in config.clusters)
    return TrafficModel(scenario, SCENARIO_TITLES[scenario], boxes, tuple(b.nodes), tuple(b.edges))


# --------------------------------------------------------------------------- drawing

Link = tuple[str, str, bool, str]  # source, target, mtls, label


def links(model: TrafficModel) -> list[Link]:
    """The arrows to draw: one per edge; an edge through a passthrough node as two arrows (its
    label up to the node, then "SNI passthrough, same connection"), the first shared per node."""
    drawn: list[Link] = []
    for edge in model.edges:
        if edge.via is None:
            drawn.append((edge.source, edge.target, edge.mtls, edge.label))
            continue
        first = (edge.source, edge.via, edge.mtls, edge.label)
        if first not in drawn:
            drawn.append(first)
        drawn.append((edge.via, edge.target, edge.mtls, PASSTHROUGH))
    return drawn


# --------------------------------------------------------------------------- Mermaid

_MERMAID_SHAPES = {
    "client": ('(["', '"])'),
    "external-gateway": ('{{"', '"}}'),
    "ingress-gateway": ('["', '"]'),
    "api-gateway": ('["', '"]'),
    "sidecar": ('[["', '"]]'),
    "service": ('("', '")'),
    "eastwest-gateway": ('{{"', '"}}'),
}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(model: TrafficModel) -> str:
    """`flowchart LR`: one subgraph per cluster; mTLS edges solid, everything else dotted."""
    lines = ["flowchart LR"]

    def node_line(node: Node, indent: str) -> str:
        start, end = _MERMAID_SHAPES[node.kind]
        return f"{indent}{node.id}{start}{_mermaid_text(node.label)}{end}"

    for node in model.nodes:
        if node.cluster is None:
            lines.append(node_line(node, "  "))
    for box in model.clusters:
        members = [n for n in model.nodes if n.cluster == box.name]
        if not members:
            continue
        lines.append(f'  subgraph {_id("cluster", box.name)}["{box.name} · {box.kind} · network {box.network}"]')
        lines.extend(node_line(n, "    ") for n in members)
        lines.append("  end")
    mtls_links: list[int] = []
    other_links: list[int] = []
    for index, (source, target, mtls, label) in enumerate(links(model)):
        (mtls_links if mtls else other_links).append(index)
        lines.append(f'  {source} {"-->" if mtls else "-.->"}|"{_mermaid_text(label)}"| {target}')
    if mtls_links:
        lines.append(f"  linkStyle {','.join(map(str, mtls_links))} stroke:#2e7d32,stroke-width:2px")
    if other_links:
        lines.append(f"  linkStyle {','.join(map(str, other_links))} stroke:#c62828,stroke-width:1px")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Graphviz

_DOT_SHAPES = {
    "client": "oval",
    "external-gateway": "hexagon",
    "ingress-gateway": "box",
    "api-gateway": "box",
    "sidecar": "component",
    "service": "box3d",
    "eastwest-gateway": "hexagon",
}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("<br/>", "\\n")


def dot(model: TrafficModel) -> str:
    """Graphviz DOT: clusters as subgraphs; mTLS edges solid green, others dashed red."""
    lines = [
        f'digraph "{_dot_text(model.title)}" {{',
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in model.nodes:
        if node.cluster is None:
            lines.append(f'  {node.id} [label="{_dot_text(node.label)}", shape={_DOT_SHAPES[node.kind]}];')
    for box in model.clusters:
        members = [n for n in model.nodes if n.cluster == box.name]
        if not members:
            continue
        lines.append(f"  subgraph {_id('cluster', box.name)} {{")
        lines.append(f'    label="{_dot_text(f"{box.name} · {box.kind} · network {box.network}")}";')
        lines.append("    style=rounded;")
        for n in members:
            lines.append(f'    {n.id} [label="{_dot_text(n.label)}", shape={_DOT_SHAPES[n.kind]}];')
        lines.append("  }")
    for source, target, mtls, label in links(model):
        style = 'style=solid, color="#2e7d32", penwidth=2' if mtls else 'style=dashed, color="#c62828"'
        lines.append(f'  {source} -> {target} [label="{_dot_text(label)}", {style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizMissing(Exception):
    """`dot` is not on PATH."""


def render_graphviz(model: TrafficModel, fmt: Literal["svg", "png"]) -> bytes:
    """SVG or PNG bytes from Graphviz `dot` (must be on PATH)."""
    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizMissing("Graphviz `dot` is not on PATH; use --format mermaid or --format dot")
    result = subprocess.run([executable, f"-T{fmt}"], input=dot(model).encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


# --------------------------------------------------------------------------- docs

LEGEND = (
    "Solid green arrows are protected by Istio mutual TLS (`mTLS`); dotted red arrows are not "
    "(`plaintext`, or one-way `TLS (outside mesh)`). The arrows are the `hops` stack output of "
    "the scenario: the connections a request through the gateway makes. An arrow into an "
    'east-west gateway continues as "SNI passthrough, same connection": one mTLS connection '
    "from the caller's proxy to the remote sidecar. Calls between services are not drawn (the "
    "config does not say which services call which); the mesh-wide STRICT PeerAuthentication "
    "makes any of them mTLS."
)


def markdown(model: TrafficModel, source: str) -> str:
    """A docs page: title, legend, where it was generated from, the Mermaid block."""
    return (
        f"# {model.title}\n\n"
        f"<!-- generated by `python -m stacks.pipeline diagram --all`; do not edit -->\n\n"
        f"Scenario key `{model.scenario.value}`, drawn from {source}.\n\n"
        f"{LEGEND}\n\n"
        f"```mermaid\n{mermaid(model)}```\n"
    )


DOC_EXAMPLES: dict[Scenario, tuple[str, tuple[str, ...]]] = {
    Scenario.EXTERNAL_GATEWAY: ("staging", ()),
    Scenario.IN_CLUSTER_GATEWAY: ("dev", ("meshgate:scenario=in-cluster-gateway",)),
    Scenario.IN_CLUSTER_GATEWAY_MESH: ("prod", ()),
    Scenario.GATEWAY_API: ("prod", ("meshgate:scenario=gateway-api", "meshgate:apis[1].auth=jwt")),
}
"""The stack (and `--config` overrides) each docs diagram is drawn from: the stack files' own
scenarios where they have one; scenario 2 on the single-cluster dev stack, because a gateway
outside the mesh cannot reach prod's second cluster; scenario 4 on prod with JWT instead of
API keys, which Istio does not offer (config_rules rejects both otherwise)."""
