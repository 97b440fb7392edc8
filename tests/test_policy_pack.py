"""The policy pack as the Pulumi engine runs it: `python -m pulumi.policy <engine> policy/`, spoken to over gRPC.

This exercises policy/__main__.py (the adapter from pure checks to pulumi-policy) through
the Analyzer protocol the CLI uses for `pulumi preview --policy-pack policy`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from harness import ROOT, Resource, stack_program
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policy.checks import ALL, Level
from policy.checks.teardown import NETWORK_PARTS

MANDATORY = analyzer_pb2.MANDATORY
ADVISORY = analyzer_pb2.ADVISORY
UNKNOWN_ARRAY = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2"  # pulumi-policy's sentinel for an unknown list


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack started the way the language host starts it; stopped (by its pid) after the module."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(ROOT / "policy")],
        cwd=ROOT / "policy",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), (port, process.stderr.read() if process.poll() is not None and process.stderr else "")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(props)
    return out


def _analyze(stub: analyzer_pb2_grpc.AnalyzerStub, type_: str, props: dict[str, Any]) -> list[Any]:
    request = analyzer_pb2.AnalyzeRequest(
        type=type_, properties=_struct(props), urn=f"urn:pulumi:t::meshgate::{type_}::x", name="x"
    )
    return list(stub.Analyze(request).diagnostics)


def _analyzer_resource(r: Resource, by_urn: dict[str, Resource]) -> Any:
    provider = by_urn.get(r.provider)
    return analyzer_pb2.AnalyzerResource(
        type=r.type,
        properties=_struct(r.plain),
        urn=r.urn,
        name=r.name,
        parent=r.parent,
        dependencies=list(r.dependencies),
        propertyDependencies={
            k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in r.property_dependencies.items()
        },
        provider=(
            analyzer_pb2.AnalyzerProviderResource(
                type=provider.type, urn=provider.urn, name=provider.name, properties=_struct(provider.plain)
            )
            if provider is not None
            else None
        ),
    )


def test_pack_announces_every_check_with_its_level(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "meshgate"
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels == {c.id: MANDATORY if c.level is Level.MANDATORY else ADVISORY for c in ALL}


def test_recorded_eks_cluster_passes_and_a_weakened_one_is_blocked(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    cluster = stack_program("prod").one("aws:eks/cluster:Cluster").plain
    assert _analyze(analyzer, "aws:eks/cluster:Cluster", cluster) == []
    weakened = {
        **cluster,
        "enabledClusterLogTypes": ["api"],
        "vpcConfig": {**cluster["vpcConfig"], "publicAccessCidrs": ["0.0.0.0/0"]},
    }
    found = {(d.policyName, d.enforcementLevel) for d in _analyze(analyzer, "aws:eks/cluster:Cluster", weakened)}
    assert found == {("eks-control-plane-logs", MANDATORY), ("eks-endpoint-not-public", MANDATORY)}


def test_unknown_values_during_preview_only_warn(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    cluster = stack_program("prod").one("aws:eks/cluster:Cluster").plain
    diagnostics = _analyze(analyzer, "aws:eks/cluster:Cluster", {**cluster, "enabledClusterLogTypes": UNKNOWN_ARRAY})
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [("eks-control-plane-logs", ADVISORY)]
    assert "during preview" in diagnostics[0].message


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_stack_analysis_of_recorded_stack_has_no_mandatory_finding(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, stack: str
) -> None:
    program = stack_program(stack)
    by_urn = program.by_urn()
    request = analyzer_pb2.AnalyzeStackRequest(resources=[_analyzer_resource(r, by_urn) for r in program.resources])
    mandatory = [d.message for d in analyzer.AnalyzeStack(request).diagnostics if d.enforcementLevel == MANDATORY]
    assert mandatory == []


def test_stack_analysis_reports_a_load_balancer_that_outlives_its_network(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    program = stack_program("staging")
    by_urn = program.by_urn()
    resources = [_analyzer_resource(r, by_urn) for r in program.resources]
    subnet = next(r for r in program.resources if r.type in NETWORK_PARTS and r.type.endswith("subnet:Subnet"))
    urn = "urn:pulumi:staging::meshgate::kubernetes:core/v1:Service::stray-lb"
    resources.append(
        analyzer_pb2.AnalyzerResource(
            type="kubernetes:core/v1:Service",
            properties=_struct({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}}),
            urn=urn,
            name="stray-lb",
            dependencies=[subnet.urn],
        )
    )
    diagnostics = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics
    found = [(d.policyName, d.urn) for d in diagnostics if d.enforcementLevel == MANDATORY]
    assert found == [("teardown-load-balancers-before-network", urn)]
