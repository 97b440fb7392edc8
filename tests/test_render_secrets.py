"""Render mode keeps private keys out of plaintext files: a rendered cluster (`renderDirectory`)
gets no generated key unless `renderSecrets: true`; the Gateway still names its TLS Secret, which
the user's secret tooling creates. On live clusters nothing changes."""

from __future__ import annotations

import pytest
from harness import Program, evaluate, stack_config, stack_program

from stacks.config import ConfigError, parse_raw

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
