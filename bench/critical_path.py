"""Deploy-time critical path of a recorded program: longest weighted path, serial sum, lower bound.

Durations are estimates of a typical *create* per resource type; each carries its source.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import Program, Resource  # noqa: E402

# type prefix -> (seconds, source). First matching prefix wins; order from specific to generic.
DURATIONS: list[tuple[str, float, str]] = [
    (
        "aws:eks/cluster:Cluster",
        600,
        "EKS control plane ~10 min: AWS EKS user guide 'Create a cluster' (10-15 min); pulumi-eks examples",
    ),
    (
        "aws:eks/nodeGroup:NodeGroup",
        240,
        "managed node group 3-5 min: AWS EKS user guide 'Create a managed node group'",
    ),
    (
        "aws:eks/addon:Addon",
        60,
        "EKS add-on ~1 min (vpc-cni/coredns/kube-proxy/ebs-csi become ACTIVE once nodes are up): experience",
    ),
    ("aws:ec2/natGateway", 120, "NAT gateway ~2 min to become available: AWS VPC docs / terraform-aws-vpc experience"),
    ("aws:lb/loadBalancer", 180, "NLB ~3 min to become active: AWS ELB docs / experience"),
    ("aws:apigatewayv2/vpcLink", 120, "HTTP API VPC link ~2 min to become AVAILABLE: AWS API Gateway docs"),
    ("aws:apigatewayv2", 3, "API Gateway HTTP API/route/integration/stage: seconds (API calls)"),
    ("aws:iam/openIdConnectProvider", 5, "IAM: ~5-10 s (eventual consistency): AWS IAM docs"),
    ("aws:iam", 10, "IAM role/policy ~10 s incl. propagation: AWS IAM docs"),
    ("aws:kms", 5, "KMS key/alias: seconds"),
    ("aws:ec2/vpc:Vpc", 5, "VPC: seconds"),
    ("aws:ec2/subnet", 5, "subnet: seconds"),
    ("aws:", 3, "other AWS API objects (routes, SG rules, ...): seconds"),
    (
        "gcp:container/cluster:Cluster",
        420,
        "GKE regional cluster 6-8 min: GKE docs 'Creating a regional cluster' / experience",
    ),
    ("gcp:container/nodePool", 180, "GKE node pool ~3 min: GKE docs / experience"),
    ("gcp:compute/routerNat", 60, "Cloud NAT ~1 min: Cloud NAT docs / experience"),
    ("gcp:compute/router", 30, "Cloud Router ~30 s: experience"),
    ("gcp:projects/service", 30, "enable a Google API ~30 s (first time): Service Usage docs / experience"),
    ("gcp:compute/network", 30, "VPC network ~30 s: experience"),
    ("gcp:compute/subnetwork", 20, "subnetwork ~20 s: experience"),
    ("gcp:apigateway/gateway", 300, "API Gateway gateway ~5 min: GCP API Gateway docs / experience"),
    ("gcp:apigateway", 60, "API Gateway api/config ~1 min: GCP API Gateway docs"),
    ("gcp:", 10, "other GCP objects (IAM member, SA, firewall): ~10 s"),
    ("tls:", 0.1, "local computation in the provider"),
    ("kubernetes:helm.sh/v3:Release:gateway", 120, "Helm gateway chart + cloud LB provisioning ~2 min: experience"),
    (
        "kubernetes:helm.sh/v3:Release",
        60,
        "Helm release (istio-base/istiod/cni, kong) ~1 min until ready: Istio install docs / experience",
    ),
    ("kubernetes:apps/v1:Deployment", 30, "Deployment rollout to ready ~30 s (image pull): experience"),
    ("kubernetes:core/v1:Service:LoadBalancer", 120, "Service type LoadBalancer ~2 min: cloud LB provisioning"),
    ("kubernetes:", 2, "plain k8s object 1-5 s (Pulumi awaits readiness)"),
    ("pulumi:providers:", 0, "provider configuration: no cloud call"),
]


def duration(r: Resource) -> tuple[float, str]:
    """Estimated create seconds and the row of DURATIONS it came from."""
    key = r.type
    if r.type == "kubernetes:helm.sh/v3:Release" and "gateway" in (r.get("chart") or r.name):
        key = r.type + ":gateway"
    if r.type == "kubernetes:core/v1:Service" and r.get("spec.type") == "LoadBalancer":
        key = r.type + ":LoadBalancer"
    for prefix, seconds, _ in DURATIONS:
        if key.startswith(prefix):
            return seconds, prefix
    return 1.0, "default"


@dataclass
class PathReport:
    estimated_s: float
    serial_s: float
    lower_bound_s: float
    lower_bound_cluster: str
    critical_path: list[dict[str, Any]]
    suspicious_edges: list[dict[str, str]]

    @property
    def ratio(self) -> float:
        return self.estimated_s / self.lower_bound_s if self.lower_bound_s else 1.0


def _graph(program: Program) -> tuple[dict[str, Resource], dict[str, set[str]], dict[str, set[str]]]:
    """Custom resources and, per resource, the custom resources it waits for (components expanded).

    Also returns the explicit (dependsOn-only) edges, i.e. not carried by any input property or provider.
    """
    index = program.by_urn()
    children: dict[str, list[str]] = {}
    for r in program.resources:
        children.setdefault(r.parent, []).append(r.urn)

    def expand(urn: str) -> set[str]:
        r = index.get(urn)
        if r is None:
            return set()
        if r.custom:
            return {urn}
        out: set[str] = set()
        for child in children.get(urn, []):
            out |= expand(child)
        return out

    deps: dict[str, set[str]] = {}
    explicit: dict[str, set[str]] = {}
    for r in program.resources:
        if not r.custom:
            continue
        prop = {u for us in r.property_dependencies.values() for u in us}
        edges = set(r.dependencies) | prop | ({r.provider} if r.provider else set())
        deps[r.urn] = {d for e in edges for d in expand(e)} - {r.urn}
        implied = {d for e in prop | ({r.provider} if r.provider else set()) for d in expand(e)}
        explicit[r.urn] = deps[r.urn] - implied
    return {u: index[u] for u in deps}, deps, explicit


EGRESS = "meshgate:clusters:EgressAddresses"


def _owner(program: Program) -> dict[str, str]:
    """The cluster each custom resource belongs to ('' = global), via its k8s provider or top component."""
    index = program.by_urn()
    clusters = {
        r.name
        for r in program.resources
        if r.type.startswith("meshgate:clusters:") and r.type != EGRESS and r.parent not in index
    }

    def top(r: Resource) -> Resource:
        while r.parent in index:
            r = index[r.parent]
        return r

    def cluster_of(component: Resource) -> str:
        # A cluster's static egress addresses (registered before and outside it) belong to that cluster.
        return component.name.removesuffix("-egress") if component.type == EGRESS else component.name

    owner: dict[str, str] = {}
    for r in program.resources:
        if r.type == "pulumi:providers:kubernetes":
            owner[r.urn] = r.name.removesuffix("-k8s") if r.name.removesuffix("-k8s") in clusters else ""
    for r in program.resources:
        if r.urn in owner:
            continue
        provider = index.get(r.provider)
        if provider is not None and provider.type == "pulumi:providers:kubernetes":
            owner[r.urn] = owner[r.provider]
        else:
            t = cluster_of(top(r))
            owner[r.urn] = t if t in clusters else ""
    return owner


def _longest(nodes: dict[str, Resource], deps: dict[str, set[str]]) -> tuple[dict[str, float], dict[str, str | None]]:
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    sys.setrecursionlimit(100_000)

    @cache
    def end(urn: str) -> float:
        best, arg = 0.0, None
        for d in deps.get(urn, ()):
            if d in nodes and end(d) > best:
                best, arg = end(d), d
        via[urn] = arg
        finish[urn] = best + duration(nodes[urn])[0]
        return finish[urn]

    for urn in nodes:
        end(urn)
    return finish, via


_CRD_RELEASES = ("base", "crd", "kong", "gateway-api")


def explicit_edge_verdict(dependency: Resource, dependent: Resource) -> tuple[bool, str]:
    """Is an explicit dependsOn edge physically required? (True, why) or (False, why)."""
    a, b = dependency.type, dependent.type
    if a.startswith("aws:iam/") and b.startswith("aws:eks/"):
        return True, "IAM role policies must be attached before EKS creates the cluster/nodes"
    if a == "aws:eks/addon:Addon" and b == "aws:eks/nodeGroup:NodeGroup":
        if dependency.get("addonName") == "vpc-cni":
            return True, "nodes stay NotReady without the VPC CNI"
        return False, f"add-on {dependency.get('addonName')} is a DaemonSet; nodes do not need it to join"
    if a in ("aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool"):
        return True, "pods need nodes"
    if a == "aws:eks/addon:Addon" and b == "pulumi:providers:kubernetes":
        return (
            False,
            f"add-on {dependency.get('addonName')} readiness is not needed to reach the API server (nodes are)",
        )
    if a == "gcp:projects/service:Service":
        return True, "the Google API must be enabled first"
    if a == "kubernetes:core/v1:Namespace":
        return True, "objects need their namespace"
    if a == "kubernetes:helm.sh/v3:Release" and b == "kubernetes:helm.sh/v3:Release":
        return True, "CRDs / istiod webhook before the next chart"
    if a == "kubernetes:helm.sh/v3:Release":
        if any(k in dependency.name for k in _CRD_RELEASES):
            return True, "the chart installs the CRDs this object needs"
        return False, "a custom resource needs only its CRD, not this chart's pods"
    return True, "unclassified: assumed required"


def _physical_edges(nodes: dict[str, Resource], owner: dict[str, str]) -> dict[str, set[str]]:
    """Edges no graph states but physics imposes: a cluster's workloads (charts, Deployments) need its nodes."""
    pools = {
        u: owner[u]
        for u, r in nodes.items()
        if r.type in ("aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool")
    }
    out: dict[str, set[str]] = {}
    for u, r in nodes.items():
        if r.type in ("kubernetes:helm.sh/v3:Release", "kubernetes:apps/v1:Deployment"):
            out[u] = {p for p, c in pools.items() if c == owner[u]}
    return out


def analyse(program: Program) -> PathReport:
    nodes, deps, explicit = _graph(program)
    owner = _owner(program)
    finish, via = _longest(nodes, deps)
    last = max(finish, key=lambda u: finish[u])
    path: list[str] = []
    cur: str | None = last
    while cur is not None:
        path.append(cur)
        cur = via[cur]
    path.reverse()
    # lower bound: each cluster on its own (cross-cluster edges dropped), global resources included,
    # only required edges (inputs, providers, required explicit edges, nodes before workloads).
    physical = _physical_edges(nodes, owner)
    required = {
        u: {d for d in ds if d not in explicit[u] or explicit_edge_verdict(nodes[d], nodes[u])[0]}
        | physical.get(u, set())
        for u, ds in deps.items()
    }
    lb, lb_cluster = 0.0, ""
    for cluster in sorted({o for o in owner.values() if o}):
        keep = {u: r for u, r in nodes.items() if owner[u] in (cluster, "")}
        sub = {u: {d for d in ds if d in keep} for u, ds in required.items() if u in keep}
        f, _ = _longest(keep, sub)
        if f and max(f.values()) > lb:
            lb, lb_cluster = max(f.values()), cluster
    suspicious: list[dict[str, str]] = []
    for a, b in zip(path, path[1:], strict=False):
        why = []
        if owner[a] and owner[b] and owner[a] != owner[b]:
            why.append(f"cross-cluster ({owner[a]} -> {owner[b]})")
        if a in explicit[b]:
            needed, reason = explicit_edge_verdict(nodes[a], nodes[b])
            if not needed:
                why.append(f"explicit dependsOn, not required: {reason}")
        if why:
            suspicious.append({"from": nodes[a].name, "to": nodes[b].name, "why": "; ".join(why)})
    return PathReport(
        estimated_s=finish[last],
        serial_s=sum(duration(r)[0] for r in nodes.values()),
        lower_bound_s=lb,
        lower_bound_cluster=lb_cluster,
        critical_path=[
            {
                "name": nodes[u].name,
                "type": nodes[u].type,
                "cluster": owner[u],
                "seconds": duration(nodes[u])[0],
                "finish_s": finish[u],
            }
            for u in path
        ],
        suspicious_edges=suspicious,
    )
