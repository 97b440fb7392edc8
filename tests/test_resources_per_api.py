"""Resources each catalogue entry adds, per scenario (the table in docs/performance.md#resources-per-api).

Counted under mocks as the difference between a catalogue of 8 and of 4 APIs, each API with its
own backend Service and every gateway feature on (rate limit; JWT, or API keys where the
scenario has them): whatever grows with the catalogue shows up here, so a new per-API object
must be added to the table (and justified in the docs) or folded.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from harness import Program, evaluate, stack_config

JWT = {"issuer": "https://auth.example.com/", "jwksUri": "https://auth.example.com/jwks.json", "audiences": ["api"]}


def _config(scenario: str, n: int, auth: str, **api_extra: Any) -> dict[str, Any]:
    config = stack_config("dev")
    config["meshgate:scenario"] = scenario
    config["meshgate:jwt"] = JWT
    config["meshgate:services"] = []
    config["meshgate:apis"] = [
        {
            "name": f"api-{i}",
            "path": f"/api-{i}",
            "cluster": "local",
            "service": {"name": f"svc-{i}", "namespace": "shop", "port": 8080},
            "auth": auth,
            "rateLimitPerMinute": 600,
            **api_extra,
        }
        for i in range(n)
    ]
    return config


def _kinds(program: Program) -> Counter[str]:
    return Counter(str(r.inputs.get("kind") or r.type.rsplit(":", 1)[-1]) for r in program.resources if r.custom)


def per_api(scenario: str, auth: str) -> dict[str, float]:
    small, large = _kinds(evaluate(_config(scenario, 4, auth))), _kinds(evaluate(_config(scenario, 8, auth)))
    return {k: (large[k] - small[k]) / 4 for k in large | small if large[k] != small[k]}


# What one more API costs, worst case (every feature on). docs/performance.md justifies each.
EXPECTED = [
    # + the backend's NetworkPolicy: only Kong's gateway pods reach its port (Kong has no mesh identity)
    ("in-cluster-gateway", "key", {"Ingress": 1, "PeerAuthentication": 1, "NetworkPolicy": 1}),
    (
        "in-cluster-gateway",
        "jwt",
        {
            "Ingress": 1,
            "PeerAuthentication": 1,
            "NetworkPolicy": 1,
            "RequestAuthentication": 1,
            "AuthorizationPolicy": 1,
        },
    ),
    ("in-cluster-gateway-mesh", "key", {"Ingress": 1, "Service": 1, "AuthorizationPolicy": 1}),
    (
        "in-cluster-gateway-mesh",
        "jwt",
        {"Ingress": 1, "Service": 1, "AuthorizationPolicy": 1, "RequestAuthentication": 1},
    ),
    # the path joins its namespace's `meshgate-https-redirect` HTTPRoute (no object per API)
    ("gateway-api", "jwt", {"HTTPRoute": 1, "AuthorizationPolicy": 1}),
    ("gateway-api", "none", {"HTTPRoute": 1, "AuthorizationPolicy": 1}),
]


@pytest.mark.parametrize(("scenario", "auth", "expected"), EXPECTED, ids=[f"{s}-{a}" for s, a, _ in EXPECTED])
def test_resources_added_per_api(scenario: str, auth: str, expected: dict[str, float]) -> None:
    assert per_api(scenario, auth) == expected


def test_gateway_api_validates_each_jwt_issuer_once_whatever_the_catalogue_size() -> None:
    """One RequestAuthentication per distinct issuer on the gateway (Istio merges all of a workload's
    RequestAuthentications into one JWT filter, so per-API copies repeated the same rule)."""
    program = evaluate(_config("gateway-api", 8, "jwt"))
    (ra,) = [r for r in program.resources if r.inputs.get("kind") == "RequestAuthentication"]
    assert ra.get("spec.jwtRules")[0]["issuer"] == JWT["issuer"]
    assert ra.get("spec.selector.matchLabels") == {"gateway.networking.k8s.io/gateway-name": "meshgate"}
    # every jwt API still requires a token of its issuer at the gateway
    (edge,) = [r for r in program.resources if r.get("metadata.name") == "catalogue-only"]
    forwarding = [rule for rule in edge.get("spec.rules") if "from" in rule]
    assert len(forwarding) == 8
    assert all(rule["from"] == [{"source": {"requestPrincipals": [f"{JWT['issuer']}/*"]}}] for rule in forwarding)
    # the only token-free rule admits port 80, where those paths answer with the redirect to https
    (redirect,) = [rule for rule in edge.get("spec.rules") if "from" not in rule]
    assert redirect["to"][0]["operation"]["ports"] == ["80"]

    config = _config("gateway-api", 8, "jwt")
    other = {"issuer": "https://partners.example.com/", "jwksUri": "https://partners.example.com/jwks.json"}
    config["meshgate:apis"][3]["jwt"] = other
    config["meshgate:apis"][5]["jwt"] = other
    program = evaluate(config)
    issuers = sorted(
        r.get("spec.jwtRules")[0]["issuer"]
        for r in program.resources
        if r.inputs.get("kind") == "RequestAuthentication"
    )
    assert issuers == [JWT["issuer"], other["issuer"]]
    names = {r.name for r in program.resources if r.inputs.get("kind") == "RequestAuthentication"}
    reordered = _config("gateway-api", 8, "jwt")
    reordered["meshgate:apis"] = list(reversed(config["meshgate:apis"]))
    assert names == {r.name for r in evaluate(reordered).resources if r.inputs.get("kind") == "RequestAuthentication"}
