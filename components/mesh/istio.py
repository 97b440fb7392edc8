"""IstioMesh: Istio in one cluster from the official charts, in the order Istio requires.

istio-system namespace (network label) -> `cacerts` (multi-cluster) -> `base` (CRDs) ->
`istiod` -> east-west gateway + `cross-network-gateway` (multi-cluster).

Fields istiod mutates at runtime (the validating webhook's `failurePolicy` and `caBundle`)
belong to objects rendered by the `base`/`istiod` charts; Pulumi tracks the releases, not
those live fields, so they never show up as a diff. No webhook object is managed directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle
from components.mesh.ca import CaMaterial
from components.mesh.gateway import NETWORK_LABEL, IstioGateway, IstioGatewayArgs
from components.mesh.handle import ISTIO_NAMESPACE, MeshHandle
from components.mesh.helm import istio_release
from components.policies.base import NETWORKING_API, istio_resource
from components.policies.telemetry import TRACING_PROVIDER
from stacks.config import IstioSpec

BASE_TIMEOUT_SECONDS = 300
ISTIOD_TIMEOUT_SECONDS = 600

EASTWEST_NAMESPACE = "istio-eastwest"
EASTWEST_RELEASE = "istio-eastwestgateway"
CROSS_NETWORK_PORT = 15443

PILOT_RESOURCES = {"requests": {"cpu": "500m", "memory": "2048Mi"}}

CACERTS_HASH_ANNOTATION = "meshgate.io/cacerts-sha256"
"""istiod pod-template annotation: the hash of its `cacerts`. istiod reads the CA only at start, so a
new hash (multi-cluster turned on, a re-issued intermediate) rolls istiod through the chart's
`podAnnotations`."""

_EASTWEST_SERVICE_ANNOTATIONS: dict[str, dict[str, str]] = {
    # A Network Load Balancer passes mTLS through untouched (the in-tree default is a Classic ELB).
    "aws": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
}


@dataclass(frozen=True)
class IstioMeshArgs:
    """`ca` is this cluster's `cacerts` material (multi-cluster), None to let istiod self-sign."""

    cluster: ClusterHandle
    istio: IstioSpec
    multicluster: bool
    ca: CaMaterial | None = None


def istiod_release_name(revision: str | None) -> str:
    return f"istiod-{revision}" if revision else "istiod"


def zipkin_provider(address: str) -> dict[str, Any]:
    """The meshConfig extension provider for `host[:port]`; short `svc.ns` hosts become FQDNs."""
    host, _, port = address.partition(":")
    if host.count(".") == 1:
        host = f"{host}.svc.cluster.local"
    return {"name": TRACING_PROVIDER, "zipkin": {"service": host, "port": int(port or 9411)}}


def istiod_values(
    istio: IstioSpec, cluster: str, network: str, ca_fingerprint: pulumi.Input[str] | None = None
) -> dict[str, Any]:
    """Values of the `istiod` chart; `ca_fingerprint` (of the plugged-in `cacerts`) goes into the pod template."""
    values: dict[str, Any] = {
        "global": {
            "istioNamespace": ISTIO_NAMESPACE,
            "meshID": istio.mesh_id,
            "multiCluster": {"clusterName": cluster},
            "network": network,
        },
        "meshConfig": {
            "trustDomain": istio.trust_domain,
            "accessLogFile": "/dev/stdout" if istio.access_logs else "",
            "enableTracing": istio.tracing.sampling_percent > 0,
            "extensionProviders": [zipkin_provider(istio.tracing.zipkin_address)],
            "defaultConfig": {"holdApplicationUntilProxyStarts": True},
        },
        # The istiod chart's values are flat since 1.24 (`resources`, not `pilot.resources`).
        "resources": PILOT_RESOURCES,
    }
    if istio.revision:
        values["revision"] = istio.revision
    if ca_fingerprint is not None:
        values["podAnnotations"] = {CACERTS_HASH_ANNOTATION: ca_fingerprint}
    return values


def base_values(istio: IstioSpec) -> dict[str, Any]:
    """Values of the `base` chart: the default validating webhook targets this mesh's istiod."""
    return {"defaultRevision": istio.revision or "default", "global": {"istioNamespace": ISTIO_NAMESPACE}}


class IstioMesh(pulumi.ComponentResource):
    """Istio control plane of one cluster; `handle` is what upper layers use.

    With `istio.install: false` (managed or preinstalled Istio) nothing is installed and the
    handle has no `crds`/`ready` dependencies.
    """

    handle: MeshHandle
    east_west: IstioGateway | None

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:mesh:IstioMesh", name, None, opts)
        cluster, istio = args.cluster, args.istio
        handle = MeshHandle(
            cluster=cluster,
            version=istio.version,
            chart_repo=istio.chart_repo,
            revision=istio.revision,
            trust_domain=istio.trust_domain,
            mesh_id=istio.mesh_id,
            network=cluster.network,
            multicluster=args.multicluster,
        )
        self.east_west = None
        if istio.install:
            handle = self._install(name, args, handle)
        self.handle = handle
        self.register_outputs(
            {
                "version": handle.version,
                "revision": handle.revision,
                "network": handle.network,
                "eastWestGateway": self.east_west.address if self.east_west else None,
            }
        )

    def _install(self, name: str, args: IstioMeshArgs, handle: MeshHandle) -> MeshHandle:
        cluster, istio = args.cluster, args.istio
        labels = {"app.kubernetes.io/part-of": "meshgate"}
        if args.multicluster:
            labels[NETWORK_LABEL] = cluster.network
        namespace = k8s.core.v1.Namespace(
            f"{name}-istio-system",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ISTIO_NAMESPACE, labels=labels),
            opts=cluster.opts(self),
        )
        before_istiod: list[pulumi.Resource] = [namespace]
        if args.ca is not None:
            before_istiod.append(
                k8s.core.v1.Secret(
                    f"{name}-cacerts",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name="cacerts", namespace=ISTIO_NAMESPACE, labels={"app.kubernetes.io/part-of": "meshgate"}
                    ),
                    type="Opaque",
                    string_data=args.ca.secret_data(),
                    opts=cluster.opts(self, depends_on=[namespace]),
                )
            )
        base = istio_release(
            f"{name}-istio-base",
            mesh=handle,
            chart="base",
            release_name="istio-base",
            namespace=ISTIO_NAMESPACE,
            values=base_values(istio),
            timeout_seconds=BASE_TIMEOUT_SECONDS,
            opts=cluster.opts(self, depends_on=[namespace]),
        )
        release = istiod_release_name(istio.revision)
        istiod = istio_release(
            f"{name}-{release}",
            mesh=handle,
            chart="istiod",
            release_name=release,
            namespace=ISTIO_NAMESPACE,
            values=istiod_values(
                istio, cluster.name, cluster.network, args.ca.fingerprint() if args.ca is not None else None
            ),
            timeout_seconds=ISTIOD_TIMEOUT_SECONDS,
            opts=cluster.opts(self, depends_on=[*before_istiod, base]),
        )
        handle = replace(handle, crds=[base], ready=[istiod])
        if args.multicluster:
            self.east_west = IstioGateway(
                f"{name}-eastwestgateway",
                IstioGatewayArgs(
                    mesh=handle,
                    namespace=EASTWEST_NAMESPACE,
                    release_name=EASTWEST_RELEASE,
                    kind="eastwest",
                    service_annotations=dict(_EASTWEST_SERVICE_ANNOTATIONS.get(cluster.cloud, {})),
                ),
                pulumi.ResourceOptions(parent=self),
            )
            istio_resource(
                NETWORKING_API,
                "Gateway",
                "cross-network-gateway",
                EASTWEST_NAMESPACE,
                {
                    "selector": dict(self.east_west.selector_labels),
                    "servers": [
                        {
                            "port": {"number": CROSS_NETWORK_PORT, "name": "tls", "protocol": "TLS"},
                            "tls": {"mode": "AUTO_PASSTHROUGH"},
                            "hosts": ["*.local"],
                        }
                    ],
                },
                mesh=handle,
                parent=self,
                depends_on=[self.east_west],
            )
        return handle
