"""IstioGateway: the official `gateway` chart (ingress or east-west) in its own namespace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from components.mesh.handle import MeshHandle
from components.mesh.helm import deep_merge, istio_release

GATEWAY_TIMEOUT_SECONDS = 600
"""Helm wait for a gateway: pods ready and, for LoadBalancer Services, an address assigned."""

NETWORK_LABEL = "topology.istio.io/network"

INGRESS_PORTS: list[dict[str, Any]] = [
    {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
    {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80},
    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
]
"""Ingress exposes only HTTP and HTTPS, plus the status port load balancers health-check."""

EASTWEST_PORTS: list[dict[str, Any]] = [
    {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
    {"name": "tls", "port": 15443, "protocol": "TCP", "targetPort": 15443},
]
"""What a multi-primary east-west gateway serves: mTLS passthrough between networks (15443) and
the status port load balancers health-check. The chart's `networkGateway` value would also open
istiod's xDS/CA (15012) and webhook (15017) ports, which only primary-remote topologies use, and
it replaces `service.ports`; so meshgate sets what `networkGateway` sets (the network label and
`ISTIO_META_REQUESTED_NETWORK_VIEW`) itself and lists the ports."""

REQUESTED_NETWORK_VIEW = "ISTIO_META_REQUESTED_NETWORK_VIEW"


@dataclass(frozen=True)
class IstioGatewayArgs:
    """Inputs of an IstioGateway.

    `release_name` fixes the chart's selector labels: `app: <release_name>` and
    `istio: <release_name without "istio-">` (istio-ingressgateway -> ingressgateway).
    `extra_values` is deep-merged last into the chart values. `source_ranges` become the
    Service's `loadBalancerSourceRanges` (empty: the load balancer admits every source).
    """

    mesh: MeshHandle
    namespace: str
    release_name: str
    kind: Literal["ingress", "eastwest"]
    service_type: str = "LoadBalancer"
    service_annotations: dict[str, str] = field(default_factory=dict)
    extra_values: dict[str, Any] = field(default_factory=dict)
    replicas: int = 2
    source_ranges: Sequence[pulumi.Input[str]] = ()


def selector_labels(release_name: str) -> dict[str, str]:
    """The pod labels the gateway chart sets, used by Istio `Gateway` selectors."""
    return {"app": release_name, "istio": release_name.removeprefix("istio-")}


def gateway_values(args: IstioGatewayArgs) -> dict[str, Any]:
    """Chart values for `args` (before `extra_values`)."""
    mesh = args.mesh
    service: dict[str, Any] = {"type": args.service_type, "annotations": dict(args.service_annotations)}
    if args.source_ranges:
        service["loadBalancerSourceRanges"] = list(args.source_ranges)
    values: dict[str, Any] = {
        "replicaCount": args.replicas,
        "autoscaling": {"enabled": True, "minReplicas": args.replicas, "maxReplicas": max(args.replicas * 2, 2)},
        "service": service,
    }
    if args.replicas > 1:
        values["podDisruptionBudget"] = {"minAvailable": 1}
    if mesh.revision:
        values["revision"] = mesh.revision
    if args.kind == "ingress":
        service["ports"] = [dict(p) for p in INGRESS_PORTS]
    else:
        service["ports"] = [dict(p) for p in EASTWEST_PORTS]
        values["labels"] = {NETWORK_LABEL: mesh.network}
        values["env"] = {REQUESTED_NETWORK_VIEW: mesh.network}
    return values


class IstioGateway(pulumi.ComponentResource):
    """An Istio ingress or east-west gateway of one cluster.

    Creates its namespace (labelled for injection: the chart's pods use the `gateway`
    injection template) and the `gateway` chart release, after istiod is ready — otherwise
    the pods keep `image: auto` (istio#35789).

    `address` is the in-cluster DNS name of the gateway Service, resolved once the release is
    installed. The external load-balancer address is assigned by the cloud controller and is
    not known to the program; read it with `kubectl -n <namespace> get svc <service_name>`.
    """

    namespace: str
    release: k8s.helm.v3.Release
    service_name: str
    selector_labels: dict[str, str]
    address: pulumi.Output[str]

    def __init__(self, name: str, args: IstioGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:mesh:IstioGateway", name, None, opts)
        mesh = args.mesh
        cluster = mesh.cluster
        labels = {**mesh.injection_labels, "app.kubernetes.io/part-of": "meshgate"}
        if args.kind == "eastwest":
            labels[NETWORK_LABEL] = mesh.network
        ns = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels=labels),
            opts=cluster.opts(self),
        )
        self.namespace = args.namespace
        self.service_name = args.release_name
        self.selector_labels = selector_labels(args.release_name)
        self.release = istio_release(
            name,
            mesh=mesh,
            chart="gateway",
            release_name=args.release_name,
            namespace=args.namespace,
            values=deep_merge(gateway_values(args), args.extra_values),
            timeout_seconds=GATEWAY_TIMEOUT_SECONDS,
            opts=cluster.opts(self, depends_on=[ns, *mesh.ready]),
        )
        fqdn = f"{self.service_name}.{args.namespace}.svc"
        self.address = self.release.status.apply(lambda _installed: fqdn)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "serviceName": self.service_name,
                "selectorLabels": self.selector_labels,
                "address": self.address,
            }
        )
