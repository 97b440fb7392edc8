"""Kubeconfig documents that authenticate with an exec plugin instead of an embedded token.

A token embedded in a kubeconfig expires and changes on every run, which replaces the
Kubernetes provider (a perpetual diff); exec auth keeps the document stable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class ExecAuth:
    """The credential plugin a kubeconfig user runs (`aws eks get-token`, `gke-gcloud-auth-plugin`)."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    install_hint: str = ""


def exec_kubeconfig(
    cluster_name: str, server: pulumi.Input[str], ca_data: pulumi.Input[str], auth: ExecAuth
) -> pulumi.Output[str]:
    """A one-context kubeconfig (JSON) for `cluster_name`, returned as a secret Output."""

    def render(values: list[str]) -> str:
        endpoint, ca = values
        exec_spec: dict[str, object] = {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": auth.command,
            "args": list(auth.args),
            "interactiveMode": "Never",
            "provideClusterInfo": False,
        }
        if auth.env:
            exec_spec["env"] = [{"name": k, "value": v} for k, v in auth.env]
        if auth.install_hint:
            exec_spec["installHint"] = auth.install_hint
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca}}],
            "users": [{"name": cluster_name, "user": {"exec": exec_spec}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
        }
        return json.dumps(doc, sort_keys=True)

    return pulumi.Output.secret(pulumi.Output.all(server, ca_data).apply(render))
