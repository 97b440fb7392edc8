"""Scenario 3, `in-cluster-gateway-mesh`: Kong with an Istio sidecar, mTLS to every backend.

client -> Kong (LoadBalancer 80/443; inbound bypasses the sidecar) -> Kong's sidecar
-> [east-west gateway ->] backend sidecar (STRICT mTLS, ALLOW only Kong's identity).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.gateways.kong.gateway import KONG, KongGateway, KongGatewayArgs
from components.gateways.kong.routes import KONG_ROUTES, KongRoutes, KongRoutesArgs, local_namespaces
from components.gateways.shared.backend_policies import BACKEND_POLICIES, BackendPolicies, BackendPoliciesArgs
from components.gateways.shared.in_cluster_gateway_args import InClusterEdgeArgs
from components.gateways.shared.scenario_outputs import Edge, https_url, same_url_for_all

SERVICE_UPSTREAM = "ingress.kubernetes.io/service-upstream"


class InClusterMeshGateway(pulumi.ComponentResource):
    """Kong in the mesh: injected namespace, Service-VIP upstreams, default-deny + ALLOW from Kong.

    The upstream Services are annotated `ingress.kubernetes.io/service-upstream: "true"` with a
    server-side-apply `ServicePatch` (a gateway-layer resource; the Service itself, a workload,
    keeps its URN and inputs when the scenario changes), so Kong sends to the Service VIP and
    its sidecar routes (and mTLS-wraps) the request, also to backends in other clusters.
    """

    edge: Edge

    def __init__(self, name: str, args: InClusterEdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:InClusterMeshGateway", name, None, opts)
        mesh = args.meshes[args.cluster]
        cluster = mesh.cluster
        kong = KongGateway(KONG, KongGatewayArgs.for_edge(args, in_mesh=True), pulumi.ResourceOptions(parent=self))
        patches: dict[tuple[str, str], pulumi.Resource] = {}
        for namespace, service in dict.fromkeys((r.namespace, r.service) for r in args.routes):
            owner = args.services.get((namespace, service))
            patches[(namespace, service)] = k8s.core.v1.ServicePatch(
                f"{cluster.name}-{namespace}-{service}-service-upstream",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                    name=service, namespace=namespace, annotations={SERVICE_UPSTREAM: "true"}
                ),
                opts=cluster.opts(self, [owner if owner is not None else args.namespaces[(args.cluster, namespace)]]),
            )
        KongRoutes(
            KONG_ROUTES,
            KongRoutesArgs(
                routes=args.routes,
                cluster=cluster,
                namespaces=local_namespaces(args.namespaces, args.cluster),
                release=kong.release,
                preserve_host=False,
                backend_after=patches,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        BackendPolicies(
            BACKEND_POLICIES,
            BackendPoliciesArgs(
                routes=args.routes,
                meshes=args.meshes,
                namespaces=args.namespaces,
                gateway_principal=kong.principal,
                jwt_at_backend=True,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        url = https_url(kong.address)
        self.edge = Edge(endpoints={"kong": url}, route_urls=same_url_for_all(args.routes, url), insecure_tls=True)
        self.register_outputs({"endpoint": url, "principal": kong.principal})
