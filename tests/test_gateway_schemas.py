"""Every object the gateway layer registers validates against its schema, in every scenario.

Built-in kinds: kubernetes-validate (strict). Istio: cloudcoil models (extra="forbid").
Gateway API v1 (Gateway, HTTPRoute) and Kong's KongPlugin have no maintained Python model,
so the models below transcribe the fields, enums, patterns and limits of the v1.2.1
standard-channel CRDs and of Kong's `configuration.konghq.com/v1` KongPlugin CRD, with
unknown fields forbidden at every level.
"""

from __future__ import annotations

from typing import Any

import pytest
from gateway_helpers import SCENARIOS, cloud, gateway_layer, run, single
from gateway_models import (
    MODELS,
    validate,
)
from harness import Program, evaluate_stack
from schemas import SchemaError

# ---------------------------------------------------------------- the tests

CONFIGS = [("single", s) for s in SCENARIOS] + [("cloud", s) for s in SCENARIOS] + [("cloud-gcp", "external-gateway")]


def _program(variant: str, scenario: str) -> Program:
    if variant == "single":
        return run(single(scenario))
    if variant == "cloud-gcp":
        return run(cloud(scenario, external="gcp-api-gateway"))
    return run(cloud(scenario))


@pytest.mark.parametrize(("variant", "scenario"), CONFIGS)
def test_every_gateway_layer_object_validates(variant: str, scenario: str) -> None:
    program = _program(variant, scenario)
    objects = [r for r in gateway_layer(program) if r.kind and r in program.k8s_objects()]
    assert objects, "the gateway layer registers Kubernetes objects"
    for obj in objects:
        validate(obj.plain)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_object_of_the_stack_files_validates(stack: str) -> None:
    program = evaluate_stack(stack)
    for obj in program.k8s_objects():
        validate(obj.plain)


def test_models_cover_the_kinds_the_gateway_layer_uses() -> None:
    kinds = set()
    for variant, scenario in CONFIGS:
        program = _program(variant, scenario)
        kinds |= {
            (r.plain["apiVersion"], r.kind)
            for r in gateway_layer(program)
            if r.kind and "istio.io" not in r.plain["apiVersion"]
        }
    custom = {k for k in kinds if "." in k[0].split("/")[0] and not k[0].startswith(("networking.k8s.io",))}
    assert custom == set(MODELS)


GOOD_ROUTE: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "orders", "namespace": "shop"},
    "spec": {
        "parentRefs": [{"name": "meshgate", "namespace": "meshgate-gateway"}],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/orders"}}],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
                    }
                ],
                "backendRefs": [{"name": "orders", "port": 8080}],
            }
        ],
    },
}


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("spec", "rules", 0, "backendRefs", 0), {"name": "orders", "prot": 8080}),  # misspelled field
        (("spec", "rules", 0, "backendRefs", 0), {"name": "orders"}),  # Service without port
        (("spec", "rules", 0, "matches", 0, "path"), {"type": "Prefix", "value": "/orders"}),  # Ingress-style type
        (("spec", "rules", 0, "filters", 0), {"type": "URLRewrite"}),  # filter without its config
        (("spec", "parentRefs", 0), {"name": "meshgate", "namespace": "Not_A_Label"}),
    ],
)
def test_httproute_model_rejects_mistakes(path: tuple[Any, ...], bad: Any) -> None:
    import copy

    obj = copy.deepcopy(GOOD_ROUTE)
    validate(obj)
    node: Any = obj
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = bad
    with pytest.raises(SchemaError):
        validate(obj)


def test_gateway_and_kongplugin_models_reject_mistakes() -> None:
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "meshgate", "namespace": "meshgate-gateway"},
        "spec": {"gatewayClassName": "istio", "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS"}]},
    }
    with pytest.raises(SchemaError, match="certificateRefs"):
        validate(gateway)
    gateway["spec"]["listeners"] = [{"name": "http", "port": 80, "protocol": "HTTP", "allowedRoute": {}}]
    with pytest.raises(SchemaError):
        validate(gateway)
    plugin = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": "p", "namespace": "shop"},
        "plugin": "rate-limiting",
        "spec": {"config": {}},
    }
    with pytest.raises(SchemaError):
        validate(plugin)
