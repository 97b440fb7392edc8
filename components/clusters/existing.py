"""KubeconfigCluster: adopt an existing cluster (kind, minikube, any context) from a kubeconfig."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import yaml

from components.clusters.handle import Cloud


@dataclass(frozen=True)
class KubeconfigClusterArgs:
    """Which existing cluster to adopt: a kubeconfig file and context, or a directory to render YAML into."""

    network: str
    """Istio network name of the cluster (`topology.istio.io/network`)."""
    kubeconfig: str | None = None
    """Path of the kubeconfig; None = $KUBECONFIG's first entry, else ~/.kube/config."""
    context: str | None = None
    """Context name; None = the file's current context."""
    render_directory: str | None = None
    """Render the objects as YAML into this directory instead of applying them (no cluster needed)."""


def kubeconfig_path(explicit: str | None) -> Path:
    """The kubeconfig file kubectl would use: explicit path, else the first $KUBECONFIG entry, else ~/.kube/config."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), None)
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


@dataclass(frozen=True)
class _Endpoint:
    context: str
    server: str
    ca_data: str


def _endpoint(document: dict[str, object], context: str | None) -> _Endpoint | None:
    """Server and CA of `context` (default: current-context) in a parsed kubeconfig."""
    name = context or document.get("current-context")
    contexts = {c.get("name"): c.get("context", {}) for c in document.get("contexts") or []}  # type: ignore[union-attr]
    clusters = {c.get("name"): c.get("cluster", {}) for c in document.get("clusters") or []}  # type: ignore[union-attr]
    if not isinstance(name, str) or name not in contexts:
        return None
    cluster = clusters.get(contexts[name].get("cluster"), {})
    ca = cluster.get("certificate-authority-data", "")
    ca_file = cluster.get("certificate-authority")
    if not ca and ca_file and Path(ca_file).is_file():
        ca = base64.b64encode(Path(ca_file).read_bytes()).decode()
    return _Endpoint(context=name, server=cluster.get("server", ""), ca_data=ca)


class KubeconfigCluster(pulumi.ComponentResource):
    """An existing cluster reached through a kubeconfig file and context.

    Creates nothing in the cluster; it reads the kubeconfig so the mesh can address the API
    server (multi-cluster remote secrets) and exposes the document as a secret Output.
    A missing file is not an error here: the Kubernetes provider reports it when it connects,
    and render-to-directory stacks never connect.
    """

    kubeconfig: pulumi.Output[str]
    api_server: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    cloud: Cloud = "local"

    def __init__(self, name: str, args: KubeconfigClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:clusters:KubeconfigCluster", name, None, opts)
        self.network = args.network
        path = kubeconfig_path(args.kubeconfig)
        text = path.read_text() if args.render_directory is None and path.is_file() else ""
        document = yaml.safe_load(text) if text else {}
        endpoint = _endpoint(document if isinstance(document, dict) else {}, args.context)
        self.kubeconfig_path = str(path) if args.kubeconfig else None
        self.context = args.context
        self.kubeconfig = pulumi.Output.secret(text)
        self.api_server = pulumi.Output.from_input(endpoint.server if endpoint else "")
        self.ca_data = pulumi.Output.from_input(endpoint.ca_data if endpoint else "")
        self.provider_dependencies: list[pulumi.Resource] = [self]
        self.register_outputs({"apiServer": self.api_server, "network": self.network})
