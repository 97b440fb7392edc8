"""Scenario 1, `external-gateway`: a cloud API gateway in front of Istio ingress gateways.

client -> AWS HTTP API / GCP API Gateway -> Istio ingress (HTTPS, a hostname with a trusted
certificate) -> backend over STRICT mTLS. With a multi-cluster mesh every API enters at the edge
cluster's ingress and the mesh carries it to other clusters through their east-west gateway;
without one, each API enters at its own cluster's ingress. The hop into the cluster is not in
the mesh (the article's con). Behind the ingress each backend admits only the ingress's mTLS
identity (`allow-nothing` per app namespace + `<backend>-from-gateway`), and on AWS, where the
ingress forwards the client's token, for `auth: jwt` APIs only with a valid token of the issuer:
a workload in the mesh cannot call a backend around the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pulumi

from components.gateways.external.istio_ingress import (
    GOOGLE_ISSUER,
    NAMESPACE,
    NODE_PORTS,
    RELEASE_NAME,
    GatewayProof,
    IstioIngress,
    IstioIngressArgs,
)
from components.gateways.shared.backend_policies import (
    BACKEND_POLICIES,
    BackendPolicies,
    BackendPoliciesArgs,
    Namespaces,
)
from components.gateways.shared.catalogue import Route
from components.gateways.shared.scenario_outputs import Edge, same_url_for_all
from components.mesh.handle import MeshHandle

if TYPE_CHECKING:  # pulumi_aws is imported only when an AWS gateway is built
    from components.clusters.eks import EksCluster


@dataclass(frozen=True)
class CloudApiGateway:
    """Which cloud API gateway fronts the ingresses."""

    kind: Literal["aws-http-api", "gcp-api-gateway"]
    """Amazon API Gateway (HTTP API) or Google Cloud API Gateway."""
    region: str
    """Region of the API gateway."""
    project: str | None = None
    """GCP project id (gcp-api-gateway only)."""


@dataclass(frozen=True)
class IngressEndpoint:
    """The HTTPS name an entry cluster's Istio ingress answers on."""

    hostname: str
    """Hostname the cloud gateway calls and verifies the certificate against."""
    tls_secret: str
    """kubernetes.io/tls Secret (namespace istio-ingress) with a publicly trusted certificate for it."""


@dataclass(frozen=True)
class ExternalGatewayArgs:
    """Routes, meshes, the gateway settings, the external gateway, the ingress each route enters
    (`entry`: route name -> cluster) with each entry cluster's hostname and certificate
    (`ingresses`), the app namespaces policies wait for, and (aws-http-api) the EKS component of
    the VPC link."""

    name: str
    """Prefix of the cloud resources' names."""
    routes: list[Route]
    """The API catalogue."""
    meshes: dict[str, MeshHandle]
    """Every cluster's mesh, by cluster name."""
    external: CloudApiGateway
    """The cloud API gateway."""
    entry: dict[str, str]
    """Route name -> the cluster whose ingress it enters at."""
    ingresses: dict[str, IngressEndpoint]
    """Entry cluster -> its ingress hostname and certificate."""
    namespaces: Namespaces = field(default_factory=dict)
    """(cluster, namespace) -> the app Namespace object of every cluster."""
    ingress_replicas: int = 2
    """Pods of each Istio ingress gateway."""
    vpc_link_cluster: str | None = None
    """aws-http-api only: the cluster whose VPC hosts the VPC link."""
    vpc_link_eks: EksCluster | None = None
    """aws-http-api only: the EKS component of `vpc_link_cluster` (VPC, subnets, node group)."""


class ExternalGateway(pulumi.ComponentResource):
    """Istio ingress per cluster hosting an API + the external API gateway of `meshgate:externalGateway`.

    Cloud resources use the provider passed in `opts.providers` (aws or gcp).
    """

    edge: Edge

    def __init__(self, name: str, args: ExternalGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:ExternalGateway", name, None, opts)
        entries = list(dict.fromkeys(args.entry[r.name] for r in args.routes))
        private = args.vpc_link_cluster
        # The gateway's proof of origin, created before the ingress policies that check it.
        child = pulumi.ResourceOptions(parent=self)
        secret: pulumi.Output[str] | None = None
        account: Any = None
        if args.external.kind == "aws-http-api":
            import pulumi_random as random

            # Alphanumeric: Istio reads `*` at either end of a header value as a wildcard.
            password = random.RandomPassword(f"{args.name}-gateway-secret", length=48, special=False, opts=child)
            secret = pulumi.Output.secret(password.result)
            proof = GatewayProof(header_secret=secret)
        else:
            import pulumi_gcp as gcp

            account = gcp.serviceaccount.Account(
                f"{args.name}-backend",
                account_id=f"{args.name[:22].rstrip('-')}-backend",
                project=args.external.project,
                display_name="meshgate: API Gateway's identity towards the Istio ingress",
                opts=child,
            )
            proof = GatewayProof(google_principal=account.unique_id.apply(lambda i: f"{GOOGLE_ISSUER}/{i}"))
        ingresses = {
            cluster: IstioIngress(
                f"{cluster}-ingress",
                IstioIngressArgs(
                    mesh=args.meshes[cluster],
                    namespace=NAMESPACE,
                    routes=[r for r in args.routes if args.entry[r.name] == cluster],
                    replicas=args.ingress_replicas,
                    hostname=args.ingresses[cluster].hostname,
                    tls_secret=args.ingresses[cluster].tls_secret,
                    proof=proof,
                    node_ports=dict(NODE_PORTS) if cluster == private else {},
                ),
                pulumi.ResourceOptions(parent=self),
            )
            for cluster in entries
        }
        self._backends_only_from_ingress(args, entries)
        hostnames = {route.name: args.ingresses[args.entry[route.name]].hostname for route in args.routes}
        if secret is not None:
            endpoint = self._aws(args, private, hostnames, secret)
        else:
            endpoint = self._gcp(args, hostnames, account.email)
        endpoints: dict[str, pulumi.Output[str]] = {args.external.kind: endpoint}
        for cluster, ingress in ingresses.items():
            if cluster != private:  # the DNS target of the hostname
                endpoints[f"ingress-{cluster}"] = ingress.address
        self.edge = Edge(
            endpoints=endpoints,
            route_urls=same_url_for_all(args.routes, endpoint),
        )
        self.register_outputs({"endpoint": endpoint})

    def _backends_only_from_ingress(self, args: ExternalGatewayArgs, entries: list[str]) -> None:
        """Each backend admits only the ingress's mTLS identity (the gateway chart's service account
        is its release name). The ingress forwards the client's token on AWS only (GCP's gateway
        replaces `Authorization` with its own token, which the ingress consumes), so there a
        backend of an `auth: jwt` API also requires a valid token of the API's issuer."""
        # one trust domain per stack: every entry ingress has the same principal
        principal = args.meshes[entries[0]].principal(NAMESPACE, RELEASE_NAME)
        BackendPolicies(
            BACKEND_POLICIES,
            BackendPoliciesArgs(
                routes=args.routes,
                meshes=args.meshes,
                namespaces=args.namespaces,
                gateway_principal=principal,
                jwt_at_backend=args.external.kind == "aws-http-api",
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _aws(
        self,
        args: ExternalGatewayArgs,
        private: str | None,
        hostnames: dict[str, str],
        secret: pulumi.Output[str],
    ) -> pulumi.Output[str]:
        from components.gateways.external.aws_http_api import AwsHttpApi, AwsHttpApiArgs
        from components.gateways.external.aws_ingress_nlb import TLS_PORT, IngressNlb, IngressNlbArgs

        assert private is not None and args.vpc_link_eks is not None
        eks = args.vpc_link_eks
        nlb = IngressNlb(
            f"{private}-ingress-nlb",
            IngressNlbArgs(
                cluster=private,
                vpc_id=eks.vpc_id,
                private_subnet_ids=eks.private_subnet_ids,
                private_subnet_cidrs=eks.private_subnet_cidrs,
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
                entry=dict(args.entry),
                hostnames=hostnames,
                vpc_id=eks.vpc_id,
                private_subnet_ids=eks.private_subnet_ids,
                private_subnet_cidrs=eks.private_subnet_cidrs,
                listener_arn=nlb.listeners[TLS_PORT].arn,
                logs_kms_key_arn=eks.logs_key_arn,
                gateway_secret=secret,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        return api.endpoint

    def _gcp(
        self, args: ExternalGatewayArgs, hostnames: dict[str, str], account: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        from components.gateways.external.gcp_api_gateway import GcpApiGateway, GcpApiGatewayArgs

        assert args.external.project is not None
        gateway = GcpApiGateway(
            args.name,
            GcpApiGatewayArgs(
                routes=args.routes,
                hostnames=hostnames,
                project=args.external.project,
                region=args.external.region,
                backend_service_account=account,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        return gateway.endpoint
