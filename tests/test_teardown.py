"""Safe teardown, proven on the recorded dependency graph.

`pulumi destroy` deletes a resource before everything it depends on. So a stack tears
down cleanly when every resource that owns a cloud load balancer depends on the network
under it: controller-owned load balancers (LoadBalancer Services, gateway Helm releases,
Gateway API Gateways) through their cluster's Kubernetes provider, which depends on the
whole cluster component (VPC, subnets, NAT/internet gateways or network, subnetwork,
router, Cloud NAT); program-owned ones (NLB, VPC link) through their subnets and VPC.
Nothing here skips the Kubernetes provider's await on delete, so the engine waits for the
load-balancer finalizer (the cloud controller deleting the load balancer) before it moves
on to the network.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from harness import Program, Resource, evaluate_stack, stack_config, stack_program
from policy_inputs import stack_resources

from policy.checks import StackResource
from policy.checks.teardown import NETWORK_PARTS, owns_load_balancer, teardown_gaps

CLUSTER_TYPES = ("aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster")
CLUSTER_COMPONENTS = ("meshgate:clusters:EksCluster", "meshgate:clusters:GkeCluster")
GATEWAY_CHARTS = ("gateway", "kong", "ingress")
PROGRAM_OWNED = (
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:apigatewayv2/vpcLink:VpcLink",
    "gcp:compute/forwardingRule:ForwardingRule",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule",
)


def _jwt_everywhere(stack: str) -> list[dict[str, object]]:
    return [{**a, "auth": "jwt"} for a in stack_config(stack)["meshgate:apis"]]


# The stack files plus the cloud scenarios they do not use (2 and 4 on prod's clusters).
PROGRAMS: dict[str, Callable[[], Program]] = {
    "staging": lambda: stack_program("staging"),
    "prod": lambda: stack_program("prod"),
    "prod-scenario-4": lambda: evaluate_stack("prod", {"scenario": "gateway-api", "apis": _jwt_everywhere("prod")}),
    "prod-scenario-2": lambda: evaluate_stack(
        "prod",
        {"scenario": "in-cluster-gateway", "apis": [a for a in _jwt_everywhere("prod") if a["cluster"] == "aws-east"]},
    ),
}


def load_balancer_owners(program: Program) -> list[Resource]:
    """Identified from the recorded inputs, independently of the policy's predicate."""
    owners: list[Resource] = []
    for r in program.resources:
        if r.type in PROGRAM_OWNED or r.type == "kubernetes:core/v1:Service" and r.get("spec.type") == "LoadBalancer":
            owners.append(r)
        elif r.type == "kubernetes:helm.sh/v3:Release" and str(r.get("chart", "")).rsplit("/", 1)[-1] in GATEWAY_CHARTS:
            service_types = {
                r.get("values.service.type"),
                r.get("values.proxy.type"),
                r.get("values.gateway.proxy.type"),
            }
            if not service_types & {"ClusterIP", "NodePort"}:
                owners.append(r)
        elif r.type.startswith("kubernetes:gateway.networking.k8s.io/") and r.type.endswith(":Gateway"):
            owners.append(r)
    return owners


def under(program: Program, component: Resource) -> list[Resource]:
    """Every resource created under `component` (children, grandchildren...)."""
    below: set[str] = {component.urn}
    for r in program.resources:  # parents register before their children
        if r.parent in below:
            below.add(r.urn)
    return [r for r in program.resources if r.urn in below and r.urn != component.urn]


def cluster_network(program: Program, cluster_component: Resource) -> list[Resource]:
    """The network pieces created under a cluster component (AwsNetwork is its child on EKS)."""
    return [r for r in under(program, cluster_component) if r.type in NETWORK_PARTS]


def cluster_of(program: Program, resource: Resource) -> Resource:
    """The cluster component a resource lives in: its Kubernetes provider's cluster, or the cluster whose
    network it uses."""
    provider = program.by_urn().get(resource.provider)
    target = provider if provider is not None and provider.type == "pulumi:providers:kubernetes" else resource
    ancestors = program.ancestors(target.urn)
    components = [
        c
        for c in program.resources
        if c.type in CLUSTER_COMPONENTS
        and any(r.urn in ancestors for r in under(program, c) if r.type in (*NETWORK_PARTS, *CLUSTER_TYPES))
    ]
    assert len(components) == 1, f"{resource.name} runs on {[c.name for c in components]}"
    return components[0]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_every_load_balancer_owner_is_deleted_before_its_network(name: str) -> None:
    program = PROGRAMS[name]()
    owners = load_balancer_owners(program)
    assert owners, "each cloud scenario runs at least one load-balancer owner"
    for owner in owners:
        component = cluster_of(program, owner)
        network = cluster_network(program, component)
        assert {r.type for r in network} >= (
            {
                "aws:ec2/vpc:Vpc",
                "aws:ec2/subnet:Subnet",
                "aws:ec2/natGateway:NatGateway",
                "aws:ec2/internetGateway:InternetGateway",
            }
            if component.type == "meshgate:clusters:EksCluster"
            else {
                "gcp:compute/network:Network",
                "gcp:compute/subnetwork:Subnetwork",
                "gcp:compute/router:Router",
                "gcp:compute/routerNat:RouterNat",
            }
        )
        if owner.type in PROGRAM_OWNED:
            # Pulumi owns it: it sits in private subnets it references and needs the VPC gone after it.
            needed = [r for r in network if r.type in ("aws:ec2/vpc:Vpc", "gcp:compute/network:Network")]
            needed += [r for r in network if r.type == "aws:ec2/subnet:Subnet" and f"{r.name}-id" in str(owner.plain)]
            if owner.type == "aws:lb/loadBalancer:LoadBalancer":
                assert owner.get("internal") is True, "a public NLB would also have to outlive the internet gateway"
        else:
            needed = network
        missing = [r.name for r in needed if not program.depends_on(owner, r)]
        assert missing == [], f"{owner.type} {owner.name} does not depend on {missing}"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_policy_predicate_and_check_agree_with_the_graph(name: str) -> None:
    program = PROGRAMS[name]()
    resources = stack_resources(program)
    assert {r.urn for r in resources if owns_load_balancer(r)} == {r.urn for r in load_balancer_owners(program)}
    assert teardown_gaps(resources) == []


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_nothing_skips_the_delete_await(name: str) -> None:
    program = PROGRAMS[name]()
    for r in program.resources:
        if r.type == "kubernetes:helm.sh/v3:Release":
            assert r.get("skipAwait") in (None, False, "false"), r.name
        annotations = r.get("metadata.annotations") or {}
        if r.type.startswith("kubernetes:"):
            assert str(annotations.get("pulumi.com/skipAwait", "false")).lower() != "true", r.name
        if r.type == "pulumi:providers:kubernetes":
            assert r.get("deleteUnreachable") in (None, False, "false"), r.name


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_kubernetes_providers_depend_on_the_whole_cluster(name: str) -> None:
    program = PROGRAMS[name]()
    for provider in program.of_type("pulumi:providers:kubernetes"):
        component = cluster_of(program, provider)
        network = cluster_network(program, component)
        nodes = [
            r
            for r in under(program, component)
            if r.type in ("aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool")
        ]
        assert network and nodes
        missing = [r.name for r in [*network, *nodes] if not program.depends_on(provider, r)]
        assert missing == [], f"{provider.name} does not depend on {missing}"


# --------------------------------------------------------------------------- the check trips


def _with(resources: list[StackResource], extra: StackResource) -> list[StackResource]:
    return [*resources, extra]


def test_controller_owned_load_balancer_must_depend_on_the_whole_network() -> None:
    resources = stack_resources(stack_program("staging"))
    subnet = next(r for r in resources if r.type == "aws:ec2/subnet:Subnet")
    stray = StackResource(
        urn="urn:stray-lb",
        type="kubernetes:core/v1:Service",
        name="stray-lb",
        props={"spec": {"type": "LoadBalancer"}},
        dependencies=(subnet.urn,),
    )
    gaps = teardown_gaps(_with(resources, stray))
    assert [v.urn for v in gaps] == ["urn:stray-lb"]
    assert "aws-east-igw" in gaps[0].message and "aws-east-nat-0" in gaps[0].message
    cluster_ip = StackResource(
        urn="urn:svc",
        type="kubernetes:core/v1:Service",
        name="svc",
        props={"spec": {"type": "ClusterIP"}},
        dependencies=(subnet.urn,),
    )
    assert teardown_gaps(_with(resources, cluster_ip)) == []


def test_public_program_owned_load_balancer_must_outlive_the_internet_gateway() -> None:
    resources = stack_resources(stack_program("staging"))
    nlb = next(r for r in resources if r.type == "aws:lb/loadBalancer:LoadBalancer")
    public = StackResource(
        urn="urn:public-nlb",
        type=nlb.type,
        name="public-nlb",
        props={**nlb.props, "internal": False},
        dependencies=nlb.dependencies,
    )
    gaps = teardown_gaps(_with(resources, public))
    assert [v.urn for v in gaps] == ["urn:public-nlb"] and "aws-east-igw" in gaps[0].message
