"""The one way an Istio custom resource is registered: in the mesh's cluster, after its CRDs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.mesh.handle import ISTIO_NAMESPACE, MeshHandle

__all__ = ["ISTIO_NAMESPACE", "MANAGED_LABELS", "NETWORKING_API", "SECURITY_API", "TELEMETRY_API", "istio_resource"]

SECURITY_API = "security.istio.io/v1"
TELEMETRY_API = "telemetry.istio.io/v1"
NETWORKING_API = "networking.istio.io/v1"

MANAGED_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "meshgate"}


def istio_resource(
    api_version: str,
    kind: str,
    name: str,
    namespace: str,
    spec: dict[str, Any],
    *,
    mesh: MeshHandle,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.apiextensions.CustomResource:
    """Register `kind` `namespace/name` in `mesh`'s cluster, depending on the chart that defines its CRD.

    The Pulumi resource name is `<cluster>-<namespace>-<name>`: unique per kind across clusters
    and stable across runs.
    """
    return k8s.apiextensions.CustomResource(
        f"{mesh.cluster.name}-{namespace}-{name}",
        api_version=api_version,
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=dict(MANAGED_LABELS)),
        spec=spec,
        opts=mesh.cluster.opts(parent, depends_on=[*mesh.crds, *depends_on]),
    )
