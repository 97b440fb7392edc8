"""GatewayCertificate: a self-signed serving certificate for a gateway's HTTPS listener, as a TLS Secret.

It makes HTTPS work from the first `pulumi up` (clients use `curl -k`). For production,
replace the Secret's content with a publicly trusted certificate (cert-manager + ACME, or
your CA) under the same name; the listener references the Secret by name only.

On a rendered cluster (`renderDirectory`) without `renderSecrets` nothing is generated: the
rendered YAML would hold the key in clear, so the Secret is left to the user's secret tooling
(sealed-secrets, External Secrets, SOPS) under `secret_name`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.clusters.handle import ClusterHandle
from components.gateways.shared.k8s_objects import MANAGED_LABELS

VALIDITY_HOURS = 24 * 365
EARLY_RENEWAL_HOURS = 24 * 30


@dataclass(frozen=True)
class GatewayCertificateArgs:
    """Cluster, namespace and name of the Secret, the DNS names to certify, what must exist first."""

    cluster: ClusterHandle
    namespace: str
    secret_name: str
    dns_names: list[str]
    namespace_resource: pulumi.Resource


class GatewayCertificate(pulumi.ComponentResource):
    """ECDSA P-256 key + self-signed server certificate in a `kubernetes.io/tls` Secret (key kept secret)."""

    secret: k8s.core.v1.Secret | None
    secret_name: str

    def __init__(self, name: str, args: GatewayCertificateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:GatewayCertificate", name, None, opts)
        self.secret_name = args.secret_name
        self.secret = None
        if args.cluster.holds_private_keys:
            self.secret = self._self_signed(name, args)
        self.register_outputs({"secretName": self.secret_name})

    def _self_signed(self, name: str, args: GatewayCertificateArgs) -> k8s.core.v1.Secret:
        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey(f"{name}-key", tls.PrivateKeyArgs(algorithm="ECDSA", ecdsa_curve="P256"), child)
        cert = tls.SelfSignedCert(
            f"{name}-cert",
            tls.SelfSignedCertArgs(
                private_key_pem=key.private_key_pem,
                subject=tls.SelfSignedCertSubjectArgs(common_name=args.dns_names[0], organization="meshgate"),
                dns_names=args.dns_names,
                validity_period_hours=VALIDITY_HOURS,
                early_renewal_hours=EARLY_RENEWAL_HOURS,
                allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            ),
            child,
        )
        return k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.secret_name, namespace=args.namespace, labels=dict(MANAGED_LABELS)
            ),
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert.cert_pem, "tls.key": pulumi.Output.secret(key.private_key_pem)},
            opts=args.cluster.opts(self, [args.namespace_resource]),
        )
