"""Who may configure Kong: client-certificate authentication on the admin API, and a NetworkPolicy.

In DB-less mode whoever reaches Kong's admin API (8444) can `POST /config` and replace every
route, plugin and credential. The chart's gateway listens on 0.0.0.0:8444 with server-side TLS
only, and in scenario 3 the pod's sidecar never sees that port (inbound capture is off), so
neither STRICT mTLS nor an AuthorizationPolicy protects it. Two independent controls:

- mutual TLS: a private CA (its key only in the encrypted stack state) signs one client
  certificate for the Kong Ingress Controller (Secret `kong-admin-api-client`, mounted by the
  chart with `ingressController.adminApi.tls.client.certProvided`); the gateway verifies every
  admin client against that CA (`admin.tls.client.caBundle`, i.e.
  `KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=on`), and the plaintext admin listener stays off;
- a NetworkPolicy on the gateway pods: the admin port only from the controller pods, the proxy
  ports (and the read-only status/telemetry ports) from anywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.clusters.handle import ClusterHandle
from components.gateways.shared.backend_policies import ISTIO_AGENT_PORTS
from components.gateways.shared.k8s_objects import MANAGED_LABELS
from components.pki import KeySpec, self_signed_ca, signed_cert

ADMIN_PORT = 8444
PROXY_PORTS = (8000, 8443)
STATUS_PORT = 8100
CLIENT_SECRET = "kong-admin-api-client"
NETWORK_POLICY = "kong-admin-api"
KEY_ALGORITHM = "ECDSA"
KEY_CURVE = "P256"
CA_VALIDITY_HOURS = 10 * 365 * 24
CLIENT_VALIDITY_HOURS = 2 * 365 * 24
CLIENT_EARLY_RENEWAL_HOURS = 30 * 24
"""Within 30 days of expiry a `pulumi up` issues a new client certificate and rolls the controller."""
CERT_ANNOTATION = "meshgate.io/admin-client-cert"


def chart_pod_labels(release: str, component: str) -> dict[str, str]:
    """Selector labels the `kong/ingress` chart gives its pods (`component`: `gateway` or `controller`)."""
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/component": "app",
    }


def network_policy_spec(release: str, in_mesh: bool) -> k8s.networking.v1.NetworkPolicySpecArgs:
    """Ingress rules for the gateway pods: admin port from the controller pods only, the rest of the
    listed ports from anywhere (clients come through the LoadBalancer, probes from the node)."""
    open_ports = [*PROXY_PORTS, STATUS_PORT, *(ISTIO_AGENT_PORTS if in_mesh else ())]

    def tcp(port: int) -> k8s.networking.v1.NetworkPolicyPortArgs:
        return k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port)

    controller = k8s.meta.v1.LabelSelectorArgs(match_labels=chart_pod_labels(release, "controller"))
    return k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=chart_pod_labels(release, "gateway")),
        policy_types=["Ingress"],
        ingress=[
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=controller)], ports=[tcp(ADMIN_PORT)]
            ),
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(ports=[tcp(p) for p in open_ports]),
        ],
    )


@dataclass(frozen=True)
class KongAdminAccessArgs:
    """The gateway's cluster and namespace (resource), the release name, and whether Kong has a sidecar."""

    cluster: ClusterHandle
    namespace: str
    namespace_resource: pulumi.Resource
    release: str
    in_mesh: bool


class KongAdminAccess(pulumi.ComponentResource):
    """A private CA, the controller's client certificate Secret, and the admin-port NetworkPolicy.

    `ca_bundle` goes to the gateway (`admin.tls.client.caBundle`), `client_secret` to the
    controller (`ingressController.adminApi.tls.client.secretName`); `client_cert_hash` changes
    when the certificate is re-issued, so the controller pods roll and load the new one.
    Both Kubernetes objects wait for the namespace; the release waits for them.
    """

    ca_bundle: pulumi.Output[str]
    client_secret: str
    client_cert_hash: pulumi.Output[str]
    secret: k8s.core.v1.Secret
    network_policy: k8s.networking.v1.NetworkPolicy

    def __init__(self, name: str, args: KongAdminAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:KongAdminAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ecdsa = KeySpec(KEY_ALGORITHM, ecdsa_curve=KEY_CURVE)
        ca_key, ca = self_signed_ca(
            f"{name}-ca",
            ecdsa,
            tls.SelfSignedCertSubjectArgs(common_name="meshgate Kong admin API CA", organization="meshgate"),
            CA_VALIDITY_HOURS,
            ["cert_signing", "digital_signature"],
            child,
        )
        key, cert = signed_cert(
            f"{name}-client",
            ecdsa,
            tls.CertRequestSubjectArgs(common_name=f"{args.release}-controller", organization="meshgate"),
            (ca_key, ca),
            CLIENT_VALIDITY_HOURS,
            CLIENT_EARLY_RENEWAL_HOURS,
            ["digital_signature", "key_encipherment", "client_auth"],
            child,
        )
        self.client_secret = CLIENT_SECRET
        self.secret = k8s.core.v1.Secret(
            f"{name}-client-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=CLIENT_SECRET, namespace=args.namespace, labels=dict(MANAGED_LABELS)
            ),
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert.cert_pem, "tls.key": pulumi.Output.secret(key.private_key_pem)},
            opts=args.cluster.opts(self, [args.namespace_resource]),
        )
        self.network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NETWORK_POLICY, namespace=args.namespace, labels=dict(MANAGED_LABELS)
            ),
            spec=network_policy_spec(args.release, args.in_mesh),
            opts=args.cluster.opts(self, [args.namespace_resource]),
        )
        self.ca_bundle = ca.cert_pem
        self.client_cert_hash = cert.cert_pem.apply(lambda pem: hashlib.sha256(pem.encode()).hexdigest()[:16])
        self.register_outputs({"caBundle": self.ca_bundle, "clientSecret": self.client_secret})
