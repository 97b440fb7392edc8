"""Every cloud resource's final name fits its provider's limit, at the longest names the config accepts.

Mocks return whatever the program sends, so the provider's naming is modelled here
(`policy.checks.names.final_name`): an explicit name as is, a name prefix plus the
Terraform provider's 26-character suffix, otherwise Pulumi's `<resource name>-<7 random
characters>`. The configurations use the longest cluster, network, mesh, API and service
names `stacks/config.py` accepts (DNS labels of 40 characters) and a 100-character stack
name (Pulumi's maximum), in every scenario and with both external gateways.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from harness import Program, evaluate, with_deployer_default

from components.naming import bounded_name
from policy.checks import BY_ID
from policy.checks.names import NAME_RULES, final_name, name_problems
from stacks.config import StackConfig

LABEL_MAX = 40  # stacks/config.py _dns_label
STACK = "s" * 100


def _label(stem: str) -> str:
    return (stem + "-" + "x" * LABEL_MAX)[: LABEL_MAX - 1] + "z"


EKS = _label("aws-east-longest")
GKE = _label("gcp-central-longest")
ADMIN = "arn:aws:iam::123456789012:role/platform-admins"


def longest(scenario: str, external: dict[str, Any] | None = None, multicluster: bool = False) -> dict[str, Any]:
    api = _label("orders-api")
    other = _label("catalog-api")
    namespace = _label("shop-namespace")
    config: dict[str, Any] = {
        "meshgate:scenario": scenario,
        "meshgate:clusters": [
            {
                "name": EKS,
                "kind": "eks",
                "region": "us-east-1",
                "vpcCidr": "10.10.0.0/16",
                "network": _label("aws-net"),
                "availabilityZones": 3,
                "adminPrincipalArns": [ADMIN],
                "ingress": {"hostname": "orders.example.com", "tlsSecret": "ingress-tls"},
            },
            {
                "name": GKE,
                "kind": "gke",
                "project": "p" * 29 + "z",
                "region": "us-central1",
                "vpcCidr": "10.20.0.0/16",
                "network": _label("gcp-net"),
                "ingress": {"hostname": "catalog.example.com", "tlsSecret": "ingress-tls"},
            },
        ],
        "meshgate:istio": {"meshId": _label("mesh-id"), "multicluster": multicluster},
        "meshgate:gateway": {"cluster": EKS},
        "meshgate:jwt": {
            "issuer": "https://auth.example.com/",
            "jwksUri": "https://auth.example.com/jwks.json",
            "audiences": ["api"],
        },
        "meshgate:apis": [
            {
                "name": api,
                "path": "/orders",
                "cluster": EKS,
                "service": {"name": api, "namespace": namespace, "port": 8080},
                "auth": "jwt",
            },
            {
                "name": other,
                "path": "/catalog",
                "cluster": GKE if multicluster or scenario == "external-gateway" else EKS,
                "service": {"name": other, "namespace": namespace, "port": 8080},
            },
        ],
        "meshgate:services": [
            {"name": api, "namespace": namespace, "cluster": EKS},
        ],
    }
    if external is not None:
        config["meshgate:externalGateway"] = external
    return config


VARIANTS: dict[str, dict[str, Any]] = {
    "external-aws": longest("external-gateway", {"kind": "aws-http-api", "region": "us-east-1", "cluster": EKS}),
    "external-gcp": longest(
        "external-gateway", {"kind": "gcp-api-gateway", "region": "us-central1", "project": "p" * 29 + "z"}
    ),
    "in-cluster": longest("in-cluster-gateway"),
    "in-cluster-mesh": longest("in-cluster-gateway-mesh", multicluster=True),
    "gateway-api": longest("gateway-api", multicluster=True),
}

_programs: dict[str, Program] = {}


def program(variant: str) -> Program:
    if variant not in _programs:
        _programs[variant] = evaluate(VARIANTS[variant], stack=STACK)
    return _programs[variant]


def test_the_configurations_really_are_the_longest_the_config_accepts() -> None:
    from stacks.config import ConfigError, parse_raw

    for config in VARIANTS.values():
        parsed: StackConfig = parse_raw(with_deployer_default(config))
        assert all(len(c.name) == LABEL_MAX for c in parsed.clusters)
        assert len(parsed.istio.mesh_id) == LABEL_MAX
    too_long = longest("gateway-api")
    too_long["meshgate:clusters"][0]["name"] = "a" * (LABEL_MAX + 1)
    with pytest.raises(ConfigError, match=r"meshgate:clusters\[0\]\.name"):
        parse_raw(too_long)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_cloud_name_fits_its_provider_limit(variant: str) -> None:
    recorded = program(variant)
    checked = 0
    problems: list[str] = []
    for r in recorded.resources:
        name = final_name(r.type, r.name, r.plain)
        if name is None:
            continue
        checked += 1
        problems += [f"{r.type} {r.name}: {p}" for p in name_problems(r.type, name)]
    assert checked >= 15, "the variant registers the cloud resources this test is about"
    assert problems == []


def test_every_cloud_type_the_program_registers_has_a_name_rule_or_no_name() -> None:
    """A new resource type with a name field must get a rule (else its limit is never checked)."""
    unruled: set[str] = set()
    for variant in VARIANTS:
        for r in program(variant).resources:
            if (
                r.type.startswith(("aws:", "gcp:"))
                and r.type not in NAME_RULES
                and any(k in r.plain for k in ("name", "namePrefix"))
                and r.type not in UNLIMITED_NAMES
            ):
                unruled.add(r.type)
    assert unruled == set()


# Types whose `name` is not a cloud resource name with a length limit worth modelling.
UNLIMITED_NAMES = {
    "aws:apigatewayv2/stage:Stage",  # "$default"
    "aws:ssm/parameter:Parameter",
}


def test_the_model_reproduces_todays_failure() -> None:
    """The ingress target group of an 8-character cluster, auto-named, is 34 characters: over the 32 limit."""
    assert (
        final_name("aws:lb/targetGroup:TargetGroup", "aws-east-ingress-nlb-tg-80", {})
        == "aws-east-ingress-nlb-tg-80-xxxxxxx"
    )
    assert name_problems("aws:lb/targetGroup:TargetGroup", "aws-east-ingress-nlb-tg-80-xxxxxxx")
    assert final_name("aws:iam/role:Role", "r", {"namePrefix": "p" * 39}) == "p" * 39 + "x" * 26
    assert name_problems("aws:iam/role:Role", "p" * 39 + "x" * 26)


def test_policy_trips_on_an_overlong_or_badly_formed_name() -> None:
    check = BY_ID["cloud-names-within-limits"]
    assert check("aws:lb/targetGroup:TargetGroup", {"name": "a" * 32}) == []  # type: ignore[call-arg]
    assert check("aws:lb/targetGroup:TargetGroup", {"name": "a" * 33})  # type: ignore[call-arg]
    assert check("aws:lb/loadBalancer:LoadBalancer", {"name": "internal-ingress"})  # type: ignore[call-arg]
    assert check("gcp:compute/network:Network", {"name": "Net_1"})  # type: ignore[call-arg]
    assert check("aws:iam/role:Role", {"namePrefix": "r" * 39})  # type: ignore[call-arg]


def test_bounded_names_fit_are_stable_and_distinct() -> None:
    long = "a" * 40
    names = {bounded_name(long, "ingress", str(port), limit=32) for port in (80, 443)}
    assert len(names) == 2 and all(len(n) <= 32 and re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", n) for n in names)
    assert bounded_name(long, "ingress", limit=32) == bounded_name(long, "ingress", limit=32)
    assert bounded_name("aws-east", "ingress", limit=32, salt="a") != bounded_name(
        "aws-east", "ingress", limit=32, salt="b"
    )
    assert bounded_name("1abc", limit=63)[0] == "m"
