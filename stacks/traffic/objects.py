"""The objects a stack registers, read for the traffic query: per cluster, its Istio security
objects, Services and the workloads behind them, and the gateways' mTLS identities.

They come from one run of the program under Pulumi mocks (`stacks.recording`), the same code
path `pulumi preview` takes, without an engine or a cluster.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stacks.clusters import k8s_provider_name
from stacks.config import StackConfig
from stacks.recording import Program, Resource, run_program
from stacks.traffic.policy import IstioObject, Policies, Workload

SECURITY_KINDS = ("PeerAuthentication", "RequestAuthentication", "AuthorizationPolicy", "NetworkPolicy")
NO_INJECTION = "sidecar.istio.io/inject"
DEFAULT_TRUST_DOMAIN = "cluster.local"
DEFAULT_ROOT_NAMESPACE = "istio-system"


@dataclass(frozen=True)
class ServicePort:
    """A Service port and the container port it forwards to."""

    port: int
    target_port: int
    name: str = ""


@dataclass(frozen=True)
class Service:
    """A registered Service with the workload its selector picks."""

    cluster: str
    namespace: str
    name: str
    ports: tuple[ServicePort, ...]
    workload: Workload | None
    service_account: str | None = None

    @property
    def address(self) -> str:
        return f"{self.name}.{self.namespace}"


@dataclass
class ClusterObjects:
    """One cluster's share of the record."""

    name: str
    trust_domain: str = DEFAULT_TRUST_DOMAIN
    root_namespace: str = DEFAULT_ROOT_NAMESPACE
    security: list[IstioObject] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    namespace_labels: dict[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def policies(self) -> Policies:
        return Policies(self.root_namespace, tuple(self.security), self.namespace_labels)

    def principal(self, namespace: str, service_account: str) -> str:
        return f"{self.trust_domain}/ns/{namespace}/sa/{service_account}"


@dataclass
class StackObjects:
    """Every cluster's objects, and the gateways' registered outputs (component type -> outputs)."""

    clusters: dict[str, ClusterObjects]
    gateways: list[tuple[str, Mapping[str, Any]]]

    def services(self) -> list[Service]:
        return [s for c in self.clusters.values() for s in c.services]


def record(raw_config: Mapping[str, Any], stack: str) -> Program:
    """Run the program under mocks with `raw_config` (namespaced keys); its log lines are dropped."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return run_program(raw_config, stack=stack)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _metadata(resource: Resource) -> Mapping[str, Any]:
    return resource.get("metadata") or {}


def read(config: StackConfig, program: Program) -> StackObjects:
    """Split `program`'s Kubernetes objects by cluster (their provider) and read what the query needs."""
    by_provider = {k8s_provider_name(c.name): c.name for c in config.clusters}
    clusters = {c.name: ClusterObjects(c.name) for c in config.clusters}
    namespaces: dict[tuple[str, str], Mapping[str, str]] = {}
    deployments: dict[str, list[Resource]] = {c: [] for c in clusters}
    services: dict[str, list[Resource]] = {c: [] for c in clusters}
    for resource in program.resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        cluster = by_provider.get(resource.provider.rsplit("::", 1)[-1])
        if cluster is None:
            continue
        meta = _metadata(resource)
        if resource.type == "kubernetes:helm.sh/v3:Release" and str(resource.get("chart", "")).endswith("istiod"):
            mesh_config = resource.get("values.meshConfig") or {}
            clusters[cluster].trust_domain = mesh_config.get("trustDomain") or DEFAULT_TRUST_DOMAIN
            clusters[cluster].root_namespace = mesh_config.get("rootNamespace") or resource.get("namespace")
        elif resource.kind in SECURITY_KINDS:
            obj = IstioObject(
                str(resource.kind), meta.get("namespace", ""), meta.get("name", ""), resource.get("spec") or {}
            )
            clusters[cluster].security.append(obj)
        elif resource.kind == "Namespace":
            namespaces[(cluster, meta.get("name", ""))] = meta.get("labels") or {}
            clusters[cluster].namespace_labels[meta.get("name", "")] = meta.get("labels") or {}
        elif resource.kind == "Deployment":
            deployments[cluster].append(resource)
        elif resource.kind == "Service" and resource.get("spec.ports"):
            services[cluster].append(resource)
    for cluster, found in services.items():
        for resource in found:
            clusters[cluster].services.append(_service(cluster, resource, deployments[cluster], namespaces))
    gateways = [
        (urn.split("::")[-2].rsplit("$", 1)[-1], outputs)
        for urn, outputs in program.component_outputs.items()
        if urn.split("::")[-2].rsplit("$", 1)[-1].startswith("meshgate:gateways:")
    ]
    return StackObjects(clusters, gateways)


def _injected(labels: Mapping[str, str]) -> bool:
    """Whether a namespace with `labels` gets sidecars (`istio-injection: enabled` or a revision label)."""
    return labels.get("istio-injection") == "enabled" or "istio.io/rev" in labels


def _service(
    cluster: str,
    resource: Resource,
    deployments: list[Resource],
    namespaces: Mapping[tuple[str, str], Mapping[str, str]],
) -> Service:
    """A Service, its ports mapped to container ports, and the Deployment its selector picks."""
    meta = _metadata(resource)
    namespace = meta.get("namespace", "")
    selector: Mapping[str, str] = resource.get("spec.selector") or {}
    pods = [
        d
        for d in deployments
        if _metadata(d).get("namespace") == namespace
        and selector
        and all((d.get("spec.template.metadata.labels") or {}).get(k) == v for k, v in selector.items())
    ]
    pod = pods[0] if pods else None
    container_ports: dict[str, int] = {}
    for container in (pod.get("spec.template.spec.containers") or []) if pod else []:
        for p in container.get("ports") or []:
            if p.get("name") and _int(p.get("containerPort")) is not None:
                container_ports[str(p["name"])] = int(p["containerPort"])
    ports: list[ServicePort] = []
    for p in resource.get("spec.ports") or []:
        port = _int(p.get("port"))
        if port is None:
            continue
        target = p.get("targetPort", port)
        target_port = _int(target) if _int(target) is not None else container_ports.get(str(target))
        ports.append(ServicePort(port, target_port if target_port is not None else port, str(p.get("name") or "")))
    workload = None
    account = None
    if pod is not None:
        labels: Mapping[str, str] = pod.get("spec.template.metadata.labels") or {}
        annotations: Mapping[str, str] = pod.get("spec.template.metadata.annotations") or {}
        sidecar = _injected(namespaces.get((cluster, namespace), {})) and "false" not in (
            annotations.get(NO_INJECTION),
            labels.get(NO_INJECTION),
        )
        workload = Workload(namespace, dict(labels), sidecar)
        account = pod.get("spec.template.spec.serviceAccountName") or "default"
    return Service(cluster, namespace, meta.get("name", ""), tuple(ports), workload, account)
