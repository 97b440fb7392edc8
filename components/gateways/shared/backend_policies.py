"""Istio policies on the catalogue's backends, shared by the in-cluster scenarios.

`BackendPolicies` registers them under the same resource names in every scenario, so a policy
that two scenarios share (e.g. `allow-nothing` in 3 and 4) keeps its URN across a switch and
is updated in place rather than re-created and then deleted. The building blocks:

- `gateway_only`: default-deny per app namespace + ALLOW from the gateway's mTLS identity
  on exactly the backend ports (scenarios 3 and 4);
- `plaintext_from_gateway`: the narrow PERMISSIVE exception a gateway outside the mesh
  needs (scenario 2);
- `only_gateway_pods`: a NetworkPolicy per backend admitting the backend port only from the
  gateway's pods (scenario 2: a plaintext caller has no identity an Istio policy could check);
- `jwt_at_backend`: JWT validation by the backend's sidecar where the gateway cannot
  validate against a JWKS itself (Kong OSS, scenarios 2 and 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.gateways.shared.catalogue import Route
from components.gateways.shared.k8s_objects import MANAGED_LABELS
from components.istio_security.authorization import allow_from, allow_nothing
from components.istio_security.peer_authentication import peer_authentication
from components.istio_security.request_authentication import request_authentication
from components.mesh.handle import MeshHandle

BACKEND_POLICIES = "backend-policies"
"""Resource name of the BackendPolicies component, the same in every scenario."""


@dataclass(frozen=True)
class Backend:
    """A backend workload (cluster, namespace, `app` label, container port) and whether any route to it requires a JWT.

    `port` is the workload's port (the Service's targetPort): Istio matches `portLevelMtls` and
    AuthorizationPolicy `ports` against the port the sidecar receives on, not the Service port.
    """

    cluster: str
    namespace: str
    service: str
    port: int
    jwt: Route | None  # a jwt route to it (issuer, JWKS), if any

    @property
    def selector(self) -> dict[str, str]:
        """Pod labels of the backend workload: `app: <service>` (Istio's convention; demo workloads carry it)."""
        return {"app": self.service}


def backends_of(routes: list[Route]) -> list[Backend]:
    """Distinct backends in catalogue order; a backend reached by a jwt route requires the JWT."""
    found: dict[tuple[str, str, str, int], Backend] = {}
    for r in routes:
        key = (r.cluster, r.namespace, r.service, r.target_port)
        known = found.get(key)
        jwt = known.jwt if known and known.jwt else (r if r.auth == "jwt" else None)
        found[key] = Backend(r.cluster, r.namespace, r.service, r.target_port, jwt)
    return list(found.values())


def request_principals(backend: Backend) -> list[str]:
    """`<iss>/*`: any subject of the route's issuer."""
    assert backend.jwt is not None and backend.jwt.jwt is not None
    return [f"{backend.jwt.jwt.issuer}/*"]


Namespaces = Mapping[tuple[str, str], pulumi.Resource]
"""(cluster, namespace) -> the Namespace resource a policy in it must wait for."""


def _after(namespaces: Namespaces, backend: Backend) -> Sequence[pulumi.Resource]:
    found = namespaces.get((backend.cluster, backend.namespace))
    return [found] if found is not None else []


def _jwt_rule(
    backend: Backend, mesh: MeshHandle, parent: pulumi.Resource, namespaces: Namespaces
) -> k8s.apiextensions.CustomResource:
    assert backend.jwt is not None and backend.jwt.jwt is not None
    jwt = backend.jwt.jwt
    return request_authentication(
        f"{backend.service}-jwt",
        backend.namespace,
        issuer=jwt.issuer,
        jwks_uri=jwt.jwks_uri,
        audiences=jwt.audiences,
        selector=backend.selector,
        mesh=mesh,
        parent=parent,
        depends_on=_after(namespaces, backend),
    )


def gateway_only(
    routes: list[Route],
    meshes: dict[str, MeshHandle],
    gateway_principal: str,
    *,
    parent: pulumi.Resource,
    jwt_at_backend: bool,
    namespaces: Namespaces,
) -> list[k8s.apiextensions.CustomResource]:
    """Per app namespace `allow-nothing`; per backend ALLOW from `gateway_principal` on its port.

    Created in the backend's own cluster: with a multi-cluster mesh the principal is the same
    everywhere (shared trust domain). With `jwt_at_backend`, a backend of an `auth: jwt` route
    also requires a valid JWT of the route's issuer (RequestAuthentication + requestPrincipals
    in the same source, i.e. gateway identity AND token).
    """
    created: list[k8s.apiextensions.CustomResource] = []
    done_namespaces: set[tuple[str, str]] = set()
    for backend in backends_of(routes):
        mesh = meshes[backend.cluster]
        if (backend.cluster, backend.namespace) not in done_namespaces:
            done_namespaces.add((backend.cluster, backend.namespace))
            created.append(
                allow_nothing(backend.namespace, mesh=mesh, parent=parent, depends_on=_after(namespaces, backend))
            )
        needs_jwt = jwt_at_backend and backend.jwt is not None
        if needs_jwt:
            created.append(_jwt_rule(backend, mesh, parent, namespaces))
        created.append(
            allow_from(
                f"{backend.service}-from-gateway",
                backend.namespace,
                mesh=mesh,
                parent=parent,
                principals=[gateway_principal],
                request_principals=request_principals(backend) if needs_jwt else (),
                selector=backend.selector,
                ports=[backend.port],
                depends_on=_after(namespaces, backend),
            )
        )
    return created


def plaintext_from_gateway(
    routes: list[Route], meshes: dict[str, MeshHandle], *, parent: pulumi.Resource, namespaces: Namespaces
) -> list[k8s.apiextensions.CustomResource]:
    """Per backend a workload-scoped PeerAuthentication: STRICT, PERMISSIVE on the backend port only.

    A gateway outside the mesh speaks plaintext; everything else about the workload (other
    ports) and every other workload stay STRICT. No principal-based AuthorizationPolicy: a
    plaintext caller has no principal to match.
    """
    return [
        peer_authentication(
            f"{backend.service}-plaintext-port",
            backend.namespace,
            mesh=meshes[backend.cluster],
            parent=parent,
            mode="STRICT",
            selector=backend.selector,
            port_level_mtls={backend.port: "PERMISSIVE"},
            depends_on=_after(namespaces, backend),
        )
        for backend in backends_of(routes)
    ]


def jwt_at_backend(
    routes: list[Route], meshes: dict[str, MeshHandle], *, parent: pulumi.Resource, namespaces: Namespaces
) -> list[k8s.apiextensions.CustomResource]:
    """For backends of `auth: jwt` routes: RequestAuthentication + ALLOW only with a valid token."""
    created: list[k8s.apiextensions.CustomResource] = []
    for backend in backends_of(routes):
        if backend.jwt is None:
            continue
        mesh = meshes[backend.cluster]
        created.append(_jwt_rule(backend, mesh, parent, namespaces))
        created.append(
            allow_from(
                f"{backend.service}-require-jwt",
                backend.namespace,
                mesh=mesh,
                parent=parent,
                request_principals=request_principals(backend),
                selector=backend.selector,
                ports=[backend.port],
                depends_on=_after(namespaces, backend),
            )
        )
    return created


ISTIO_AGENT_PORTS = (15020, 15021, 15090)
"""Ports of an injected pod's sidecar: merged Prometheus metrics and the rewritten health probes
(15020), Envoy readiness (15021) and Envoy stats (15090)."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label the control plane sets on every Namespace to its name (Kubernetes >= 1.22)."""


@dataclass(frozen=True)
class GatewayPods:
    """The gateway's pods as a NetworkPolicy peer: their namespace and the chart's pod labels."""

    namespace: str
    labels: Mapping[str, str]


def network_policy_spec(backend: Backend, gateway: GatewayPods) -> k8s.networking.v1.NetworkPolicySpecArgs:
    """Ingress to the backend's pods: its port only from the gateway's pods (namespace AND pod
    labels, one peer), the sidecar's own ports from anywhere (metrics scrapes); every other port
    is closed. Kubelet probes are not affected: Kubernetes does not let a NetworkPolicy block a
    pod's own node, and Istio rewrites HTTP probes to the sidecar's 15020 anyway."""

    def tcp(port: int) -> k8s.networking.v1.NetworkPolicyPortArgs:
        return k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port)

    peer = k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_NAME_LABEL: gateway.namespace}),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(gateway.labels)),
    )
    return k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=backend.selector),
        policy_types=["Ingress"],
        ingress=[
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[peer], ports=[tcp(backend.port)]),
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(ports=[tcp(p) for p in ISTIO_AGENT_PORTS]),
        ],
    )


def only_gateway_pods(
    routes: list[Route],
    meshes: dict[str, MeshHandle],
    gateway: GatewayPods,
    *,
    parent: pulumi.Resource,
    namespaces: Namespaces,
) -> list[k8s.networking.v1.NetworkPolicy]:
    """Per backend a NetworkPolicy `<service>-from-gateway-pods` in its namespace (`network_policy_spec`)."""
    return [
        k8s.networking.v1.NetworkPolicy(
            f"{backend.cluster}-{backend.namespace}-{backend.service}-from-gateway-pods",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{backend.service}-from-gateway-pods", namespace=backend.namespace, labels=dict(MANAGED_LABELS)
            ),
            spec=network_policy_spec(backend, gateway),
            opts=meshes[backend.cluster].cluster.opts(parent, list(_after(namespaces, backend))),
        )
        for backend in backends_of(routes)
    ]


@dataclass(frozen=True)
class BackendPoliciesArgs:
    """The routes and meshes, and which policies the scenario needs.

    `gateway_principal`: default-deny + ALLOW from this identity (a gateway in the mesh).
    `plaintext_gateway`: PERMISSIVE on the backend ports (a gateway outside the mesh).
    `gateway_pods`: a NetworkPolicy admits the backend ports only from these pods (a gateway
    outside the mesh: no identity for an Istio policy).
    `jwt_at_backend`: the backend sidecar validates the JWT of `auth: jwt` routes.
    `namespaces`: the app Namespace resources, (cluster, name) -> resource, policies wait for.
    """

    routes: list[Route]
    meshes: dict[str, MeshHandle]
    namespaces: Namespaces = field(default_factory=dict)
    gateway_principal: str | None = None
    plaintext_gateway: bool = False
    gateway_pods: GatewayPods | None = None
    jwt_at_backend: bool = False


class BackendPolicies(pulumi.ComponentResource):
    """The scenario's Istio policies on the backends, each in the backend's own cluster."""

    policies: list[k8s.apiextensions.CustomResource]
    network_policies: list[k8s.networking.v1.NetworkPolicy]

    def __init__(self, name: str, args: BackendPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:BackendPolicies", name, None, opts)
        self.policies = []
        self.network_policies = []
        if args.gateway_pods is not None:
            self.network_policies = only_gateway_pods(
                args.routes, args.meshes, args.gateway_pods, parent=self, namespaces=args.namespaces
            )
        if args.plaintext_gateway:
            self.policies += plaintext_from_gateway(args.routes, args.meshes, parent=self, namespaces=args.namespaces)
        if args.gateway_principal is not None:
            self.policies += gateway_only(
                args.routes,
                args.meshes,
                args.gateway_principal,
                parent=self,
                jwt_at_backend=args.jwt_at_backend,
                namespaces=args.namespaces,
            )
        elif args.jwt_at_backend:
            self.policies += jwt_at_backend(args.routes, args.meshes, parent=self, namespaces=args.namespaces)
        self.register_outputs({"policies": len(self.policies), "networkPolicies": len(self.network_policies)})
