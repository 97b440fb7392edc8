"""TelemetryAgent: the cluster-local half of the pipeline, in every cluster.

Namespace `meshgate-telemetry` (sidecar-injected, default-deny; the agent admits any mTLS peer of
the mesh on OTLP 4317, the hub collector only the agents), the agent collector the proxies send
spans and access logs to, a Telemetry that keeps the collectors' own requests out of tracing and access
logging (each span export would otherwise be traced and exported again), and — in a cluster
whose hub is elsewhere — a selector-less stub of the hub collector's Service, so the name
resolves here and the sidecar carries the export to the hub's endpoints through the east-west
gateway over mTLS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.istio_security.authorization import allow_from, allow_nothing
from components.istio_security.istio_resource import MANAGED_LABELS, TELEMETRY_API, istio_resource
from components.mesh.handle import MeshHandle
from components.observability.charts import PRODUCTION, Resources
from components.observability.collector import (
    AGENT_RELEASE,
    HUB_RELEASE,
    ISTIOD_MONITORING_PORT,
    MERGED_METRICS_PORT,
    OTLP_GRPC_PORT,
    TELEMETRY_NAMESPACE,
    OtelCollector,
    OtelCollectorArgs,
    agent_config,
    service_host,
)

SCRAPE_EXCLUSIONS = {"traffic.sidecar.istio.io/excludeOutboundPorts": f"{MERGED_METRICS_PORT},{ISTIOD_MONITORING_PORT}"}
"""The agent scrapes 15020 and 15014 in plaintext, as Prometheus does: its sidecar must not wrap
those connections in mTLS (15020 is served by pilot-agent, outside the peer's inbound capture)."""

HUB_PORT_NAME = "otlp"
"""The hub Service's port name as the chart renders it; the stub must match it for Istio to merge them."""


def agent_principal(mesh: MeshHandle) -> str:
    """The agents' mTLS identity (the chart's ServiceAccount is named after the release)."""
    return mesh.principal(TELEMETRY_NAMESPACE, AGENT_RELEASE)


@dataclass(frozen=True)
class TelemetryAgentArgs:
    """The cluster (`mesh`), the hub collector's FQDN, whether that hub runs in another cluster
    (`hub_is_remote`: register the stub Service), the agent's requests and limits."""

    mesh: MeshHandle
    hub_host: str = service_host(HUB_RELEASE)
    hub_is_remote: bool = False
    resources: Resources = field(default_factory=lambda: PRODUCTION.agent)


class TelemetryAgent(pulumi.ComponentResource):
    """Namespace, agent collector, loop guard and (remote hub) stub Service of one cluster."""

    namespace: k8s.core.v1.Namespace
    collector: OtelCollector

    def __init__(self, name: str, args: TelemetryAgentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:observability:TelemetryAgent", name, None, opts)
        mesh = args.mesh
        cluster = mesh.cluster
        self.namespace = k8s.core.v1.Namespace(
            f"{cluster.name}-{TELEMETRY_NAMESPACE}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=TELEMETRY_NAMESPACE,
                labels={**MANAGED_LABELS, **mesh.injection_labels_for(TELEMETRY_NAMESPACE)},
            ),
            opts=cluster.opts(self),
        )
        istio_resource(
            TELEMETRY_API,
            "Telemetry",
            "no-telemetry-loop",
            TELEMETRY_NAMESPACE,
            {"tracing": [{"disableSpanReporting": True}], "accessLogging": [{"disabled": True}]},
            mesh=mesh,
            parent=self,
            depends_on=[self.namespace],
        )
        # Default-deny in the namespace; the agent takes OTLP from any workload of the mesh (mTLS).
        allow_nothing(TELEMETRY_NAMESPACE, mesh=mesh, parent=self, depends_on=[self.namespace])
        allow_from(
            f"{AGENT_RELEASE}-from-mesh",
            TELEMETRY_NAMESPACE,
            mesh=mesh,
            parent=self,
            principals=["*"],
            selector={"app.kubernetes.io/instance": AGENT_RELEASE},
            ports=[OTLP_GRPC_PORT],
            depends_on=[self.namespace],
        )
        ready: list[pulumi.Resource] = [self.namespace, *mesh.ready]
        if args.hub_is_remote:
            ready.append(
                k8s.core.v1.Service(
                    f"{cluster.name}-{HUB_RELEASE}-stub",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=HUB_RELEASE, namespace=TELEMETRY_NAMESPACE, labels=dict(MANAGED_LABELS)
                    ),
                    spec=k8s.core.v1.ServiceSpecArgs(
                        type="ClusterIP",
                        ports=[
                            k8s.core.v1.ServicePortArgs(
                                name=HUB_PORT_NAME,
                                port=OTLP_GRPC_PORT,
                                target_port=OTLP_GRPC_PORT,
                                protocol="TCP",
                                app_protocol="grpc",
                            )
                        ],
                    ),
                    opts=cluster.opts(self, depends_on=[self.namespace]),
                )
            )
        self.collector = OtelCollector(
            f"{cluster.name}-{AGENT_RELEASE}",
            OtelCollectorArgs(
                cluster=cluster,
                role="agent",
                config=agent_config(cluster.name, f"{args.hub_host}:{OTLP_GRPC_PORT}"),
                resources=args.resources,
                scrapes=True,
                pod_annotations=SCRAPE_EXCLUSIONS,
                depends_on=ready,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"collector": self.collector.host, "hub": args.hub_host})
