"""Cluster layer invariants shared by every cloud: independence, handles, protection."""

from __future__ import annotations

import pytest

from harness import Program, Resource, evaluate_stack


def _cloud(r: Resource) -> str | None:
    for prefix in ("aws", "gcp"):
        if r.type.startswith(f"{prefix}:") or r.type == f"pulumi:providers:{prefix}":
            return prefix
    return None


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_no_dependency_between_aws_and_gcp_resources(stack: str, request: pytest.FixtureRequest) -> None:
    program: Program = request.getfixturevalue(stack)
    clouds = {r.urn: _cloud(r) for r in program.resources}
    checked = 0
    for r in program.resources:
        mine = clouds[r.urn]
        if mine is None:
            continue
        reached = {clouds.get(urn) for urn in program.ancestors(r.urn)} - {None, mine}
        assert not reached, f"{r.type} {r.name} ({mine}) depends on {reached} resources"
        checked += 1
    assert checked > 20  # both clusters were really registered


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_cloud_resource_uses_its_clusters_provider(stack: str, request: pytest.FixtureRequest) -> None:
    program: Program = request.getfixturevalue(stack)
    aws = [r for r in program.resources if r.type.startswith("aws:")]
    gcp = [r for r in program.resources if r.type.startswith("gcp:")]
    assert aws and gcp
    assert {r.provider.rsplit("::", 1)[-1] for r in aws} == {"aws-east-aws"}
    assert {r.provider.rsplit("::", 1)[-1] for r in gcp} == {"gcp-central-gcp"}


def test_kubernetes_provider_waits_for_the_whole_cluster(prod: Program) -> None:
    provider = prod.one("pulumi:providers:kubernetes", "aws-east-k8s")
    reached = {prod.by_urn()[u].type for u in prod.ancestors(provider.urn) if u in prod.by_urn()}
    assert {"aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:ec2/vpc:Vpc"} <= reached
    gke = prod.one("pulumi:providers:kubernetes", "gcp-central-k8s")
    reached = {prod.by_urn()[u].type for u in prod.ancestors(gke.urn) if u in prod.by_urn()}
    assert {"gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool"} <= reached


def test_kubernetes_providers_use_exec_auth_kubeconfigs(prod: Program) -> None:
    import json

    for name, command in (("aws-east-k8s", "aws"), ("gcp-central-k8s", "gke-gcloud-auth-plugin")):
        provider = prod.one("pulumi:providers:kubernetes", name)
        assert "kubeconfig" in list(__import__("harness").secret_paths(provider.inputs)), name
        doc = json.loads(provider.plain["kubeconfig"])
        user = doc["users"][0]["user"]
        assert user["exec"]["command"] == command and "token" not in user


def test_protect_covers_clusters_and_networks_only_in_prod(prod: Program, staging: Program) -> None:
    critical = ("aws:eks/cluster:Cluster", "aws:ec2/vpc:Vpc", "gcp:container/cluster:Cluster", "gcp:compute/network:Network")
    for r in prod.of_type(*critical):
        assert r.protect, f"{r.type} {r.name} not protected in prod"
    for r in staging.of_type(*critical):
        assert not r.protect, f"{r.type} {r.name} protected in staging"
    assert len(prod.of_type(*critical)) == 4


def test_dev_adopts_the_current_context_without_creating_cloud_resources(dev: Program) -> None:
    assert not [r for r in dev.resources if _cloud(r)]
    provider = dev.one("pulumi:providers:kubernetes", "local-k8s")
    assert "context" not in provider.plain or provider.plain["context"] in (None, "")
    assert evaluate_stack("dev", {"clusters": [{"name": "local", "kind": "kubeconfig", "context": "kind-mesh"}]}).one(
        "pulumi:providers:kubernetes", "local-k8s"
    ).plain["context"] == "kind-mesh"


def test_kubernetes_objects_do_not_wait_for_coredns(prod: Program) -> None:
    """CoreDNS is created after the nodes; waiting for it would add a minute to every mesh chain."""
    provider = prod.one("pulumi:providers:kubernetes", "aws-east-k8s")
    index = prod.by_urn()
    reached = {index[u].name for u in prod.ancestors(provider.urn) if u in index}
    assert "aws-east-addon-coredns" in {r.name for r in prod.resources}
    assert "aws-east-addon-coredns" not in reached
    assert any(index[u].type == "aws:ec2/vpc:Vpc" for u in prod.ancestors(provider.urn) if u in index)
