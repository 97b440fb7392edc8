"""The hops of a request through a stack's gateway, from its config alone.

One hop is one connection: `source` -> `target`, and what protects it (Istio mTLS, one-way
TLS, or nothing). This is the only place the scenarios' traffic paths are written down: the
gateway layer exports them as the `hops` stack output, `diagram` draws them, and the traffic
query takes from them whether the gateway reaches a backend over mTLS.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.gateways.external.istio_ingress import NODE_PORTS
from stacks.config import ApiSpec, Scenario, StackConfig

BACKENDS = "backends"
CLIENT = "client"
KONG = "Kong"
KONG_WITH_SIDECAR = "Kong + Envoy sidecar"
GATEWAY_API = "Istio gateway (Gateway API)"
EXTERNAL_GATEWAY_NAMES = {"aws-http-api": "AWS API Gateway (HTTP API)", "gcp-api-gateway": "GCP API Gateway"}


@dataclass(frozen=True)
class Hop:
    """One network hop of a request: `source` -> `target`, and what protects it.

    `vpc_link`: the hop runs over the AWS VPC link (private to the VPC, still outside the mesh);
    `bypasses_sidecar`: the target's sidecar does not intercept it (Kong's inbound traffic).
    """

    source: str
    target: str
    mtls: bool
    tls: bool
    note: str
    via: str | None = None  # a passthrough on the way that does not terminate the connection
    vpc_link: bool = False
    bypasses_sidecar: bool = False

    def as_output(self) -> dict[str, object]:
        """The hop as the `hops` stack output lists it."""
        out: dict[str, object] = {
            "from": self.source,
            "to": self.target,
            "mtls": self.mtls,
            "tls": self.tls or self.mtls,
            "note": self.note,
        }
        if self.via is not None:
            out["via"] = self.via
        return out


def hops_output(hops: list[Hop]) -> list[dict[str, object]]:
    """The `hops` stack output."""
    return [h.as_output() for h in hops]


def backends(cluster: str) -> str:
    """The hop-list name of the API backends in another cluster than the gateway's."""
    return f"{BACKENDS} ({cluster})"


def east_west(cluster: str) -> str:
    """The hop-list name of a cluster's east-west gateway."""
    return f"east-west gateway ({cluster})"


def ingress_name(cluster: str) -> str:
    """The hop-list name of a cluster's Istio ingress gateway."""
    return f"Istio ingress ({cluster})"


# --------------------------------------------------------------------------- config facts


def vpc_link_cluster(config: StackConfig) -> str | None:
    """aws-http-api: the EKS cluster whose VPC hosts the VPC link (the edge cluster:
    `externalGateway.cluster`, else the first EKS); None for every other gateway."""
    ext = config.external_gateway
    if config.scenario is not Scenario.EXTERNAL_GATEWAY or ext is None or ext.kind != "aws-http-api":
        return None
    return config.edge_cluster


def entry_clusters(config: StackConfig) -> list[str]:
    """Scenario 1: the clusters whose ingress the external gateway calls, in catalogue order."""
    return list(dict.fromkeys(config.ingress_cluster(api) for api in config.apis))


def entry_cluster(config: StackConfig, api: ApiSpec) -> str:
    """The cluster where a request of `api` enters the mesh (its ingress, or the gateway's cluster)."""
    if config.scenario is Scenario.EXTERNAL_GATEWAY:
        return config.ingress_cluster(api)
    return config.gateway_cluster


def remote_clusters(config: StackConfig) -> list[str]:
    """Clusters whose backends are reached from another cluster's entry point (multi-cluster mesh)."""
    return list(dict.fromkeys(api.cluster for api in config.apis if api.cluster != entry_cluster(config, api)))


# --------------------------------------------------------------------------- the hops


def _into_mesh(gateway: str, remote: list[str], note: str) -> list[Hop]:
    """A gateway inside the mesh calling the backends: local ones directly; a backend in another
    network over ONE mTLS connection to its sidecar, which that network's east-west gateway
    (port 15443, AUTO_PASSTHROUGH) routes by SNI without terminating it (Istio multi-network)."""
    found = [Hop(gateway, BACKENDS, mtls=True, tls=True, note=note)]
    for cluster in remote:
        found.append(
            Hop(
                gateway,
                backends(cluster),
                mtls=True,
                tls=True,
                note=f"{note}; one connection end to end, passed through by SNI at the east-west gateway (:15443)",
                via=east_west(cluster),
            )
        )
    return found


def _external_gateway(config: StackConfig) -> list[Hop]:
    """Scenario 1: client -> external gateway -> the ingress of each entry cluster (TLS, certificate
    verified) -> backends; with a multi-cluster mesh, other clusters' backends through their east-west gateway."""
    assert config.external_gateway is not None, "validated by config_rules"
    gateway = EXTERNAL_GATEWAY_NAMES[config.external_gateway.kind]
    private = vpc_link_cluster(config)
    entries = entry_clusters(config)
    found = [Hop(CLIENT, gateway, mtls=False, tls=True, note="HTTPS with the cloud's managed certificate")]
    for cluster in entries:
        if cluster == private:
            note = (
                f"VPC link -> internal NLB :443 (TLS passthrough) -> ingress NodePort {NODE_PORTS[443]}; TLS verified "
                "against the ingress hostname, private to the VPC but outside the mesh"
            )
        else:
            note = "HTTPS over the internet to the ingress hostname (trusted certificate, verified), outside the mesh"
        found.append(Hop(gateway, ingress_name(cluster), mtls=False, tls=True, note=note, vpc_link=cluster == private))
    remote = remote_clusters(config)
    for cluster in entries:
        found += _into_mesh(ingress_name(cluster), remote, "inside the mesh: STRICT mTLS")
    return found


def _in_cluster_gateway() -> list[Hop]:
    """Scenario 2: Kong outside the mesh calls the backends in plaintext."""
    return [
        Hop(
            CLIENT,
            KONG,
            mtls=False,
            tls=True,
            note="HTTPS to the Kong LoadBalancer (Kong's certificate); HTTP on :80 only for APIs without credentials",
        ),
        Hop(
            KONG,
            BACKENDS,
            mtls=False,
            tls=False,
            note="plaintext: Kong has no sidecar; only the backend port is PERMISSIVE "
            "(workload-scoped PeerAuthentication)",
        ),
    ]


def _gateway_in_mesh(config: StackConfig, gateway: str, entry_note: str, mesh_note: str, bypass: bool) -> list[Hop]:
    """Scenarios 3 and 4: the client reaches a gateway in the gateway cluster over TLS, and the
    gateway's Envoy (Kong's sidecar, or the Istio gateway itself) calls the backends over mTLS."""
    entry = Hop(CLIENT, gateway, mtls=False, tls=True, note=entry_note, bypasses_sidecar=bypass)
    return [entry, *_into_mesh(gateway, remote_clusters(config), mesh_note)]


def hops(config: StackConfig) -> list[Hop]:
    """The hop list of `config`'s scenario: every connection a request through the gateway makes."""
    scenario = config.scenario
    if scenario is Scenario.EXTERNAL_GATEWAY:
        return _external_gateway(config)
    if scenario is Scenario.IN_CLUSTER_GATEWAY:
        return _in_cluster_gateway()
    if scenario is Scenario.IN_CLUSTER_GATEWAY_MESH:
        return _gateway_in_mesh(
            config,
            KONG_WITH_SIDECAR,
            "HTTPS to the Kong LoadBalancer; Kong's sidecar is bypassed inbound",
            "Kong's sidecar -> backend sidecar: STRICT mTLS; AuthorizationPolicy allows only Kong's principal",
            bypass=True,
        )
    return _gateway_in_mesh(
        config,
        GATEWAY_API,
        "HTTPS terminated at the gateway; JWT, authz and rate limits there",
        "STRICT mTLS; AuthorizationPolicy allows only the gateway's principal",
        bypass=False,
    )


def entry_node(config: StackConfig, api: ApiSpec) -> str:
    """The hop-list node that calls `api`'s backend: the entry cluster's ingress, or the gateway."""
    if config.scenario is Scenario.EXTERNAL_GATEWAY:
        return ingress_name(config.ingress_cluster(api))
    return next(h.target for h in hops(config) if h.source == CLIENT)


def backend_hop(config: StackConfig, api: ApiSpec) -> Hop:
    """The hop that carries a request of `api` from the gateway to its backend."""
    source = entry_node(config, api)
    target = BACKENDS if api.cluster == entry_cluster(config, api) else backends(api.cluster)
    return next(h for h in hops(config) if (h.source, h.target) == (source, target))
