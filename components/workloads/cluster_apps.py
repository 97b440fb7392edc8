"""ClusterApps: the application namespaces of one cluster, its demo services and remote-backend Services."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.mesh.handle import MeshHandle
from components.workloads.demo_service import MANAGED_BY, DemoService, DemoServiceArgs, DemoWorkload, backend_service


@dataclass(frozen=True)
class RemoteBackend:
    """A backend that runs in another cluster of the mesh but is called from this one."""

    name: str
    namespace: str
    port: int
    target_port: int


@dataclass(frozen=True)
class ClusterAppsArgs:
    """The mesh of the cluster, the app namespaces, the demo services and the remote backends to declare."""

    mesh: MeshHandle
    namespaces: list[str]
    services: list[DemoWorkload] = field(default_factory=list)
    remote_backends: list[RemoteBackend] = field(default_factory=list)


class ClusterApps(pulumi.ComponentResource):
    """Application namespaces (always labelled for sidecar injection) and their workloads.

    Scenario-independent on purpose: services are in the mesh in every architecture, so
    switching `meshgate:scenario` never touches this layer. A remote backend (multi-cluster
    mesh: the service runs only in another cluster) gets a Service of the same name and
    namespace here: callers resolve `<svc>.<ns>.svc.cluster.local` through this cluster's DNS
    and Istio merges the endpoints of every cluster behind that host.
    """

    namespaces: dict[str, k8s.core.v1.Namespace]
    services: dict[tuple[str, str], k8s.core.v1.Service]
    demo_services: dict[tuple[str, str], DemoService]

    def __init__(self, name: str, args: ClusterAppsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:workloads:ClusterApps", name, None, opts)
        cluster = args.mesh.cluster
        self.namespaces = {
            ns: k8s.core.v1.Namespace(
                f"{name}-{ns}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=ns, labels={**args.mesh.injection_labels_for(ns), **MANAGED_BY}
                ),
                opts=cluster.opts(self),
            )
            for ns in args.namespaces
        }
        self.demo_services = {}
        self.services = {}
        for spec in args.services:
            demo = DemoService(
                f"{name}-{spec.namespace}-{spec.name}",
                DemoServiceArgs(
                    spec=spec, cluster=cluster, namespace=self.namespaces[spec.namespace], mesh_ready=args.mesh.ready
                ),
                pulumi.ResourceOptions(parent=self),
            )
            self.demo_services[(spec.namespace, spec.name)] = demo
            self.services[(spec.namespace, spec.name)] = demo.service
        for remote in args.remote_backends:
            self.services[(remote.namespace, remote.name)] = backend_service(
                f"{name}-{remote.namespace}-{remote.name}-remote",
                name=remote.name,
                namespace=remote.namespace,
                port=remote.port,
                target_port=remote.target_port,
                labels={"app": remote.name, "meshgate.io/backend": "remote"},
                opts=cluster.opts(self, [self.namespaces[remote.namespace]]),
            )
        self.register_outputs(
            {
                "namespaces": sorted(self.namespaces),
                "services": sorted(f"{ns}/{svc}" for ns, svc in self.services),
            }
        )
