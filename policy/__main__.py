"""The meshgate CrossGuard policy pack: adapts the pure checks of `checks` to pulumi-policy.

Run with `pulumi preview --policy-pack policy` (or `python -m stacks.pipeline preview
--policy-pack policy`). Constructing the PolicyPack starts the analyzer's gRPC server, so
nothing imports this module; tests import `policy.checks` instead.
"""

from __future__ import annotations

from checks import RESOURCE_CHECKS, STACK_CHECKS, Check, Level, StackCheck, StackResource
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

LEVELS = {Level.MANDATORY: EnforcementLevel.MANDATORY, Level.ADVISORY: EnforcementLevel.ADVISORY}


def resource_policy(check: Check) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy reporting every message of `check` against the resource."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args.resource_type, args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=check.id,
        description=f"{check.description} [{check.source}]",
        validate=validate,
        enforcement_level=LEVELS[check.level],
    )


def stack_resources(args: StackValidationArgs) -> list[StackResource]:
    """The engine's view of the stack as the plain records stack checks take."""
    out: list[StackResource] = []
    for r in args.resources:
        dependencies = [d.urn for d in r.dependencies]
        for deps in r.property_dependencies.values():
            dependencies.extend(d.urn for d in deps)
        out.append(
            StackResource(
                urn=r.urn,
                type=r.resource_type,
                name=r.name,
                props=r.props,
                parent=r.parent.urn if r.parent is not None else "",
                provider=r.provider.urn if r.provider is not None else "",
                dependencies=tuple(dict.fromkeys(dependencies)),
            )
        )
    return out


def stack_policy(check: StackCheck) -> StackValidationPolicy:
    """A StackValidationPolicy reporting each Violation of `check` against its resource (or the stack)."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for violation in check(stack_resources(args)):
            report_violation(violation.message, violation.urn)

    return StackValidationPolicy(
        name=check.id,
        description=f"{check.description} [{check.source}]",
        validate=validate,
        enforcement_level=LEVELS[check.level],
    )


PolicyPack(
    name="meshgate",
    description="CIS EKS/GKE, Checkov and Istio security best practices, plus meshgate's teardown and ordering rules.",
    policies=[*(resource_policy(c) for c in RESOURCE_CHECKS), *(stack_policy(c) for c in STACK_CHECKS)],
)
