"""Two-phase destroy: which resources go first so networks never fail on leftover load balancers.

A LoadBalancer Service makes the cloud controller create an NLB/ELB (AWS) or forwarding
rules, NEGs and firewall rules (GCP) that Pulumi does not see; while they exist the VPC
cannot be deleted (pulumi-eks #194/#382). Phase 1 therefore destroys the gateway layer:

- every component whose type starts with one of `GATEWAY_LAYER_TYPES`, with all its
  descendants (their namespaces included: the Kubernetes provider awaits a namespace's
  deletion, which waits for the Services in it and their load-balancer finalizers);
- every resource that owns a cloud load balancer (`policy.checks.teardown.owns_load_balancer`,
  the same predicate the policy pack's teardown check uses): LoadBalancer Services, gateway
  Helm releases, Gateway API `Gateway`s, NLBs, VPC links, forwarding rules;
- everything that depends on those (the engine deletes dependents first anyway; listing
  them makes the plan explicit and testable).

Phase 2 destroys the rest. `plan_destroy` is pure: it reads the deployment's resource
dicts (`stack.export_stack().deployment["resources"]`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.checks.graph import Graph
from policy.checks.model import StackResource
from policy.checks.teardown import owns_load_balancer

GATEWAY_LAYER_TYPES: tuple[str, ...] = (
    "meshgate:gateways:",  # Kong, external API gateways, Gateway API gateway (components/gateways/)
    "meshgate:mesh:IstioGateway",  # Istio ingress and east-west gateways (components/mesh/gateway.py)
)
"""Type-token prefixes of the components that own cloud load balancers: the one place to extend."""

_NEVER_TARGETED = ("pulumi:pulumi:Stack", "pulumi:providers:")


@dataclass(frozen=True)
class DestroyPlan:
    """URNs of phase 1 (in state order) and why each is there; phase 2 is everything left."""

    first: tuple[str, ...]
    reasons: Mapping[str, str]
    remaining: tuple[str, ...]
    protected_first: tuple[str, ...]
    blockers: tuple[str, ...] = ()  # what the engine or the cloud will refuse to delete (any phase)

    @property
    def two_phases(self) -> bool:
        return bool(self.first)


def provider_urn(reference: str) -> str:
    """A provider reference in state is `<urn>::<id>`; return the URN."""
    return reference.rsplit("::", 1)[0] if reference.count("::") > 3 else reference


def stack_resources(deployment_resources: Sequence[Mapping[str, Any]]) -> list[StackResource]:
    """Deployment resource dicts (engine state) as the policy checks' StackResource."""
    out: list[StackResource] = []
    for r in deployment_resources:
        deps: list[str] = list(r.get("dependencies") or [])
        for urns in (r.get("propertyDependencies") or {}).values():
            deps.extend(u for u in urns if u not in deps)
        urn = str(r["urn"])
        out.append(
            StackResource(
                urn=urn,
                type=str(r["type"]),
                name=urn.rsplit("::", 1)[-1],
                props=r.get("inputs") or {},
                parent=str(r.get("parent") or ""),
                provider=provider_urn(str(r.get("provider") or "")),
                dependencies=tuple(deps),
            )
        )
    return out


def in_gateway_layer(resource_type: str) -> bool:
    return resource_type.startswith(GATEWAY_LAYER_TYPES)


def plan_destroy(deployment_resources: Sequence[Mapping[str, Any]]) -> DestroyPlan:
    """Split a stack's resources into the gateway layer (phase 1) and the rest (phase 2)."""
    resources = [r for r in stack_resources(deployment_resources) if not r.type.startswith(_NEVER_TARGETED)]
    protected = {str(r["urn"]) for r in deployment_resources if r.get("protect")}
    graph = Graph(resources)
    reasons: dict[str, str] = {}
    for r in resources:
        if in_gateway_layer(r.type):
            reasons.setdefault(r.urn, f"gateway layer ({r.type})")
            for child in graph.descendants(r.urn):
                reasons.setdefault(child, f"part of {r.name}")
        elif owns_load_balancer(r):
            reasons.setdefault(r.urn, "owns a cloud load balancer")
    for child_of in list(reasons):
        for child in graph.descendants(child_of):
            reasons.setdefault(child, f"part of {child_of.rsplit('::', 1)[-1]}")
    seeds = set(reasons)
    for r in resources:
        if r.urn not in reasons and graph.ancestors(r.urn) & seeds:
            reasons[r.urn] = "depends on the gateway layer"
            for child in graph.descendants(r.urn):
                reasons.setdefault(child, f"part of {r.name}")
    first = tuple(r.urn for r in resources if r.urn in reasons)
    remaining = tuple(r.urn for r in resources if r.urn not in reasons)
    return DestroyPlan(
        first=first,
        reasons={urn: reasons[urn] for urn in first},
        remaining=remaining,
        protected_first=tuple(u for u in first if u in protected),
        blockers=delete_blockers(deployment_resources),
    )


GKE_CLUSTER = "gcp:container/cluster:Cluster"


def delete_blockers(deployment_resources: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """URNs a destroy cannot delete: resources with Pulumi's `protect`, and GKE clusters whose own
    `deletionProtection` is on (the GKE API refuses the delete whatever Pulumi's `protect` says)."""
    found: list[str] = []
    for r in deployment_resources:
        gke_protected = r.get("type") == GKE_CLUSTER and any(
            (r.get(part) or {}).get("deletionProtection") is True for part in ("outputs", "inputs")
        )
        if r.get("protect") or gke_protected:
            found.append(str(r["urn"]))
    return tuple(found)


def leftovers(plan: DestroyPlan, deployment_resources: Sequence[Mapping[str, Any]]) -> list[str]:
    """Phase-1 URNs still in the state after phase 1 (must be empty before phase 2 starts)."""
    still = {str(r["urn"]) for r in deployment_resources}
    return [urn for urn in plan.first if urn in still]
