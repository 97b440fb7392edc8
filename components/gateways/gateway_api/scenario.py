"""Scenario 4, `gateway-api`: Istio's own Kubernetes Gateway API gateway, no separate API gateway.

client -> Gateway (`gatewayClassName: istio`, Envoy deployed by istiod; JWT, authz and
local rate limits enforced there) -> backend over STRICT mTLS (ALLOW only the gateway's identity).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.gateways.shared.backend_policies import BACKEND_POLICIES, BackendPolicies, BackendPoliciesArgs
from components.gateways.shared.catalogue import Jwt, Route
from components.gateways.shared.in_cluster_gateway_args import InClusterEdgeArgs
from components.gateways.shared.k8s_objects import (
    custom_resource,
    gateway_namespace,
    load_balancer_address,
    load_balancer_annotations,
)
from components.gateways.shared.scenario_outputs import Edge, https_url, same_url_for_all
from components.gateways.shared.serving_certificate import GatewayCertificate, GatewayCertificateArgs
from components.istio_security.authorization import allow_nothing
from components.istio_security.istio_resource import SECURITY_API, istio_resource
from components.istio_security.request_authentication import request_authentication

GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_FILTER_API = "networking.istio.io/v1alpha3"
GATEWAY_CLASS = "istio"
GATEWAY_NAME = "meshgate"
TLS_SECRET = "meshgate-gateway-tls"
NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
RATE_LIMIT_DESCRIPTOR = "meshgate-api"
UNLIMITED_TOKENS = 1_000_000_000
RATE_LIMIT_PRIORITY = 10
"""The rate-limit EnvoyFilter inserts itself before the router (a relative operation). Istio applies
EnvoyFilters by priority, then by creation time; without a priority the order against other
filters on the gateway is left to creation time, and `istioctl analyze` warns that the filter may not
be applied (IST0151). A positive priority applies it after every default-priority (0) filter, so
the order is fixed and it sits next to the router, after any such filter inserted before it."""
WAIT_SECONDS = 600
HTTP_LISTENER = "http"
HTTPS_LISTENER = "https"
HTTP_PORT = 80
HTTPS_PORT = 443
REDIRECT_STATUS = 301


def crds_url(version: str) -> str:
    """The standard-channel CRDs of a pinned Gateway API release."""
    return f"https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}/standard-install.yaml"


def deployed_name(gateway: str) -> str:
    """Istio names the Deployment, Service and ServiceAccount it creates for a Gateway `<name>-<class>`."""
    return f"{gateway}-{GATEWAY_CLASS}"


def gateway_selector() -> dict[str, str]:
    """Pod labels of the Istio-deployed gateway workload."""
    return {NAME_LABEL: GATEWAY_NAME}


def _path_regex(route: Route) -> str:
    prefix = route.path.rstrip("/")
    return f"^{prefix}([/?].*)?$" if prefix else "^/.*$"


def gateway_spec(route_namespaces: list[str], annotations: Mapping[str, str]) -> dict[str, Any]:
    """Listeners http/80 and https/443 (terminated with the TLS Secret), routes only from app namespaces."""
    allowed = {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(route_namespaces)}
                ]
            },
        }
    }
    spec: dict[str, Any] = {
        "gatewayClassName": GATEWAY_CLASS,
        "listeners": [
            {"name": HTTP_LISTENER, "port": HTTP_PORT, "protocol": "HTTP", "allowedRoutes": allowed},
            {
                "name": HTTPS_LISTENER,
                "port": HTTPS_PORT,
                "protocol": "HTTPS",
                "tls": {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": TLS_SECRET}]},
                "allowedRoutes": allowed,
            },
        ],
    }
    if annotations:
        spec["infrastructure"] = {"annotations": dict(annotations)}
    return spec


def _parent(gateway_ns: str, listener: str | None) -> dict[str, Any]:
    parent: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": GATEWAY_NAME,
        "namespace": gateway_ns,
    }
    if listener is not None:
        parent["sectionName"] = listener
    return parent


def http_route_spec(route: Route, gateway_ns: str) -> dict[str, Any]:
    """Prefix match, prefix stripped (`/orders/x` -> `/x`), to the backend Service in the route's namespace.

    A route that takes credentials (`auth: jwt`) attaches to the HTTPS listener only; without
    `sectionName` a route attaches to every listener, port 80 included.
    """
    return {
        "parentRefs": [_parent(gateway_ns, HTTPS_LISTENER if route.credentialed else None)],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
                    }
                ],
                "backendRefs": [{"group": "", "kind": "Service", "name": route.service, "port": route.port}],
            }
        ],
    }


def gateway_issuers(routes: list[Route]) -> list[Jwt]:
    """The distinct JWT configurations of the `auth: jwt` routes, in catalogue order: one
    RequestAuthentication each on the gateway, not one per API (Istio merges every
    RequestAuthentication selecting a workload into one JWT filter, so per-API copies of the
    same issuer only repeat it; which API needs which issuer is `edge_authorization_spec`'s job)."""
    found: dict[tuple[str, str, tuple[str, ...]], Jwt] = {}
    for r in routes:
        if r.auth == "jwt" and r.jwt is not None:
            found.setdefault((r.jwt.issuer, r.jwt.jwks_uri, tuple(r.jwt.audiences)), r.jwt)
    return list(found.values())


def issuer_resource_name(jwt: Jwt) -> str:
    """`jwt-<8 hex>` from the issuer, JWKS URI and audiences: stable when APIs are added or reordered."""
    key = "\n".join([jwt.issuer, jwt.jwks_uri, *jwt.audiences])
    return f"jwt-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


REDIRECT_ROUTE = "meshgate-https-redirect"
MAX_MATCHES_PER_RULE = 64
MAX_MATCHES_PER_ROUTE = 128
"""Gateway API's HTTPRoute CRD (v1.6.1, standard channel): `rules[].matches` maxItems 64, and a CEL rule
caps the matches of all rules of one route at 128."""


def https_redirects(routes: list[Route], gateway_ns: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, namespace, spec) of the HTTPRoutes that redirect the credentialed APIs' paths on the HTTP listener.

    One route per app namespace holds the path prefixes of that namespace's credentialed APIs (a
    second, `-2`, ... only past the CRD's 128 matches per route), not one route per API: the
    redirect is the same for every path, and a 1,000-API catalogue keeps ~10 of these objects
    instead of ~500. Each path keeps its own PathPrefix match, so the longest-prefix precedence
    against the APIs served on port 80 is the same as with a route per API.
    """
    by_namespace: dict[str, list[str]] = {}
    for route in routes:
        if route.credentialed:
            by_namespace.setdefault(route.namespace, [])
            if route.path not in by_namespace[route.namespace]:
                by_namespace[route.namespace].append(route.path)
    out: list[tuple[str, str, dict[str, Any]]] = []
    for namespace, paths in by_namespace.items():
        for first in range(0, len(paths), MAX_MATCHES_PER_ROUTE):
            chunk = paths[first : first + MAX_MATCHES_PER_ROUTE]
            name = REDIRECT_ROUTE if first == 0 else f"{REDIRECT_ROUTE}-{first // MAX_MATCHES_PER_ROUTE + 1}"
            out.append((name, namespace, https_redirect_spec(chunk, gateway_ns)))
    return out


def https_redirect_spec(paths: list[str], gateway_ns: str) -> dict[str, Any]:
    """On the HTTP listener only: these path prefixes answer with a redirect to the same URL over https (port 443)."""
    redirect = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": REDIRECT_STATUS}}
    return {
        "parentRefs": [_parent(gateway_ns, HTTP_LISTENER)],
        "rules": [
            {
                "matches": [
                    {"path": {"type": "PathPrefix", "value": p}} for p in paths[first : first + MAX_MATCHES_PER_RULE]
                ],
                "filters": [redirect],
            }
            for first in range(0, len(paths), MAX_MATCHES_PER_RULE)
        ],
    }


def edge_authorization_spec(routes: list[Route]) -> dict[str, Any]:
    """ALLOW on the gateway: each API's paths, with a valid JWT of its issuer for `auth: jwt`; nothing else.

    On port 80 the paths of credentialed APIs are allowed without a token: there they only
    answer with the redirect to https (the RBAC filter runs before the router's redirect, so
    without this rule a client without a token would get 403 instead of the redirect).
    """
    rules: list[dict[str, Any]] = []
    for route in routes:
        rule: dict[str, Any] = {"to": [{"operation": {"paths": route.paths}}]}
        if route.auth == "jwt":
            assert route.jwt is not None
            rule["from"] = [{"source": {"requestPrincipals": [f"{route.jwt.issuer}/*"]}}]
        rules.append(rule)
    redirected = [p for r in routes if r.credentialed for p in r.paths]
    if redirected:
        rules.append({"to": [{"operation": {"ports": [str(HTTP_PORT)], "paths": redirected}}]})
    return {"selector": {"matchLabels": gateway_selector()}, "action": "ALLOW", "rules": rules}


def rate_limit_spec(routes: list[Route]) -> dict[str, Any]:
    """EnvoyFilter: Envoy local rate limit on the gateway, one token bucket per rate-limited API.

    Each route of the gateway gets one `rate_limits` action per API that emits the descriptor
    `meshgate-api=<name>` when the request path is under the API's prefix; the filter refills
    `rateLimitPerMinute` tokens every 60 s per gateway replica and answers 429 when empty.
    Requests of other APIs match no descriptor and use the default (unlimited) bucket.
    """
    limited = [r for r in routes if r.rate_limit_per_minute is not None]
    descriptors = [
        {
            "entries": [{"key": RATE_LIMIT_DESCRIPTOR, "value": r.name}],
            "token_bucket": {
                "max_tokens": r.rate_limit_per_minute,
                "tokens_per_fill": r.rate_limit_per_minute,
                "fill_interval": "60s",
            },
        }
        for r in limited
    ]
    actions = [
        {
            "actions": [
                {
                    "header_value_match": {
                        "descriptor_key": RATE_LIMIT_DESCRIPTOR,
                        "descriptor_value": r.name,
                        "headers": [{"name": ":path", "string_match": {"safe_regex": {"regex": _path_regex(r)}}}],
                    }
                }
            ]
        }
        for r in limited
    ]
    percent = {"numerator": 100, "denominator": "HUNDRED"}
    return {
        "workloadSelector": {"labels": gateway_selector()},
        "priority": RATE_LIMIT_PRIORITY,
        "configPatches": [
            {
                "applyTo": "HTTP_FILTER",
                "match": {
                    "context": "GATEWAY",
                    "listener": {
                        "filterChain": {
                            "filter": {
                                "name": "envoy.filters.network.http_connection_manager",
                                "subFilter": {"name": "envoy.filters.http.router"},
                            }
                        }
                    },
                },
                "patch": {
                    "operation": "INSERT_BEFORE",
                    "value": {
                        "name": "envoy.filters.http.local_ratelimit",
                        "typed_config": {
                            "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                            "type_url": (
                                "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
                            ),
                            "value": {
                                "stat_prefix": "meshgate_local_rate_limit",
                                "token_bucket": {
                                    "max_tokens": UNLIMITED_TOKENS,
                                    "tokens_per_fill": UNLIMITED_TOKENS,
                                    "fill_interval": "1s",
                                },
                                "filter_enabled": {"runtime_key": "local_rate_limit_enabled", "default_value": percent},
                                "filter_enforced": {
                                    "runtime_key": "local_rate_limit_enforced",
                                    "default_value": percent,
                                },
                                "response_headers_to_add": [
                                    {
                                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                        "header": {"key": "x-meshgate-rate-limited", "value": "true"},
                                    }
                                ],
                                "descriptors": descriptors,
                            },
                        },
                    },
                },
            },
            {
                "applyTo": "HTTP_ROUTE",
                # only forwarding routes: merging `route` into a redirect route would make it invalid
                "match": {"context": "GATEWAY", "routeConfiguration": {"vhost": {"route": {"action": "ROUTE"}}}},
                "patch": {"operation": "MERGE", "value": {"route": {"rate_limits": actions}}},
            },
        ],
    }


class GatewayApiGateway(pulumi.ComponentResource):
    """Gateway API CRDs (pinned standard channel, optional), an Istio-class `Gateway`, one `HTTPRoute` per API,
    JWT + path authorization and Envoy local rate limits on the gateway, default-deny + ALLOW from
    the gateway's principal on the backends. Every Gateway API object depends on the CRDs.

    Deleting this component (another scenario, `pulumi destroy`) deletes the CRDs it installed and
    with them every Gateway API object in the cluster; clusters where others use Gateway API set
    `meshgate:gateway.installGatewayApiCrds: false` and manage the CRDs themselves.
    (`retainOnDelete` would not help: the provider does not pass it to ConfigFile's children,
    pulumi-kubernetes#3065.)
    """

    edge: Edge

    def __init__(self, name: str, args: InClusterEdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:GatewayApiGateway", name, None, opts)
        mesh = args.meshes[args.cluster]
        cluster = mesh.cluster
        spec = args.gateway
        crds: list[pulumi.Resource] = []
        if spec.install_gateway_api_crds:
            crds.append(
                k8s.yaml.v2.ConfigFile(
                    f"{cluster.name}-gateway-api-crds",
                    file=crds_url(spec.gateway_api_version),
                    opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider),
                )
            )
        ns = gateway_namespace(spec.namespace, {}, cluster=cluster, parent=self)
        certificate = GatewayCertificate(
            f"{name}-tls",
            GatewayCertificateArgs(
                cluster=cluster,
                namespace=spec.namespace,
                secret_name=TLS_SECRET,
                dns_names=[f"{deployed_name(GATEWAY_NAME)}.{spec.namespace}.svc"],
                namespace_resource=ns,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        annotations = {"pulumi.com/waitFor": "condition=Programmed"}
        labels_revision = {"istio.io/rev": mesh.revision} if mesh.revision else {}
        gateway = custom_resource(
            GATEWAY_API,
            "Gateway",
            GATEWAY_NAME,
            spec.namespace,
            gateway_spec(
                list(dict.fromkeys(r.namespace for r in args.routes)),
                load_balancer_annotations(cluster),
            ),
            cluster=cluster,
            parent=self,
            depends_on=[*crds, ns, certificate, *mesh.ready],
            annotations=annotations,
            extra_labels=labels_revision,
            timeout_seconds=WAIT_SECONDS,
        )
        for route in args.routes:
            custom_resource(
                GATEWAY_API,
                "HTTPRoute",
                route.name,
                route.namespace,
                http_route_spec(route, spec.namespace),
                cluster=cluster,
                parent=self,
                depends_on=[*crds, args.namespaces[(args.cluster, route.namespace)], gateway],
            )
        for redirect, namespace, redirect_spec in https_redirects(args.routes, spec.namespace):
            custom_resource(
                GATEWAY_API,
                "HTTPRoute",
                redirect,
                namespace,
                redirect_spec,
                cluster=cluster,
                parent=self,
                depends_on=[*crds, args.namespaces[(args.cluster, namespace)], gateway],
            )
        for jwt in gateway_issuers(args.routes):
            request_authentication(
                issuer_resource_name(jwt),
                spec.namespace,
                issuer=jwt.issuer,
                jwks_uri=jwt.jwks_uri,
                audiences=jwt.audiences,
                selector=gateway_selector(),
                mesh=mesh,
                parent=self,
                depends_on=[ns],
            )
        if args.routes:
            allow_nothing(spec.namespace, mesh=mesh, parent=self, depends_on=[ns])
            istio_resource(
                SECURITY_API,
                "AuthorizationPolicy",
                "catalogue-only",
                spec.namespace,
                edge_authorization_spec(args.routes),
                mesh=mesh,
                parent=self,
                depends_on=[ns],
            )
        if any(r.rate_limit_per_minute is not None for r in args.routes):
            istio_resource(
                ENVOY_FILTER_API,
                "EnvoyFilter",
                "local-rate-limit",
                spec.namespace,
                rate_limit_spec(args.routes),
                mesh=mesh,
                parent=self,
                depends_on=[ns],
            )
        principal = mesh.principal(spec.namespace, deployed_name(GATEWAY_NAME))
        BackendPolicies(
            BACKEND_POLICIES,
            BackendPoliciesArgs(
                routes=args.routes, meshes=args.meshes, namespaces=args.namespaces, gateway_principal=principal
            ),
            pulumi.ResourceOptions(parent=self),
        )
        address = load_balancer_address(
            f"{name}-service",
            spec.namespace,
            deployed_name(GATEWAY_NAME),
            cluster=cluster,
            parent=self,
            after=gateway.id,
        )
        url = https_url(address)
        self.edge = Edge(
            endpoints={"gateway-api": url}, route_urls=same_url_for_all(args.routes, url), insecure_tls=True
        )
        self.register_outputs({"endpoint": url, "principal": principal})
