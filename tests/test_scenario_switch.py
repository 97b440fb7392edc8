"""Switching `meshgate:scenario` changes only the gateway layer: clusters, mesh and workloads keep
their URNs and their inputs; each scenario's gateway layer is its own."""

from __future__ import annotations

import json
from itertools import combinations

import pytest
from gateway_helpers import SCENARIOS, in_gateway_layer, run, switchable
from harness import Program


def split(program: Program) -> tuple[dict[str, str], set[str]]:
    """(URN -> inputs JSON) of everything below the gateway layer, and the gateway layer's URNs."""
    below: dict[str, str] = {}
    layer: set[str] = set()
    for r in program.resources:
        if in_gateway_layer(program, r):
            layer.add(r.urn)
        else:
            below[r.urn] = json.dumps(r.plain, sort_keys=True, default=str)
    return below, layer


@pytest.fixture(scope="module", params=["single", "cloud"])
def evaluated(request: pytest.FixtureRequest) -> dict[str, Program]:
    base = switchable(request.param)
    return {scenario: run({**base, "meshgate:scenario": scenario}) for scenario in SCENARIOS}


def test_the_config_is_valid_in_every_scenario(evaluated: dict[str, Program]) -> None:
    assert [p.plain_outputs["scenario"] for p in evaluated.values()] == list(SCENARIOS)


def test_clusters_mesh_and_workloads_are_identical(evaluated: dict[str, Program]) -> None:
    reference_below, _ = split(evaluated[SCENARIOS[0]])
    types = {urn.split("::")[2].rsplit("$", 1)[-1] for urn in reference_below}
    assert {"meshgate:workloads:DemoService", "kubernetes:apps/v1:Deployment", "kubernetes:helm.sh/v3:Release"} <= types
    for scenario in SCENARIOS[1:]:
        below, _ = split(evaluated[scenario])
        assert set(below) == set(reference_below), scenario
        changed = [urn for urn in below if below[urn] != reference_below[urn]]
        assert changed == [], f"{scenario} changes inputs of {changed}"


def test_each_scenario_has_its_own_gateway_layer(evaluated: dict[str, Program]) -> None:
    layers = {scenario: split(program)[1] for scenario, program in evaluated.items()}
    assert all(layers.values())
    for a, b in combinations(SCENARIOS, 2):
        assert layers[a] - layers[b] and layers[b] - layers[a], (a, b)


def identities(program: Program) -> dict[tuple[str, str, str, str], str]:
    """(cluster provider, kind, namespace, name) -> URN of every Kubernetes object and Helm release."""
    found: dict[tuple[str, str, str, str], str] = {}
    for r in program.resources:
        if not r.type.startswith("kubernetes:") or r.type.endswith("Patch"):
            continue  # a Patch changes fields of an object another resource owns
        if r.type == "kubernetes:helm.sh/v3:Release":
            key = (r.provider, "Release", str(r.get("namespace")), str(r.get("name")))
        elif r.kind:
            key = (
                r.provider,
                f"{r.plain.get('apiVersion')}/{r.kind}",
                str(r.get("metadata.namespace", "")),
                str(r.get("metadata.name")),
            )
        else:
            continue
        assert key not in found, f"{key} registered twice"
        found[key] = r.urn
    return found


def test_an_object_two_scenarios_share_keeps_its_urn(evaluated: dict[str, Program]) -> None:
    """The same Kubernetes object (cluster, kind, namespace, name) has the same URN in every scenario
    that has it. Otherwise a switch would create it again (server-side apply adopts it) and then
    delete the old resource -- deleting the live object (a namespace with Kong in it, a
    default-deny policy)."""
    seen = {scenario: identities(program) for scenario, program in evaluated.items()}
    shared = 0
    for a, b in combinations(SCENARIOS, 2):
        for key in seen[a].keys() & seen[b].keys():
            shared += 1
            assert seen[a][key] == seen[b][key], f"{key}: {a} {seen[a][key]} vs {b} {seen[b][key]}"
    assert shared


def test_gateway_layer_never_hangs_below_another_layer(evaluated: dict[str, Program]) -> None:
    """A gateway-layer object is a child of a gateway component (or its cloud provider), never of a
    cluster, mesh or workload component, so removing the scenario removes all of it."""
    for program in evaluated.values():
        index = program.by_urn()
        for r in program.resources:
            parent = index.get(r.parent)
            if in_gateway_layer(program, r) and parent is not None:
                assert in_gateway_layer(program, parent), r.urn


def test_only_the_chosen_scenario_component_exists(evaluated: dict[str, Program]) -> None:
    components = {
        "external-gateway": "meshgate:gateways:ExternalGateway",
        "in-cluster-gateway": "meshgate:gateways:InClusterGateway",
        "in-cluster-gateway-mesh": "meshgate:gateways:InClusterMeshGateway",
        "gateway-api": "meshgate:gateways:GatewayApiGateway",
    }
    for scenario, program in evaluated.items():
        present = {t for t in components.values() if program.of_type(t)}
        assert present == {components[scenario]}
