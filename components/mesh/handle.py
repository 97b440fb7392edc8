"""The mesh handle: what the gateway and workload layers know about Istio in one cluster."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.clusters.handle import ClusterHandle

ISTIO_NAMESPACE = "istio-system"
"""The control-plane namespace and Istio's root namespace (meshConfig.rootNamespace)."""


@dataclass(frozen=True)
class MeshHandle:
    """Istio as installed (or adopted) in one cluster.

    `crds` holds the `base` chart release that defines the Istio CRDs and `ready` the istiod
    release; both are empty when Istio is preinstalled (`meshgate:istio.install: false`).
    Istio custom resources depend on `crds`, workloads and gateways that need sidecar
    injection depend on `ready`.

    `revision` is what injected namespaces and gateways point at: a revision name, or with
    `meshgate:istio.revisions` the revision tag `stable`; `namespace_tags` overrides it per
    namespace, `revisions` lists every installed istiod revision.
    """

    cluster: ClusterHandle
    version: str
    chart_repo: str
    revision: str | None
    trust_domain: str
    mesh_id: str
    network: str
    multicluster: bool
    crds: list[pulumi.Resource] = field(default_factory=list)
    ready: list[pulumi.Resource] = field(default_factory=list)
    namespace_tags: Mapping[str, str] = field(default_factory=dict)
    revisions: tuple[str, ...] = ()

    @property
    def injection_labels(self) -> dict[str, str]:
        """Namespace labels that turn on sidecar injection by this mesh's istiod."""
        if self.revision:
            return {"istio.io/rev": self.revision}
        return {"istio-injection": "enabled"}

    def injection_labels_for(self, namespace: str) -> dict[str, str]:
        """`injection_labels`, or `istio.io/rev: <tag>` for a namespace with its own revision tag."""
        tag = self.namespace_tags.get(namespace)
        return {"istio.io/rev": tag} if tag else self.injection_labels

    def principal(self, namespace: str, service_account: str) -> str:
        """The SPIFFE-style principal Istio authorization matches: `<trustDomain>/ns/<ns>/sa/<sa>`."""
        return f"{self.trust_domain}/ns/{namespace}/sa/{service_account}"
