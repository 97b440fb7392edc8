"""What a scenario hands back to the stack: public endpoints, curl lines, and the hop list.

The hop list makes the article's pros/cons concrete: for each hop of a request through the
gateway, whether it is protected by Istio mTLS (`mtls`), by one-way TLS only (`tls`), or by
nothing. It lists only the connections a request makes; `diagram` draws the same list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.gateways.catalogue import Route

JWT_HEADER = "-H 'Authorization: Bearer <JWT>'"
KEY_HEADER = "-H 'apikey: <API_KEY>'"
UNKNOWN_ADDRESS = "https://<GATEWAY_ADDRESS>"
"""Stands in for an address the program cannot know (a rendered cluster has no load balancer)."""


@dataclass(frozen=True)
class Hop:
    """One network hop of a request: `source` -> `target`, and what protects it."""

    source: str
    target: str
    mtls: bool
    tls: bool
    note: str
    via: str | None = None  # a passthrough on the way that does not terminate the connection

    def as_output(self) -> dict[str, object]:
        out: dict[str, object] = {
            "from": self.source,
            "to": self.target,
            "mtls": self.mtls,
            "tls": self.tls or self.mtls,
            "note": self.note,
        }
        if self.via is not None:
            out["via"] = self.via
        return out


@dataclass
class Edge:
    """A scenario's outputs: endpoint URL per entry point, the URL each route is called on, hops."""

    endpoints: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    route_urls: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    hops: list[Hop] = field(default_factory=list)
    insecure_tls: bool = False  # the endpoint serves a self-signed certificate (curl -k)


def curl_line(route: Route, base_url: str, insecure: bool) -> str:
    """A ready-to-run command for `route`, with placeholders for the credentials it needs (and for
    the address when it is unknown)."""
    parts = ["curl", "-sS"]
    if insecure:
        parts.append("-k")
    if route.auth == "jwt":
        parts.append(JWT_HEADER)
    if route.auth == "key":
        parts.append(KEY_HEADER)
    parts.append(f"'{(base_url or UNKNOWN_ADDRESS).rstrip('/')}{route.sample_path}'")
    return " ".join(parts)


def curl_lines(routes: list[Route], edge: Edge) -> pulumi.Output[dict[str, str]]:
    """`{api name: curl command}` in catalogue order."""
    names = [r.name for r in routes]
    urls = [edge.route_urls[r.name] for r in routes]

    def render(values: list[str]) -> dict[str, str]:
        return {
            name: curl_line(route, url, edge.insecure_tls)
            for name, route, url in zip(names, routes, values, strict=True)
        }

    return pulumi.Output.all(*urls).apply(render)


BACKENDS = "backends"


def backends(cluster: str) -> str:
    """The hop-list name of the API backends in another cluster than the gateway's."""
    return f"{BACKENDS} ({cluster})"


def east_west(cluster: str) -> str:
    """The hop-list name of a cluster's east-west gateway."""
    return f"east-west gateway ({cluster})"


def into_mesh(gateway: str, remote_clusters: list[str], note: str) -> list[Hop]:
    """A gateway inside the mesh calling the backends: local ones directly; a backend in another
    network over ONE mTLS connection to its sidecar, which that network's east-west gateway
    (port 15443, AUTO_PASSTHROUGH) routes by SNI without terminating it (Istio multi-network)."""
    found = [Hop(gateway, BACKENDS, mtls=True, tls=True, note=note)]
    for cluster in remote_clusters:
        found.append(
            Hop(
                gateway,
                backends(cluster),
                mtls=True,
                tls=True,
                note=f"{note}; one connection end to end, passed through by SNI at the east-west gateway (:15443)",
                via=east_west(cluster),
            )
        )
    return found


def hops_output(hops: list[Hop]) -> list[dict[str, object]]:
    return [h.as_output() for h in hops]


def https_url(address: pulumi.Output[str]) -> pulumi.Output[str]:
    return address.apply(lambda a: f"https://{a}" if a else "")


def same_url_for_all(routes: list[Route], url: pulumi.Output[str]) -> dict[str, pulumi.Output[str]]:
    return {r.name: url for r in routes}
