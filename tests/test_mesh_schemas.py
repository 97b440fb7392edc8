"""Every object the mesh registers is schema-valid: Kubernetes 1.35 strict, Istio CRD models with extra=forbid."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from harness import Program, evaluate
from mesh_helpers import kubeconfig_config, mesh_k8s, policy_program, write_kubeconfig
from schemas import SchemaError, validate_istio, validate_k8s, validate_object

PEER_AUTHENTICATION: dict[str, Any] = {
    "apiVersion": "security.istio.io/v1",
    "kind": "PeerAuthentication",
    "metadata": {"name": "default", "namespace": "istio-system"},
    "spec": {
        "mtls": {"mode": "STRICT"},
        "selector": {"matchLabels": {"app": "a"}},
        "portLevelMtls": {"8080": {"mode": "PERMISSIVE"}},
    },
}


def objects_of(program: Program) -> list[dict[str, Any]]:
    return [r.plain for r in mesh_k8s(program) if r.type != "kubernetes:helm.sh/v3:Release"]


def _assert_valid(objs: list[dict[str, Any]]) -> None:
    assert objs
    for obj in objs:
        validate_object(obj)


def test_dev_mesh_objects_are_valid(dev: Program) -> None:
    _assert_valid(objects_of(dev))


def test_prod_mesh_objects_are_valid(prod: Program) -> None:
    objs = objects_of(prod)
    assert {o["kind"] for o in objs} == {"Namespace", "Secret", "PeerAuthentication", "Telemetry", "Gateway"}
    _assert_valid(objs)


def test_three_cluster_mesh_objects_are_valid(tmp_path: Path) -> None:
    clusters = ["one", "two", "three"]
    program = evaluate(
        kubeconfig_config(write_kubeconfig(tmp_path, clusters), clusters, multicluster=True, revision="1-24-2")
    )
    _assert_valid(objects_of(program))


def test_every_policy_builder_output_is_valid() -> None:
    program = evaluate({}, program=policy_program)
    crs = [r.plain for r in program.k8s_objects() if ".istio.io/" in r.type]
    assert {o["kind"] for o in crs} == {"AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication"}
    _assert_valid(crs)


# ------------------------------------------------------------------ the validators catch mistakes


def test_istio_validator_accepts_a_good_object() -> None:
    validate_istio(PEER_AUTHENTICATION)


@pytest.mark.parametrize(
    "path, value",
    [
        (("spec", "mtls", "mdoe"), "STRICT"),  # misspelled nested field
        (("spec", "portLevelMTLS"), {}),  # misspelled spec field
        (("spec", "mtls", "mode"), "STRICTEST"),  # not an enum value
        (("metadata", "lables"), {}),  # misspelled metadata field
    ],
)
def test_istio_validator_rejects_mistakes(path: tuple[str, ...], value: object) -> None:
    bad = copy.deepcopy(PEER_AUTHENTICATION)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(SchemaError, match=path[-1] if path[-1] != "mode" else "mode"):
        validate_istio(bad)


def test_istio_validator_rejects_unknown_kinds() -> None:
    with pytest.raises(SchemaError, match="not an Istio API"):
        validate_istio({**PEER_AUTHENTICATION, "kind": "PeerAuthentications"})


def test_kubernetes_validator_is_strict() -> None:
    good = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "stringData": {"a": "b"}}
    validate_k8s(good)
    with pytest.raises(SchemaError, match="strinData"):
        validate_k8s({**{k: v for k, v in good.items() if k != "stringData"}, "strinData": {"a": "b"}})
    with pytest.raises(SchemaError):
        validate_k8s({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": 5}})


def test_object_dispatch_sends_istio_objects_to_the_istio_models() -> None:
    bad = copy.deepcopy(PEER_AUTHENTICATION)
    bad["spec"]["mtls"]["mdoe"] = "x"
    with pytest.raises(SchemaError, match="mdoe"):
        validate_object(bad)
