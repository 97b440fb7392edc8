"""Observability checks: Kiali behind authentication when exposed; telemetry providers that exist.

Kiali's `anonymous` strategy hands every visitor Kiali's own ServiceAccount (read-only at best):
acceptable behind `kubectl port-forward`, not on a LoadBalancer, NodePort or Ingress. istiod drops
a tracing or access-log extension provider whose Service it cannot find, so a provider pointing
at a Service nobody deploys silently sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .istio import _by_provider, is_istio_chart
from .model import HELM_RELEASE, Check, Level, StackCheck, StackResource, Violation, get, items, kubernetes_kind

KIALI_CHART = "kiali-server"
BUILTIN_PROVIDERS = {"envoy", "prometheus"}
"""Providers Istio defines itself (stdout access logs, Prometheus metrics)."""


def _kiali_exposed_anonymous(_: str, props: Mapping[str, Any]) -> list[str]:
    chart = props.get("chart")
    if not (isinstance(chart, str) and chart.rstrip("/").rsplit("/", 1)[-1] == KIALI_CHART):
        return []
    if get(props, "values.deployment.remote_cluster_resources_only"):
        return []
    service_type = get(props, "values.deployment.service_type") or "ClusterIP"
    exposed = service_type in ("LoadBalancer", "NodePort") or bool(get(props, "values.deployment.ingress.enabled"))
    strategy = get(props, "values.auth.strategy") or "token"
    if exposed and strategy == "anonymous":
        return [f"Kiali is exposed ({service_type}) with auth strategy anonymous: use openid (or port-forward only)"]
    return []


CHECKS: tuple[Check, ...] = (
    Check(
        "kiali-exposed-authenticated",
        "Kiali reachable from outside the cluster signs users in (not anonymous on a LoadBalancer/NodePort/Ingress).",
        Level.MANDATORY,
        "Kiali docs: authentication strategies (anonymous gives every visitor Kiali's access); "
        "meshgate docs/observability.md",
        lambda t: t == HELM_RELEASE,
        _kiali_exposed_anonymous,
    ),
)


def _service_host(host: str) -> tuple[str, str]:
    """(name, namespace) of `name.namespace[.svc.cluster.local]`."""
    parts = host.split(".")
    return parts[0], parts[1] if len(parts) > 1 else "default"


def _deployed_services(objects: Sequence[StackResource]) -> set[tuple[str, str]]:
    """(name, namespace) of every Service the stack registers in one cluster: Service objects, and the
    Service of a chart release named by `fullnameOverride` (or the release name)."""
    found: set[tuple[str, str]] = set()
    for r in objects:
        if kubernetes_kind(r.type) == "Service" and get(r.props, "spec.selector"):
            found.add((str(get(r.props, "metadata.name")), str(get(r.props, "metadata.namespace") or "default")))
        elif r.type == HELM_RELEASE:
            name = get(r.props, "values.fullnameOverride") or get(r.props, "name")
            found.add((str(name), str(get(r.props, "namespace") or "default")))
    return found


def _providers_deployed(resources: Sequence[StackResource]) -> list[Violation]:
    out: list[Violation] = []
    for _, objects in sorted(_by_provider(resources).items()):
        deployed = _deployed_services(objects)
        defined: set[str] = set(BUILTIN_PROVIDERS)
        for r in objects:
            if not (r.type == HELM_RELEASE and is_istio_chart(r.props, "istiod")):
                continue
            for provider in items(get(r.props, "values.meshConfig.extensionProviders")):
                name = str(get(provider, "name"))
                defined.add(name)
                for kind, target in provider.items():
                    host = get(target, "service") if kind != "name" and isinstance(target, Mapping) else None
                    if isinstance(host, str) and _service_host(host) not in deployed:
                        out.append(
                            Violation(
                                f"extension provider {name} ({kind}) sends to {host}, which this stack does not deploy "
                                "in that cluster: istiod drops it and nothing is sent",
                                r.urn,
                            )
                        )
        for r in objects:
            if kubernetes_kind(r.type) != "Telemetry":
                continue
            for section in ("tracing", "accessLogging"):
                for entry in items(get(r.props, f"spec.{section}")):
                    for provider in items(get(entry, "providers")):
                        name = str(get(provider, "name"))
                        if name not in defined:
                            out.append(
                                Violation(
                                    f"Telemetry selects {section} provider {name}, which istiod does not define", r.urn
                                )
                            )
    return out


def _has_istiod(resources: Sequence[StackResource]) -> bool:
    return any(r.type == HELM_RELEASE and is_istio_chart(r.props, "istiod") for r in resources)


def _providers_check(resources: Sequence[StackResource]) -> list[Violation]:
    return _providers_deployed(resources) if _has_istiod(resources) else []


STACK_CHECKS: tuple[StackCheck, ...] = (
    StackCheck(
        "telemetry-provider-deployed",
        "Every tracing and access-log provider istiod is given points at a Service the stack deploys in that cluster.",
        Level.MANDATORY,
        "Istio docs: meshConfig extensionProviders (a provider whose service is not found is ignored); "
        "meshgate docs/observability.md",
        _providers_check,
    ),
)
