"""Cluster layer invariants shared by every cloud: independence, handles, protection."""

from __future__ import annotations

import pytest
from harness import Program, Resource, evaluate_stack, names


def _cloud(r: Resource) -> str | None:
    for prefix in ("aws", "gcp"):
        if r.type.startswith(f"{prefix}:") or r.type == f"pulumi:providers:{prefix}":
            return prefix
    return None


EIP = "aws:ec2/eip:Eip"
ADDRESS = "gcp:compute/address:Address"
# What one cloud may wait for in the other: the peer's static egress addresses and the API they need.
CROSS_CLOUD_TYPES = {EIP, ADDRESS, "gcp:projects/service:Service", "pulumi:providers:aws", "pulumi:providers:gcp"}


def _cross_cloud(program: Program) -> dict[str, list[Resource]]:
    """For each cloud resource, the other cloud's resources it (transitively) waits for."""
    index = program.by_urn()
    clouds = {r.urn: _cloud(r) for r in program.resources}
    out: dict[str, list[Resource]] = {}
    for r in program.resources:
        mine = clouds[r.urn]
        if mine is None:
            continue
        out[r.urn] = [index[u] for u in program.ancestors(r.urn) if clouds.get(u) not in (None, mine)]
    return out


def test_without_a_multicluster_mesh_no_dependency_between_aws_and_gcp(staging: Program) -> None:
    crossing = _cross_cloud(staging)
    assert len(crossing) > 20  # both clusters were really registered
    assert {urn: names(found) for urn, found in crossing.items() if found} == {}


def test_with_a_multicluster_mesh_only_egress_addresses_cross_clouds(prod: Program) -> None:
    crossing = _cross_cloud(prod)
    reached = {r.type for found in crossing.values() for r in found}
    assert {EIP, ADDRESS} <= reached, "each API allowlist must wait for the peer's addresses"
    assert reached <= CROSS_CLOUD_TYPES, reached - CROSS_CLOUD_TYPES
    services = {
        r.get("service") for found in crossing.values() for r in found if r.type == "gcp:projects/service:Service"
    }
    assert services == {"compute.googleapis.com"}  # what a reserved address needs, nothing of the cluster


def test_clusters_are_still_created_in_parallel(prod: Program) -> None:
    eks, gke = prod.one("aws:eks/cluster:Cluster"), prod.one("gcp:container/cluster:Cluster")
    eks_waits = {prod.by_urn()[u].type for u in prod.ancestors(eks.urn) if u in prod.by_urn()}
    gke_waits = {prod.by_urn()[u].type for u in prod.ancestors(gke.urn) if u in prod.by_urn()}
    assert not {t for t in eks_waits if t.startswith("gcp:")} - {ADDRESS, "gcp:projects/service:Service"}
    assert not {t for t in gke_waits if t.startswith("aws:")} - {EIP}
    # The addresses sit outside the cluster components, so waiting for them is not waiting for a cluster.
    index = prod.by_urn()
    for address in prod.of_type(EIP, ADDRESS):
        parent = index[address.parent]
        assert parent.type == "meshgate:clusters:EgressAddresses" and parent.parent not in index


def _ip(program: Program, r: Resource) -> str:
    from stacks.recording import fake_ip as _fake_ip

    return f"{_fake_ip('52.0.0.0' if r.type == EIP else '34.0.0.0', r.name)}/32"


def test_api_allowlists_admit_every_peers_egress_addresses(prod: Program) -> None:
    eips, addresses = prod.of_type(EIP), prod.of_type(ADDRESS)
    assert len(eips) == 3 and len(addresses) == 1  # one EIP per NAT gateway (3 AZs), one Cloud NAT address
    eks = prod.one("aws:eks/cluster:Cluster")
    assert eks.get("vpcConfig.endpointPublicAccess") is True
    assert {_ip(prod, a) for a in addresses} <= set(eks.get("vpcConfig.publicAccessCidrs"))
    assert not {_ip(prod, e) for e in eips} & set(eks.get("vpcConfig.publicAccessCidrs"))  # not its own
    gke = prod.one("gcp:container/cluster:Cluster")
    blocks = {b["cidrBlock"]: b["displayName"] for b in gke.get("masterAuthorizedNetworksConfig.cidrBlocks")}
    assert {_ip(prod, e) for e in eips} <= set(blocks)
    assert {blocks[_ip(prod, e)] for e in eips} == {f"peer-aws-east-nat-{i}" for i in range(3)}
    for cluster, peers in ((eks, addresses), (gke, eips)):
        assert all(prod.depends_on(cluster, p) for p in peers)


def test_without_a_multicluster_mesh_no_peer_is_allowed(staging: Program) -> None:
    eks = staging.one("aws:eks/cluster:Cluster")
    gke = staging.one("gcp:container/cluster:Cluster")
    peers = {_ip(staging, r) for r in staging.of_type(EIP, ADDRESS)}
    assert not peers & set(eks.get("vpcConfig.publicAccessCidrs") or [])
    assert not peers & {b["cidrBlock"] for b in gke.get("masterAuthorizedNetworksConfig.cidrBlocks") or []}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_nat_uses_only_the_static_addresses(stack: str, request: pytest.FixtureRequest) -> None:
    program: Program = request.getfixturevalue(stack)
    nat = program.one("gcp:compute/routerNat:RouterNat")
    assert nat.get("natIpAllocateOption") == "MANUAL_ONLY"
    assert nat.get("natIps") == [f"https://gcp.example.com/{a.name}" for a in program.of_type(ADDRESS)]
    address = program.one(ADDRESS)
    assert address.get("addressType") == "EXTERNAL" and address.get("region") == "us-central1"
    eips = {f"eipalloc-{e.name}" for e in program.of_type(EIP)}
    assert {n.get("allocationId") for n in program.of_type("aws:ec2/natGateway:NatGateway")} == eips


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
    critical = (
        "aws:eks/cluster:Cluster",
        "aws:ec2/vpc:Vpc",
        "gcp:container/cluster:Cluster",
        "gcp:compute/network:Network",
    )
    for r in prod.of_type(*critical):
        assert r.protect, f"{r.type} {r.name} not protected in prod"
    for r in staging.of_type(*critical):
        assert not r.protect, f"{r.type} {r.name} protected in staging"
    assert len(prod.of_type(*critical)) == 4


def test_dev_adopts_the_current_context_without_creating_cloud_resources(dev: Program) -> None:
    assert not [r for r in dev.resources if _cloud(r)]
    provider = dev.one("pulumi:providers:kubernetes", "local-k8s")
    assert "context" not in provider.plain or provider.plain["context"] in (None, "")
    assert (
        evaluate_stack("dev", {"clusters": [{"name": "local", "kind": "kubeconfig", "context": "kind-mesh"}]})
        .one("pulumi:providers:kubernetes", "local-k8s")
        .plain["context"]
        == "kind-mesh"
    )


def test_kubernetes_objects_do_not_wait_for_coredns(prod: Program) -> None:
    """CoreDNS is created after the nodes; waiting for it would add a minute to every mesh chain."""
    provider = prod.one("pulumi:providers:kubernetes", "aws-east-k8s")
    index = prod.by_urn()
    reached = {index[u].name for u in prod.ancestors(provider.urn) if u in index}
    assert "aws-east-addon-coredns" in {r.name for r in prod.resources}
    assert "aws-east-addon-coredns" not in reached
    assert any(index[u].type == "aws:ec2/vpc:Vpc" for u in prod.ancestors(provider.urn) if u in index)
