"""OpenTelemetry Collector configurations and the `OtelCollector` component (chart opentelemetry-collector).

Two roles, one chart:

- the **agent** (every cluster, release `otel-agent`): receives spans and OTel access logs from the
  Envoy proxies (OTLP gRPC 4317), scrapes Istio's metrics (each proxy's merged metrics on 15020,
  istiod's monitoring port 15014), stamps everything with the Istio cluster name and exports OTLP
  to its hub's collector;
- the **hub** (release `otel-hub`): receives OTLP from the agents and writes metrics to Prometheus
  (remote write), spans to Tempo (OTLP) and access-log records to its own stdout.

The configuration is given whole (`alternateConfig`): the chart's default `config` would otherwise
be merged in, keeping jaeger and zipkin receivers nobody uses open on the pod.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from components.clusters.handle import ClusterHandle
from components.observability.charts import OTEL_COLLECTOR, OTEL_COLLECTOR_IMAGE, Resources, chart_release

TELEMETRY_NAMESPACE = "meshgate-telemetry"
"""Namespace of the collectors in every cluster (sidecar-injected: collectors talk mTLS)."""
AGENT_RELEASE = "otel-agent"
HUB_RELEASE = "otel-hub"
OTLP_GRPC_PORT = 4317
HEALTH_PORT = 13133
CLUSTER_ATTRIBUTE = "k8s.cluster.name"
"""Resource attribute carrying the Istio cluster name (label `k8s_cluster_name` in Prometheus)."""
ISTIOD_MONITORING_PORT = 15014
MERGED_METRICS_PORT = 15020
HELM_TIMEOUT_SECONDS = 600

Role = Literal["agent", "hub"]


def service_host(release: str, namespace: str = TELEMETRY_NAMESPACE) -> str:
    """The collector Service's cluster-local FQDN (the chart names it after `fullnameOverride`)."""
    return f"{release}.{namespace}.svc.cluster.local"


def _istio_scrape_configs() -> list[dict[str, Any]]:
    """Prometheus scrape jobs for Istio: istiod's monitoring port by endpoints, and every pod that
    announces merged metrics through the `prometheus.io/*` annotations the sidecar injector sets.
    `$$` is the collector's escape for a literal `$` in relabel replacements."""
    return [
        {
            "job_name": "istiod",
            "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": ["istio-system"]}}],
            "relabel_configs": [
                {
                    "source_labels": ["__meta_kubernetes_service_name", "__meta_kubernetes_endpoint_port_name"],
                    "action": "keep",
                    "regex": "istiod(-.+)?;http-monitoring",
                }
            ],
        },
        {
            "job_name": "envoy-merged",
            "kubernetes_sd_configs": [{"role": "pod"}],
            "relabel_configs": [
                {
                    "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
                    "action": "keep",
                    "regex": "true",
                },
                {"source_labels": ["__meta_kubernetes_pod_label_app"], "action": "drop", "regex": "istiod"},
                {
                    "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
                    "action": "replace",
                    "target_label": "__metrics_path__",
                    "regex": "(.+)",
                },
                {
                    "source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                    "action": "replace",
                    "regex": r"([^:]+)(?::\d+)?;(\d+)",
                    "replacement": "$$1:$$2",
                    "target_label": "__address__",
                },
                {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ],
        },
    ]


_PROCESSORS: dict[str, Any] = {
    "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
    "batch": {},
}


def _service(pipelines: Mapping[str, tuple[Sequence[str], Sequence[str], Sequence[str]]]) -> dict[str, Any]:
    """`service`: health_check, and per signal (receivers, processors, exporters)."""
    return {
        "extensions": ["health_check"],
        "pipelines": {
            signal: {"receivers": list(r), "processors": list(p), "exporters": list(e)}
            for signal, (r, p, e) in pipelines.items()
        },
    }


def _base(receivers: dict[str, Any], processors: dict[str, Any], exporters: dict[str, Any]) -> dict[str, Any]:
    return {
        "extensions": {"health_check": {"endpoint": f"${{env:MY_POD_IP}}:{HEALTH_PORT}"}},
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_GRPC_PORT}"}}},
            **receivers,
        },
        "processors": {**_PROCESSORS, **processors},
        "exporters": exporters,
    }


def agent_config(cluster: str, hub_endpoint: str) -> dict[str, Any]:
    """The agent's collector configuration: OTLP in, Istio scraped, cluster name stamped, OTLP to
    `hub_endpoint` (`host:port`; plaintext to the sidecar, which carries it over mTLS)."""
    stamp = ["memory_limiter", "resource", "batch"]
    config = _base(
        {"prometheus": {"config": {"scrape_configs": _istio_scrape_configs()}}},
        {"resource": {"attributes": [{"key": CLUSTER_ATTRIBUTE, "value": cluster, "action": "upsert"}]}},
        {"otlp": {"endpoint": hub_endpoint, "tls": {"insecure": True}}},
    )
    config["service"] = _service(
        {
            "traces": (["otlp"], stamp, ["otlp"]),
            "logs": (["otlp"], stamp, ["otlp"]),
            "metrics": (["otlp", "prometheus"], stamp, ["otlp"]),
        }
    )
    return config


def hub_config(prometheus_write_url: str, tempo_endpoint: str) -> dict[str, Any]:
    """The hub's collector configuration: OTLP in; metrics by remote write to Prometheus (resource
    attributes such as the cluster name become labels), spans to Tempo, access logs to stdout."""
    processors = ["memory_limiter", "batch"]
    config = _base(
        {},
        {},
        {
            "prometheusremotewrite": {
                "endpoint": prometheus_write_url,
                "resource_to_telemetry_conversion": {"enabled": True},
            },
            "otlp/tempo": {"endpoint": tempo_endpoint, "tls": {"insecure": True}},
            "debug": {"verbosity": "basic"},
        },
    )
    config["service"] = _service(
        {
            "traces": (["otlp"], processors, ["otlp/tempo"]),
            "logs": (["otlp"], processors, ["debug"]),
            "metrics": (["otlp"], processors, ["prometheusremotewrite"]),
        }
    )
    return config


def components_used(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """The component types a configuration uses, by kind (what a custom collector build must contain)."""
    kinds = ("receivers", "processors", "exporters", "extensions")
    return {kind: sorted({name.split("/")[0] for name in config.get(kind, {})}) for kind in kinds}


_SCRAPE_RULES = [
    {"apiGroups": [""], "resources": ["pods", "endpoints", "services"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
]
"""What the agent's prometheus receiver needs to discover pods and istiod's endpoints."""

_UNUSED_PORTS = ("otlp-http", "jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")


@dataclass(frozen=True)
class OtelCollectorArgs:
    """One collector Deployment from the opentelemetry-collector chart.

    `config`: the whole collector configuration (agent_config / hub_config). `resources`: the
    container's requests and limits (memory_limiter keeps 80 % of the limit). `scrapes`: give the
    collector read access to pods and endpoints cluster-wide (the agent's prometheus receiver).
    `pod_annotations`: e.g. the sidecar's outbound exclusions for scraped ports.
    """

    cluster: ClusterHandle
    role: Role
    config: Mapping[str, Any]
    resources: Resources
    namespace: str = TELEMETRY_NAMESPACE
    replicas: int = 1
    scrapes: bool = False
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()


def collector_values(args: OtelCollectorArgs, release: str) -> dict[str, Any]:
    """Values of the opentelemetry-collector chart (checked against its values.yaml at the pin)."""
    return {
        "mode": "deployment",
        "fullnameOverride": release,
        "replicaCount": args.replicas,
        "image": {"repository": OTEL_COLLECTOR_IMAGE, "tag": OTEL_COLLECTOR.app_version},
        "command": {"name": "otelcol-contrib"},
        "alternateConfig": dict(args.config),
        "ports": {name: {"enabled": False} for name in _UNUSED_PORTS},
        "resources": {k: dict(v) for k, v in args.resources.items()},
        "clusterRole": {"create": args.scrapes, "rules": _SCRAPE_RULES if args.scrapes else []},
        "podAnnotations": dict(args.pod_annotations),
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


class OtelCollector(pulumi.ComponentResource):
    """An OpenTelemetry Collector (contrib image) in `args.namespace`; `host` is its Service FQDN."""

    host: str

    def __init__(self, name: str, args: OtelCollectorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:observability:OtelCollector", name, None, opts)
        release = AGENT_RELEASE if args.role == "agent" else HUB_RELEASE
        self.host = service_host(release, args.namespace)
        self.release = chart_release(
            f"{args.cluster.name}-{release}",
            pin=OTEL_COLLECTOR,
            release_name=release,
            namespace=args.namespace,
            values=collector_values(args, release),
            timeout_seconds=HELM_TIMEOUT_SECONDS,
            opts=args.cluster.opts(self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"host": self.host})
