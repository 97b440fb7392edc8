"""RequestAuthentication builder: which JWTs a workload (usually a gateway) validates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.istio_security.istio_resource import SECURITY_API, istio_resource
from components.mesh.handle import MeshHandle


def request_authentication(
    name: str,
    namespace: str,
    *,
    issuer: str,
    jwks_uri: str,
    mesh: MeshHandle,
    parent: pulumi.Resource,
    selector: Mapping[str, str] | None = None,
    audiences: Sequence[str] = (),
    forward_original_token: bool = True,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.apiextensions.CustomResource:
    """A `RequestAuthentication` validating JWTs from `issuer` (keys at `jwks_uri`).

    It rejects invalid tokens only; pair it with an `allow_from(request_principals=[...])`
    policy to reject requests without a token. `forward_original_token` keeps the validated
    token on the request (Istio's default removes it), so the backend can read its claims.
    """
    rule: dict[str, object] = {"issuer": issuer, "jwksUri": jwks_uri}
    if audiences:
        rule["audiences"] = list(audiences)
    rule["forwardOriginalToken"] = forward_original_token
    spec: dict[str, object] = {"jwtRules": [rule]}
    if selector:
        spec["selector"] = {"matchLabels": dict(selector)}
    return istio_resource(
        SECURITY_API, "RequestAuthentication", name, namespace, spec, mesh=mesh, parent=parent, depends_on=depends_on
    )
