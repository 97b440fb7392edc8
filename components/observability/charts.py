"""The pinned upstream charts of the observability stack and the one way they are installed.

Every pin names a chart release that exists upstream; the values meshgate sets were read against
that version's values.yaml (docs/observability.md lists each chart with its source).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.helm_release import pinned_release


@dataclass(frozen=True)
class ChartPin:
    """One upstream chart at a pinned version, and the application version it ships."""

    chart: str
    repo: str
    version: str
    app_version: str
    source: str
    """Where the pin was read: the upstream repository tag."""


OTEL_COLLECTOR = ChartPin(
    "opentelemetry-collector",
    "https://open-telemetry.github.io/opentelemetry-helm-charts",
    "0.170.0",
    "0.158.0",
    "open-telemetry/opentelemetry-helm-charts tag opentelemetry-collector-0.170.0 (2026-08-14)",
)
OTEL_COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib"
"""The contrib distribution: it has the prometheus receiver and the prometheusremotewrite exporter."""

PROMETHEUS = ChartPin(
    "prometheus",
    "https://prometheus-community.github.io/helm-charts",
    "29.27.0",
    "v3.14.0",
    "prometheus-community/helm-charts tag prometheus-29.27.0 (2026-08-18)",
)
TEMPO = ChartPin(
    "tempo",
    "https://grafana-community.github.io/helm-charts",
    "2.2.4",
    "2.10.8",
    "grafana-community/helm-charts tag tempo-2.2.4 (2026-08-13; the chart left grafana/helm-charts in Feb 2026)",
)
GRAFANA = ChartPin(
    "grafana",
    "https://grafana-community.github.io/helm-charts",
    "12.11.1",
    "13.2.0",
    "grafana-community/helm-charts tag grafana-12.11.1 (2026-08-19; the chart left grafana/helm-charts in Jan 2026)",
)
KIALI_SERVER = ChartPin(
    "kiali-server",
    "https://kiali.org/helm-charts",
    "2.27.0",
    "v2.27.0",
    "kiali/helm-charts docs/kiali-server-2.27.0.tgz; the version Istio 1.31's samples/addons/kiali.yaml renders",
)

PINS: tuple[ChartPin, ...] = (OTEL_COLLECTOR, PROMETHEUS, TEMPO, GRAFANA, KIALI_SERVER)

Resources = Mapping[str, Mapping[str, str]]


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, dict[str, str]]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


@dataclass(frozen=True)
class Sizing:
    """Requests and memory limits of every observability pod, and the hub's volumes. Collectors'
    memory_limiter keeps 80 % of their limit; the chart sets GOMEMLIMIT from it."""

    agent: Resources
    hub_collector: Resources
    prometheus: Resources
    tempo: Resources
    grafana: Resources
    kiali: Resources
    prometheus_volume: str
    tempo_volume: str


PRODUCTION = Sizing(
    agent=_resources("100m", "256Mi", "512Mi"),
    hub_collector=_resources("200m", "512Mi", "1Gi"),
    prometheus=_resources("500m", "2Gi", "4Gi"),
    tempo=_resources("250m", "1Gi", "2Gi"),
    grafana=_resources("100m", "256Mi", "512Mi"),
    kiali=_resources("100m", "256Mi", "1Gi"),
    prometheus_volume="50Gi",
    tempo_volume="20Gi",
)
SMALL = Sizing(
    agent=_resources("50m", "128Mi", "256Mi"),
    hub_collector=_resources("50m", "128Mi", "256Mi"),
    prometheus=_resources("100m", "512Mi", "1Gi"),
    tempo=_resources("50m", "256Mi", "512Mi"),
    grafana=_resources("50m", "128Mi", "256Mi"),
    kiali=_resources("50m", "128Mi", "512Mi"),
    prometheus_volume="8Gi",
    tempo_volume="4Gi",
)
"""For a laptop cluster (meshgate:environment dev)."""


def chart_release(
    resource_name: str,
    *,
    pin: ChartPin,
    release_name: str,
    namespace: str,
    values: Mapping[str, Any],
    timeout_seconds: int,
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """Install `pin` as Helm release `release_name`: waits for its resources up to `timeout_seconds`
    and rolls a failed install or upgrade back (`atomic`), so no release is left pending."""
    return pinned_release(
        resource_name,
        release_name=release_name,
        chart=pin.chart,
        version=pin.version,
        repo=pin.repo,
        namespace=namespace,
        values=values,
        timeout_seconds=timeout_seconds,
        opts=opts,
        create_namespace=False,
        skip_await=False,
    )
