"""Telemetry builder and the meshConfig extension providers it selects.

Without providers (meshgate:observability off) proxies trace nothing and access logs go only to
stdout. With providers, spans go to an `opentelemetry` tracing provider and access logs also to an
`envoyOtelAls` provider, both served by the cluster's own collector (OTLP gRPC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.istio_security.istio_resource import ISTIO_NAMESPACE, TELEMETRY_API, istio_resource
from components.mesh.handle import MeshHandle

TRACING_PROVIDER = "otel-tracing"
"""meshConfig.extensionProviders entry for spans (OpenTelemetry, OTLP gRPC)."""

ACCESS_LOG_PROVIDER = "envoy"
"""Istio's built-in stdout access-log provider."""

OTEL_ACCESS_LOG_PROVIDER = "otel-als"
"""meshConfig.extensionProviders entry for access logs over OTLP (envoyOtelAls)."""


@dataclass(frozen=True)
class TelemetryProviders:
    """The collector Service proxies send spans and access logs to (`service`: FQDN, `port`: OTLP
    gRPC). The Service is marked cluster-local, so in a multi-cluster mesh every proxy uses its own
    cluster's collector and Istio never merges the collectors of different clusters."""

    service: str
    port: int = 4317

    def extension_providers(self) -> list[dict[str, Any]]:
        """meshConfig.extensionProviders."""
        target = {"service": self.service, "port": self.port}
        return [
            {"name": TRACING_PROVIDER, "opentelemetry": dict(target)},
            {"name": OTEL_ACCESS_LOG_PROVIDER, "envoyOtelAls": dict(target)},
        ]

    def service_settings(self) -> list[dict[str, Any]]:
        """meshConfig.serviceSettings: the collector Service stays cluster-local."""
        return [{"settings": {"clusterLocal": True}, "hosts": [self.service]}]


def mesh_default_telemetry(
    *,
    mesh: MeshHandle,
    parent: pulumi.Resource,
    sampling_percent: float,
    access_logs: bool,
    providers: TelemetryProviders | None = None,
) -> k8s.apiextensions.CustomResource:
    """`Telemetry` `mesh-default` in the root namespace: access logs on or off (stdout, plus OTLP
    with `providers`); with `providers`, trace `sampling_percent`% of requests."""
    log_providers = [{"name": ACCESS_LOG_PROVIDER}]
    spec: dict[str, Any] = {}
    if providers is not None:
        log_providers.append({"name": OTEL_ACCESS_LOG_PROVIDER})
        spec["tracing"] = [
            {"providers": [{"name": TRACING_PROVIDER}], "randomSamplingPercentage": float(sampling_percent)}
        ]
    spec["accessLogging"] = [{"providers": log_providers, "disabled": not access_logs}]
    return istio_resource(TELEMETRY_API, "Telemetry", "mesh-default", ISTIO_NAMESPACE, spec, mesh=mesh, parent=parent)
