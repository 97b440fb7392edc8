"""The scenario-neutral route model: `meshgate:apis` turned into `Route`s every scenario renders.

A route says what is exposed (path prefix), where the backend runs (cluster, Service
`<svc>.<ns>.svc.cluster.local:<port>`) and what the gateway enforces (auth, rate limit).
Every scenario strips the path prefix before the backend, so `GET /orders/headers`
reaches the backend as `GET /headers` whatever the architecture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from stacks.config import JwtSpec, StackConfig

Auth = Literal["none", "jwt", "key"]


@dataclass(frozen=True)
class Route:
    """One API of the catalogue, resolved: backend address, auth, rate limit."""

    name: str
    path: str
    cluster: str
    service: str
    namespace: str
    port: int
    target_port: int  # the workload's container port behind `port`: what Istio policies match
    auth: Auth
    rate_limit_per_minute: int | None
    jwt: JwtSpec | None
    demo: bool  # the backend is a meshgate:services workload (go-httpbin)

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


def routes(config: StackConfig) -> list[Route]:
    """The catalogue in config order; `auth: jwt` routes carry their issuer (API's or meshgate:jwt)."""
    demo = {(s.cluster, s.namespace, s.name) for s in config.services}
    return [
        Route(
            name=api.name,
            path=api.path,
            cluster=api.cluster,
            service=api.service.name,
            namespace=api.service.namespace,
            port=api.service.port,
            target_port=config.target_port(api),
            auth=api.auth,
            rate_limit_per_minute=api.rate_limit_per_minute,
            jwt=config.jwt_for(api) if api.auth == "jwt" else None,
            demo=(api.cluster, api.service.namespace, api.service.name) in demo,
        )
        for api in config.apis
    ]


def clusters_hosting(all_routes: list[Route]) -> list[str]:
    """Clusters that run at least one backend, in catalogue order."""
    return list(dict.fromkeys(r.cluster for r in all_routes))
