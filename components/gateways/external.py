"""Scenario 1, `external-gateway`: a cloud API gateway in front of an Istio ingress gateway per cluster.

client -> AWS HTTP API / GCP API Gateway -> Istio ingress (80/443 only) of the API's cluster
-> backend over STRICT mTLS. The hop into the cluster is not in the mesh (the article's con).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.gateways.catalogue import Route, clusters_hosting
from components.gateways.edge import BACKENDS, Edge, Hop, same_url_for_all
from components.gateways.istio_ingress import NAMESPACE, NODE_PORTS, IstioIngress, IstioIngressArgs
from components.mesh.handle import MeshHandle
from stacks.config import ExternalGatewaySpec, GatewaySpec


EXTERNAL_GATEWAY_NAMES = {"aws-http-api": "AWS API Gateway (HTTP API)", "gcp-api-gateway": "GCP API Gateway"}


def ingress_name(cluster: str) -> str:
    """The hop-list name of a cluster's Istio ingress gateway."""
    return f"Istio ingress ({cluster})"


def hops(kind: str, private_cluster: str | None, clusters: list[str]) -> list[Hop]:
    gateway = EXTERNAL_GATEWAY_NAMES[kind]
    found = [Hop("client", gateway, mtls=False, tls=True, note="HTTPS with the cloud's managed certificate")]
    for cluster in clusters:
        ingress = ingress_name(cluster)
        if cluster == private_cluster:
            found.append(
                Hop(
                    gateway,
                    ingress,
                    mtls=False,
                    tls=False,
                    note=f"VPC link -> internal NLB :80 -> ingress NodePort {NODE_PORTS[80]}; private to the VPC "
                    "but outside the mesh",
                )
            )
        else:
            found.append(
                Hop(
                    gateway,
                    ingress,
                    mtls=False,
                    tls=True,
                    note="HTTPS over the internet to the public ingress LoadBalancer, outside the mesh "
                    "(the gateway verifies the certificate: replace the self-signed one with a trusted one)",
                )
            )
    for cluster in clusters:
        found.append(Hop(ingress_name(cluster), BACKENDS, mtls=True, tls=True, note="inside the mesh: STRICT mTLS"))
    return found


@dataclass(frozen=True)
class ExternalGatewayArgs:
    """Routes, meshes, the gateway settings, the external gateway, and (aws-http-api) the EKS component of the VPC link."""

    name: str
    routes: list[Route]
    meshes: dict[str, MeshHandle]
    gateway: GatewaySpec
    external: ExternalGatewaySpec
    vpc_link_cluster: str | None = None
    vpc_link_eks: Any = None  # components.clusters.eks.EksCluster of vpc_link_cluster


class ExternalGateway(pulumi.ComponentResource):
    """Istio ingress per cluster hosting an API + the external API gateway of `meshgate:externalGateway`.

    Cloud resources use the provider passed in `opts.providers` (aws or gcp).
    """

    edge: Edge

    def __init__(self, name: str, args: ExternalGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:ExternalGateway", name, None, opts)
        hosting = clusters_hosting(args.routes)
        private = args.vpc_link_cluster if args.external.kind == "aws-http-api" else None
        ingresses = {
            cluster: IstioIngress(
                f"{cluster}-ingress",
                IstioIngressArgs(
                    mesh=args.meshes[cluster],
                    namespace=NAMESPACE,
                    routes=[r for r in args.routes if r.cluster == cluster],
                    replicas=args.gateway.replicas,
                    node_ports=dict(NODE_PORTS) if cluster == private else {},
                ),
                pulumi.ResourceOptions(parent=self),
            )
            for cluster in hosting
        }
        public = {cluster: ingress.address for cluster, ingress in ingresses.items() if cluster != private}
        if args.external.kind == "aws-http-api":
            endpoint = self._aws(args, private, public)
        else:
            endpoint = self._gcp(args, public)
        endpoints: dict[str, pulumi.Output[str]] = {args.external.kind: endpoint}
        for cluster, address in public.items():
            endpoints[f"ingress-{cluster}"] = address.apply(lambda a: f"https://{a}" if a else "")
        self.edge = Edge(
            endpoints=endpoints,
            route_urls=same_url_for_all(args.routes, endpoint),
            hops=hops(args.external.kind, private, hosting),
        )
        self.register_outputs({"endpoint": endpoint})

    def _aws(
        self,
        args: ExternalGatewayArgs,
        private: str | None,
        public: dict[str, pulumi.Output[str]],
    ) -> pulumi.Output[str]:
        from components.gateways.aws_http_api import AwsHttpApi, AwsHttpApiArgs
        from components.gateways.aws_ingress_nlb import IngressNlb, IngressNlbArgs

        assert private is not None and args.vpc_link_eks is not None
        eks = args.vpc_link_eks
        nlb = IngressNlb(
            f"{private}-ingress-nlb",
            IngressNlbArgs(
                cluster=private,
                vpc_id=eks.vpc_id,
                vpc_cidr=eks.vpc_cidr,
                private_subnet_ids=eks.private_subnet_ids,
                node_security_group_id=eks.node_security_group_id,
                autoscaling_group_names=eks.autoscaling_group_names,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        api = AwsHttpApi(
            args.name,
            AwsHttpApiArgs(
                routes=args.routes,
                vpc_link_cluster=private,
                vpc_id=eks.vpc_id,
                vpc_cidr=eks.vpc_cidr,
                private_subnet_ids=eks.private_subnet_ids,
                listener_arn=nlb.listeners[80].arn,
                public_addresses=public,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        return api.endpoint

    def _gcp(self, args: ExternalGatewayArgs, public: dict[str, pulumi.Output[str]]) -> pulumi.Output[str]:
        from components.gateways.gcp_api_gateway import GcpApiGateway, GcpApiGatewayArgs

        assert args.external.project is not None
        gateway = GcpApiGateway(
            args.name,
            GcpApiGatewayArgs(
                routes=args.routes, addresses=public, project=args.external.project, region=args.external.region
            ),
            pulumi.ResourceOptions(parent=self),
        )
        return gateway.endpoint
