"""Render mode keeps private keys out of plaintext files: a rendered cluster (`renderDirectory`)
gets no generated key unless `renderSecrets: true`; the Gateway still names its TLS Secret, which
the user's secret tooling creates, and Kong's admin-API keys (scenarios 2 and 3) are cert-manager
Certificates. On live clusters nothing changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness import Program, evaluate, stack_config, stack_program, unwrap

from stacks.config import ConfigError, Scenario, parse_raw
from stacks.config_rules import warnings
from stacks.scenario_switch import try_switch

TLS_SECRET = "meshgate-gateway-tls"


def _keys(program: Program) -> list[str]:
    return [r.name for r in program.resources if r.type.startswith("tls:")]


def _secrets(program: Program) -> list[str]:
    return [r.get("metadata.name") for r in program.of_type("kubernetes:core/v1:Secret")]


def _listener_refs(program: Program) -> list[str]:
    gateway = next(r for r in program.resources if r.kind == "Gateway" and r.get("metadata.name") != "")
    return [c["name"] for li in gateway.get("spec.listeners") for c in li.get("tls", {}).get("certificateRefs", [])]


def test_render_stack_generates_no_key_and_writes_no_secret() -> None:
    render = stack_program("render")
    assert _keys(render) == [] and _secrets(render) == []
    assert _listener_refs(render) == [TLS_SECRET]  # referenced by name


def test_render_secrets_flag_keeps_the_present_behaviour() -> None:
    config = stack_config("render")
    config["meshgate:clusters"] = [{**config["meshgate:clusters"][0], "renderSecrets": True}]
    program = evaluate(config, stack="render")
    assert sorted(_keys(program)) == ["gateway-api-tls-cert", "gateway-api-tls-key"]
    assert _secrets(program) == [TLS_SECRET]
    assert _listener_refs(program) == [TLS_SECRET]


def test_live_clusters_keep_their_generated_certificate() -> None:
    dev = stack_program("dev")
    assert [r for r in dev.resources if r.type == "tls:index/privateKey:PrivateKey"]  # dev: Kong admin keys


def test_render_secrets_needs_a_render_directory() -> None:
    raw = stack_config("dev")
    raw["meshgate:clusters"] = [{**raw["meshgate:clusters"][0], "renderSecrets": True}]
    with pytest.raises(ConfigError, match=r"^meshgate:clusters\[0\]\.renderSecrets needs renderDirectory"):
        parse_raw(raw)


KONG_SCENARIOS = (Scenario.IN_CLUSTER_GATEWAY, Scenario.IN_CLUSTER_GATEWAY_MESH)
KEY_MARKERS = ("PRIVATE KEY", "MOCK KEY")  # a PEM key, or what the mocks return for one


def _kong_render(scenario: Scenario, render_secrets: bool = False) -> dict[str, Any]:
    config = try_switch("render", scenario).config
    if render_secrets:
        config["meshgate:clusters"] = [{**config["meshgate:clusters"][0], "renderSecrets": True}]
    return config


@pytest.mark.parametrize("scenario", KONG_SCENARIOS, ids=lambda s: s.value)
def test_rendered_kong_writes_no_private_key(scenario: Scenario) -> None:
    """Scenarios 2 and 3 on the render stack: Kong's admin-API CA, client and server keys are left to
    cert-manager in the cluster the YAML is applied to. No `tls` resource, no Secret, and no input of any
    rendered object carries a key (what the provider would write to rendered/); nothing waits for
    Ready (a rendered object has no status)."""
    config = _kong_render(scenario)
    program = evaluate(config, stack="render")
    assert _keys(program) == [] and _secrets(program) == []
    leaked = [r.name for r in program.resources if any(m in json.dumps(unwrap(r.inputs)) for m in KEY_MARKERS)]
    assert leaked == []
    certificates = [r for r in program.resources if r.type == "kubernetes:cert-manager.io/v1:Certificate"]
    assert sorted(c.get("metadata.name") for c in certificates) == [
        "kong-admin-api-ca",
        "kong-admin-api-client",
        "kong-admin-api-server",
    ]
    assert not [c.name for c in certificates if c.get("metadata.annotations")]
    (kong,) = [r for r in program.releases() if r.get("chart") == "ingress"]
    assert kong.get("values.gateway.secretVolumes") == ["kong-admin-api-server"]
    (warning,) = [w for w in warnings(parse_raw(config)) if "cert-manager" in w]
    assert warning.startswith("meshgate:clusters[0].renderDirectory: Kong's admin-API certificates")


@pytest.mark.parametrize("scenario", KONG_SCENARIOS, ids=lambda s: s.value)
def test_rendered_kong_with_render_secrets_keeps_the_generated_keys(scenario: Scenario) -> None:
    config = _kong_render(scenario, render_secrets=True)
    program = evaluate(config, stack="render")
    assert sorted(k for k in _keys(program) if k.startswith("kong-admin")) == [
        "kong-admin-ca",
        "kong-admin-ca-key",
        "kong-admin-client-cert",
        "kong-admin-client-csr",
        "kong-admin-client-key",
    ]
    assert "kong-admin-api-client" in _secrets(program)
    assert not [w for w in warnings(parse_raw(config)) if "cert-manager" in w]
