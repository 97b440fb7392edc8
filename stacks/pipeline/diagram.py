"""Traffic-path diagrams from the stack config alone: a model of nodes and hops, rendered as Mermaid or DOT.

`traffic_model(config)` draws what a request crosses in the stack's scenario (DESIGN.md §1):
client, external gateway, ingress/API gateway, Envoy sidecars, services per cluster and,
for a multi-cluster mesh, the east-west gateways. Every edge says whether Istio mTLS
protects it. Hop semantics follow the article:

- external-gateway: client -> cloud API gateway (TLS) -> Istio ingress of the backend's cluster
  (NOT in the mesh: plaintext through the AWS VPC link, TLS over the internet elsewhere)
  -> services (mTLS).
- in-cluster-gateway: client -> Kong (outside the mesh) -> services in PLAINTEXT.
- in-cluster-gateway-mesh: client -> Kong (sidecar inbound bypassed) -> Kong's sidecar -> services (mTLS).
- gateway-api: client -> Istio gateway (Gateway API) -> services (mTLS).

Between services: mTLS (STRICT). A service in another network is reached through that
network's east-west gateway (port 15443, AUTO_PASSTHROUGH), still mTLS end to end.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from stacks.config import EksClusterSpec, Scenario, StackConfig

NodeKind = Literal[
    "client", "external-gateway", "ingress-gateway", "api-gateway", "sidecar", "service", "eastwest-gateway"
]

MTLS = "mTLS"
PLAINTEXT = "plaintext"
TLS_OUTSIDE_MESH = "TLS (outside mesh)"
LOCALHOST = "plaintext (localhost)"

SCENARIO_TITLES = {
    Scenario.EXTERNAL_GATEWAY: "Scenario 1: API gateway with Istio ingress",
    Scenario.IN_CLUSTER_GATEWAY: "Scenario 2: API gateway without Istio ingress",
    Scenario.IN_CLUSTER_GATEWAY_MESH: "Scenario 3: API gateway with Envoy proxy",
    Scenario.GATEWAY_API: "Scenario 4: Istio gateway (Kubernetes Gateway API)",
}
_EXTERNAL_LABELS = {"aws-http-api": "AWS API Gateway (HTTP API)", "gcp-api-gateway": "GCP API Gateway"}


@dataclass(frozen=True)
class Node:
    """A box in the diagram; `cluster` is None for what runs outside every cluster."""

    id: str
    label: str
    kind: NodeKind
    cluster: str | None = None


@dataclass(frozen=True)
class Edge:
    """A hop: `mtls` says whether Istio mutual TLS protects it; `label` is what the diagram prints."""

    source: str
    target: str
    mtls: bool
    label: str
    bidirectional: bool = False


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


class _Builder:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.multicluster = config.istio.multicluster
        self.services = _services(config)

    def node(self, node: Node) -> str:
        if all(n.id != node.id for n in self.nodes):
            self.nodes.append(node)
        return node.id

    def edge(self, source: str, target: str, mtls: bool, label: str, bidirectional: bool = False) -> None:
        if all((e.source, e.target) != (source, target) for e in self.edges):
            self.edges.append(Edge(source, target, mtls, label, bidirectional))

    def eastwest(self, cluster: str) -> str:
        return self.node(Node(_id("ew", cluster), "East-west gateway<br/>:15443 AUTO_PASSTHROUGH", "eastwest-gateway", cluster))

    def mesh_hop(self, source: str, source_cluster: str, service: _Service) -> None:
        """An mTLS hop from a sidecar/gateway to a service; through its east-west gateway if remote."""
        if service.cluster == source_cluster or not self.multicluster:
            self.edge(source, service.sidecar, True, MTLS)
        else:
            ew = self.eastwest(service.cluster)
            self.edge(source, ew, True, MTLS)
            self.edge(ew, service.sidecar, True, MTLS)

    def api_backends(self, cluster: str | None = None) -> list[_Service]:
        wanted = {(a.cluster, a.service.namespace, a.service.name) for a in self.config.apis}
        return [
            s
            for s in self.services
            if (s.cluster, s.namespace, s.name) in wanted and (cluster is None or s.cluster == cluster)
        ]


def traffic_model(config: StackConfig) -> TrafficModel:
    """The traffic paths of `config`'s scenario (see the module docstring for the hop semantics)."""
    b = _Builder(config)
    client = b.node(Node("client", "Client", "client"))
    scenario = config.scenario
    gateway_cluster = config.gateway_cluster
    if scenario is Scenario.EXTERNAL_GATEWAY:
        ext = config.external_gateway
        assert ext is not None, "validated by config_rules"
        external = b.node(Node("external_gateway", _EXTERNAL_LABELS[ext.kind], "external-gateway"))
        b.edge(client, external, False, TLS_OUTSIDE_MESH)
        vpc_link_cluster = ext.cluster or next(
            (c.name for c in config.clusters if isinstance(c, EksClusterSpec)), None
        )
        for cluster in dict.fromkeys(s.cluster for s in b.api_backends()):
            ingress = b.node(Node(_id("ingress", cluster), "Istio ingress gateway<br/>80/443", "ingress-gateway", cluster))
            private = ext.kind == "aws-http-api" and cluster == vpc_link_cluster
            b.edge(external, ingress, False, f"{PLAINTEXT} (VPC link, outside mesh)" if private else TLS_OUTSIDE_MESH)
            for svc in b.api_backends(cluster):
                b.edge(ingress, svc.sidecar, True, MTLS)
    elif scenario is Scenario.IN_CLUSTER_GATEWAY:
        kong = b.node(Node("kong", "Kong API gateway<br/>(no sidecar, outside mesh)", "api-gateway", gateway_cluster))
        b.edge(client, kong, False, TLS_OUTSIDE_MESH)
        for svc in b.api_backends():
            b.edge(kong, svc.sidecar, False, PLAINTEXT)
    elif scenario is Scenario.IN_CLUSTER_GATEWAY_MESH:
        kong = b.node(Node("kong", "Kong API gateway", "api-gateway", gateway_cluster))
        kong_sidecar = b.node(Node("kong_sidecar", "Envoy sidecar (Kong)", "sidecar", gateway_cluster))
        b.edge(client, kong, False, f"{TLS_OUTSIDE_MESH}, sidecar inbound bypassed")
        b.edge(kong, kong_sidecar, False, LOCALHOST)
        for svc in b.api_backends():
            b.mesh_hop(kong_sidecar, gateway_cluster, svc)
    else:
        gateway = b.node(Node("istio_gateway", "Istio gateway<br/>(Gateway API, gatewayClassName: istio)", "api-gateway", gateway_cluster))
        b.edge(client, gateway, False, TLS_OUTSIDE_MESH)
        for svc in b.api_backends():
            b.mesh_hop(gateway, gateway_cluster, svc)
    for svc in b.services:
        b.node(Node(svc.sidecar, f"Envoy sidecar<br/>{svc.name}", "sidecar", svc.cluster))
        b.node(Node(svc.app, f"{svc.name}.{svc.namespace}:{svc.port}", "service", svc.cluster))
        b.edge(svc.sidecar, svc.app, False, LOCALHOST)
    for cluster in config.clusters:  # service to service: STRICT mTLS between neighbours in a cluster
        local = [s for s in b.services if s.cluster == cluster.name]
        for left, right in zip(local, local[1:]):
            b.edge(left.sidecar, right.sidecar, True, MTLS, bidirectional=True)
    if b.multicluster:
        names = [c.name for c in config.clusters]
        for i, left in enumerate(names):
            for right in names[i + 1 :]:
                b.edge(b.eastwest(left), b.eastwest(right), True, f"{MTLS} (cross-network)", bidirectional=True)
    boxes = tuple(ClusterBox(c.name, c.kind, c.network_name) for c in config.clusters)
    return TrafficModel(scenario, SCENARIO_TITLES[scenario], boxes, tuple(b.nodes), tuple(b.edges))


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
    for index, edge in enumerate(model.edges):
        if edge.mtls:
            arrow = "<-->" if edge.bidirectional else "-->"
            mtls_links.append(index)
        else:
            arrow = "<-.->" if edge.bidirectional else "-.->"
            other_links.append(index)
        lines.append(f'  {edge.source} {arrow}|"{_mermaid_text(edge.label)}"| {edge.target}')
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
    for edge in model.edges:
        style = 'style=solid, color="#2e7d32", penwidth=2' if edge.mtls else 'style=dashed, color="#c62828"'
        direction = ", dir=both" if edge.bidirectional else ""
        lines.append(f'  {edge.source} -> {edge.target} [label="{_dot_text(edge.label)}", {style}{direction}];')
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
    "(`plaintext`, or one-way `TLS (outside mesh)`)."
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
