"""Telemetry builder: the mesh-wide tracing sampling and access-log switch."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.mesh.handle import MeshHandle
from components.policies.base import ISTIO_NAMESPACE, TELEMETRY_API, istio_resource

TRACING_PROVIDER = "zipkin"
"""Name of the tracing extension provider istiod is installed with (meshConfig.extensionProviders)."""

ACCESS_LOG_PROVIDER = "envoy"
"""Istio's built-in stdout access-log provider."""


def mesh_default_telemetry(
    *,
    mesh: MeshHandle,
    parent: pulumi.Resource,
    sampling_percent: float,
    access_logs: bool,
    tracing_provider: str = TRACING_PROVIDER,
) -> k8s.apiextensions.CustomResource:
    """`Telemetry` `mesh-default` in the root namespace: trace `sampling_percent`% of requests
    to `tracing_provider`; Envoy access logs on or off."""
    spec = {
        "tracing": [{"providers": [{"name": tracing_provider}], "randomSamplingPercentage": float(sampling_percent)}],
        "accessLogging": [{"providers": [{"name": ACCESS_LOG_PROVIDER}], "disabled": not access_logs}],
    }
    return istio_resource(TELEMETRY_API, "Telemetry", "mesh-default", ISTIO_NAMESPACE, spec, mesh=mesh, parent=parent)
