"""Invalid stack configs, each with the config key its error message must name (stack, path, value, key)."""

from __future__ import annotations

import copy
from typing import Any

from harness import stack_config


def _mutated(stack: str, path: list[Any], value: Any) -> dict[str, Any]:
    config = copy.deepcopy(stack_config(stack))
    node: Any = config
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return config


_DELETE = object()

BAD = [
    ("dev", ["meshgate:scenario"], "scenario-5", "meshgate:scenario"),
    ("dev", ["meshgate:scenario"], 7, "meshgate:scenario"),
    ("prod", ["meshgate:clusters", 1, "name"], "aws-east", "meshgate:clusters[1].name"),
    ("prod", ["meshgate:clusters", 1, "vpcCidr"], "10.10.128.0/17", "meshgate:clusters[1].vpcCidr"),
    ("prod", ["meshgate:clusters", 0, "vpcCidr"], "10.10.0.0/33", "meshgate:clusters[0].vpcCidr"),
    ("prod", ["meshgate:clusters", 0, "vpcCidr"], "10.10.0.1/16", "meshgate:clusters[0].vpcCidr"),
    ("prod", ["meshgate:clusters", 1, "project"], _DELETE, "meshgate:clusters[1].project"),
    ("prod", ["meshgate:clusters", 0, "kind"], "aks", "meshgate:clusters[0]"),
    ("prod", ["meshgate:apis", 0, "cluster"], "azure-west", "meshgate:apis[0].cluster"),
    ("prod", ["meshgate:apis", 1, "path"], "/orders", "meshgate:apis[1].path"),
    ("prod", ["meshgate:apis", 0, "path"], "orders", "meshgate:apis[0].path"),
    ("prod", ["meshgate:scenario"], "in-cluster-gateway", "meshgate:apis[1].cluster"),
    ("staging", ["meshgate:externalGateway"], _DELETE, "meshgate:externalGateway"),
    ("dev", ["meshgate:istio", "multicluster"], True, "meshgate:istio.multicluster"),
    (
        "prod",
        ["meshgate:clusters", 0, "endpointPublicAccessCidrs"],
        ["0.0.0.0/0"],
        "meshgate:clusters[0].endpointPublicAccessCidrs[0]",
    ),
    ("prod", ["meshgate:clusters", 0, "nodes", "max"], 1, "meshgate:clusters[0].nodes.max"),
    ("prod", ["meshgate:clusters", 0, "nodes", "min"], 0, "meshgate:clusters[0].nodes.min"),
    ("dev", ["meshgate:apis", 0, "service", "port"], 70000, "meshgate:apis[0].service.port"),
    ("dev", ["meshgate:apis", 0, "auth"], "oauth", "meshgate:apis[0].auth"),
    ("dev", ["meshgate:apis", 0, "colour"], "blue", "meshgate:apis[0].colour"),
    ("dev", ["meshgate:scenaro"], "gateway-api", "meshgate:scenaro"),
    ("dev", ["meshgate:clusters", 0, "name"], "Local_Cluster", "meshgate:clusters[0].name"),
    ("prod", ["meshgate:gateway", "cluster"], "nowhere", "meshgate:gateway.cluster"),
    ("prod", ["meshgate:istio", "multicluster"], False, "meshgate:apis[1].cluster"),
    ("prod", ["meshgate:clusters", 1, "masterCidr"], "172.16.0.0/24", "meshgate:clusters[1].masterCidr"),
    ("prod", ["meshgate:clusters", 1, "network"], "aws-net", "meshgate:clusters[1].network"),
    ("dev", ["meshgate:clusters"], [], "meshgate:clusters"),
    ("dev", ["meshgate:apis", 0, "rateLimitPerMinute"], -5, "meshgate:apis[0].rateLimitPerMinute"),
    ("dev", ["meshgate:apis", 1, "name"], "orders", "meshgate:apis[1].name"),
    ("staging", ["meshgate:externalGateway", "kind"], "azure-apim", "meshgate:externalGateway.kind"),
    ("dev", ["meshgate:istio", "version"], "latest", "meshgate:istio.version"),
    ("dev", ["meshgate:services", 0, "cluster"], "elsewhere", "meshgate:services[0].cluster"),
    ("prod", ["meshgate:observability", "hub"], "azure-west", "meshgate:observability.hub"),
    ("dev", ["meshgate:observability", "hub"], "local", "meshgate:observability.hub"),
    ("dev", ["meshgate:observability", "kiali"], {"expose": True}, "meshgate:observability.kiali.openid"),
    ("render", ["meshgate:observability"], {"enabled": True}, "meshgate:observability.enabled"),
    ("dev", ["meshgate:observability", "traceRetention"], "3d", "meshgate:observability.traceRetention"),
    ("dev", ["meshgate:apis", 0, "slo"], {"availability": 100}, "meshgate:apis[0].slo.availability"),
    ("dev", ["meshgate:istio", "tracing", "zipkinAddress"], "zipkin:9411", "meshgate:istio.tracing.zipkinAddress"),
]
