"""What a scenario hands back to the stack: public endpoints and curl lines.

The hop list of each scenario (which connection is mTLS, one-way TLS or plaintext) is not
here: stacks/traffic/model.py derives it from the stack config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.gateways.shared.catalogue import Route

JWT_HEADER = "-H 'Authorization: Bearer <JWT>'"
KEY_HEADER = "-H 'apikey: <API_KEY>'"
UNKNOWN_ADDRESS = "https://<GATEWAY_ADDRESS>"
"""Stands in for an address the program cannot know (a rendered cluster has no load balancer)."""


@dataclass
class Edge:
    """A scenario's outputs: endpoint URL per entry point and the URL each route is called on."""

    endpoints: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    route_urls: dict[str, pulumi.Output[str]] = field(default_factory=dict)
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


def https_url(address: pulumi.Output[str]) -> pulumi.Output[str]:
    return address.apply(lambda a: f"https://{a}" if a else "")


def same_url_for_all(routes: list[Route], url: pulumi.Output[str]) -> dict[str, pulumi.Output[str]]:
    return {r.name: url for r in routes}
