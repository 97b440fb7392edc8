"""PeerAuthentication builders: mesh-wide STRICT mTLS and narrowly scoped exceptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.istio_security.istio_resource import ISTIO_NAMESPACE, SECURITY_API, istio_resource
from components.mesh.handle import MeshHandle

MtlsMode = Literal["STRICT", "PERMISSIVE", "DISABLE"]


def mesh_wide_strict(*, mesh: MeshHandle, parent: pulumi.Resource) -> k8s.apiextensions.CustomResource:
    """`PeerAuthentication` `default` in the root namespace: every workload accepts mTLS only."""
    return peer_authentication("default", ISTIO_NAMESPACE, mesh=mesh, parent=parent, mode="STRICT")


def peer_authentication(
    name: str,
    namespace: str,
    *,
    mesh: MeshHandle,
    parent: pulumi.Resource,
    mode: MtlsMode = "STRICT",
    selector: Mapping[str, str] | None = None,
    port_level_mtls: Mapping[int, MtlsMode] | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.apiextensions.CustomResource:
    """A `PeerAuthentication` for a namespace, or for the workloads matching `selector`.

    `port_level_mtls` ({8080: "PERMISSIVE"}) overrides `mode` on single ports; Istio only
    honours port-level settings on workload-scoped policies, so it requires `selector`.
    """
    if port_level_mtls and not selector:
        raise ValueError(f"PeerAuthentication {namespace}/{name}: port_level_mtls needs a workload selector")
    spec: dict[str, object] = {"mtls": {"mode": mode}}
    if selector:
        spec["selector"] = {"matchLabels": dict(selector)}
    if port_level_mtls:
        spec["portLevelMtls"] = {str(port): {"mode": m} for port, m in sorted(port_level_mtls.items())}
    return istio_resource(
        SECURITY_API, "PeerAuthentication", name, namespace, spec, mesh=mesh, parent=parent, depends_on=depends_on
    )
