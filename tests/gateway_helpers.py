"""Helpers shared by the gateway-layer tests: scenario configs, cached evaluations, graph queries."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from harness import Program, Resource, evaluate, stack_config

GATEWAY_COMPONENT_PREFIX = "meshgate:gateways:"
KONG_PRINCIPAL = "cluster.local/ns/meshgate-gateway/sa/kong-gateway"
GATEWAY_API_PRINCIPAL = "cluster.local/ns/meshgate-gateway/sa/meshgate-istio"
JWT = {
    "issuer": "https://auth.example.com/",
    "jwksUri": "https://auth.example.com/.well-known/jwks.json",
    "audiences": ["https://api.example.com"],
}

SCENARIOS = ("external-gateway", "in-cluster-gateway", "in-cluster-gateway-mesh", "gateway-api")


def _api(name: str, cluster: str, auth: str, limit: int | None) -> dict[str, Any]:
    api: dict[str, Any] = {
        "name": name,
        "path": f"/{name}",
        "cluster": cluster,
        "service": {"name": name, "namespace": "shop", "port": 8080},
        "auth": auth,
    }
    if limit is not None:
        api["rateLimitPerMinute"] = limit
    return api


def with_ingress_hostnames(config: dict[str, Any]) -> dict[str, Any]:
    """Give every cluster the scenario-1 ingress hostname and trusted-certificate Secret (ignored elsewhere)."""
    config["meshgate:clusters"] = [
        {**c, "ingress": {"hostname": f"ingress.{c['name']}.example.com", "tlsSecret": "ingress-tls"}}
        for c in config["meshgate:clusters"]
    ]
    return config


def single(scenario: str) -> dict[str, Any]:
    """The dev stack (one kubeconfig cluster) in `scenario`; auth kinds the scenario can enforce."""
    config = with_ingress_hostnames(copy.deepcopy(stack_config("dev")))
    config["meshgate:scenario"] = scenario
    if scenario == "gateway-api":
        config["meshgate:apis"] = [
            {**a, "auth": "jwt" if a["auth"] == "key" else a["auth"]} for a in config["meshgate:apis"]
        ]
    if scenario == "external-gateway":
        config["meshgate:externalGateway"] = {"kind": "gcp-api-gateway", "region": "us-central1", "project": "acme-dev"}
        config["meshgate:apis"] = key_limits_only(config["meshgate:apis"])
    return config


def key_limits_only(apis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GCP API Gateway enforces rate limits only as per-key quotas: no limit on APIs without `auth: key`."""
    return [a if a["auth"] == "key" else {k: v for k, v in a.items() if k != "rateLimitPerMinute"} for a in apis]


def cloud(scenario: str, external: str = "aws-http-api") -> dict[str, Any]:
    """EKS + GKE (the prod clusters, one multi-cluster mesh) in `scenario`.

    APIs: orders (aws-east, jwt, 600/min) and payments (aws-east, no auth, 120/min); for the
    scenarios that can reach the other cluster also catalog (gcp-central, 1200/min).
    """
    config = with_ingress_hostnames(copy.deepcopy(stack_config("prod")))
    config["meshgate:scenario"] = scenario
    config["meshgate:protect"] = False
    config["meshgate:jwt"] = dict(JWT)
    apis = [_api("orders", "aws-east", "jwt", 600), _api("payments", "aws-east", "none", 120)]
    services = [
        {"name": "orders", "namespace": "shop", "cluster": "aws-east", "port": 8080},
        {"name": "payments", "namespace": "shop", "cluster": "aws-east", "port": 8080},
        {"name": "catalog", "namespace": "shop", "cluster": "gcp-central", "port": 8080},
    ]
    if scenario != "in-cluster-gateway":  # Kong outside the mesh cannot reach gcp-central
        key_capable = scenario == "in-cluster-gateway-mesh" or (
            scenario == "external-gateway" and external == "gcp-api-gateway"
        )
        apis.append(_api("catalog", "gcp-central", "key" if key_capable else "none", 1200))
    config["meshgate:apis"] = apis
    config["meshgate:services"] = services
    if scenario == "external-gateway":
        if external == "aws-http-api":
            config["meshgate:externalGateway"] = {"kind": external, "region": "us-east-1", "cluster": "aws-east"}
        else:
            config["meshgate:externalGateway"] = {"kind": external, "region": "us-central1", "project": "acme-prod"}
            config["meshgate:apis"] = key_limits_only(apis)
    return config


def switchable(base: str) -> dict[str, Any]:
    """A config valid in all four scenarios (scenario key left to the caller)."""
    if base == "single":
        config = single("external-gateway")
        config["meshgate:apis"] = key_limits_only([{**a, "auth": "none"} for a in config["meshgate:apis"]])
        return config
    config = cloud("in-cluster-gateway")
    config["meshgate:externalGateway"] = {"kind": "aws-http-api", "region": "us-east-1", "cluster": "aws-east"}
    return config


@cache
def _evaluate(frozen: str) -> Program:
    return evaluate(json.loads(frozen))


def run(config: dict[str, Any]) -> Program:
    """Evaluate `config` once per session (configs are keyed by their JSON)."""
    return _evaluate(json.dumps(config, sort_keys=True))


def ancestors_types(program: Program, resource: Resource) -> list[str]:
    index = program.by_urn()
    found: list[str] = []
    current = index.get(resource.parent)
    while current is not None:
        found.append(current.type)
        current = index.get(current.parent)
    return found


def in_gateway_layer(program: Program, resource: Resource) -> bool:
    """Registered by the gateway layer: under a meshgate:gateways component, or its cloud provider."""
    if resource.type.startswith(GATEWAY_COMPONENT_PREFIX):
        return True
    if resource.type.startswith("pulumi:providers:") and resource.name.endswith(("-api-aws", "-api-gcp")):
        return True
    return any(t.startswith(GATEWAY_COMPONENT_PREFIX) for t in ancestors_types(program, resource))


def gateway_layer(program: Program) -> list[Resource]:
    return [r for r in program.resources if in_gateway_layer(program, r)]


def kind(program: Program, kind_name: str, *, gateway_only: bool = True) -> list[Resource]:
    found = program.k8s_objects(kind_name)
    return [r for r in found if in_gateway_layer(program, r)] if gateway_only else found


def release(program: Program, chart: str) -> list[Resource]:
    return [r for r in program.releases() if r.get("chart") == chart]


def cluster_of(resource: Resource) -> str:
    """The cluster a Kubernetes object is applied to: its provider `<cluster>-k8s`."""
    name = resource.provider.rsplit("::", 1)[-1]
    return name.removesuffix("-k8s")


GKE_WEST = {
    "name": "gcp-west",
    "kind": "gke",
    "project": "acme-prod",
    "region": "us-west1",
    "vpcCidr": "10.30.0.0/16",
    "network": "gcp-west-net",
    "masterCidr": "172.16.0.32/28",
}


def kong_on_managed_ca(kind_: str, scenario: str) -> dict[str, Any]:
    """Kong (`scenario` 2 or 3) in a two-cluster mesh whose root is managed: aws-private-ca on the prod
    clusters (EKS + GKE, Kong on EKS), google-cas on two GKE clusters (Kong on gcp-west)."""
    config = cloud(scenario)
    if kind_ == "google-cas":
        config = json.loads(json.dumps(config).replace("aws-east", "gcp-west"))
        config["meshgate:clusters"] = [
            {**GKE_WEST, "ingress": config["meshgate:clusters"][0]["ingress"]},
            config["meshgate:clusters"][1],
        ]
        ca = {"kind": kind_, "region": "us-central1", "project": "acme-pki"}
    else:
        ca = {"kind": kind_, "region": "us-east-1"}
    config["meshgate:istio"] = {**config["meshgate:istio"], "ca": ca}
    return config
