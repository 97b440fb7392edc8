"""meshgate's policy checks as pure functions, shared by the CrossGuard pack (policy/__main__.py) and the tests.

Resource checks take `(resource_type, props)` and return violation messages; stack checks
take the stack's resources (with their dependency edges) and return `Violation`s. Modules:
`aws`, `gcp` (cloud hardening), `kubernetes` (pod security, Services, Helm releases,
credentials, providers), `istio` (mTLS, authorization, gateways, CRD ordering), `names` (cloud name limits),
`reachability` (API servers from the deployer and the peers, east-west exposure), `gateways` (Kong's
admin API, credentials over HTTPS only), `observability` (Kiali's authentication, telemetry providers that
exist) and `teardown` (load balancers before networks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import aws, gateways, gcp, istio, kubernetes, names, observability, reachability, teardown
from .model import Check, Level, StackCheck, StackResource, Violation

RESOURCE_CHECKS: tuple[Check, ...] = (
    *aws.CHECKS,
    *gcp.CHECKS,
    *names.CHECKS,
    *kubernetes.CHECKS,
    *istio.CHECKS,
    *reachability.CHECKS,
    *gateways.CHECKS,
    *observability.CHECKS,
)
STACK_CHECKS: tuple[StackCheck, ...] = (
    *aws.STACK_CHECKS,
    *istio.STACK_CHECKS,
    *gateways.STACK_CHECKS,
    *teardown.STACK_CHECKS,
    *reachability.STACK_CHECKS,
    *observability.STACK_CHECKS,
)
ALL: tuple[Check | StackCheck, ...] = (*RESOURCE_CHECKS, *STACK_CHECKS)
BY_ID: dict[str, Check | StackCheck] = {c.id: c for c in ALL}


def resource_violations(resource_type: str, props: Mapping[str, Any]) -> dict[str, list[str]]:
    """Violations of every resource check for one resource, by check id (checks without findings omitted)."""
    found: dict[str, list[str]] = {}
    for check in RESOURCE_CHECKS:
        messages = check(resource_type, props)
        if messages:
            found[check.id] = messages
    return found


def stack_violations(resources: Sequence[StackResource]) -> dict[str, list[Violation]]:
    """Violations of every stack check, by check id (checks without findings omitted)."""
    found: dict[str, list[Violation]] = {}
    for check in STACK_CHECKS:
        violations = check(resources)
        if violations:
            found[check.id] = violations
    return found


__all__ = [
    "ALL",
    "BY_ID",
    "RESOURCE_CHECKS",
    "STACK_CHECKS",
    "Check",
    "Level",
    "StackCheck",
    "StackResource",
    "Violation",
    "resource_violations",
    "stack_violations",
]
