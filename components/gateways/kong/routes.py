"""KongRoutes: the catalogue as Kubernetes `Ingress`es Kong reads, with `KongPlugin`s for limits and keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle
from components.gateways.kong.gateway import INGRESS_CLASS
from components.gateways.shared.catalogue import Route
from components.gateways.shared.k8s_objects import MANAGED_LABELS

KONG_PLUGIN_API = "configuration.konghq.com/v1"
API_KEY_HEADER = "apikey"
HTTPS_REDIRECT_STATUS = "301"
KONG_ROUTES = "kong-routes"
"""Resource name of the KongRoutes component, the same in scenarios 2 and 3."""


def local_namespaces(namespaces: Mapping[tuple[str, str], pulumi.Resource], cluster: str) -> dict[str, pulumi.Resource]:
    """The app Namespace resources of `cluster`, by name."""
    return {ns: resource for (where, ns), resource in namespaces.items() if where == cluster}


def plugin_specs(route: Route) -> dict[str, dict[str, Any]]:
    """KongPlugin name -> body (`plugin`, `config`) for one route: rate limiting and API keys.

    Plugins are shared by the routes of a namespace that need the same configuration
    (`rate-limit-<n>-per-minute`, `key-auth`): the controller instantiates a KongPlugin once per
    route it is attached to, and Kong keys rate-limiting counters by route, so every API keeps
    its own limit — one object per distinct setting instead of one per API.

    `auth: jwt` is not a Kong plugin here: Kong OSS's `jwt` plugin needs a consumer per issuer
    holding its public key, while the catalogue gives a JWKS URI; the JWT is validated by Istio
    (RequestAuthentication at the backend), which fetches and rotates the JWKS itself.
    """
    plugins: dict[str, dict[str, Any]] = {}
    if route.rate_limit_per_minute is not None:
        plugins[f"rate-limit-{route.rate_limit_per_minute}-per-minute"] = {
            "plugin": "rate-limiting",
            "config": {"minute": route.rate_limit_per_minute, "policy": "local"},
        }
    if route.auth == "key":
        plugins["key-auth"] = {
            "plugin": "key-auth",
            "config": {"key_names": [API_KEY_HEADER], "hide_credentials": True},
        }
    return plugins


def ingress_annotations(route: Route, plugins: list[str], preserve_host: bool) -> dict[str, str]:
    """Kong's Ingress annotations: strip the prefix, attach plugins, and (in the mesh) send the
    backend's own host so the Envoy sidecar of Kong routes the request to that service.

    A route that takes credentials is served over HTTPS only; on HTTP Kong answers with a
    redirect to the same URL over https (`https_redirect_status_code`, default 426 otherwise).
    """
    annotations = {
        "konghq.com/strip-path": "true",
        "konghq.com/preserve-host": "true" if preserve_host else "false",
        "konghq.com/protocols": "https" if route.credentialed else "http,https",
    }
    if route.credentialed:
        annotations["konghq.com/https-redirect-status-code"] = HTTPS_REDIRECT_STATUS
    if plugins:
        annotations["konghq.com/plugins"] = ",".join(plugins)
    return annotations


class KongPlugin(pulumi.CustomResource):
    """A `configuration.konghq.com/v1` `KongPlugin`: its `plugin` and `config` are top-level fields,
    which `k8s.apiextensions.CustomResource` (metadata + spec only) cannot carry."""

    def __init__(
        self, resource_name: str, *, name: str, namespace: str, body: Mapping[str, Any], opts: pulumi.ResourceOptions
    ) -> None:
        props = {
            "apiVersion": KONG_PLUGIN_API,
            "kind": "KongPlugin",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_LABELS)},
            **body,
        }
        super().__init__(f"kubernetes:{KONG_PLUGIN_API}:KongPlugin", resource_name, props, opts)


@dataclass(frozen=True)
class KongRoutesArgs:
    """The routes, the gateway's cluster, its app namespaces, the Kong release (CRDs, IngressClass), upstream mode."""

    routes: list[Route]
    cluster: ClusterHandle
    namespaces: Mapping[str, pulumi.Resource]
    release: pulumi.Resource
    preserve_host: bool
    backend_after: Mapping[tuple[str, str], pulumi.Resource] = field(default_factory=dict)
    """Per backend (namespace, service): what its route waits for, e.g. scenario 3's service-upstream patch."""


def backend_after(args: KongRoutesArgs, route: Route) -> list[pulumi.Resource]:
    """Only the route's own backend's prerequisites: O(APIs) edges, not APIs²."""
    own = args.backend_after.get((route.namespace, route.service))
    return [own] if own is not None else []


class KongRoutes(pulumi.ComponentResource):
    """One `Ingress` (class `kong`, path prefix, backend Service) per API in the backend's namespace,
    plus its `KongPlugin`s; every object waits for the Kong release that defines the CRDs."""

    ingresses: dict[str, k8s.networking.v1.Ingress]
    plugins: dict[str, KongPlugin]  # "<namespace>/<plugin name>" -> the shared KongPlugin

    def __init__(self, name: str, args: KongRoutesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:KongRoutes", name, None, opts)
        cluster = args.cluster
        self.ingresses = {}
        self.plugins = {}
        for route in args.routes:
            after = [args.release, args.namespaces[route.namespace]]
            specs = plugin_specs(route)
            created: list[KongPlugin] = []
            for plugin_name, body in specs.items():
                key = f"{route.namespace}/{plugin_name}"
                if key not in self.plugins:
                    self.plugins[key] = KongPlugin(
                        f"{cluster.name}-{route.namespace}-{plugin_name}",
                        name=plugin_name,
                        namespace=route.namespace,
                        body=body,
                        opts=cluster.opts(self, after),
                    )
                created.append(self.plugins[key])
            self.ingresses[route.name] = k8s.networking.v1.Ingress(
                f"{cluster.name}-{route.namespace}-{route.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=route.name,
                    namespace=route.namespace,
                    labels=dict(MANAGED_LABELS),
                    annotations=ingress_annotations(route, list(specs), args.preserve_host),
                ),
                spec=k8s.networking.v1.IngressSpecArgs(
                    ingress_class_name=INGRESS_CLASS,
                    rules=[
                        k8s.networking.v1.IngressRuleArgs(
                            http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                                paths=[
                                    k8s.networking.v1.HTTPIngressPathArgs(
                                        path=route.path,
                                        path_type="Prefix",
                                        backend=k8s.networking.v1.IngressBackendArgs(
                                            service=k8s.networking.v1.IngressServiceBackendArgs(
                                                name=route.service,
                                                port=k8s.networking.v1.ServiceBackendPortArgs(number=route.port),
                                            )
                                        ),
                                    )
                                ]
                            )
                        )
                    ],
                ),
                opts=cluster.opts(self, [*after, *backend_after(args, route), *created]),
            )
        self.register_outputs({"ingresses": sorted(self.ingresses), "plugins": sorted(self.plugins)})
