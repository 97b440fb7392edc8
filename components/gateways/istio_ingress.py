"""IstioIngress: an Istio ingress gateway in one cluster, with an Istio `Gateway` and a `VirtualService` per API.

Scenario 1's in-cluster half: the external API gateway sends every request here over HTTPS to
the configured hostname (verifying its certificate), and the VirtualServices route it to the
backends over mTLS, through the east-west gateway when the backend runs in another cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.gateways.catalogue import Route
from components.gateways.objects import load_balancer_address, load_balancer_annotations
from components.mesh.gateway import INGRESS_PORTS, IstioGateway, IstioGatewayArgs
from components.mesh.handle import MeshHandle
from components.policies.base import NETWORKING_API, istio_resource

RELEASE_NAME = "istio-ingressgateway"
STATUS_PORT = 15021
NODE_PORTS: dict[int, int] = {STATUS_PORT: 30021, 80: 30080, 443: 30443}
"""Ingress Service port -> fixed NodePort (default 30000-32767 range), for a load balancer Pulumi owns."""
NAMESPACE = "istio-ingress"
"""Scenario 1's ingress namespace: its own, so no object in it is shared with another scenario's
gateway namespace (`meshgate:gateway.namespace`, scenarios 2-4)."""
GATEWAY_NAME = "meshgate-ingress"


def node_port_values(node_ports: dict[int, int]) -> dict[str, Any]:
    """Chart values pinning the ingress Service's NodePorts (service port -> node port)."""
    return {"service": {"ports": [{**p, "nodePort": node_ports[p["port"]]} for p in INGRESS_PORTS]}}


def gateway_spec(selector: dict[str, str], hostname: str, tls_secret: str) -> dict[str, Any]:
    """The Istio `Gateway`: HTTPS on 443 only, for `hostname`, with the user's trusted certificate Secret.

    No plain-HTTP server: the external gateway always calls over TLS, so credentials never
    reach the ingress in clear.
    """
    return {
        "selector": dict(selector),
        "servers": [
            {
                "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                "hosts": [hostname],
                "tls": {"mode": "SIMPLE", "credentialName": tls_secret},
            },
        ],
    }


def virtual_service_spec(route: Route, hostname: str) -> dict[str, Any]:
    """Route `<path>` and `<path>/...` to the backend, stripping the prefix (`/orders/x` -> `/x`).

    The destination is the backend's cluster-local name; with a multi-cluster mesh istiod knows
    the endpoints of every cluster, so a backend in another cluster is reached through its
    network's east-west gateway (the gateway resolves no DNS, so no local Service is needed).
    """
    prefix = route.path.rstrip("/")
    return {
        "hosts": [hostname],
        "gateways": [GATEWAY_NAME],
        "http": [
            {
                "name": route.name,
                "match": [{"uri": {"prefix": f"{prefix}/"}}, {"uri": {"exact": prefix}}],
                "rewrite": {"uri": "/"},
                "route": [{"destination": {"host": route.host, "port": {"number": route.port}}}],
            }
        ],
    }


@dataclass(frozen=True)
class IstioIngressArgs:
    """The cluster's mesh, the ingress namespace, the routes it serves, its hostname and certificate
    Secret, and how its Service is exposed.

    `node_ports` (service port -> node port) turns the Service into a NodePort for a load
    balancer the program owns (AWS VPC link); otherwise it is a cloud LoadBalancer.
    """

    mesh: MeshHandle
    namespace: str
    routes: list[Route]
    replicas: int
    hostname: str
    tls_secret: str
    node_ports: dict[int, int] = field(default_factory=dict)


class IstioIngress(pulumi.ComponentResource):
    """Istio ingress gateway (chart `gateway`, ports 80/443 + 15021 status) and its routes."""

    gateway: IstioGateway
    address: pulumi.Output[str]

    def __init__(self, name: str, args: IstioIngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:IstioIngress", name, None, opts)
        mesh = args.mesh
        cluster = mesh.cluster
        self.gateway = IstioGateway(
            f"{name}-gateway",
            IstioGatewayArgs(
                mesh=mesh,
                namespace=args.namespace,
                release_name=RELEASE_NAME,
                kind="ingress",
                service_type="NodePort" if args.node_ports else "LoadBalancer",
                service_annotations={} if args.node_ports else load_balancer_annotations(cluster),
                extra_values=node_port_values(args.node_ports) if args.node_ports else {},
                replicas=args.replicas,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        gateway = istio_resource(
            NETWORKING_API,
            "Gateway",
            GATEWAY_NAME,
            args.namespace,
            gateway_spec(self.gateway.selector_labels, args.hostname, args.tls_secret),
            mesh=mesh,
            parent=self,
            depends_on=[self.gateway],
        )
        for route in args.routes:
            istio_resource(
                NETWORKING_API,
                "VirtualService",
                route.name,
                args.namespace,
                virtual_service_spec(route, args.hostname),
                mesh=mesh,
                parent=self,
                depends_on=[gateway],
            )
        self.address = (
            pulumi.Output.from_input("")
            if args.node_ports
            else load_balancer_address(
                f"{name}-service",
                args.namespace,
                self.gateway.service_name,
                cluster=cluster,
                parent=self,
                after=self.gateway.release.status,
            )
        )
        self.register_outputs({"namespace": args.namespace, "address": self.address})
