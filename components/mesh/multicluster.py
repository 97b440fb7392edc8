"""MeshFederation: endpoint discovery between the clusters of a multi-primary mesh.

Each cluster gets a long-lived token for Istio's `istio-reader-service-account`; every
cluster then gets, for every other cluster, a remote secret (the equivalent of
`istioctl create-remote-secret`): a kubeconfig with the other API server, its CA and that
static token. istiod cannot run exec auth plugins, hence a static token.

Rotation: bumping `token_generation` names new token Secrets (`…-token-<n>`); in the same `up`
the engine creates them, updates every remote secret to the new token (istiod reloads remote
secrets on change) and, last, deletes the old token Secrets, which revokes the old tokens.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.mesh.handle import ISTIO_NAMESPACE, MeshHandle

READER_SERVICE_ACCOUNT = "istio-reader-service-account"
READER_TOKEN_SECRET = f"{READER_SERVICE_ACCOUNT}-token"
REMOTE_SECRET_LABEL = {"istio/multiCluster": "true"}
CLUSTER_ANNOTATION = "networking.istio.io/cluster"


def remote_secret_name(cluster: str) -> str:
    return f"istio-remote-secret-{cluster}"


def reader_token_name(generation: int) -> str:
    """The reader token Secret of `generation` (0: the name used before rotation existed)."""
    return f"{READER_TOKEN_SECRET}-{generation}" if generation else READER_TOKEN_SECRET


def remote_kubeconfig(cluster: str, api_server: str, ca_data: str, token: str) -> str:
    """A kubeconfig for istiod to read `cluster`'s endpoints with the reader token."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": api_server, "certificate-authority-data": ca_data}}],
        "users": [{"name": cluster, "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "current-context": cluster,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False)


def decoded_token(data: Mapping[str, str] | None) -> str:
    """The token of a `service-account-token` Secret's `data` (base64), empty until it is filled."""
    return base64.b64decode((data or {}).get("token", "")).decode()


@dataclass(frozen=True)
class MeshFederationArgs:
    """The meshes (one per cluster, two or more) to federate; bump `token_generation` to rotate the reader tokens."""

    meshes: list[MeshHandle]
    token_generation: int = 0


class MeshFederation(pulumi.ComponentResource):
    """Reader tokens and the n·(n−1) remote secrets of a multi-cluster mesh.

    A remote secret in cluster A waits on A's `base` chart (namespace and CRDs) and on B's
    reader token; nothing else crosses clusters.
    """

    reader_tokens: dict[str, k8s.core.v1.Secret]
    remote_secrets: dict[tuple[str, str], k8s.core.v1.Secret]

    def __init__(self, name: str, args: MeshFederationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:mesh:MeshFederation", name, None, opts)
        self.reader_tokens = {}
        token_name = reader_token_name(args.token_generation)
        for mesh in args.meshes:
            # The reader ServiceAccount is rendered by the base/istiod charts. The provider waits
            # until the token controller has filled `data.token` (pulumi-kubernetes#2048).
            self.reader_tokens[mesh.cluster.name] = k8s.core.v1.Secret(
                f"{mesh.cluster.name}-{token_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=token_name,
                    namespace=ISTIO_NAMESPACE,
                    annotations={"kubernetes.io/service-account.name": READER_SERVICE_ACCOUNT},
                ),
                type="kubernetes.io/service-account-token",
                opts=mesh.cluster.opts(self, depends_on=[*mesh.crds, *mesh.ready]),
            )
        self.remote_secrets = {}
        for local in args.meshes:
            for remote in args.meshes:
                if remote is local:
                    continue
                self.remote_secrets[(local.cluster.name, remote.cluster.name)] = self._remote_secret(local, remote)
        self.register_outputs({"remoteSecrets": len(self.remote_secrets)})

    def _remote_secret(self, local: MeshHandle, remote: MeshHandle) -> k8s.core.v1.Secret:
        peer = remote.cluster.name
        token = self.reader_tokens[peer].data.apply(decoded_token)
        kubeconfig = pulumi.Output.all(remote.cluster.api_server, remote.cluster.ca_data, token).apply(
            lambda parts: remote_kubeconfig(peer, parts[0], parts[1], parts[2])
        )
        return k8s.core.v1.Secret(
            f"{local.cluster.name}-{remote_secret_name(peer)}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=remote_secret_name(peer),
                namespace=ISTIO_NAMESPACE,
                labels=dict(REMOTE_SECRET_LABEL),
                annotations={CLUSTER_ANNOTATION: peer},
            ),
            type="Opaque",
            string_data={peer: pulumi.Output.secret(kubeconfig)},
            opts=local.cluster.opts(self, depends_on=list(local.crds)),
        )
