"""Scenario 2, `in-cluster-gateway`: Kong inside the gateway cluster, outside the mesh, no Istio ingress.

client -> Kong (LoadBalancer 80/443) -> backend pod (plaintext on the backend port). The backend
port admits plaintext, so a NetworkPolicy per backend admits it only from Kong's gateway pods:
no other pod, with or without a sidecar, can call a backend around Kong's keys and limits.
"""

from __future__ import annotations

import pulumi

from components.gateways.kong.gateway import KONG, KongGateway, KongGatewayArgs
from components.gateways.kong.routes import KONG_ROUTES, KongRoutes, KongRoutesArgs, local_namespaces
from components.gateways.shared.backend_policies import (
    BACKEND_POLICIES,
    BackendPolicies,
    BackendPoliciesArgs,
    GatewayPods,
)
from components.gateways.shared.in_cluster_gateway_args import InClusterEdgeArgs
from components.gateways.shared.scenario_outputs import Edge, https_url, same_url_for_all


class InClusterGateway(pulumi.ComponentResource):
    """Kong with sidecar injection disabled, its Ingress routes and plugins, and the backend exceptions:
    PERMISSIVE on exactly the backend ports, admitted only from Kong's pods (NetworkPolicy), JWT
    validated by the backend sidecar for `auth: jwt`."""

    edge: Edge

    def __init__(self, name: str, args: InClusterEdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:InClusterGateway", name, None, opts)
        mesh = args.meshes[args.cluster]
        kong = KongGateway(KONG, KongGatewayArgs.for_edge(args, in_mesh=False), pulumi.ResourceOptions(parent=self))
        KongRoutes(
            KONG_ROUTES,
            KongRoutesArgs(
                routes=args.routes,
                cluster=mesh.cluster,
                namespaces=local_namespaces(args.namespaces, args.cluster),
                release=kong.release,
                preserve_host=True,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        BackendPolicies(
            BACKEND_POLICIES,
            BackendPoliciesArgs(
                routes=args.routes,
                meshes=args.meshes,
                namespaces=args.namespaces,
                plaintext_gateway=True,
                gateway_pods=GatewayPods(kong.namespace, kong.pod_labels),
                jwt_at_backend=True,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        url = https_url(kong.address)
        self.edge = Edge(endpoints={"kong": url}, route_urls=same_url_for_all(args.routes, url), insecure_tls=True)
        self.register_outputs(
            {"endpoint": url, "principal": kong.principal, "namespace": kong.namespace, "podLabels": kong.pod_labels}
        )
