"""DemoService: a hardened ServiceAccount + Deployment + Service for the APIs to reach."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle

RUN_AS_USER = 65532  # the distroless "nonroot" user
MANAGED_BY = {"app.kubernetes.io/managed-by": "meshgate"}


def image_version(image: str) -> str:
    """The `version` label from a pinned image: its tag, else the first 12 hex digits of its digest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1][:63]
    return digest.removeprefix("sha256:")[:12]


def service_ports(port: int, target_port: int) -> list[k8s.core.v1.ServicePortArgs]:
    """One port named `http` so Istio selects the HTTP protocol (and mTLS-aware routing) for it."""
    return [
        k8s.core.v1.ServicePortArgs(
            name="http", port=port, target_port=target_port, protocol="TCP", app_protocol="http"
        )
    ]


def backend_service(
    resource_name: str,
    *,
    name: str,
    namespace: str,
    port: int,
    target_port: int,
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Service:
    """The ClusterIP Service of a backend (`<name>.<namespace>.svc.cluster.local:<port>` -> pod port
    `target_port`), selecting `app: <name>`."""
    return k8s.core.v1.Service(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels={**labels, **MANAGED_BY}),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP", selector={"app": name}, ports=service_ports(port, target_port)
        ),
        opts=opts,
    )


DEFAULT_DEMO_IMAGE = "ghcr.io/mccutchen/go-httpbin:2.15.0"
"""go-httpbin, pinned: serves HTTP on $PORT, echoes requests (headers, auth) back."""


@dataclass(frozen=True)
class DemoWorkload:
    """One demo backend: its Service, the port it listens on, its image and size."""

    name: str
    """Service, Deployment and service-account name (the `app` label)."""
    namespace: str
    """Namespace it runs in (created by ClusterApps)."""
    port: int = 8080
    """The Service port callers use."""
    container_port: int = 8080
    """The port the workload listens on (the Service's targetPort)."""
    replicas: int = 2
    """Pods of the Deployment."""
    image: str = DEFAULT_DEMO_IMAGE
    """A pinned image serving HTTP on $PORT."""


@dataclass(frozen=True)
class DemoServiceArgs:
    """Which workload, in which cluster; its namespace and istiod to wait for."""

    spec: DemoWorkload
    """The workload."""
    cluster: ClusterHandle
    """The cluster it runs in."""
    namespace: pulumi.Resource
    """Its Namespace object (the Deployment waits for it)."""
    mesh_ready: Sequence[pulumi.Resource] = ()
    """What sidecar injection needs first (istiod)."""


class DemoService(pulumi.ComponentResource):
    """go-httpbin (or the configured pinned image) serving HTTP on `spec.container_port` (Service port
    `spec.port`), in the mesh.

    Hardened: non-root (uid 65532), read-only root filesystem (a small /tmp emptyDir),
    no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no API token
    mounted, requests and limits, readiness/liveness probes on the port. Everything waits
    for the namespace; the Deployment also for istiod (`mesh_ready`: sidecar injection).
    """

    service: k8s.core.v1.Service
    deployment: k8s.apps.v1.Deployment
    service_account: k8s.core.v1.ServiceAccount
    host: str
    labels: dict[str, str]

    def __init__(self, name: str, args: DemoServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:workloads:DemoService", name, None, opts)
        spec = args.spec
        labels = {"app": spec.name, "version": image_version(spec.image)}
        child = args.cluster.opts(self, [args.namespace])

        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=spec.name, namespace=spec.namespace, labels={"app": spec.name, **MANAGED_BY}
            ),
            automount_service_account_token=False,
            opts=child,
        )
        probe = k8s.core.v1.HTTPGetActionArgs(path="/status/200", port="http")
        container = k8s.core.v1.ContainerArgs(
            name="app",
            image=spec.image,
            image_pull_policy="IfNotPresent",
            env=[k8s.core.v1.EnvVarArgs(name="PORT", value=str(spec.container_port))],
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=spec.container_port, protocol="TCP")],
            readiness_probe=k8s.core.v1.ProbeArgs(http_get=probe, period_seconds=5, failure_threshold=3),
            liveness_probe=k8s.core.v1.ProbeArgs(
                http_get=probe, initial_delay_seconds=5, period_seconds=10, failure_threshold=3
            ),
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "128Mi"}
            ),
            security_context=k8s.core.v1.SecurityContextArgs(
                run_as_non_root=True,
                run_as_user=RUN_AS_USER,
                run_as_group=RUN_AS_USER,
                read_only_root_filesystem=True,
                allow_privilege_escalation=False,
                privileged=False,
                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
        )
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=spec.name, namespace=spec.namespace, labels={**labels, **MANAGED_BY}
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=spec.replicas,
                revision_history_limit=5,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": spec.name}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=spec.name,
                        automount_service_account_token=False,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True,
                            run_as_user=RUN_AS_USER,
                            run_as_group=RUN_AS_USER,
                            fs_group=RUN_AS_USER,
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        containers=[container],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="16Mi")
                            )
                        ],
                        topology_spread_constraints=[
                            k8s.core.v1.TopologySpreadConstraintArgs(
                                max_skew=1,
                                topology_key="kubernetes.io/hostname",
                                when_unsatisfiable="ScheduleAnyway",
                                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": spec.name}),
                            )
                        ],
                    ),
                ),
            ),
            opts=args.cluster.opts(self, [args.namespace, *args.mesh_ready, self.service_account]),
        )
        self.service = backend_service(
            f"{name}-service",
            name=spec.name,
            namespace=spec.namespace,
            port=spec.port,
            target_port=spec.container_port,
            labels={"app": spec.name},
            opts=child,
        )
        self.host = f"{spec.name}.{spec.namespace}.svc.cluster.local"
        self.labels = labels
        self.register_outputs({"host": self.host, "port": spec.port, "image": spec.image})
