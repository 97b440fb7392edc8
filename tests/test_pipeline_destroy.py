"""The two-phase destroy plan: which resources go first (gateway layer, load-balancer owners, their dependents)."""

from __future__ import annotations

from typing import Any

import pytest
from deployment_fixtures import (
    APP_LB,
    APP_SVC,
    AWS,
    CROSS_NETWORK,
    DEPLOYMENT,
    EASTWEST,
    EW_NS,
    EW_RELEASE,
    ISTIOD,
    K8S,
    KONG,
    KONG_RELEASE,
    LISTENER,
    MESH,
    NLB,
    STACK,
    SUBNET,
    VPC,
)
from harness import Program

from policy.checks.teardown import NETWORK_PARTS, owns_load_balancer
from stacks.pipeline.destroy_plan import GATEWAY_LAYER_TYPES, leftovers, plan_destroy, stack_resources


def test_gateway_layer_load_balancers_and_dependents_go_first_in_state_order() -> None:
    plan = plan_destroy(DEPLOYMENT)
    assert plan.first == tuple(
        r["urn"] for r in (EASTWEST, EW_NS, EW_RELEASE, CROSS_NETWORK, KONG, KONG_RELEASE, APP_LB, NLB, LISTENER)
    )
    assert plan.reasons[EASTWEST["urn"]] == "gateway layer (meshgate:mesh:IstioGateway)"
    assert plan.reasons[KONG["urn"]] == "gateway layer (meshgate:gateways:KongGateway)"
    assert plan.reasons[EW_NS["urn"]] == plan.reasons[EW_RELEASE["urn"]] == "part of aws-east-eastwest"
    assert plan.reasons[APP_LB["urn"]] == plan.reasons[NLB["urn"]] == "owns a cloud load balancer"
    assert plan.reasons[CROSS_NETWORK["urn"]] == plan.reasons[LISTENER["urn"]] == "depends on the gateway layer"


def test_network_cluster_mesh_and_providers_wait_for_phase_two() -> None:
    plan = plan_destroy(DEPLOYMENT)
    assert plan.remaining == tuple(r["urn"] for r in (VPC, SUBNET, MESH, ISTIOD, APP_SVC))
    assert not {STACK["urn"], AWS["urn"], K8S["urn"]} & set(plan.first + plan.remaining)
    assert plan.protected_first == (APP_LB["urn"],)  # reported: the engine will refuse it
    assert plan.two_phases


def test_a_stack_without_load_balancers_has_one_phase() -> None:
    plan = plan_destroy([STACK, AWS, VPC, SUBNET, APP_SVC])
    assert plan.first == () and not plan.two_phases
    assert plan.remaining == (VPC["urn"], SUBNET["urn"], APP_SVC["urn"])


def test_leftovers_lists_phase_one_resources_still_in_state() -> None:
    plan = plan_destroy(DEPLOYMENT)
    after = [r for r in DEPLOYMENT if r["urn"] not in plan.first]
    assert leftovers(plan, after) == []
    assert leftovers(plan, [*after, NLB]) == [NLB["urn"]]


def test_provider_references_lose_their_id() -> None:
    converted = {r.urn: r for r in stack_resources(DEPLOYMENT)}
    assert converted[VPC["urn"]].provider == AWS["urn"]
    assert converted[CROSS_NETWORK["urn"]].dependencies == (EW_RELEASE["urn"],)
    assert converted[KONG_RELEASE["urn"]].name == "kong-release"


# --------------------------------------------------------------------------- on the recorded program


def deployment_of(program: Program) -> list[dict[str, Any]]:
    """The recorded resources as deployment dicts (inputs, parent, dependencies, provider)."""
    return [
        {
            "urn": r.urn,
            "type": r.type,
            "parent": r.parent,
            "inputs": r.plain,
            "dependencies": r.dependencies,
            "propertyDependencies": r.property_dependencies,
            "provider": r.provider,
            "protect": r.protect,
        }
        for r in program.resources
    ]


@pytest.fixture(params=["staging", "prod"])
def recorded(request: pytest.FixtureRequest) -> tuple[str, Program]:
    return request.param, request.getfixturevalue(request.param)


def test_recorded_stack_plan_is_closed_and_leaves_the_network(recorded: tuple[str, Program]) -> None:
    name, program = recorded
    plan = plan_destroy(deployment_of(program))
    first = set(plan.first)
    by_urn = program.by_urn()
    assert first, f"{name}: no gateway layer found"
    owners = [r for r in stack_resources(deployment_of(program)) if owns_load_balancer(r)]
    assert owners and {o.urn for o in owners} <= first, f"{name}: a load-balancer owner waits for phase 2"
    for urn in first:
        assert by_urn[urn].type not in NETWORK_PARTS
        assert not by_urn[urn].type.startswith(("aws:eks", "gcp:container", "pulumi:providers:"))
    for r in program.resources:  # nothing left for phase 2 depends on phase 1 or lives inside it
        if r.urn not in first:
            assert not program.ancestors(r.urn) & first, f"{name}: {r.name} depends on the gateway layer"
            assert r.parent not in first
        if r.type.startswith(GATEWAY_LAYER_TYPES):
            assert r.urn in first


def test_staging_plan_takes_the_external_gateway_and_its_nlb_first(staging: Program) -> None:
    plan = plan_destroy(deployment_of(staging))
    first_types = {staging.by_urn()[u].type for u in plan.first}
    assert {
        "aws:apigatewayv2/vpcLink:VpcLink",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:apigatewayv2/api:Api",
        "meshgate:mesh:IstioGateway",
    } <= first_types
    remaining_types = {staging.by_urn()[u].type for u in plan.remaining}
    assert {"aws:ec2/vpc:Vpc", "aws:eks/cluster:Cluster", "gcp:compute/network:Network"} <= remaining_types


def test_prod_plan_takes_kong_and_the_east_west_gateways_first(prod: Program) -> None:
    plan = plan_destroy(deployment_of(prod))
    first = [prod.by_urn()[u] for u in plan.first]
    releases = {r.get("chart") for r in first if r.type == "kubernetes:helm.sh/v3:Release"}
    assert releases == {"ingress", "gateway"}  # Kong (kong/ingress) and both east-west gateways
    assert len([r for r in first if r.type == "meshgate:mesh:IstioGateway"]) == 2
    cross_network = [r for r in first if r.kind == "Gateway" and r.get("metadata.name") == "cross-network-gateway"]
    assert len(cross_network) == 2  # they depend on the east-west gateways
