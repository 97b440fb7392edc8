"""IstioIngress: an Istio ingress gateway in one cluster, with an Istio `Gateway` and a `VirtualService` per API.

Scenario 1's in-cluster half: the external API gateway sends every request here over HTTPS to
the configured hostname (verifying its certificate), and the VirtualServices route it to the
backends over mTLS, through the east-west gateway when the backend runs in another cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.gateways.shared.catalogue import Route
from components.gateways.shared.k8s_objects import load_balancer_address, load_balancer_annotations
from components.istio_security.authorization import allow_nothing
from components.istio_security.istio_resource import NETWORKING_API, SECURITY_API, istio_resource
from components.istio_security.request_authentication import request_authentication
from components.mesh.gateway import INGRESS_PORTS, IstioGateway, IstioGatewayArgs
from components.mesh.handle import MeshHandle

RELEASE_NAME = "istio-ingressgateway"
STATUS_PORT = 15021
NODE_PORTS: dict[int, int] = {STATUS_PORT: 30021, 80: 30080, 443: 30443}
"""Ingress Service port -> fixed NodePort (default 30000-32767 range), for a load balancer Pulumi owns."""
NAMESPACE = "istio-ingress"
"""Scenario 1's ingress namespace: its own, so no object in it is shared with another scenario's
gateway namespace (`meshgate:gateway.namespace`, scenarios 2-4)."""
GATEWAY_NAME = "meshgate-ingress"
GATEWAY_HEADER = "x-meshgate-gateway-auth"
"""Header the AWS HTTP API overwrites with the stack's gateway secret on every request."""
GOOGLE_ISSUER = "https://accounts.google.com"
GOOGLE_JWKS_URI = "https://www.googleapis.com/oauth2/v3/certs"
ONLY_FROM_GATEWAY = "external-gateway-only"


@dataclass(frozen=True)
class GatewayProof:
    """What proves at the ingress that a request came through the external gateway.

    `header_secret` (AWS HTTP API): the integrations overwrite header `GATEWAY_HEADER` with this
    value; a client cannot set it. `google_principal` (GCP API Gateway): the gateway signs every
    backend request with a Google ID token of its backend service account (issuer
    accounts.google.com, audience `https://<ingress hostname>`); its request principal is
    `https://accounts.google.com/<service account unique id>`.
    """

    header_secret: pulumi.Output[str] | None = None
    google_principal: pulumi.Output[str] | None = None


def authorization_spec(routes: list[Route], proof: GatewayProof, selector: dict[str, str]) -> dict[str, Any]:
    """ALLOW only the catalogue's paths, only with the gateway's proof, and for `auth: jwt` routes
    only with a valid client token as well (AWS; see docs/security.md for GCP)."""
    rules: list[dict[str, Any]] = []
    for route in routes:
        rule: dict[str, Any] = {"to": [{"operation": {"paths": route.paths}}]}
        if proof.header_secret is not None:
            rule["when"] = [{"key": f"request.headers[{GATEWAY_HEADER}]", "values": [proof.header_secret]}]
            if route.auth == "jwt":
                assert route.jwt is not None
                rule["from"] = [{"source": {"requestPrincipals": [f"{route.jwt.issuer}/*"]}}]
        else:
            assert proof.google_principal is not None
            rule["from"] = [{"source": {"requestPrincipals": [proof.google_principal]}}]
        rules.append(rule)
    return {"selector": {"matchLabels": dict(selector)}, "action": "ALLOW", "rules": rules}


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


def virtual_service_spec(route: Route, hostname: str, strip_headers: list[str] | None = None) -> dict[str, Any]:
    """Route `<path>` and `<path>/...` to the backend, stripping the prefix (`/orders/x` -> `/x`).

    The destination is the backend's cluster-local name; with a multi-cluster mesh istiod knows
    the endpoints of every cluster, so a backend in another cluster is reached through its
    network's east-west gateway (the gateway resolves no DNS, so no local Service is needed).
    `strip_headers` are removed before the backend (the gateway's secret header).
    """
    prefix = route.path.rstrip("/")
    http: dict[str, Any] = {
        "name": route.name,
        "match": [{"uri": {"prefix": f"{prefix}/"}}, {"uri": {"exact": prefix}}],
        "rewrite": {"uri": "/"},
        "route": [{"destination": {"host": route.host, "port": {"number": route.port}}}],
    }
    if strip_headers:
        http["headers"] = {"request": {"remove": list(strip_headers)}}
    return {
        "hosts": [hostname],
        "gateways": [GATEWAY_NAME],
        "http": [http],
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
    proof: GatewayProof
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
                virtual_service_spec(
                    route, args.hostname, [GATEWAY_HEADER] if args.proof.header_secret is not None else None
                ),
                mesh=mesh,
                parent=self,
                depends_on=[gateway],
            )
        self._only_from_gateway(args, gateway)
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
        # the gateway chart's service account is its release name (serviceAccount.name unset)
        principal = args.mesh.principal(args.namespace, RELEASE_NAME)
        self.register_outputs(
            {"namespace": args.namespace, "address": self.address, "cluster": cluster.name, "principal": principal}
        )

    def _only_from_gateway(self, args: IstioIngressArgs, gateway: pulumi.Resource) -> None:
        """`allow-nothing` in the namespace, the gateway's token check (GCP) or the clients' JWT check
        (AWS, defence in depth behind the HTTP API's authorizer), and the ALLOW policy."""
        mesh, namespace, selector = args.mesh, args.namespace, self.gateway.selector_labels
        after = [self.gateway]
        allow_nothing(namespace, mesh=mesh, parent=self, depends_on=after)
        if args.proof.google_principal is not None:
            request_authentication(
                "external-gateway-identity",
                namespace,
                issuer=GOOGLE_ISSUER,
                jwks_uri=GOOGLE_JWKS_URI,
                audiences=[f"https://{args.hostname}"],
                selector=selector,
                mesh=mesh,
                parent=self,
                depends_on=after,
            )
        else:
            issuers: dict[str, Route] = {}
            for route in args.routes:
                if route.auth == "jwt" and route.jwt is not None:
                    issuers.setdefault(route.jwt.issuer, route)
            for route in issuers.values():
                assert route.jwt is not None
                request_authentication(
                    f"{route.name}-jwt",
                    namespace,
                    issuer=route.jwt.issuer,
                    jwks_uri=route.jwt.jwks_uri,
                    audiences=route.jwt.audiences,
                    forward_original_token=True,
                    selector=selector,
                    mesh=mesh,
                    parent=self,
                    depends_on=after,
                )
        istio_resource(
            SECURITY_API,
            "AuthorizationPolicy",
            ONLY_FROM_GATEWAY,
            namespace,
            authorization_spec(args.routes, args.proof, selector),
            mesh=mesh,
            parent=self,
            depends_on=after,
        )
