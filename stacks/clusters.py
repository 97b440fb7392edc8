"""Cluster wiring: one component per `meshgate:clusters` entry, its cloud provider, its handle.

Cloud SDKs are imported only for the kinds a stack uses: a kubeconfig-only stack never
loads pulumi_aws or pulumi_gcp (they cost seconds of start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle
from stacks.config import EksClusterSpec, GkeClusterSpec, KubeconfigClusterSpec, StackConfig


@dataclass(frozen=True)
class BuiltCluster:
    """A cluster component (cloud-specific outputs) and its cloud-neutral handle."""

    handle: ClusterHandle
    component: Any


def _eks(spec: EksClusterSpec, protect: bool) -> Any:
    import pulumi_aws as aws

    from components.clusters.eks import EksCluster, EksClusterArgs

    provider = aws.Provider(f"{spec.name}-aws", region=spec.region)
    return EksCluster(
        spec.name,
        EksClusterArgs(spec=spec, protect=protect),
        pulumi.ResourceOptions(providers={"aws": provider}),
    )


def _gke(spec: GkeClusterSpec, protect: bool) -> Any:
    import pulumi_gcp as gcp

    from components.clusters.gke import GkeCluster, GkeClusterArgs

    provider = gcp.Provider(f"{spec.name}-gcp", project=spec.project, region=spec.region)
    return GkeCluster(
        spec.name,
        GkeClusterArgs(spec=spec, protect=protect),
        pulumi.ResourceOptions(providers={"gcp": provider}),
    )


def _existing(spec: KubeconfigClusterSpec, protect: bool) -> Any:
    from components.clusters.existing import KubeconfigCluster, KubeconfigClusterArgs

    return KubeconfigCluster(spec.name, KubeconfigClusterArgs(spec=spec))


def _provider(spec: EksClusterSpec | GkeClusterSpec | KubeconfigClusterSpec, component: Any) -> k8s.Provider:
    # A cluster component may narrow what the provider waits for (EKS: network + nodes, not CoreDNS);
    # by default it waits for the whole component.
    opts = pulumi.ResourceOptions(depends_on=getattr(component, "provider_dependencies", [component]))
    if isinstance(spec, KubeconfigClusterSpec):
        return k8s.Provider(
            f"{spec.name}-k8s",
            kubeconfig=component.kubeconfig_path,
            context=spec.context,
            render_yaml_to_directory=spec.render_directory,
            enable_server_side_apply=True,
            opts=opts,
        )
    return k8s.Provider(
        f"{spec.name}-k8s",
        kubeconfig=component.kubeconfig,
        enable_server_side_apply=True,
        delete_unreachable=False,
        opts=opts,
    )


def build_clusters(config: StackConfig) -> dict[str, BuiltCluster]:
    """Create every configured cluster; clusters never depend on each other."""
    built: dict[str, BuiltCluster] = {}
    for spec in config.clusters:
        if isinstance(spec, EksClusterSpec):
            component = _eks(spec, config.protect)
        elif isinstance(spec, GkeClusterSpec):
            component = _gke(spec, config.protect)
        else:
            component = _existing(spec, config.protect)
        handle = ClusterHandle(
            name=spec.name,
            cloud=component.cloud,
            network=spec.network_name,
            kubeconfig=component.kubeconfig,
            api_server=component.api_server,
            ca_data=component.ca_data,
            provider=_provider(spec, component),
            rendered=isinstance(spec, KubeconfigClusterSpec) and spec.render_directory is not None,
        )
        built[spec.name] = BuiltCluster(handle=handle, component=component)
    return built
