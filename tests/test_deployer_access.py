"""Where `pulumi up` runs from: meshgate:deployerCidrs / meshgate:deployerInsideNetwork.

The same `up` that creates EKS/GKE clusters applies Kubernetes objects to their API servers,
which admit only listed networks: a cloud stack must say where the deployer is, its CIDRs
join every cluster's allowlist, and documentation-only ranges get a warning at preview.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pulumi
import pytest
from harness import ROOT, Resource, evaluate, stack_config

from stacks.config import parse_raw
from stacks.config_rules import warnings

EKS = "aws:eks/cluster:Cluster"
GKE = "gcp:container/cluster:Cluster"
RUNNER = "198.18.7.10/32"  # RFC 2544 benchmarking range: not a documentation range, so no warning


def without_deployer(stack: str) -> dict[str, Any]:
    config = copy.deepcopy(stack_config(stack))
    config.pop("meshgate:deployerCidrs", None)
    return config


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_cloud_stack_without_deployer_is_refused_before_any_resource(stack: str) -> None:
    registered: list[Resource] = []
    with pytest.raises(pulumi.RunError) as caught:
        evaluate(without_deployer(stack), stack=stack, record=registered, deployer_default=False)
    message = str(caught.value)
    assert message.startswith("meshgate:deployerCidrs is required for eks/gke clusters (aws-east, gcp-central)")
    assert "curl -s https://checkip.amazonaws.com" in message and "meshgate:deployerInsideNetwork: true" in message
    assert registered == []


def test_kubeconfig_stack_needs_no_deployer_statement() -> None:
    parse_raw(stack_config("dev"))  # dev adopts the local context: nothing to allow


def test_deployer_cidrs_join_every_clusters_allowlist() -> None:
    config = without_deployer("prod") | {"meshgate:deployerCidrs": [RUNNER, "198.18.8.0/24"]}
    program = evaluate(config, stack="prod", deployer_default=False)
    cidrs = program.one(EKS).get("vpcConfig.publicAccessCidrs")
    assert {RUNNER, "198.18.8.0/24"} <= set(cidrs) and program.one(EKS).get("vpcConfig.endpointPublicAccess") is True
    blocks = {
        b["displayName"]: b["cidrBlock"] for b in program.one(GKE).get("masterAuthorizedNetworksConfig.cidrBlocks")
    }
    assert blocks["deployer-0"] == RUNNER and blocks["deployer-1"] == "198.18.8.0/24"


def test_deployer_inside_the_network_keeps_eks_private_and_uses_gkes_private_endpoint() -> None:
    config = without_deployer("staging") | {"meshgate:deployerInsideNetwork": True}
    program = evaluate(config, stack="staging", deployer_default=False)
    vpc = program.one(EKS).get("vpcConfig")
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True
    assert program.one(GKE).get("masterAuthorizedNetworksConfig.cidrBlocks") == []
    import json

    kubeconfig = json.loads(program.one("pulumi:providers:kubernetes", "gcp-central-k8s").plain["kubeconfig"])
    assert (
        kubeconfig["clusters"][0]["cluster"]["server"] == "https://172.16.0.2"
    )  # the control plane's private endpoint


def test_documentation_ranges_warn_with_what_to_put_instead() -> None:
    found = [w for w in warnings(parse_raw(stack_config("prod"))) if "documentation-only" in w]
    assert found == [
        "meshgate:deployerCidrs[0] (203.0.113.0/24) is a documentation-only range (RFC 5737): no real client has "
        "that address, so it admits nobody; put the public egress address of the laptop or CI runner that runs "
        "`pulumi up` (`curl -s https://checkip.amazonaws.com`, as /32), or set meshgate:deployerInsideNetwork: true"
    ]
    config: dict[str, Any] = {**without_deployer("prod"), "meshgate:deployerCidrs": [RUNNER]}
    clusters: list[dict[str, Any]] = config["meshgate:clusters"]
    clusters[0]["endpointPublicAccessCidrs"] = ["192.0.2.8/29"]
    clusters[1]["masterAuthorizedNetworks"] = ["198.51.100.0/25", "198.18.9.0/24"]
    keys = [w.split(" ", 1)[0] for w in warnings(parse_raw(config)) if "documentation-only" in w]
    assert keys == [
        "meshgate:clusters[0].endpointPublicAccessCidrs[0]",
        "meshgate:clusters[1].masterAuthorizedNetworks[0]",
    ]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_preview_of_a_shipped_stack_warns(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: logged.append(message))
    evaluate(stack_config(stack), stack=stack, preview=True)
    assert any(m.startswith("meshgate:deployerCidrs[0] (203.0.113.0/24) is a documentation-only range") for m in logged)


def test_a_real_runner_address_gives_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: logged.append(message))
    evaluate(without_deployer("staging") | {"meshgate:deployerCidrs": [RUNNER]}, stack="staging", preview=True)
    assert not [m for m in logged if "documentation-only" in m]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_shipped_stack_files_say_what_to_replace(stack: str) -> None:
    text = Path(ROOT / f"Pulumi.{stack}.yaml").read_text()
    header = text.split("config:", 1)[0]
    assert "Replace before the first `pulumi up`" in header
    for value in ("meshgate:deployerCidrs", "203.0.113.0/24", "meshgate:deployerInsideNetwork: true", f"acme-{stack}"):
        assert value in header, value
