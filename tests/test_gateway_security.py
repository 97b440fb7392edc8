"""Gateway-side security and behaviour: tokens reach the backend, policies use the workload port,
credentials travel over HTTPS only, and Kong's admin API admits only its controller."""

from __future__ import annotations

import pytest
from gateway_helpers import cloud, kind, run, single

IN_CLUSTER = ("in-cluster-gateway", "in-cluster-gateway-mesh", "gateway-api")


# ---------------------------------------------------------------- JWTs reach the backend


@pytest.mark.parametrize("scenario", IN_CLUSTER)
def test_validated_jwt_is_forwarded_to_the_backend(scenario: str) -> None:
    """Istio removes the token after validation unless `forwardOriginalToken` is set (JWTRule,
    default false): backends could not read its claims. Scenarios 2 and 3 validate at the
    backend's sidecar, scenario 4 at the gateway; every rule keeps the token."""
    program = run(cloud(scenario))
    rules = [rule for ra in kind(program, "RequestAuthentication") for rule in ra.get("spec.jwtRules")]
    assert rules
    assert all(rule["forwardOriginalToken"] is True for rule in rules)
