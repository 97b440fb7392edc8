"""Kiali (chart kiali-server): the hub's instance, and read-only access to every other cluster.

Hub: auth strategy set explicitly — `anonymous` (read-only, `view_only_mode`) while the Service is
ClusterIP and reached by port-forward; `openid` when it is exposed through a LoadBalancer. Remote
clusters are listed explicitly (`clustering.clusters`) instead of the chart's secret auto-detection,
which looks the Secrets up when the chart renders and so would depend on apply order.

Remote cluster: the same chart with `deployment.remote_cluster_resources_only` renders only the
`kiali` ServiceAccount and its view-only ClusterRole; a `service-account-token` Secret gives it a
long-lived token. In the hub, one Secret per remote cluster, named `kiali-remote-cluster-secret-<c>`,
labelled `kiali.io/multiCluster: "true"`, annotated `kiali.io/cluster: <c>`, holding a kubeconfig
under key `<c>` — `<c>` being the Istio cluster name (Kiali's "cluster not found" errors come from a
mismatch between these and istiod's cluster ID).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle
from components.istio_security.istio_resource import MANAGED_LABELS
from components.mesh.multicluster import decoded_token, remote_kubeconfig
from components.observability.charts import KIALI_SERVER, Resources, chart_release

OBSERVABILITY_NAMESPACE = "meshgate-observability"
"""Namespace of the backends in the hub, and of Kiali's remote ServiceAccount elsewhere (Kiali
recommends the same namespace and instance name in every cluster)."""
KIALI_RELEASE = "kiali"
KIALI_SERVICE_ACCOUNT = "kiali"
KIALI_PORT = 20001
KIALI_TOKEN_SECRET = "kiali-remote-token"
MULTICLUSTER_LABEL = {"kiali.io/multiCluster": "true"}
CLUSTER_ANNOTATION = "kiali.io/cluster"
HELM_TIMEOUT_SECONDS = 600


def remote_secret_name(cluster: str) -> str:
    """The hub Secret for remote `cluster` (the name kiali-prepare-remote-cluster.sh gives it)."""
    return f"kiali-remote-cluster-secret-{cluster}"


@dataclass(frozen=True)
class KialiAuth:
    """How users reach the hub's Kiali: `exposed` (LoadBalancer + OpenID) or port-forward (anonymous)."""

    exposed: bool = False
    openid_issuer: str | None = None
    openid_client_id: str | None = None

    @property
    def strategy(self) -> str:
        return "openid" if self.exposed else "anonymous"


def kiali_values(
    auth: KialiAuth,
    *,
    prometheus_url: str,
    tempo_url: str,
    grafana_url: str,
    remote_clusters: Sequence[str],
    resources: Resources,
) -> dict[str, Any]:
    """kiali-server values of the hub instance (checked against the chart's values.yaml at the pin)."""
    openid: dict[str, Any] = {}
    if auth.exposed:
        if not (auth.openid_issuer and auth.openid_client_id):
            raise ValueError("an exposed Kiali needs an OpenID issuer and client ID")
        openid = {"issuer_uri": auth.openid_issuer, "client_id": auth.openid_client_id}
    return {
        "auth": {"strategy": auth.strategy, "openid": openid},
        "deployment": {
            "view_only_mode": not auth.exposed,
            "service_type": "LoadBalancer" if auth.exposed else "ClusterIP",
            "resources": resources,
        },
        "clustering": {
            "autodetect_secrets": {"enabled": False},
            "clusters": [{"name": c, "secret_name": remote_secret_name(c)} for c in remote_clusters],
        },
        "external_services": {
            "prometheus": {"url": prometheus_url},
            "tracing": {"enabled": True, "provider": "tempo", "internal_url": tempo_url, "use_grpc": False},
            "grafana": {"enabled": True, "internal_url": grafana_url},
        },
    }


def remote_access_values() -> dict[str, Any]:
    """kiali-server values of a remote cluster: only the read-only ServiceAccount and its role."""
    return {
        "auth": {"strategy": "anonymous"},
        "deployment": {"remote_cluster_resources_only": True, "view_only_mode": True},
    }


@dataclass(frozen=True)
class KialiRemoteAccessArgs:
    """The remote cluster Kiali reads."""

    cluster: ClusterHandle


class KialiRemoteAccess(pulumi.ComponentResource):
    """Kiali's read-only ServiceAccount in a remote cluster and its long-lived token (`kubeconfig`)."""

    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: KialiRemoteAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:observability:KialiRemoteAccess", name, None, opts)
        cluster = args.cluster
        namespace = k8s.core.v1.Namespace(
            f"{cluster.name}-{OBSERVABILITY_NAMESPACE}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=OBSERVABILITY_NAMESPACE, labels={**MANAGED_LABELS, "istio-injection": "disabled"}
            ),
            opts=cluster.opts(self),
        )
        access = chart_release(
            f"{cluster.name}-{KIALI_RELEASE}-remote",
            pin=KIALI_SERVER,
            release_name=KIALI_RELEASE,
            namespace=OBSERVABILITY_NAMESPACE,
            values=remote_access_values(),
            timeout_seconds=HELM_TIMEOUT_SECONDS,
            opts=cluster.opts(self, depends_on=[namespace]),
        )
        # The token controller fills `data.token`; the provider waits for it (pulumi-kubernetes#2048).
        token_secret = k8s.core.v1.Secret(
            f"{cluster.name}-{KIALI_TOKEN_SECRET}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=KIALI_TOKEN_SECRET,
                namespace=OBSERVABILITY_NAMESPACE,
                annotations={"kubernetes.io/service-account.name": KIALI_SERVICE_ACCOUNT},
            ),
            type="kubernetes.io/service-account-token",
            opts=cluster.opts(self, depends_on=[access]),
        )
        token = token_secret.data.apply(decoded_token)
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.api_server, cluster.ca_data, token).apply(
                lambda parts: remote_kubeconfig(cluster.name, parts[0], parts[1], parts[2])
            )
        )
        self.register_outputs({"cluster": cluster.name})


def kiali_remote_secret(
    hub: ClusterHandle, remote: str, kubeconfig: pulumi.Input[str], parent: pulumi.Resource, namespace: pulumi.Resource
) -> k8s.core.v1.Secret:
    """The hub Secret that lets Kiali read `remote` (name, label, annotation and key as Kiali expects)."""
    return k8s.core.v1.Secret(
        f"{hub.name}-{remote_secret_name(remote)}",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=remote_secret_name(remote),
            namespace=OBSERVABILITY_NAMESPACE,
            labels={**MANAGED_LABELS, **MULTICLUSTER_LABEL},
            annotations={CLUSTER_ANNOTATION: remote},
        ),
        type="Opaque",
        string_data={remote: pulumi.Output.secret(kubeconfig)},
        opts=hub.opts(parent, depends_on=[namespace]),
    )
