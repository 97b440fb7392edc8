"""A managed root of trust for the mesh: no CA private key in the Pulumi state.

The root CA lives in AWS Private CA or Google Certificate Authority Service (`ManagedRootCa`). In
every cluster, cert-manager generates the cluster's intermediate key and has the managed CA sign
it through the cloud's issuer (`ClusterCaIssuer`: aws-privateca-issuer with EKS Pod Identity,
google-cas-issuer with GKE Workload Identity). A mesh across EKS and GKE keeps one root in AWS Private
CA: a GKE cluster's aws-privateca-issuer authenticates to AWS with web-identity federation (an IAM
OIDC provider for the cluster's issuer, a role trusting only the issuer's ServiceAccount, and a
projected ServiceAccount token with audience `sts.amazonaws.com`). The resulting `kubernetes.io/tls` Secret is
Istio's `cacerts` (istiod reads `tls.crt`/`tls.key`/`ca.crt` as well as the `*-pem` names, and
reloads it when cert-manager renews it). Workload certificates are still signed by istiod
locally: one call to the managed CA per cluster and renewal, none per workload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle
from components.helm_release import pinned_release

# pulumi_aws / pulumi_gcp are imported where used: a kubeconfig-only stack never loads a cloud SDK.

ManagedCaKind = Literal["aws-private-ca", "google-cas"]

CERT_MANAGER_NAMESPACE = "cert-manager"
CERT_MANAGER_REPO = "https://charts.jetstack.io"
CERT_MANAGER_CHART = "cert-manager"
CERT_MANAGER_VERSION = "v1.21.1"
AWS_ISSUER_REPO = "https://cert-manager.github.io/aws-privateca-issuer"
AWS_ISSUER_CHART = "aws-privateca-issuer"
AWS_ISSUER_VERSION = "v1.9.0"
AWS_ISSUER_SERVICE_ACCOUNT = "aws-privateca-issuer"
GOOGLE_ISSUER_CHART = "cert-manager-google-cas-issuer"
GOOGLE_ISSUER_VERSION = "v0.12.0"
GOOGLE_ISSUER_SERVICE_ACCOUNT = GOOGLE_ISSUER_CHART  # the chart names its ServiceAccount after itself
HELM_TIMEOUT_SECONDS = 600

ORGANIZATION = "meshgate"
ROOT_VALIDITY_YEARS = 10
INTERMEDIATE_DURATION = "8760h"  # one year
INTERMEDIATE_RENEW_BEFORE = "720h"  # 30 days: cert-manager re-issues, istiod reloads the new cacerts
PCA_DELETION_DAYS = 7
"""The shortest deletion window AWS Private CA allows: a deleted CA can be restored (and is billed) for 7 days."""
PCA_ISSUER_ACTIONS = ("acm-pca:DescribeCertificateAuthority", "acm-pca:GetCertificate", "acm-pca:IssueCertificate")
PCA_INTERMEDIATE_TEMPLATE = "SubordinateCACertificate_PathLen0/V1"
STS_AUDIENCE = "sts.amazonaws.com"
"""The `aud` of the projected token a GKE cluster's issuer presents to AWS STS (AssumeRoleWithWebIdentity)."""
AWS_TOKEN_VOLUME = "aws-web-identity-token"
AWS_TOKEN_DIR = "/var/run/secrets/sts.amazonaws.com/serviceaccount"
AWS_TOKEN_SECONDS = 86400  # the kubelet refreshes the projected token at 80% of its lifetime
GKE_OIDC_ISSUER = "https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{name}"
"""A GKE cluster's ServiceAccount token issuer (`iss`), which also serves its OIDC discovery document."""
CAS_REQUESTER_ROLE = "roles/privateca.certificateRequester"
CACERTS = "cacerts"
READY = {"pulumi.com/waitFor": "condition=Ready"}


@dataclass(frozen=True)
class ManagedRootCaArgs:
    """Where the root lives: `kind`, `region` (AWS region or CAS location), `project` (google-cas)."""

    mesh_id: str
    kind: ManagedCaKind
    region: str
    project: str | None = None


class ManagedRootCa(pulumi.ComponentResource):
    """The mesh's one root CA, in AWS Private CA (`pca_arn`) or a Google CA pool (`pool_id`)."""

    kind: ManagedCaKind
    region: str
    project: str | None
    pca_arn: pulumi.Output[str] | None
    pool_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: ManagedRootCaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:mesh:ManagedRootCa", name, None, opts)
        self.kind, self.region, self.project = args.kind, args.region, args.project
        self.pca_arn = self.pool_id = None
        subject = f"{args.mesh_id} root CA"
        if args.kind == "aws-private-ca":
            self.pca_arn = self._private_ca(name, subject)
        else:
            self.pool_id = self._cas_pool(name, args, subject)
        self.register_outputs({"kind": self.kind, "pcaArn": self.pca_arn, "caPool": self.pool_id})

    def _private_ca(self, name: str, subject: str) -> pulumi.Output[str]:
        """A ROOT CA that signs its own certificate and then per-cluster intermediates (path length 0)."""
        import pulumi_aws as aws

        from components.clusters.aws_tags import aws_tags

        child = pulumi.ResourceOptions(parent=self)
        ca = aws.acmpca.CertificateAuthority(
            f"{name}-root",
            type="ROOT",
            usage_mode="GENERAL_PURPOSE",  # short-lived mode caps certificates at 7 days
            certificate_authority_configuration=aws.acmpca.CertificateAuthorityCertificateAuthorityConfigurationArgs(
                key_algorithm="EC_prime256v1",
                signing_algorithm="SHA256WITHECDSA",
                subject=aws.acmpca.CertificateAuthorityCertificateAuthorityConfigurationSubjectArgs(
                    common_name=subject, organization=ORGANIZATION
                ),
            ),
            permanent_deletion_time_in_days=PCA_DELETION_DAYS,
            region=self.region,
            tags=aws_tags(name, f"{name}-root"),
            opts=child,
        )
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        cert = aws.acmpca.Certificate(
            f"{name}-root-cert",
            certificate_authority_arn=ca.arn,
            certificate_signing_request=ca.certificate_signing_request,
            signing_algorithm="SHA256WITHECDSA",
            template_arn=partition.apply(lambda p: f"arn:{p}:acm-pca:::template/RootCACertificate/V1"),
            validity=aws.acmpca.CertificateValidityArgs(type="YEARS", value=str(ROOT_VALIDITY_YEARS)),
            region=self.region,
            opts=child,
        )
        installed = aws.acmpca.CertificateAuthorityCertificate(
            f"{name}-root-install",
            certificate_authority_arn=ca.arn,
            certificate=cert.certificate,
            certificate_chain=cert.certificate_chain,
            region=self.region,
            opts=child,
        )
        # Issuers use the ARN once the CA is active (its certificate installed).
        return pulumi.Output.all(ca.arn, installed.id).apply(lambda parts: parts[0])

    def _cas_pool(self, name: str, args: ManagedRootCaArgs, subject: str) -> pulumi.Output[str]:
        """A self-signed root in a pool whose every certificate is a CA of path length 0 (a cluster
        intermediate): the pool can issue nothing else."""
        import pulumi_gcp as gcp

        ca_api = gcp.certificateauthority
        child = pulumi.ResourceOptions(parent=self)
        pool = ca_api.CaPool(
            f"{name}-pool",
            name=f"{args.mesh_id}-mesh",
            location=args.region,
            project=args.project,
            tier="ENTERPRISE",
            publishing_options=ca_api.CaPoolPublishingOptionsArgs(publish_ca_cert=True, publish_crl=False),
            issuance_policy=ca_api.CaPoolIssuancePolicyArgs(
                maximum_lifetime=f"{2 * 365 * 24 * 3600}s",
                baseline_values=ca_api.CaPoolIssuancePolicyBaselineValuesArgs(
                    ca_options=ca_api.CaPoolIssuancePolicyBaselineValuesCaOptionsArgs(
                        is_ca=True, zero_max_issuer_path_length=True
                    ),
                    key_usage=ca_api.CaPoolIssuancePolicyBaselineValuesKeyUsageArgs(
                        base_key_usage=ca_api.CaPoolIssuancePolicyBaselineValuesKeyUsageBaseKeyUsageArgs(
                            cert_sign=True, crl_sign=True, digital_signature=True
                        ),
                        extended_key_usage=ca_api.CaPoolIssuancePolicyBaselineValuesKeyUsageExtendedKeyUsageArgs(),
                    ),
                ),
                identity_constraints=ca_api.CaPoolIssuancePolicyIdentityConstraintsArgs(
                    allow_subject_passthrough=True, allow_subject_alt_names_passthrough=False
                ),
            ),
            opts=child,
        )
        root = ca_api.Authority(
            f"{name}-root",
            pool=pool.name,
            certificate_authority_id=f"{args.mesh_id}-root",
            location=args.region,
            project=args.project,
            type="SELF_SIGNED",
            lifetime=f"{ROOT_VALIDITY_YEARS * 365 * 24 * 3600}s",
            key_spec=ca_api.AuthorityKeySpecArgs(algorithm="EC_P256_SHA256"),
            config=ca_api.AuthorityConfigArgs(
                subject_config=ca_api.AuthorityConfigSubjectConfigArgs(
                    subject=ca_api.AuthorityConfigSubjectConfigSubjectArgs(
                        common_name=subject, organization=ORGANIZATION
                    )
                ),
                x509_config=ca_api.AuthorityConfigX509ConfigArgs(
                    ca_options=ca_api.AuthorityConfigX509ConfigCaOptionsArgs(is_ca=True, max_issuer_path_length=1),
                    key_usage=ca_api.AuthorityConfigX509ConfigKeyUsageArgs(
                        base_key_usage=ca_api.AuthorityConfigX509ConfigKeyUsageBaseKeyUsageArgs(
                            cert_sign=True, crl_sign=True
                        ),
                        extended_key_usage=ca_api.AuthorityConfigX509ConfigKeyUsageExtendedKeyUsageArgs(),
                    ),
                ),
            ),
            # `pulumi destroy` may delete it (the provider's default refuses); CAS keeps it 30 days, restorable.
            deletion_protection=False,
            skip_grace_period=False,
            ignore_active_certificates_on_deletion=True,
            opts=child,
        )
        return pulumi.Output.all(pool.name, root.id).apply(lambda parts: parts[0])


@dataclass(frozen=True)
class IssuerRef:
    """The cert-manager issuer that signs a cluster's intermediate, and what must be ready first."""

    name: str
    kind: str
    group: str
    ready: tuple[pulumi.Resource, ...]


def intermediate_certificate(mesh_id: str, cluster: str, issuer: IssuerRef) -> dict[str, Any]:
    """The cert-manager Certificate spec of a cluster's intermediate: key generated in the cluster
    (ECDSA P-256, new on every renewal), signed by the managed root, stored as `cacerts`."""
    return {
        "secretName": CACERTS,
        "isCA": True,
        "commonName": f"{mesh_id} intermediate CA {cluster}",
        "subject": {"organizations": [ORGANIZATION], "localities": [cluster]},
        "duration": INTERMEDIATE_DURATION,
        "renewBefore": INTERMEDIATE_RENEW_BEFORE,
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": ["cert sign", "crl sign", "digital signature"],
        "issuerRef": {"name": issuer.name, "kind": issuer.kind, "group": issuer.group},
    }


def pca_issuer_policy(ca_arn: str) -> str:
    """Least privilege for aws-privateca-issuer: issue from and read this one CA."""
    statement = {"Effect": "Allow", "Action": list(PCA_ISSUER_ACTIONS), "Resource": ca_arn}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def gke_oidc_issuer(project: str, location: str, name: pulumi.Input[str]) -> pulumi.Output[str]:
    """The OIDC issuer URL of a GKE cluster (`GKE_OIDC_ISSUER`)."""
    return pulumi.Output.from_input(name).apply(
        lambda n: GKE_OIDC_ISSUER.format(project=project, location=location, name=n)
    )


def web_identity_trust(provider_arn: str, issuer: str) -> str:
    """Trust for AssumeRoleWithWebIdentity: only tokens of cert-manager/aws-privateca-issuer, issued
    by this cluster for the STS audience."""
    host_path = issuer.removeprefix("https://")
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{host_path}:sub": f"system:serviceaccount:{CERT_MANAGER_NAMESPACE}:{AWS_ISSUER_SERVICE_ACCOUNT}",
                f"{host_path}:aud": STS_AUDIENCE,
            }
        },
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def web_identity_values(role_arn: pulumi.Input[str], region: str) -> dict[str, Any]:
    """aws-privateca-issuer chart values (v1.9.0 `env` map, `volumes`, `volumeMounts`) that give the
    pod a projected token for AWS STS; the AWS SDK's default chain then assumes `role_arn`."""
    return {
        "serviceAccount": {"create": True, "name": AWS_ISSUER_SERVICE_ACCOUNT},
        "env": {
            "AWS_ROLE_ARN": role_arn,
            "AWS_WEB_IDENTITY_TOKEN_FILE": f"{AWS_TOKEN_DIR}/token",
            "AWS_REGION": region,
        },
        "volumes": [
            {
                "name": AWS_TOKEN_VOLUME,
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": STS_AUDIENCE,
                                "expirationSeconds": AWS_TOKEN_SECONDS,
                                "path": "token",
                            }
                        }
                    ]
                },
            }
        ],
        "volumeMounts": [{"name": AWS_TOKEN_VOLUME, "mountPath": AWS_TOKEN_DIR, "readOnly": True}],
    }


@dataclass(frozen=True)
class ClusterCaIssuerArgs:
    """One cluster and the root; the cluster's identity: `eks_cluster_name` (EKS Pod Identity), or for
    GKE `workload_pool` (google-cas) or `oidc_issuer` (aws-private-ca through web-identity federation)."""

    cluster: ClusterHandle
    root: ManagedRootCa
    eks_cluster_name: pulumi.Input[str] | None = None
    workload_pool: str | None = None
    oidc_issuer: pulumi.Input[str] | None = None


class ClusterCaIssuer(pulumi.ComponentResource):
    """cert-manager (`cert_manager`, which other components' cert-manager objects in the cluster wait for),
    the cloud CA's issuer with its workload identity, and a ClusterIssuer (`issuer`)."""

    issuer: IssuerRef
    cert_manager: k8s.helm.v3.Release

    def __init__(self, name: str, args: ClusterCaIssuerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:mesh:ClusterCaIssuer", name, None, opts)
        cluster, root = args.cluster, args.root
        cert_manager = self._release(
            cluster,
            f"{name}-cert-manager",
            CERT_MANAGER_CHART,
            CERT_MANAGER_REPO,
            CERT_MANAGER_VERSION,
            {"crds": {"enabled": True, "keep": True}},
            [],
        )
        self.cert_manager = cert_manager
        if root.kind == "aws-private-ca":
            assert root.pca_arn is not None
            if args.eks_cluster_name is not None:
                identity = self._pod_identity(cluster.name, root.pca_arn, args.eks_cluster_name)
                values: dict[str, Any] = {"serviceAccount": {"create": True, "name": AWS_ISSUER_SERVICE_ACCOUNT}}
            else:
                assert args.oidc_issuer is not None
                role_arn, identity = self._web_identity(cluster.name, root.pca_arn, args.oidc_issuer)
                values = web_identity_values(role_arn, root.region)
            issuer_release = self._release(
                cluster,
                f"{name}-aws-privateca-issuer",
                AWS_ISSUER_CHART,
                AWS_ISSUER_REPO,
                AWS_ISSUER_VERSION,
                values,
                [cert_manager, identity],  # pods started before the association get no credentials
            )
            kind, group = "AWSPCAClusterIssuer", "awspca.cert-manager.io"
            spec: dict[str, Any] = {
                "arn": root.pca_arn,
                "region": root.region,
                "pcaTemplate": {"defaultTemplateName": PCA_INTERMEDIATE_TEMPLATE},
            }
        else:
            assert root.pool_id is not None and args.workload_pool is not None
            email, bindings = self._workload_identity(cluster.name, root, args.workload_pool)
            issuer_release = self._release(
                cluster,
                f"{name}-google-cas-issuer",
                GOOGLE_ISSUER_CHART,
                CERT_MANAGER_REPO,
                GOOGLE_ISSUER_VERSION,
                {"serviceAccount": {"annotations": {"iam.gke.io/gcp-service-account": email}}},
                [cert_manager, *bindings],
            )
            kind, group = "GoogleCASClusterIssuer", "cas-issuer.jetstack.io"
            spec = {"project": root.project, "location": root.region, "caPoolId": root.pool_id}
        cluster_issuer = k8s.apiextensions.CustomResource(
            f"{name}-cluster-issuer",
            api_version=f"{group}/v1beta1",
            kind=kind,
            metadata=k8s.meta.v1.ObjectMetaArgs(name="meshgate-mesh-ca", annotations=dict(READY)),
            spec=spec,
            opts=cluster.opts(self, depends_on=[issuer_release]),
        )
        self.issuer = IssuerRef("meshgate-mesh-ca", kind, group, (cert_manager, cluster_issuer))
        self.register_outputs({"issuer": kind})

    def _release(
        self,
        cluster: ClusterHandle,
        name: str,
        chart: str,
        repo: str,
        version: str,
        values: dict[str, Any],
        after: list[pulumi.Resource],
    ) -> k8s.helm.v3.Release:
        return pinned_release(
            name,
            release_name=chart,
            chart=chart,
            version=version,
            repo=repo,
            namespace=CERT_MANAGER_NAMESPACE,
            values=values,
            timeout_seconds=HELM_TIMEOUT_SECONDS,
            opts=cluster.opts(self, depends_on=after),
            create_namespace=True,
        )

    def _pod_identity(
        self, cluster: str, ca_arn: pulumi.Output[str], eks_cluster_name: pulumi.Input[str]
    ) -> pulumi.Resource:
        import pulumi_aws as aws

        from components.clusters.aws_tags import aws_tags
        from components.clusters.eks_iam import pod_identity_trust

        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        # Only this cluster's cert-manager/aws-privateca-issuer may assume it (Pod Identity session tags).
        trust = pod_identity_trust(eks_cluster_name, account, CERT_MANAGER_NAMESPACE, AWS_ISSUER_SERVICE_ACCOUNT)
        role, policy = self._pca_role(cluster, f"EKS cluster {cluster} (EKS Pod Identity)", trust, ca_arn)
        return aws.eks.PodIdentityAssociation(
            f"{cluster}-pca-issuer-identity",
            cluster_name=eks_cluster_name,
            namespace=CERT_MANAGER_NAMESPACE,
            service_account=AWS_ISSUER_SERVICE_ACCOUNT,
            role_arn=role.arn,
            tags=aws_tags(cluster, f"{cluster}-pca-issuer-identity"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _pca_role(
        self, cluster: str, how: str, trust: pulumi.Input[str], ca_arn: pulumi.Output[str]
    ) -> tuple[Any, pulumi.Resource]:
        """The issuer's IAM role (trust given) with the three acm-pca actions on the one CA."""
        import pulumi_aws as aws

        from components.clusters.aws_tags import aws_tags

        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{cluster}-pca-issuer",
            description=f"meshgate: aws-privateca-issuer of {how}",
            assume_role_policy=trust,
            tags=aws_tags(cluster, f"{cluster}-pca-issuer"),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{cluster}-pca-issuer-policy", role=role.id, policy=ca_arn.apply(pca_issuer_policy), opts=child
        )
        return role, policy

    def _web_identity(
        self, cluster: str, ca_arn: pulumi.Output[str], oidc_issuer: pulumi.Input[str]
    ) -> tuple[pulumi.Output[str], pulumi.Resource]:
        """A GKE cluster in an AWS Private CA mesh: an IAM OIDC provider for the cluster's issuer and a
        role only cert-manager/aws-privateca-issuer's projected token (audience STS) can assume."""
        import pulumi_aws as aws

        from components.clusters.aws_tags import aws_tags

        issuer = pulumi.Output.from_input(oidc_issuer)
        provider = aws.iam.OpenIdConnectProvider(
            f"{cluster}-pca-issuer-oidc",
            url=issuer,
            client_id_lists=[STS_AUDIENCE],
            # No thumbprint_lists: IAM verifies container.googleapis.com against its library of trusted
            # root CAs (a publicly trusted certificate), so a pinned thumbprint would only go stale.
            tags=aws_tags(cluster, f"{cluster}-pca-issuer-oidc"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        trust = pulumi.Output.all(provider.arn, issuer).apply(lambda parts: web_identity_trust(parts[0], parts[1]))
        role, policy = self._pca_role(cluster, f"GKE cluster {cluster} (web identity)", trust, ca_arn)
        return role.arn, policy

    def _workload_identity(
        self, cluster: str, root: ManagedRootCa, workload_pool: str
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        """A Google service account allowed to request certificates from the pool, and usable only by
        the issuer's Kubernetes ServiceAccount (Workload Identity)."""
        import pulumi_gcp as gcp

        assert root.pool_id is not None
        child = pulumi.ResourceOptions(parent=self)
        account = gcp.serviceaccount.Account(
            f"{cluster}-cas-issuer",
            account_id=f"{cluster}-cas-issuer"[:30],
            display_name=f"meshgate: google-cas-issuer of GKE cluster {cluster}",
            project=root.project,
            opts=child,
        )
        requester = gcp.certificateauthority.CaPoolIamMember(
            f"{cluster}-cas-issuer-requester",
            ca_pool=root.pool_id,
            location=root.region,
            project=root.project,
            role=CAS_REQUESTER_ROLE,
            member=account.email.apply(lambda e: f"serviceAccount:{e}"),
            opts=child,
        )
        workload = gcp.serviceaccount.IAMMember(
            f"{cluster}-cas-issuer-workload-identity",
            service_account_id=account.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{workload_pool}[{CERT_MANAGER_NAMESPACE}/{GOOGLE_ISSUER_SERVICE_ACCOUNT}]",
            opts=child,
        )
        return account.email, [requester, workload]
