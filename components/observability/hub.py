"""ObservabilityHub: the backends one pane reads from, in the hub cluster.

In namespace `meshgate-observability` (no sidecars; a NetworkPolicy admits only the collectors'
namespace and the backends themselves): Prometheus (remote-write receiver, Istio and SLO rules,
no scraping of its own), Tempo, Grafana (Prometheus and Tempo data sources, dashboards from a
ConfigMap) and Kiali. In `meshgate-telemetry`: the hub collector, which only the agents' mTLS
identity may call (AuthorizationPolicy).

Loki is left out: access-log records reach the hub collector tagged with their cluster and are
written to its stdout, where the clouds' node log agents (CloudWatch, Cloud Logging) already
collect container logs; a third stateful store would cost another volume and ~1 GiB per hub.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle
from components.istio_security.authorization import allow_from
from components.istio_security.istio_resource import MANAGED_LABELS
from components.mesh.handle import MeshHandle
from components.observability.charts import (
    GRAFANA,
    KIALI_SERVER,
    PRODUCTION,
    PROMETHEUS,
    TEMPO,
    Sizing,
    chart_release,
)
from components.observability.collector import (
    HUB_RELEASE,
    OTLP_GRPC_PORT,
    TELEMETRY_NAMESPACE,
    OtelCollector,
    OtelCollectorArgs,
    hub_config,
)
from components.observability.istio_views import istio_recording_rules, shipped
from components.observability.kiali import (
    KIALI_PORT,
    KIALI_RELEASE,
    OBSERVABILITY_NAMESPACE,
    KialiAuth,
    kiali_remote_secret,
    kiali_values,
)
from components.observability.slo import ApiObjective, alerting_rules, dashboard, recording_rules

HELM_TIMEOUT_SECONDS = 900
PROMETHEUS_RELEASE = "prometheus"
TEMPO_RELEASE = "tempo"
GRAFANA_RELEASE = "grafana"
DASHBOARDS_CONFIGMAP = "meshgate-dashboards"
DASHBOARD_PROVIDER = "meshgate"
PROMETHEUS_URL = f"http://prometheus-server.{OBSERVABILITY_NAMESPACE}.svc.cluster.local"
TEMPO_QUERY_URL = f"http://tempo.{OBSERVABILITY_NAMESPACE}.svc.cluster.local:3200"
TEMPO_OTLP = f"tempo.{OBSERVABILITY_NAMESPACE}.svc.cluster.local:{OTLP_GRPC_PORT}"
GRAFANA_URL = f"http://grafana.{OBSERVABILITY_NAMESPACE}.svc.cluster.local"


def prometheus_values(retention: str, objectives: Sequence[ApiObjective], sizing: Sizing) -> dict[str, Any]:
    """prometheus chart values: one server with the remote-write receiver, the rules, no scraping but
    itself (the collectors scrape and push), no Alertmanager or exporters (alerts show in Prometheus
    and Grafana; add an Alertmanager to route them)."""
    istio = istio_recording_rules()
    slo = recording_rules(objectives)
    default_jobs = (
        "kubernetes-api-servers",
        "kubernetes-nodes",
        "kubernetes-nodes-cadvisor",
        "kubernetes-service-endpoints",
        "kubernetes-service-endpoints-slow",
        "prometheus-pushgateway",
        "kubernetes-services",
        "kubernetes-pods",
        "kubernetes-pods-slow",
    )
    return {
        "server": {
            "extraFlags": ["web.enable-lifecycle", "web.enable-remote-write-receiver"],
            "retention": retention,
            "persistentVolume": {"enabled": True, "size": sizing.prometheus_volume},
            "resources": sizing.prometheus,
        },
        "scrapeConfigs": {job: {"enabled": False} for job in default_jobs},
        "serverFiles": {
            "recording_rules.yml": {"groups": istio["groups"] + slo["groups"]},
            "alerting_rules.yml": alerting_rules(objectives),
        },
        "alertmanager": {"enabled": False},
        "kube-state-metrics": {"enabled": False},
        "prometheus-node-exporter": {"enabled": False},
        "prometheus-pushgateway": {"enabled": False},
    }


def tempo_values(retention: str, sizing: Sizing) -> dict[str, Any]:
    """tempo chart values: a single Tempo with a volume, usage reporting off."""
    return {
        "tempo": {"retention": retention, "reportingEnabled": False, "resources": sizing.tempo},
        "persistence": {"enabled": True, "size": sizing.tempo_volume},
    }


def grafana_values(sizing: Sizing) -> dict[str, Any]:
    """grafana chart values: Prometheus and Tempo data sources, the dashboards ConfigMap as a file
    provider; the admin password stays the chart's generated Secret."""
    return {
        "resources": sizing.grafana,
        "datasources": {
            "datasources.yaml": {
                "apiVersion": 1,
                "datasources": [
                    {
                        "name": "Prometheus",
                        "uid": "prometheus",
                        "type": "prometheus",
                        "url": PROMETHEUS_URL,
                        "access": "proxy",
                        "isDefault": True,
                    },
                    {"name": "Tempo", "uid": "tempo", "type": "tempo", "url": TEMPO_QUERY_URL, "access": "proxy"},
                ],
            }
        },
        "dashboardProviders": {
            "dashboardproviders.yaml": {
                "apiVersion": 1,
                "providers": [
                    {
                        "name": DASHBOARD_PROVIDER,
                        "orgId": 1,
                        "folder": "meshgate",
                        "type": "file",
                        "disableDeletion": True,
                        "editable": False,
                        "options": {"path": f"/var/lib/grafana/dashboards/{DASHBOARD_PROVIDER}"},
                    }
                ],
            }
        },
        "dashboardsConfigMaps": {DASHBOARD_PROVIDER: DASHBOARDS_CONFIGMAP},
    }


def dashboard_files(objectives: Sequence[ApiObjective]) -> dict[str, str]:
    """Every dashboard Grafana gets: the shipped Istio files and the generated API SLO dashboard."""
    return {**shipped(), "api-slos.json": json.dumps(dashboard(objectives), indent=2, sort_keys=True) + "\n"}


@dataclass(frozen=True)
class ObservabilityHubArgs:
    """The hub cluster's mesh; the principals allowed to send telemetry (the agents); the API
    objectives; retention; pod sizes (`sizing`); Kiali's access (`kiali`) and a kubeconfig per remote cluster, by Istio
    cluster name (`remote_kubeconfigs`, see KialiRemoteAccess); what must exist first (`depends_on`:
    the telemetry namespace)."""

    mesh: MeshHandle
    agent_principals: Sequence[str]
    objectives: Sequence[ApiObjective]
    kiali: KialiAuth
    remote_kubeconfigs: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    prometheus_retention: str = "15d"
    trace_retention: str = "72h"
    sizing: Sizing = PRODUCTION
    depends_on: Sequence[pulumi.Resource] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: dict(MANAGED_LABELS))


class ObservabilityHub(pulumi.ComponentResource):
    """Prometheus, Tempo, Grafana, Kiali and the hub collector of one hub cluster."""

    collector: OtelCollector

    def __init__(self, name: str, args: ObservabilityHubArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:observability:ObservabilityHub", name, None, opts)
        mesh = args.mesh
        cluster = mesh.cluster
        namespace = k8s.core.v1.Namespace(
            f"{cluster.name}-{OBSERVABILITY_NAMESPACE}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=OBSERVABILITY_NAMESPACE, labels={**args.labels, "istio-injection": "disabled"}
            ),
            opts=cluster.opts(self),
        )
        self._network_policy(cluster, namespace, args.kiali.exposed)

        def release(chart_name: str, pin: Any, values: dict[str, Any], extra: Sequence[pulumi.Resource] = ()) -> None:
            chart_release(
                f"{cluster.name}-{chart_name}",
                pin=pin,
                release_name=chart_name,
                namespace=OBSERVABILITY_NAMESPACE,
                values=values,
                timeout_seconds=HELM_TIMEOUT_SECONDS,
                opts=cluster.opts(self, depends_on=[namespace, *extra]),
            )

        release(
            PROMETHEUS_RELEASE, PROMETHEUS, prometheus_values(args.prometheus_retention, args.objectives, args.sizing)
        )
        release(TEMPO_RELEASE, TEMPO, tempo_values(args.trace_retention, args.sizing))
        dashboards = k8s.core.v1.ConfigMap(
            f"{cluster.name}-{DASHBOARDS_CONFIGMAP}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=DASHBOARDS_CONFIGMAP, namespace=OBSERVABILITY_NAMESPACE, labels=dict(args.labels)
            ),
            data=dashboard_files(args.objectives),
            opts=cluster.opts(self, depends_on=[namespace]),
        )
        release(GRAFANA_RELEASE, GRAFANA, grafana_values(args.sizing), [dashboards])
        remote_secrets = [
            kiali_remote_secret(cluster, remote, kubeconfig, self, namespace)
            for remote, kubeconfig in sorted(args.remote_kubeconfigs.items())
        ]
        release(
            KIALI_RELEASE,
            KIALI_SERVER,
            kiali_values(
                args.kiali,
                prometheus_url=PROMETHEUS_URL,
                tempo_url=TEMPO_QUERY_URL,
                grafana_url=GRAFANA_URL,
                remote_clusters=sorted(args.remote_kubeconfigs),
                resources=args.sizing.kiali,
            ),
            remote_secrets,
        )
        self.collector = OtelCollector(
            f"{cluster.name}-{HUB_RELEASE}",
            OtelCollectorArgs(
                cluster=cluster,
                role="hub",
                config=hub_config(f"{PROMETHEUS_URL}/api/v1/write", TEMPO_OTLP),
                resources=args.sizing.hub_collector,
                depends_on=[*args.depends_on, *mesh.ready],
            ),
            pulumi.ResourceOptions(parent=self),
        )
        allow_from(
            f"{HUB_RELEASE}-from-agents",
            TELEMETRY_NAMESPACE,
            mesh=mesh,
            parent=self,
            principals=sorted(set(args.agent_principals)),
            selector={"app.kubernetes.io/instance": HUB_RELEASE},
            ports=[OTLP_GRPC_PORT],
            depends_on=list(args.depends_on),
        )
        self.register_outputs({"collector": self.collector.host, "namespace": OBSERVABILITY_NAMESPACE})

    def _network_policy(self, cluster: ClusterHandle, namespace: k8s.core.v1.Namespace, kiali_exposed: bool) -> None:
        """Backends accept connections only from the collectors' namespace and from each other
        (port-forwards enter through the pod's own network namespace and are not affected); an
        exposed Kiali also from anywhere on its port."""
        rules = [
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[
                    k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                            match_labels={"kubernetes.io/metadata.name": ns}
                        )
                    )
                    for ns in (TELEMETRY_NAMESPACE, OBSERVABILITY_NAMESPACE)
                ]
            )
        ]
        if kiali_exposed:
            rules.append(
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=KIALI_PORT, protocol="TCP")]
                )
            )
        k8s.networking.v1.NetworkPolicy(
            f"{cluster.name}-{OBSERVABILITY_NAMESPACE}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="backends-ingress", namespace=OBSERVABILITY_NAMESPACE, labels=dict(MANAGED_LABELS)
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress"], ingress=rules
            ),
            opts=cluster.opts(self, depends_on=[namespace]),
        )
