"""Recorded resources as the policy pack receives them (stack checks' StackResource, read-only proxies)."""

from __future__ import annotations

import copy
from typing import Any

from harness import Program, Resource
from pulumi_policy.proxy import unknown_checking_proxy

from policy.checks import StackResource


def stack_resources(program: Program) -> list[StackResource]:
    """Recorded resources as the stack checks take them (what the engine hands AnalyzeStack)."""
    return [stack_resource(r) for r in program.resources]


def stack_resource(r: Resource) -> StackResource:
    dependencies = list(r.dependencies)
    for deps in r.property_dependencies.values():
        dependencies.extend(deps)
    return StackResource(
        urn=r.urn,
        type=r.type,
        name=r.name,
        props=r.plain,
        parent=r.parent,
        provider=r.provider,
        dependencies=tuple(dict.fromkeys(dependencies)),
    )


def as_policy_sees(props: dict[str, Any]) -> Any:
    """Properties wrapped the way pulumi-policy hands them to validations (read-only Mapping/Sequence proxies)."""
    return unknown_checking_proxy(copy.deepcopy(props))
