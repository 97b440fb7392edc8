"""The scenario-neutral route model: `meshgate:apis` turned into `Route`s every scenario renders.

A route says what is exposed (path prefix), where the backend runs (cluster, Service
`<svc>.<ns>.svc.cluster.local:<port>`) and what the gateway enforces (auth, rate limit).
Every scenario strips the path prefix before the backend, so `GET /orders/headers`
reaches the backend as `GET /headers` whatever the architecture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Auth = Literal["none", "jwt", "key"]


@dataclass(frozen=True)
class Jwt:
    """Who issues the tokens an `auth: jwt` route accepts."""

    issuer: str
    """The `iss` claim tokens must carry."""
    jwks_uri: str
    """https:// URL of the issuer's signing keys (JWKS)."""
    audiences: Sequence[str] = field(default_factory=list)
    """Accepted `aud` values; empty = any (where the gateway allows it)."""


@dataclass(frozen=True)
class Route:
    """One API of the catalogue, resolved: backend address, auth, rate limit."""

    name: str
    """API name (a DNS label): names the gateway objects of the route."""
    path: str
    """Path prefix, e.g. /orders; stripped before the backend."""
    cluster: str
    """Cluster the backend Service runs in."""
    service: str
    """Backend Service name."""
    namespace: str
    """Backend Service namespace."""
    port: int
    """The Service port routes call."""
    target_port: int
    """The workload's container port behind `port`: what Istio policies match."""
    auth: Auth
    """What the gateway checks: nothing, a JWT, or an API key."""
    rate_limit_per_minute: int | None
    """Requests per minute the gateway admits; None = unlimited."""
    jwt: Jwt | None
    """The issuer of `auth: jwt` routes."""
    demo: bool
    """The backend is a demo workload (go-httpbin): `sample_path` is /headers."""

    @property
    def host(self) -> str:
        """The backend's cluster-local DNS name."""
        return f"{self.service}.{self.namespace}.svc.cluster.local"

    @property
    def credentialed(self) -> bool:
        """The route takes credentials (API key or JWT): it is served over HTTPS only, HTTP redirects."""
        return self.auth in ("jwt", "key")

    @property
    def paths(self) -> list[str]:
        """The prefix as exact + sub-path patterns (`/orders`, `/orders/*`), for Istio policies."""
        return [self.path, f"{self.path.rstrip('/')}/*"]

    @property
    def rate_per_second(self) -> float | None:
        return None if self.rate_limit_per_minute is None else self.rate_limit_per_minute / 60

    @property
    def burst(self) -> int | None:
        """Requests allowed at once: one second's worth, at least one."""
        rate = self.rate_per_second
        return None if rate is None else max(1, math.ceil(rate))

    @property
    def sample_path(self) -> str:
        """A path that answers on the backend: `/headers` on the demo workload (shows the caller's identity)."""
        return f"{self.path.rstrip('/')}/headers" if self.demo else f"{self.path.rstrip('/')}/"


def clusters_hosting(all_routes: list[Route]) -> list[str]:
    """Clusters that run at least one backend, in catalogue order."""
    return list(dict.fromkeys(r.cluster for r in all_routes))
