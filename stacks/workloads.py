"""Workload wiring: per cluster, the app namespaces and demo services of `meshgate:services`/`meshgate:apis`.

Nothing here reads `meshgate:scenario`: the workload layer keeps its URNs when the
scenario changes (tests/test_scenario_switch.py).
"""

from __future__ import annotations

import pulumi

from components.mesh.handle import MeshHandle
from components.workloads.cluster_apps import ClusterApps, ClusterAppsArgs, RemoteBackend
from components.workloads.demo_service import DemoWorkload
from stacks.config import StackConfig


def app_namespaces(config: StackConfig) -> dict[str, list[str]]:
    """Cluster -> namespaces referenced by services, APIs and remote backends, in config order."""
    found: dict[str, dict[str, None]] = {c.name: {} for c in config.clusters}
    for svc in config.services:
        found[svc.cluster][svc.namespace] = None
    for api in config.apis:
        found[api.cluster][api.service.namespace] = None
    for cluster, remotes in remote_backends(config).items():
        for remote in remotes:
            found[cluster][remote.namespace] = None
    return {cluster: list(namespaces) for cluster, namespaces in found.items()}


def remote_backends(config: StackConfig) -> dict[str, list[RemoteBackend]]:
    """Multi-cluster mesh: API backends in other clusters that the gateway's cluster must resolve by name."""
    remotes: dict[str, list[RemoteBackend]] = {c.name: [] for c in config.clusters}
    if not config.istio.multicluster:
        return remotes
    home = config.gateway_cluster
    local = {(s.namespace, s.name) for s in config.services if s.cluster == home}
    for api in config.apis:
        key = (api.service.namespace, api.service.name)
        if api.cluster != home and key not in local:
            local.add(key)
            remotes[home].append(
                RemoteBackend(
                    name=api.service.name,
                    namespace=api.service.namespace,
                    port=api.service.port,
                    target_port=config.target_port(api),
                )
            )
    return remotes


def build_workloads(config: StackConfig, meshes: dict[str, MeshHandle]) -> dict[str, ClusterApps]:
    """One ClusterApps per cluster that has namespaces to create, keyed by cluster name."""
    namespaces = app_namespaces(config)
    remotes = remote_backends(config)
    built: dict[str, ClusterApps] = {}
    for spec in config.clusters:
        if not namespaces[spec.name]:
            continue
        built[spec.name] = ClusterApps(
            f"{spec.name}-apps",
            ClusterAppsArgs(
                mesh=meshes[spec.name],
                namespaces=namespaces[spec.name],
                services=[
                    DemoWorkload(
                        name=s.name,
                        namespace=s.namespace,
                        port=s.port,
                        container_port=s.container_port,
                        replicas=s.replicas,
                        image=s.image,
                    )
                    for s in config.services
                    if s.cluster == spec.name
                ],
                remote_backends=remotes[spec.name],
            ),
            pulumi.ResourceOptions(),
        )
    return built
