"""The hop list of a stack's scenario from its config alone: the `hops` output the gateway
layer exports, computed without registering anything (the diagrams are drawn from it).

Each gateway component owns its hop list (`hops()` in components/gateways/<scenario>.py);
this module only supplies the same arguments the components derive from their args, and
tests/test_diagram.py checks the result equals the stack output under mocks.
"""

from __future__ import annotations

from components.gateways.edge import Hop
from stacks.config import Scenario, StackConfig


def vpc_link_cluster(config: StackConfig) -> str | None:
    """aws-http-api: the EKS cluster whose VPC hosts the VPC link (the edge cluster: `externalGateway.cluster`,
    else the first EKS)."""
    ext = config.external_gateway
    if config.scenario is not Scenario.EXTERNAL_GATEWAY or ext is None or ext.kind != "aws-http-api":
        return None
    return config.edge_cluster


def entry_clusters(config: StackConfig) -> list[str]:
    """Scenario 1: the clusters whose ingress the external gateway calls, in catalogue order."""
    return list(dict.fromkeys(config.ingress_cluster(api) for api in config.apis))


def reached_through_the_mesh(config: StackConfig) -> list[str]:
    """Scenario 1: clusters whose backends are reached from another cluster's ingress (multi-cluster mesh)."""
    return list(dict.fromkeys(api.cluster for api in config.apis if api.cluster != config.ingress_cluster(api)))


def hosting_clusters(config: StackConfig) -> list[str]:
    """Clusters that run at least one API backend, in catalogue order."""
    return list(dict.fromkeys(api.cluster for api in config.apis))


def remote_clusters(config: StackConfig) -> list[str]:
    """Clusters other than the gateway's that run an API backend (multi-cluster mesh only)."""
    return [c for c in hosting_clusters(config) if c != config.gateway_cluster]


def scenario_hops(config: StackConfig) -> list[Hop]:
    """The scenario component's hop list for `config`."""
    from components.gateways import external, gateway_api, in_cluster, in_cluster_mesh

    scenario = config.scenario
    if scenario is Scenario.EXTERNAL_GATEWAY:
        assert config.external_gateway is not None, "validated by config_rules"
        return external.hops(
            config.external_gateway.kind,
            vpc_link_cluster(config),
            entry_clusters(config),
            reached_through_the_mesh(config),
        )
    if scenario is Scenario.IN_CLUSTER_GATEWAY:
        return in_cluster.hops()
    if scenario is Scenario.IN_CLUSTER_GATEWAY_MESH:
        return in_cluster_mesh.hops(remote_clusters(config))
    return gateway_api.hops(remote_clusters(config))
