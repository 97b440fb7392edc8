"""Observability layer wiring (meshgate:observability): maps the stack config to the components.

Every cluster gets a TelemetryAgent; every hub (one in a multi-cluster mesh, otherwise each
cluster) an ObservabilityHub; in a multi-cluster mesh every other cluster a KialiRemoteAccess whose
kubeconfig becomes one remote Secret in the hub. Nothing here reads `meshgate:scenario`.
"""

from __future__ import annotations

import pulumi

from components.istio_security.telemetry import TelemetryProviders
from components.mesh.handle import MeshHandle
from components.observability.agent import TelemetryAgent, TelemetryAgentArgs, agent_principal
from components.observability.charts import PRODUCTION, SMALL
from components.observability.collector import AGENT_RELEASE, OTLP_GRPC_PORT, service_host
from components.observability.hub import GRAFANA_RELEASE, ObservabilityHub, ObservabilityHubArgs
from components.observability.kiali import (
    KIALI_PORT,
    KIALI_RELEASE,
    OBSERVABILITY_NAMESPACE,
    KialiAuth,
    KialiRemoteAccess,
    KialiRemoteAccessArgs,
)
from components.observability.slo import ApiObjective
from stacks.config import DEFAULT_SLO, StackConfig


def telemetry_providers(config: StackConfig) -> TelemetryProviders | None:
    """Where istiod points the tracing and access-log providers: the cluster's agent collector."""
    if not config.observability.enabled:
        return None
    return TelemetryProviders(service=service_host(AGENT_RELEASE), port=OTLP_GRPC_PORT)


def api_objectives(config: StackConfig) -> list[ApiObjective]:
    """Every API of the catalogue with its objectives (`slo`, or the documented defaults)."""
    return [
        ApiObjective(
            api=api.name,
            service=api.service.name,
            namespace=api.service.namespace,
            availability=(api.slo or DEFAULT_SLO).availability,
            latency_p99_ms=(api.slo or DEFAULT_SLO).latency_p99_ms,
        )
        for api in config.apis
    ]


def open_commands(hub: str, kiali: KialiAuth) -> dict[str, str]:
    """How to open Kiali and Grafana of `hub` from a workstation."""
    ns = OBSERVABILITY_NAMESPACE
    return {
        "kiali": f"kubectl --context <{hub}> -n {ns} port-forward svc/{KIALI_RELEASE} {KIALI_PORT}:{KIALI_PORT}"
        + (
            "  (or the LoadBalancer address; sign in with OpenID)"
            if kiali.exposed
            else "  # then http://localhost:20001"
        ),
        "grafana": f"kubectl --context <{hub}> -n {ns} port-forward svc/{GRAFANA_RELEASE} 3000:80  # then "
        f"http://localhost:3000, user admin, password: kubectl --context <{hub}> -n {ns} get secret {GRAFANA_RELEASE} "
        "-o jsonpath='{.data.admin-password}' | base64 -d",
    }


def build_observability(config: StackConfig, meshes: dict[str, MeshHandle]) -> None:
    """Register the observability layer and export `observability` (off: nothing at all)."""
    hubs_of = config.observability_hubs
    if not hubs_of:
        return
    obs = config.observability
    kiali = KialiAuth(
        exposed=obs.kiali.expose,
        openid_issuer=obs.kiali.openid.issuer_uri if obs.kiali.openid else None,
        openid_client_id=obs.kiali.openid.client_id if obs.kiali.openid else None,
    )
    sizing = SMALL if config.environment == "dev" else PRODUCTION
    agents = {
        name: TelemetryAgent(
            name, TelemetryAgentArgs(mesh=mesh, hub_is_remote=hubs_of[name] != name, resources=sizing.agent)
        )
        for name, mesh in meshes.items()
    }
    remote_access = {
        name: KialiRemoteAccess(f"{name}-kiali-remote", KialiRemoteAccessArgs(cluster=mesh.cluster))
        for name, mesh in meshes.items()
        if hubs_of[name] != name
    }
    objectives = api_objectives(config)
    for hub in sorted(set(hubs_of.values())):
        reporting = [c for c, h in hubs_of.items() if h == hub]
        ObservabilityHub(
            f"{hub}-observability",
            ObservabilityHubArgs(
                mesh=meshes[hub],
                agent_principals=[agent_principal(meshes[c]) for c in reporting],
                objectives=objectives,
                kiali=kiali,
                remote_kubeconfigs={c: remote_access[c].kubeconfig for c in reporting if c in remote_access},
                prometheus_retention=obs.prometheus_retention,
                trace_retention=obs.trace_retention,
                sizing=sizing,
                depends_on=[agents[hub].namespace],
            ),
        )
    hubs = sorted(set(hubs_of.values()))
    pulumi.export(
        "observability",
        {
            "hubs": {hub: sorted(c for c, h in hubs_of.items() if h == hub) for hub in hubs},
            "scope": "one hub for the multi-cluster mesh"
            if config.istio.multicluster
            else "no multi-cluster mesh: every cluster has its own backends and Kiali",
            "open": {hub: open_commands(hub, kiali) for hub in hubs},
            "kialiAuth": kiali.strategy,
        },
    )
