"""Stack outputs of the gateway layer: endpoints, one curl line per API, and the hop list per scenario."""

from __future__ import annotations

import re

import pytest
from gateway_helpers import SCENARIOS, cloud, run, single
from harness import Program, evaluate_stack

NAMES = [f"{variant}-{s}" for variant in ("single", "cloud") for s in SCENARIOS]


@pytest.mark.parametrize("name", NAMES)
def test_one_ready_to_run_curl_line_per_api(name: str) -> None:
    variant, scenario = name.split("-", 1)
    program = run(single(scenario) if variant == "single" else cloud(scenario))
    lines = program.plain_outputs["curl"]
    endpoints = program.plain_outputs["endpoints"]
    assert lines and all(line.startswith("curl -sS ") for line in lines.values())
    for api, line in lines.items():
        url = re.search(r"'(https://[^']+)'$", line)
        assert url, line
        assert url.group(1).split(f"/{api}/")[0] in endpoints.values()
        assert url.group(1).endswith(f"/{api}/headers")  # the demo workload echoes the caller's headers
    if name.startswith("cloud-") and name != "cloud-in-cluster-gateway":
        assert "-H 'Authorization: Bearer <JWT>'" in lines["orders"]
    if name == "single-in-cluster-gateway-mesh":
        assert "-H 'apikey: <API_KEY>'" in lines["payments"]
        assert "Authorization" not in lines["orders"]


def test_dev_outputs() -> None:
    program = evaluate_stack("dev")
    outputs = program.plain_outputs
    assert outputs["scenario"] == "in-cluster-gateway-mesh"
    assert set(outputs["curl"]) == {"orders", "payments"}
    assert outputs["endpoints"] == {"kong": "https://kong-proxy.lb.example.com"}
    assert outputs["curl"]["payments"] == (
        "curl -sS -k -H 'apikey: <API_KEY>' 'https://kong-proxy.lb.example.com/payments/headers'"
    )


def _hops(program: Program) -> list[dict[str, object]]:
    hops = program.plain_outputs["hops"]
    for hop in hops:
        assert set(hop) - {"via"} == {"from", "to", "mtls", "tls", "note"}
        assert isinstance(hop["mtls"], bool) and isinstance(hop["tls"], bool)
    return hops


@pytest.mark.parametrize("multicluster", [True, False])
def test_hops_scenario1_edge_to_cluster_is_tls_outside_the_mesh(multicluster: bool) -> None:
    config = cloud("external-gateway")
    config["meshgate:istio"] = {**config["meshgate:istio"], "multicluster": multicluster}
    hops = _hops(run(config))
    into_clusters = [h for h in hops if str(h["to"]).startswith("Istio ingress")]
    # TLS (verified certificate) into every ingress, the VPC link's included; never mTLS
    expected = {("Istio ingress (aws-east)", False, True)}
    if not multicluster:
        expected.add(("Istio ingress (gcp-central)", False, True))
    assert {(h["to"], h["mtls"], h["tls"]) for h in into_clusters} == expected
    assert all(h["mtls"] for h in hops if str(h["from"]).startswith("Istio ingress"))


def test_hops_scenario2_gateway_to_backend_is_plaintext() -> None:
    hops = _hops(run(single("in-cluster-gateway")))
    (kong,) = [h for h in hops if h["from"] == "Kong"]
    assert (kong["to"], kong["mtls"], kong["tls"]) == ("backends", False, False)


@pytest.mark.parametrize("scenario", ["in-cluster-gateway-mesh", "gateway-api"])
def test_hops_scenarios_3_and_4_are_mtls_after_the_edge(scenario: str) -> None:
    hops = _hops(run(cloud(scenario)))
    assert hops[0]["from"] == "client" and hops[0]["mtls"] is False and hops[0]["tls"] is True
    assert all(h["mtls"] for h in hops[1:])
    # a backend in the other network: one mTLS connection through its east-west gateway, not two hops
    (remote,) = [h for h in hops if h.get("via")]
    assert (remote["to"], remote["via"], remote["mtls"]) == (
        "backends (gcp-central)",
        "east-west gateway (gcp-central)",
        True,
    )
    assert not [h for h in hops if "east-west" in str(h["to"]) or "east-west" in str(h["from"])]
    single_cluster = _hops(run(single(scenario)))
    assert not [h for h in single_cluster if "via" in h]


def test_outputs_are_deterministic() -> None:
    first = evaluate_stack("staging").plain_outputs
    second = evaluate_stack("staging").plain_outputs
    for key in ("endpoints", "curl", "hops"):
        assert first[key] == second[key]


def test_rendered_stack_has_an_address_placeholder() -> None:
    program = evaluate_stack("render")
    assert program.plain_outputs["endpoints"] == {"gateway-api": ""}
    assert program.plain_outputs["curl"]["catalog"] == "curl -sS -k 'https://<GATEWAY_ADDRESS>/catalog/headers'"
