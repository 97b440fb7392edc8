"""AuthorizationPolicy builders: a deny-by-default baseline and explicit ALLOW rules.

Only positive matches are produced (`principals`, `paths`, `ports`); negative ones
(`notPrincipals`, `notNamespaces`) silently allow plaintext callers and are never used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.istio_security.istio_resource import SECURITY_API, istio_resource
from components.mesh.handle import MeshHandle


def allow_nothing(
    namespace: str, *, mesh: MeshHandle, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()
) -> k8s.apiextensions.CustomResource:
    """`AuthorizationPolicy` `allow-nothing` (empty spec): deny every request in `namespace` unless allowed."""
    return istio_resource(
        SECURITY_API,
        "AuthorizationPolicy",
        "allow-nothing",
        namespace,
        {},
        mesh=mesh,
        parent=parent,
        depends_on=depends_on,
    )


def allow_from(
    name: str,
    namespace: str,
    *,
    mesh: MeshHandle,
    parent: pulumi.Resource,
    principals: Sequence[str] = (),
    request_principals: Sequence[str] = (),
    selector: Mapping[str, str] | None = None,
    paths: Sequence[str] = (),
    ports: Sequence[int] = (),
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.apiextensions.CustomResource:
    """An ALLOW `AuthorizationPolicy`: requests from `principals` (mTLS identities, see
    `MeshHandle.principal`) and/or carrying a JWT of `request_principals` (`<iss>/<sub>`, `*`),
    optionally only to `paths`/`ports` of the workloads matching `selector`.
    """
    if not principals and not request_principals:
        raise ValueError(
            f"AuthorizationPolicy {namespace}/{name}: an ALLOW rule needs principals or request_principals"
        )
    source: dict[str, object] = {}
    if principals:
        source["principals"] = list(principals)
    if request_principals:
        source["requestPrincipals"] = list(request_principals)
    rule: dict[str, object] = {"from": [{"source": source}]}
    operation: dict[str, object] = {}
    if paths:
        operation["paths"] = list(paths)
    if ports:
        operation["ports"] = [str(p) for p in ports]
    if operation:
        rule["to"] = [{"operation": operation}]
    spec: dict[str, object] = {"action": "ALLOW", "rules": [rule]}
    if selector:
        spec["selector"] = {"matchLabels": dict(selector)}
    return istio_resource(
        SECURITY_API, "AuthorizationPolicy", name, namespace, spec, mesh=mesh, parent=parent, depends_on=depends_on
    )
