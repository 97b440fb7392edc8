"""Small private CAs with pulumi-tls: a self-signed CA and certificates it signs.

Used by the mesh's self-managed CA (root + per-cluster intermediates) and by Kong's admin API
(a CA + the controller's client certificate). Names follow one pattern: a CA `<prefix>` with its
key `<prefix>-key`; a signed certificate `<prefix>-cert` with `<prefix>-key` and `<prefix>-csr`.
Every key is in Pulumi state (encrypted as a secret); docs/security.md says how to keep them out
of it (a managed CA: the mesh's intermediates and Kong's admin-API keys come from cert-manager).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls


@dataclass(frozen=True)
class KeySpec:
    """Key algorithm: `RSA` with `rsa_bits`, or `ECDSA` with `ecdsa_curve`."""

    algorithm: str
    rsa_bits: int | None = None
    ecdsa_curve: str | None = None

    def args(self) -> tls.PrivateKeyArgs:
        return tls.PrivateKeyArgs(algorithm=self.algorithm, rsa_bits=self.rsa_bits, ecdsa_curve=self.ecdsa_curve)


def self_signed_ca(
    prefix: str,
    key: KeySpec,
    subject: tls.SelfSignedCertSubjectArgs,
    validity_hours: int,
    uses: list[str],
    opts: pulumi.ResourceOptions,
    subject_key_id: bool | None = None,
) -> tuple[tls.PrivateKey, tls.SelfSignedCert]:
    """A CA key (`<prefix>-key`) and its self-signed certificate (`<prefix>`)."""
    ca_key = tls.PrivateKey(f"{prefix}-key", key.args(), opts)
    cert = tls.SelfSignedCert(
        prefix,
        tls.SelfSignedCertArgs(
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            set_subject_key_id=subject_key_id,
            validity_period_hours=validity_hours,
            allowed_uses=uses,
            subject=subject,
        ),
        opts,
    )
    return ca_key, cert


def signed_cert(
    prefix: str,
    key: KeySpec,
    subject: tls.CertRequestSubjectArgs,
    ca: tuple[tls.PrivateKey, tls.SelfSignedCert],
    validity_hours: int,
    early_renewal_hours: int,
    uses: list[str],
    opts: pulumi.ResourceOptions,
    is_ca: bool | None = None,
) -> tuple[tls.PrivateKey, tls.LocallySignedCert]:
    """A key (`<prefix>-key`), its request (`<prefix>-csr`) and the certificate `ca` signs (`<prefix>-cert`)."""
    private_key = tls.PrivateKey(f"{prefix}-key", key.args(), opts)
    csr = tls.CertRequest(
        f"{prefix}-csr", tls.CertRequestArgs(private_key_pem=private_key.private_key_pem, subject=subject), opts
    )
    cert = tls.LocallySignedCert(
        f"{prefix}-cert",
        tls.LocallySignedCertArgs(
            cert_request_pem=csr.cert_request_pem,
            ca_private_key_pem=ca[0].private_key_pem,
            ca_cert_pem=ca[1].cert_pem,
            is_ca_certificate=is_ca,
            set_subject_key_id=is_ca,
            validity_period_hours=validity_hours,
            early_renewal_hours=early_renewal_hours,
            allowed_uses=uses,
        ),
        opts,
    )
    return private_key, cert
