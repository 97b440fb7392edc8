"""The cluster handle: the one seam between the cluster layer and everything above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

Cloud = Literal["aws", "gcp", "local"]


@dataclass(frozen=True)
class ClusterHandle:
    """What mesh and gateway components know about a cluster, whatever cloud it runs on.

    `kubeconfig` is a secret Output. `provider` targets the cluster and depends on the whole
    cluster component (network, control plane, nodes), so every Kubernetes object waits for
    the nodes on create and is deleted before the network on destroy. `rendered`: the provider
    writes YAML instead of applying it (`renderDirectory`), so nothing can be read back.
    """

    name: str
    cloud: Cloud
    network: str
    kubeconfig: pulumi.Output[str]
    api_server: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    provider: k8s.Provider
    rendered: bool = False

    def opts(self, parent: pulumi.Resource, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        """Options for a Kubernetes child of `parent` in this cluster."""
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, depends_on=depends_on)
