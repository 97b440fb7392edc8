"""The cluster handle: the one seam between the cluster layer and everything above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import pulumi
import pulumi_kubernetes as k8s

Cloud = Literal["aws", "gcp", "local"]


class ClusterComponent(Protocol):
    """What every cluster component (EKS, GKE, an adopted cluster) offers the layers above it."""

    cloud: Cloud
    kubeconfig: pulumi.Output[str]
    api_server: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    provider_dependencies: list[pulumi.Resource]
    """What a Kubernetes provider on this cluster must wait for (the whole component, or less: EKS needs only
    its network and nodes, not every add-on)."""


@dataclass(frozen=True)
class ClusterHandle:
    """What mesh and gateway components know about a cluster, whatever cloud it runs on.

    `kubeconfig` is a secret Output. `provider` targets the cluster and depends on the whole
    cluster component (network, control plane, nodes), so every Kubernetes object waits for
    the nodes on create and is deleted before the network on destroy. `rendered`: the provider
    writes YAML instead of applying it (`renderDirectory`), so nothing can be read back;
    `render_secrets`: such YAML may hold Secrets with private keys (else they are left out).
    """

    name: str
    cloud: Cloud
    network: str
    kubeconfig: pulumi.Output[str]
    api_server: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    provider: k8s.Provider
    rendered: bool = False
    render_secrets: bool = False

    @property
    def holds_private_keys(self) -> bool:
        """Whether components may create Secrets with private keys here: always on a live cluster; in
        rendered YAML (plaintext files) only with `render_secrets`, else the Secret is referenced by name."""
        return not self.rendered or self.render_secrets

    def opts(self, parent: pulumi.Resource, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        """Options for a Kubernetes child of `parent` in this cluster."""
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, depends_on=depends_on)
