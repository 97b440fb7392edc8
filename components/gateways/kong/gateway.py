"""KongGateway: Kong Ingress Controller + Kong Gateway (chart `kong/ingress`), DB-less, in its own namespace.

Shared by scenario 2 (Kong outside the mesh) and scenario 3 (Kong with an Envoy sidecar);
`in_mesh` is the only switch between them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components.gateways.kong.admin_access import (
    ADMIN_PORT,
    CERT_ANNOTATION,
    KongAdminAccess,
    KongAdminAccessArgs,
    admin_env,
    chart_pod_labels,
)
from components.gateways.shared.in_cluster_gateway_args import CertManagerKeys
from components.gateways.shared.k8s_objects import gateway_namespace, load_balancer_address, load_balancer_annotations
from components.helm_release import pinned_release
from components.mesh.handle import MeshHandle

KONG_GATEWAY_IMAGE = "kong/kong-gateway"
"""Kong publishes 3.10 and later only as `kong/kong-gateway`; the chart's default `kong` image stops at
3.9 (stacks/versions.py KONG_OSS_310). Without a license this image runs as Kong Gateway in free mode."""
KONG_GATEWAY_TAG = "3.10"
"""The 3.10 LTS minor (supported to 2028-03-31): the oldest supported LTS, so the change from the
chart's 3.9 is one minor; moving to 3.14 LTS is the next step."""
KIC_IMAGE = "kong/kubernetes-ingress-controller"
"""The Kong Ingress Controller image (the chart's default repository)."""
KIC_TAG = "3.5.13"
"""KIC 3.5, the newest minor (supported to 2027-12-18; compatible with Kong Gateway 3.4-3.12 and Kubernetes
up to 1.35), at its newest patch: pinned rather than the chart's floating `3.5` (stacks/versions.py KIC)."""


if TYPE_CHECKING:
    from components.gateways.shared.in_cluster_gateway_args import InClusterEdgeArgs

KONG_CHART_REPO = "https://charts.konghq.com"
KONG_CHART = "ingress"
INGRESS_CLASS = "kong"
RELEASE_NAME = "kong"
KONG = "kong"
"""Resource name of the KongGateway component in scenarios 2 and 3: switching between them updates
Kong in place (same URNs) instead of installing a second release named `kong`."""
ADMISSION_WEBHOOK_PORT = 8080
"""The controller's admission webhook container port: `ingressController.admissionWebhook.port` of the
kong/kong 3.2.0 chart that kong/ingress 0.24.0 pins (the webhook Service maps 443 to it)."""
HELM_TIMEOUT_SECONDS = 900

_CONTAINER_SECURITY = {
    "enabled": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}


def proxy_service_name(release: str) -> str:
    """The chart's proxy Service (`<release>-gateway-proxy`), the one the controller discovers."""
    return f"{release}-gateway-proxy"


def gateway_service_account(release: str) -> str:
    """The Kong Gateway pods' ServiceAccount: its identity in the mesh (scenario 3)."""
    return f"{release}-gateway"


def pod_annotations(in_mesh: bool) -> dict[str, str]:
    """Sidecar annotations of the Kong pods.

    Outside the mesh: injection explicitly off. In the mesh: client traffic bypasses the
    sidecar inbound (Kong terminates it), Kong starts only after its proxy is ready.
    """
    if not in_mesh:
        return {"sidecar.istio.io/inject": "false"}
    return {
        "traffic.sidecar.istio.io/includeInboundPorts": "",
        "proxy.istio.io/config": json.dumps({"holdApplicationUntilProxyStarts": True}, sort_keys=True),
    }


def namespace_labels(mesh: MeshHandle, in_mesh: bool) -> dict[str, str]:
    """Injection labels of the Kong namespace: the mesh's (scenario 3) or explicitly disabled (scenario 2)."""
    return dict(mesh.injection_labels) if in_mesh else {"istio-injection": "disabled"}


@dataclass(frozen=True)
class AdminClientAuth:
    """How the controller authenticates to the admin API: the client certificate Secret the controller
    mounts, and either (pulumi-tls) the CA the gateway trusts and a value that changes when the client
    certificate does, or (cert-manager) the Secret the gateway mounts for its admin listener and CA."""

    client_secret: str
    ca_bundle: pulumi.Input[str] | None = None
    client_cert_hash: pulumi.Input[str] | None = None
    server_secret: str | None = None


def kong_values(
    release: str, replicas: int, in_mesh: bool, proxy_annotations: dict[str, str], admin: AdminClientAuth
) -> dict[str, Any]:
    """Values for `kong/ingress`: DB-less gateway on a supported Kong Gateway image, proxy LoadBalancer on
    80/443 only, admin API internal and open only to clients with a certificate of the admin CA (the
    controller): `admin.tls.client.caBundle` (pulumi-tls), or the mounted server Secret's `ca.crt`
    through `env` and `secretVolumes` (cert-manager; the chart's `admin.tls.client.secretName` would
    `lookup` the Secret at render time, which finds nothing during a preview)."""
    annotations = pod_annotations(in_mesh)
    env = {"database": "off", "role": "traditional", "proxy_access_log": "/dev/stdout"}
    admin_tls: dict[str, Any] = {"enabled": True, "containerPort": ADMIN_PORT, "servicePort": ADMIN_PORT}
    if admin.server_secret is None:
        admin_tls["client"] = {"caBundle": admin.ca_bundle}
    else:
        env.update(admin_env(admin.server_secret))
    resources = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    gateway: dict[str, Any] = {
        # The chart's default kong:3.9 is out of support; see stacks/versions.py (KONG_GATEWAY).
        "image": {"repository": KONG_GATEWAY_IMAGE, "tag": KONG_GATEWAY_TAG},
        "replicaCount": replicas,
        "env": env,
        "deployment": {"serviceAccount": {"create": True, "name": gateway_service_account(release)}},
        "podAnnotations": annotations,
        "podLabels": {"app": f"{release}-gateway"},
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": _CONTAINER_SECURITY,
        "resources": resources,
        "proxy": {
            "enabled": True,
            "type": "LoadBalancer",
            "annotations": proxy_annotations,
            "nameOverride": proxy_service_name(release),
            "http": {"enabled": True, "servicePort": 80, "containerPort": 8000},
            "tls": {"enabled": True, "servicePort": 443, "containerPort": 8443},
            "stream": [],
        },
        "admin": {
            "enabled": True,
            "type": "ClusterIP",
            "clusterIP": "None",
            "http": {"enabled": False},
            "tls": admin_tls,
        },
        "manager": {"enabled": False},
        "portal": {"enabled": False},
        "portalapi": {"enabled": False},
        "cluster": {"enabled": False},
        "udpProxy": {"enabled": False},
        "ingressController": {"enabled": False},
    }
    if admin.server_secret is not None:
        gateway["secretVolumes"] = [admin.server_secret]  # mounted at /etc/secrets/<name> (admin_env)
    if replicas > 1:
        gateway["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
    controller_annotations: dict[str, Any] = dict(annotations)
    if admin.client_cert_hash is not None:
        controller_annotations[CERT_ANNOTATION] = admin.client_cert_hash
    if in_mesh:  # the controller's sidecar must not wrap the admin connection: Kong checks the client certificate
        controller_annotations["traffic.sidecar.istio.io/excludeOutboundPorts"] = str(ADMIN_PORT)
    controller: dict[str, Any] = {
        "replicaCount": min(replicas, 2),
        "podAnnotations": controller_annotations,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": _CONTAINER_SECURITY,
        "ingressController": {
            "enabled": True,
            # The chart runs the floating `3.5` tag; a fixed patch keeps every pod on the same build.
            "image": {"repository": KIC_IMAGE, "tag": KIC_TAG},
            "ingressClass": INGRESS_CLASS,
            "adminApi": {"tls": {"client": {"enabled": True, "certProvided": True, "secretName": admin.client_secret}}},
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        },
    }
    return {"controller": controller, "gateway": gateway, "deployment": {"test": {"enabled": False}}}


@dataclass(frozen=True)
class KongGatewayArgs:
    """Where Kong runs (mesh of the gateway cluster, namespace), how many proxies, which chart, in the mesh or not."""

    mesh: MeshHandle
    namespace: str
    replicas: int
    chart_version: str
    in_mesh: bool
    admin_keys: CertManagerKeys | None = None
    """Admin-API keys generated in the cluster by cert-manager; None: by pulumi-tls (in the state)."""

    @classmethod
    def for_edge(cls, edge: InClusterEdgeArgs, in_mesh: bool) -> KongGatewayArgs:
        """Kong in the gateway cluster of a scenario-2/3 edge, settings from `meshgate:gateway`."""
        return cls(
            mesh=edge.meshes[edge.cluster],
            namespace=edge.gateway.namespace,
            replicas=edge.gateway.replicas,
            chart_version=edge.gateway.kong_chart_version,
            in_mesh=in_mesh,
            admin_keys=edge.admin_keys,
        )


class KongGateway(pulumi.ComponentResource):
    """Kong Ingress Controller and a DB-less Kong Gateway from the official `kong/ingress` chart.

    The proxy Service is a LoadBalancer on 80/443 only; the admin API is a headless
    ClusterIP Service the controller uses (never exposed), open only to the controller: client
    certificates and a NetworkPolicy (`KongAdminAccess`). With `in_mesh` the namespace is
    labelled for injection and the release waits for istiod; otherwise injection is disabled
    on the namespace and the pods. The release installs the Kong CRDs (KongPlugin, ...) and the
    `kong` IngressClass: routes and plugins depend on `release`.
    """

    namespace: str
    release: k8s.helm.v3.Release
    service_name: str
    service_account: str
    principal: str
    pod_labels: dict[str, str]
    address: pulumi.Output[str]

    def __init__(self, name: str, args: KongGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:KongGateway", name, None, opts)
        cluster = args.mesh.cluster
        ns = gateway_namespace(args.namespace, namespace_labels(args.mesh, args.in_mesh), cluster=cluster, parent=self)
        access = KongAdminAccess(
            f"{name}-admin",
            KongAdminAccessArgs(
                cluster=cluster,
                namespace=args.namespace,
                namespace_resource=ns,
                release=RELEASE_NAME,
                in_mesh=args.in_mesh,
                cert_manager=args.admin_keys,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        after: list[pulumi.Resource] = [ns, *access.ready, *(args.mesh.ready if args.in_mesh else [])]
        self.release = pinned_release(
            f"{name}-release",
            release_name=RELEASE_NAME,
            chart=KONG_CHART,
            version=args.chart_version,
            repo=KONG_CHART_REPO,
            namespace=args.namespace,
            values=kong_values(
                RELEASE_NAME,
                args.replicas,
                args.in_mesh,
                load_balancer_annotations(cluster),
                AdminClientAuth(access.client_secret, access.ca_bundle, access.client_cert_hash, access.server_secret),
            ),
            timeout_seconds=HELM_TIMEOUT_SECONDS,
            opts=cluster.opts(self, after),
            atomic=None,
        )
        self.namespace = args.namespace
        self.service_name = proxy_service_name(RELEASE_NAME)
        self.service_account = gateway_service_account(RELEASE_NAME)
        self.principal = args.mesh.principal(args.namespace, self.service_account)
        self.pod_labels = chart_pod_labels(RELEASE_NAME, "gateway")
        self.address = load_balancer_address(
            f"{name}-proxy", args.namespace, self.service_name, cluster=cluster, parent=self, after=self.release.status
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service": self.service_name,
                "principal": self.principal,
                "address": self.address,
            }
        )
