"""Secrets hygiene: every credential the program hands the engine is a secret.

A policy cannot do this (pulumi-policy unwraps secret markers before a validation sees
the properties), so it is a test over the recorded graph: resource inputs, component
outputs (`register_outputs`) and stack outputs. A value is a credential when its key says
so (kubeconfig, token, password, private key, CA key) or its content does (a PEM or mock
private key, a kubeconfig with an inline token or client key). Each one must sit inside a
secret-wrapped value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from harness import STACK_FILES, Program, evaluate, evaluate_stack, stack_config, stack_program
from pulumi.runtime import rpc

SENSITIVE_KEY = re.compile(
    r"(kubeconfigs?|(.*[-_.])?token|.*password|passwd|private[-_]?key(pem)?|.*privatekeypem|ca-key\.pem|key\.pem|tls\.key"
    r"|client-key(-data)?|.*secret[-_]?key)",
    re.IGNORECASE,
)
SENSITIVE_CONTENT = re.compile(
    r"PRIVATE KEY-----|-----MOCK KEY|\"token\"\s*:\s*\"[^\"]|^\s*token:\s*\S|client-key-data|\"password\"\s*:",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Credential:
    where: str
    path: str
    secret: bool


CONTAINER_KEY = re.compile(r"kubeconfigs?", re.IGNORECASE)  # every value below such a key is a credential


def _walk(
    value: Any, path: str, keys: tuple[str, ...], inside_secret: bool
) -> Iterator[tuple[str, tuple[str, ...], Any, bool]]:
    """(path, mapping keys on the path, leaf, secret?) for every scalar leaf."""
    if rpc.is_rpc_secret(value):
        yield from _walk(rpc.unwrap_rpc_secret(value), path, keys, True)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k), (*keys, str(k)), inside_secret)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]", keys, inside_secret)
    else:
        yield path, keys, value, inside_secret


def is_credential(keys: tuple[str, ...], leaf: str) -> bool:
    return bool(
        (keys and SENSITIVE_KEY.fullmatch(keys[-1]))
        or any(CONTAINER_KEY.fullmatch(k) for k in keys)
        or SENSITIVE_CONTENT.search(leaf)
    )


def credentials(where: str, value: Any) -> list[Credential]:
    return [
        Credential(where, path, secret)
        for path, keys, leaf, secret in _walk(value, "", (), False)
        if isinstance(leaf, str) and leaf.strip() and is_credential(keys, leaf)
    ]


def all_credentials(program: Program) -> list[Credential]:
    found: list[Credential] = []
    for r in program.resources:
        found += credentials(f"{r.type} {r.name} input", r.inputs)
    for urn, outputs in program.component_outputs.items():
        found += credentials(f"{urn} outputs", outputs)
    found += credentials("stack outputs", program.outputs)
    return found


def _multicluster_kubeconfig_stack() -> Program:
    """Two adopted clusters in one multi-network mesh: remote secrets built from kubeconfig clusters."""
    config = stack_config("dev")
    config["meshgate:clusters"] = [
        {"name": "local", "kind": "kubeconfig", "network": "local-net"},
        {"name": "edge", "kind": "kubeconfig", "network": "edge-net"},
    ]
    config["meshgate:istio"] = {**config["meshgate:istio"], "multicluster": True}
    return evaluate(config, stack="multicluster")


PROGRAMS = {
    **{stack: (lambda s=stack: stack_program(s)) for stack in sorted(STACK_FILES)},
    "prod-gateway-api": lambda: evaluate_stack(
        "prod",
        {"scenario": "gateway-api", "apis": [{**a, "auth": "jwt"} for a in stack_config("prod")["meshgate:apis"]]},
    ),
    "multicluster-kubeconfig": _multicluster_kubeconfig_stack,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_every_credential_is_secret(name: str) -> None:
    program = PROGRAMS[name]()
    plaintext = [f"{c.where}: {c.path}" for c in all_credentials(program) if not c.secret]
    assert plaintext == []


def test_cloud_stacks_carry_the_credentials_this_test_is_about() -> None:
    """The test above is not vacuous: prod holds kubeconfigs, CA keys and remote-secret tokens, all found."""
    found = all_credentials(stack_program("prod"))
    paths = {c.path.split(".")[0].split("[")[0] for c in found}
    assert {"kubeconfig", "privateKeyPem", "caPrivateKeyPem", "stringData", "kubeconfigs"} <= paths, paths
    assert all(c.secret for c in found)


def _leaky_program() -> None:
    provider = k8s.Provider("leaky", kubeconfig="{}")
    opts = pulumi.ResourceOptions(provider=provider)
    k8s.core.v1.ConfigMap(
        "plain",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="plain"),
        data={"ca-key.pem": "x", "kubeconfig": '{"users": [{"user": {"token": "abc"}}]}'},
        opts=opts,
    )
    k8s.core.v1.ConfigMap(
        "wrapped",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="wrapped"),
        data=pulumi.Output.secret({"ca-key.pem": "x"}),
        opts=opts,
    )
    pulumi.export("leakedKey", "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----")


def test_detector_finds_plaintext_credentials() -> None:
    program = evaluate({}, stack="leaky", program=_leaky_program)
    plaintext = sorted((c.where.split(" ")[1], c.path) for c in all_credentials(program) if not c.secret)
    assert plaintext == [
        ("leaky", "kubeconfig"),
        ("outputs", "leakedKey"),
        ("plain", "data.ca-key.pem"),
        ("plain", "data.kubeconfig"),
    ]
    assert [c.path for c in all_credentials(program) if c.secret and "wrapped" in c.where] == ["data.ca-key.pem"]
