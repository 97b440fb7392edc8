"""Typed stack configuration: the `meshgate:*` keys, parsed and validated before any resource.

Shape, types and ranges are checked by the pydantic models below; the rules that span
several keys (references, overlaps, scenario constraints) by `stacks.config_rules`.
Every failure surfaces as one `ConfigError` whose message starts with the key path, e.g.
``meshgate:clusters[1].vpcCidr overlaps meshgate:clusters[0].vpcCidr (10.10.0.0/16)``.
All defaults live in this module.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import typing
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from components.clusters.cost_defaults import LOW_COST, EnvironmentDefaults
from components.workloads.demo_service import DEFAULT_DEMO_IMAGE

NAMESPACE = "meshgate"

# Version defaults: stacks/versions.py holds the matrix they must stay inside (tests/test_versions.py).
ISTIO_CHART_REPO = "https://blob.istio.io/istio-release/charts"  # 1.31+: no charts on storage.googleapis.com
DEFAULT_ISTIO_VERSION = "1.31.0"
DEFAULT_GATEWAY_API_VERSION = "v1.6.1"
DEFAULT_KONG_CHART_VERSION = "0.24.0"  # kong/ingress, newest release (bundles kong/kong chart 3.2.0)
DEFAULT_EKS_KUBERNETES_VERSION = "1.35"
DEFAULT_GKE_RELEASE_CHANNEL: Literal["REGULAR"] = "REGULAR"


_FORMS: dict[str, tuple[str, str]] = {}
"""pattern -> (the expected form in words, an example): what a pattern error tells the user."""


def _pattern(regex: str, form: str, example: str) -> str:
    """A field pattern whose mismatch message shows `form` and `example` (registered in _FORMS)."""
    _FORMS[regex] = (form, example)
    return regex


class ConfigError(Exception):
    """Invalid stack configuration; `str(err)` is the one message shown to the user."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key} {reason}")


class Scenario(StrEnum):
    """The four gateway architectures (docs/upstream-facts.md#the-four-scenarios); 1–4 are accepted as aliases."""

    EXTERNAL_GATEWAY = "external-gateway"
    IN_CLUSTER_GATEWAY = "in-cluster-gateway"
    IN_CLUSTER_GATEWAY_MESH = "in-cluster-gateway-mesh"
    GATEWAY_API = "gateway-api"

    @property
    def number(self) -> int:
        return list(Scenario).index(self) + 1


_SCENARIO_ALIASES = {str(s.number): s.value for s in Scenario}


def _scenario_alias(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        return _SCENARIO_ALIASES.get(value.strip(), value.strip())
    return value


def _dns_label(value: str) -> str:
    import re

    if not re.fullmatch(r"[a-z]([-a-z0-9]{0,38}[a-z0-9])?", value):
        raise ValueError(
            "must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 40 characters"
        )
    return value


def _ipv4_cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"is not a valid IPv4 CIDR ({err})") from None
    return str(net)


def _routable_cidr(value: str) -> str:
    value = _ipv4_cidr(value)
    if ipaddress.IPv4Network(value).prefixlen == 0:
        raise ValueError("must not be 0.0.0.0/0 (open to the whole internet)")
    return value


def _vpc_cidr(value: str) -> str:
    value = _ipv4_cidr(value)
    net = ipaddress.IPv4Network(value)
    if not net.is_private:
        raise ValueError("must be a private (RFC 1918) range")
    if not 16 <= net.prefixlen <= 20:
        raise ValueError("must be between /16 and /20 so subnets for nodes, pods and services fit")
    return value


def _api_path(value: str) -> str:
    import re

    if not re.fullmatch(r"/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?", value):
        raise ValueError("must be an absolute path prefix like /orders (no trailing slash, no wildcards)")
    return value


RESERVED_API_PREFIX = "meshgate-"
"""Objects meshgate adds next to the APIs' own (e.g. the `meshgate-https-redirect` HTTPRoute) carry this prefix."""


def _api_name(value: str) -> str:
    if value.startswith(RESERVED_API_PREFIX):
        raise ValueError(f"must not start with {RESERVED_API_PREFIX!r} (reserved for objects meshgate adds)")
    return value


def _pinned_image(value: str) -> str:
    import re

    name, _, digest = value.partition("@")
    repo, colon, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if (
        not re.fullmatch(r"[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?", repo)
        or (colon and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", tag))
        or (digest and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest))
        or not (tag or digest)
    ):
        raise ValueError("must be an image reference pinned by tag or digest, e.g. ghcr.io/org/app:1.2.3")
    if tag == "latest" and not digest:
        raise ValueError("must not use the mutable tag 'latest'; pin a version or digest")
    return value


def _hostname(value: str) -> str:
    import re

    label = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
    if len(value) > 253 or not re.fullmatch(rf"{label}(\.{label})+", value):
        raise ValueError(
            "must be a fully qualified DNS name in lowercase, e.g. api-east.example.com (no scheme, no port)"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Hostname = Annotated[str, AfterValidator(_hostname)]
Cidr = Annotated[str, AfterValidator(_routable_cidr)]
VpcCidr = Annotated[str, AfterValidator(_vpc_cidr)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        strict=False,
    )


# ---------------------------------------------------------------- clusters


class EksNodes(_Model):
    """Managed node group sizing for an EKS cluster."""

    instance_type: str = "m6i.large"
    min: int = Field(default=2, ge=1, le=100)
    max: int = Field(default=5, ge=1, le=100)
    disk_size_gb: int = Field(default=50, ge=20, le=2000)


class GkeNodes(_Model):
    """Node pool sizing for a GKE cluster: `min`/`max` count nodes in the whole regional pool, not per zone."""

    machine_type: str = "e2-standard-4"
    min: int = Field(default=1, ge=1, le=100)
    max: int = Field(default=3, ge=1, le=100)
    disk_size_gb: int = Field(default=50, ge=20, le=2000)


class IngressSpec(_Model):
    """Scenario 1: how the external gateway reaches this cluster's Istio ingress over verified TLS."""

    hostname: Hostname = Field(
        description="DNS name of the ingress; the external gateway connects to it and verifies the certificate"
    )
    tls_secret: DnsLabel = Field(
        description=(
            "kubernetes.io/tls Secret in namespace istio-ingress with a publicly trusted certificate for hostname"
        )
    )


class _ClusterBase(_Model):
    name: DnsLabel
    network: DnsLabel | None = Field(default=None, description="Istio network name; default `<name>-net`")
    ingress: IngressSpec | None = Field(
        default=None,
        description="scenario external-gateway: hostname and trusted certificate of this cluster's Istio ingress",
    )

    @property
    def network_name(self) -> str:
        return self.network or f"{self.name}-net"


# An IAM role or user ARN, or an STS assumed-role session ARN (resolved to its role, path included).
ADMIN_PRINCIPAL_PATTERN = _pattern(
    r"^(arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+|arn:aws[a-z-]*:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+)$",
    "an IAM role or user ARN, or an assumed-role ARN",
    "arn:aws:iam::123456789012:role/platform-admins",
)


class EksClusterSpec(_ClusterBase):
    """An EKS cluster in its own VPC."""

    kind: Literal["eks"]
    region: str = Field(pattern=_pattern(r"^[a-z]{2}(-[a-z]+)+-\d$", "an AWS region", "us-east-1"))
    vpc_cidr: VpcCidr = Field(description="private /16-/20; must not overlap another cluster's")
    kubernetes_version: str = Field(
        default=DEFAULT_EKS_KUBERNETES_VERSION,
        pattern=_pattern(r"^1\.\d{2}$", "1.<minor>", DEFAULT_EKS_KUBERNETES_VERSION),
    )
    availability_zones: int = Field(default=2, ge=2, le=3)
    nat_gateways: Literal["single", "per-zone"] | None = Field(
        default=None,
        description=(
            "NAT gateways: `per-zone` (an AZ outage keeps egress) or `single`; default per meshgate:environment"
        ),
    )
    nodes: EksNodes = EksNodes()
    endpoint_public_access_cidrs: list[Cidr] = Field(
        default_factory=list, description="CIDRs allowed to the public API endpoint; empty = private endpoint only"
    )
    admin_principal_arns: list[Annotated[str, Field(pattern=ADMIN_PRINCIPAL_PATTERN)]] = Field(
        default_factory=list,
        description="IAM role/user ARNs (or an assumed-role ARN as `aws sts get-caller-identity` prints it) that "
        "get cluster-admin access entries; at least one",
    )


class GkeClusterSpec(_ClusterBase):
    """A regional, private GKE Standard cluster in its own VPC."""

    kind: Literal["gke"]
    project: str = Field(
        pattern=_pattern(
            r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$", "a GCP project ID (6-30 lowercase letters, digits, '-')", "acme-prod"
        )
    )
    region: str = Field(pattern=_pattern(r"^[a-z]+(-[a-z]+)+\d$", "a GCP region", "us-central1"))
    vpc_cidr: VpcCidr
    master_cidr: Cidr = Field(default="172.16.0.0/28", description="/28 for the private control plane")
    master_authorized_networks: list[Cidr] = Field(
        default_factory=list, description="CIDRs allowed to the control plane; never 0.0.0.0/0"
    )
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = DEFAULT_GKE_RELEASE_CHANNEL
    nodes: GkeNodes = GkeNodes()


class KubeconfigClusterSpec(_ClusterBase):
    """An existing cluster adopted from a kubeconfig (kind, minikube, any context)."""

    kind: Literal["kubeconfig"]
    kubeconfig: str | None = Field(default=None, description="path; default $KUBECONFIG or ~/.kube/config")
    context: str | None = Field(default=None, description="context name; default the current context")
    render_directory: str | None = Field(
        default=None, description="render manifests to this directory instead of applying them (GitOps, offline)"
    )
    render_secrets: bool = Field(
        default=False,
        description="with renderDirectory: also write Secrets holding private keys (the gateway's TLS key, Kong's "
        "admin-API keys) into the rendered YAML, in clear; default: leave them out — the TLS Secret referenced by name "
        "for your secret tooling to create, Kong's admin-API keys as cert-manager Certificates (the cluster needs "
        "cert-manager)",
    )
    egress_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="public egress CIDRs of this adopted cluster (its NAT); in a multi-cluster mesh the peers' "
        "east-west gateways admit only these",
    )


ClusterSpec = Annotated[EksClusterSpec | GkeClusterSpec | KubeconfigClusterSpec, Field(discriminator="kind")]


# ---------------------------------------------------------------- mesh


class TracingSpec(_Model):
    sampling_percent: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description="share of requests traced, 0-100; spans go to the collector of meshgate:observability",
    )


_REVISION_PATTERN = _pattern(
    r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$", "a DNS label (lowercase letters, digits, '-')", "1-31-0"
)
_VERSION_PATTERN = _pattern(r"^1\.\d+\.\d+$", "1.<minor>.<patch>", DEFAULT_ISTIO_VERSION)


class IstioRevisionSpec(_Model):
    """One istiod installed side by side with the others; `default` is the unrevisioned `istiod`."""

    name: str = Field(
        pattern=_REVISION_PATTERN, description="revision name, e.g. `1-31-0`; `default`: release `istiod`"
    )
    version: str | None = Field(
        default=None, pattern=_VERSION_PATTERN, description="istiod chart version; default `meshgate:istio.version`"
    )


class MeshCaSpec(_Model):
    """The mesh's root of trust: self-managed (pulumi-tls keys in the state) or a managed CA service."""

    kind: Literal["self-managed", "aws-private-ca", "google-cas"] = Field(
        default="self-managed",
        description="self-managed: root and intermediate keys generated by Pulumi (multi-cluster only); "
        "aws-private-ca / google-cas: the root lives in the managed service, each cluster's intermediate key is "
        "generated in the cluster by cert-manager (and so are Kong's admin-API keys, scenarios 2 and 3); "
        "aws-private-ca serves EKS and GKE clusters (GKE through web-identity federation), "
        "google-cas GKE clusters only",
    )
    region: str | None = Field(
        default=None,
        pattern=_pattern(r"^[a-z]+(-[a-z]+)+-?\d$", "an AWS or GCP region", "us-east-1"),
        description="managed CA: region of the AWS Private CA or location of the Google CA pool",
    )
    project: str | None = Field(
        default=None,
        pattern=_pattern(
            r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$", "a GCP project ID (6-30 lowercase letters, digits, '-')", "acme-prod"
        ),
        description="google-cas: the GCP project of the CA pool",
    )

    @property
    def managed(self) -> bool:
        return self.kind != "self-managed"


class IstioSpec(_Model):
    """How Istio is installed in every cluster."""

    version: str = Field(default=DEFAULT_ISTIO_VERSION, pattern=_VERSION_PATTERN)
    chart_repo: str = Field(
        default=ISTIO_CHART_REPO,
        pattern=_pattern(r"^(https|oci)://", "a Helm repository URL", ISTIO_CHART_REPO),
        description="Helm repository (https://) or OCI registry (oci://)",
    )
    mesh_id: DnsLabel = Field(default="meshgate", description="global.meshID, shared by every cluster")
    trust_domain: str = Field(
        default="cluster.local", pattern=_pattern(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "a DNS name", "cluster.local")
    )
    multicluster: bool = Field(
        default=False, description="one multi-network mesh across all clusters (shared CA, east-west gateways)"
    )
    revision: str | None = Field(
        default=None,
        pattern=_REVISION_PATTERN,
        description="one revisioned istiod, e.g. `1-31-0`; namespaces get `istio.io/rev`. For upgrades use `revisions`",
    )
    revisions: list[IstioRevisionSpec] = Field(
        default_factory=list,
        description="istiod revisions installed side by side (canary upgrades); namespaces reach them through `tags`",
    )
    tags: dict[DnsLabel, str] = Field(
        default_factory=dict,
        description="revision tags, tag -> revision name (needs `stable`); namespaces get `istio.io/rev: <tag>`",
    )
    namespace_tags: dict[DnsLabel, DnsLabel] = Field(
        default_factory=dict, description="namespace -> tag for `meshgate:services` namespaces; default `stable`"
    )
    ca: MeshCaSpec = MeshCaSpec()
    reader_token_generation: int = Field(
        default=0,
        ge=0,
        le=9999,
        description="multi-cluster: bump by one to rotate the remote secrets' reader tokens in one `up` (new "
        "token Secrets, remote secrets updated, old tokens deleted last); see docs/security.md",
    )
    access_logs: bool = Field(default=True, description="Envoy access logs to stdout")
    tracing: TracingSpec = TracingSpec()
    install: bool = Field(
        default=True, description="false: Istio is already installed (managed Istio); skip the charts"
    )


# ---------------------------------------------------------------- gateways


class GatewaySpec(_Model):
    """The in-cluster API gateway (Kong, scenarios 2–3) and the Gateway API gateway (scenario 4)."""

    kind: Literal["kong"] = "kong"
    cluster: DnsLabel | None = Field(default=None, description="default: the first cluster")
    namespace: DnsLabel = "meshgate-gateway"
    replicas: int = Field(default=2, ge=1, le=50)
    kong_chart_version: str = DEFAULT_KONG_CHART_VERSION
    gateway_api_version: str = Field(
        default=DEFAULT_GATEWAY_API_VERSION,
        pattern=_pattern(r"^v1\.\d+\.\d+$", "v1.<minor>.<patch>", DEFAULT_GATEWAY_API_VERSION),
    )
    install_gateway_api_crds: bool = True


class ExternalGatewaySpec(_Model):
    """The cloud API gateway in front of the Istio ingress (scenario 1)."""

    kind: Literal["aws-http-api", "gcp-api-gateway"]
    region: str
    project: str | None = None
    cluster: DnsLabel | None = Field(
        default=None,
        description="the cluster whose ingress the gateway calls (aws: the EKS cluster of the VPC link, default the "
        "first eks; gcp: default the first gke); with istio.multicluster every API enters the mesh there",
    )


class JwtSpec(_Model):
    issuer: str = Field(min_length=1)
    jwks_uri: str = Field(
        pattern=_pattern(r"^https://", "an https:// URL", "https://auth.example.com/.well-known/jwks.json")
    )
    audiences: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="accepted `aud` values; required by externalGateway aws-http-api"
    )


class BackendRef(_Model):
    name: DnsLabel
    namespace: DnsLabel
    port: Port = Field(description="the Service port routes call")
    target_port: Port | None = Field(
        default=None,
        description="the workload's container port behind `port` (mTLS and authorization policies use it); "
        "default: the demo service's `targetPort`, else `port`",
    )


class SloSpec(_Model):
    """Service-level objectives of one API, measured at the gateway (meshgate:observability)."""

    availability: float = Field(
        default=99.9, gt=50, lt=100, description="percent of requests answered without a 5xx, over 30 days"
    )
    latency_p99_ms: int = Field(default=300, ge=1, le=600_000, description="99th percentile latency objective, ms")


DEFAULT_SLO = SloSpec()


class ApiSpec(_Model):
    """One entry of the API catalogue; every scenario turns it into a route."""

    name: Annotated[DnsLabel, AfterValidator(_api_name)]
    path: Annotated[str, AfterValidator(_api_path)] = Field(description="path prefix, e.g. /orders; unique")
    cluster: DnsLabel = Field(description="cluster where the backend service runs")
    service: BackendRef
    auth: Literal["none", "jwt", "key"] = "none"
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=1_000_000, description="requests per minute at the gateway"
    )
    jwt: JwtSpec | None = Field(default=None, description="issuer/JWKS for auth: jwt; default meshgate:jwt")
    slo: SloSpec | None = Field(
        default=None, description="objectives for dashboards and burn-rate alerts; default 99.9 % and p99 300 ms"
    )


class ServiceSpec(_Model):
    """A demo workload for the APIs to reach."""

    name: DnsLabel
    namespace: DnsLabel
    cluster: DnsLabel
    port: Port = 8080
    target_port: Port | None = Field(
        default=None, description="container port the Service's `port` maps to; default `port`"
    )
    replicas: int = Field(default=2, ge=1, le=50)
    image: Annotated[str, AfterValidator(_pinned_image)] = DEFAULT_DEMO_IMAGE

    @property
    def container_port(self) -> int:
        """The port the workload listens on (the Service's targetPort)."""
        return self.target_port or self.port


# ---------------------------------------------------------------- observability


class KialiOpenIdSpec(_Model):
    """The OpenID Connect client Kiali signs users in with when it is exposed."""

    issuer_uri: str = Field(
        pattern=_pattern(r"^https://", "an https:// URL", "https://auth.example.com/"),
        description="OIDC issuer; Kiali discovers its endpoints from it",
    )
    client_id: str = Field(min_length=1, description="client ID registered at the issuer for Kiali")


class KialiSpec(_Model):
    """How Kiali is reached: port-forward only (anonymous, read-only) or a LoadBalancer with OpenID."""

    expose: bool = Field(
        default=False, description="true: a LoadBalancer Service for Kiali (needs `openid`); false: port-forward only"
    )
    openid: KialiOpenIdSpec | None = Field(default=None, description="required when `expose` is true")


class ObservabilitySpec(_Model):
    """Metrics, traces, access logs, Kiali and API SLOs in one pane (docs/observability.md)."""

    enabled: bool = Field(
        default=False,
        description="an OpenTelemetry Collector in every cluster, Prometheus, Tempo, Grafana and Kiali in the hub",
    )
    hub: DnsLabel | None = Field(
        default=None,
        description="cluster running the backends in a multi-cluster mesh; default the gateway cluster "
        "(without a multi-cluster mesh every cluster runs its own)",
    )
    prometheus_retention: str = Field(
        default="15d",
        pattern=_pattern(r"^[1-9][0-9]*[hdw]$", "a duration in h, d or w", "15d"),
        description="how long Prometheus keeps samples",
    )
    trace_retention: str = Field(
        default="72h",
        pattern=_pattern(r"^[1-9][0-9]*h$", "a duration in hours", "72h"),
        description="how long Tempo keeps traces",
    )
    kiali: KialiSpec = KialiSpec()


# ---------------------------------------------------------------- the stack


ENVIRONMENT_DEFAULTS: dict[str, EnvironmentDefaults] = {
    "dev": LOW_COST,
    "staging": LOW_COST,
    "prod": EnvironmentDefaults("per-zone", 30, "ALL", 600, 0.5, "INTERVAL_1_MIN"),
}


class StackConfig(_Model):
    """Everything under the `meshgate:` namespace of a stack."""

    scenario: Annotated[Scenario, BeforeValidator(_scenario_alias)] = Field(
        description="gateway architecture; 1-4 are aliases in this order"
    )
    clusters: list[ClusterSpec] = Field(
        min_length=1, description="one entry per cluster; `kind` selects the fields below"
    )
    istio: IstioSpec = IstioSpec()
    gateway: GatewaySpec = GatewaySpec()
    external_gateway: ExternalGatewaySpec | None = Field(default=None, description="scenario external-gateway only")
    apis: list[ApiSpec] = Field(
        default_factory=list, description="the API catalogue: one route per entry in every scenario"
    )
    api_directory: str | None = Field(
        default=None,
        min_length=1,
        description="directory (relative to the project) of API files, `*.yaml`: each holds one `apis` entry or a "
        "list; added after `meshgate:apis` (docs/performance.md#large-catalogues)",
    )
    services: list[ServiceSpec] = Field(default_factory=list, description="optional demo workloads the APIs route to")
    jwt: JwtSpec | None = Field(default=None, description="default issuer/JWKS for APIs with auth: jwt")
    observability: ObservabilitySpec = ObservabilitySpec()
    protect: bool = Field(default=False, description="protect clusters and networks from `pulumi destroy`")
    environment: Literal["dev", "staging", "prod"] = Field(
        default="dev",
        description="sizes the cost defaults: prod = a NAT gateway per zone, 30-day KMS deletion windows, all flow "
        "logs; dev/staging = one NAT gateway, 7 days, rejected flows "
        "only (estimates: docs/clusters-eks.md, docs/clusters-gke.md)",
    )
    deployer_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="public egress CIDRs of the laptop or CI runner that runs `pulumi up`; added to every eks/gke "
        "API allowlist (eks/gke stacks need this or deployerInsideNetwork)",
    )
    deployer_inside_network: bool = Field(
        default=False,
        description="true: `pulumi up` runs inside the cluster networks (runner in the VPC, VPN, peering) and reaches "
        "the API servers privately; no deployer CIDRs needed",
    )
    _api_origins: list[str | None] = PrivateAttr(default_factory=list)

    def api_key(self, index: int, field: str) -> str:
        """The key naming `apis[index].field` in messages: `meshgate:apis[i].field`, or `<file>:<line>: field`
        for an entry read from `meshgate:apiDirectory`."""
        origin = self._api_origins[index] if index < len(self._api_origins) else None
        if origin is None:
            return f"{NAMESPACE}:apis[{index}].{field}"
        return f"{origin}: {field}"

    def cluster(self, name: str) -> EksClusterSpec | GkeClusterSpec | KubeconfigClusterSpec:
        return next(c for c in self.clusters if c.name == name)

    @property
    def defaults(self) -> EnvironmentDefaults:
        """The cost-relevant defaults of `meshgate:environment`."""
        return ENVIRONMENT_DEFAULTS[self.environment]

    def nat_gateways(self, spec: EksClusterSpec) -> Literal["single", "per-zone"]:
        return spec.nat_gateways or self.defaults.nat_gateways

    @property
    def gateway_cluster(self) -> str:
        return self.gateway.cluster or self.clusters[0].name

    @property
    def observability_hubs(self) -> dict[str, str]:
        """Cluster -> the hub its collector reports to: one hub (meshgate:observability.hub, default the
        gateway cluster) in a multi-cluster mesh, otherwise every cluster is its own hub."""
        if not self.observability.enabled:
            return {}
        if self.istio.multicluster:
            hub = self.observability.hub or self.gateway_cluster
            return {c.name: hub for c in self.clusters}
        return {c.name: c.name for c in self.clusters}

    @property
    def clouds(self) -> set[str]:
        return {c.kind for c in self.clusters}

    @property
    def edge_cluster(self) -> str | None:
        """Scenario 1: the cluster whose ingress the external gateway calls (see `externalGateway.cluster`)."""
        ext = self.external_gateway
        if ext is None:
            return None
        own_cloud = "eks" if ext.kind == "aws-http-api" else "gke"
        return ext.cluster or next((c.name for c in self.clusters if c.kind == own_cloud), self.clusters[0].name)

    def ingress_cluster(self, api: ApiSpec) -> str:
        """Scenario 1: the cluster whose ingress receives `api` from the external gateway: the edge cluster
        when the multi-cluster mesh can carry the request on, otherwise the API's own cluster."""
        edge = self.edge_cluster
        return edge if edge is not None and self.istio.multicluster else api.cluster

    def demo_service(self, api: ApiSpec) -> ServiceSpec | None:
        """The `meshgate:services` workload an API routes to, if it is one."""
        return next(
            (
                s
                for s in self.services
                if (s.cluster, s.namespace, s.name) == (api.cluster, api.service.namespace, api.service.name)
            ),
            None,
        )

    def target_port(self, api: ApiSpec) -> int:
        """The container port behind an API's Service port: its own `targetPort`, the demo workload's, or `port`."""
        if api.service.target_port is not None:
            return api.service.target_port
        demo = self.demo_service(api)
        return demo.container_port if demo is not None else api.service.port

    def jwt_for(self, api: ApiSpec) -> JwtSpec:
        jwt = api.jwt or self.jwt
        assert jwt is not None, "validated by config_rules"
        return jwt


# ---------------------------------------------------------------- parsing

_KIND_TAG: dict[type[BaseModel], str] = {
    EksClusterSpec: "eks",
    GkeClusterSpec: "gke",
    KubeconfigClusterSpec: "kubeconfig",
}
_DISCRIMINATOR_TAGS = set(_KIND_TAG.values())


def key_path(loc: tuple[Any, ...]) -> str:
    """Render a pydantic error location as a config key: ``meshgate:clusters[1].vpcCidr``."""
    out = NAMESPACE
    first = True
    previous_was_index = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            previous_was_index = True
            continue
        if previous_was_index and part in _DISCRIMINATOR_TAGS:
            previous_was_index = False
            continue
        if isinstance(part, str) and "[" in part:  # e.g. function-after[...] wrappers
            continue
        if isinstance(part, str) and not part.isprintable():  # an unknown key with a line break stays one line
            part = json.dumps(part)
        out += f":{part}" if first else f".{part}"
        first = False
        previous_was_index = False
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field's value can be: itself, list items, union members (Annotated unwrapped)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    """The keys a user may write at `parent` (a pydantic error location without its last part)."""
    models: list[type[BaseModel]] = [StackConfig]
    for part in parent:
        if isinstance(part, int):
            continue
        tagged = [m for m in models if _KIND_TAG.get(m) == part]
        if tagged:
            models = tagged
            continue
        fields = [f for m in models for n, f in m.model_fields.items() if part in (n, f.alias)]
        models = [m for f in fields for m in _models_in(f.annotation)]
    return sorted({f.alias or n for m in models for n, f in m.model_fields.items()})


def _reason(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    msg = str(error["msg"])
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        loc = tuple(error["loc"])
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(loc[:-1]), n=1, cutoff=0.6)
        hint = f"did you mean {key_path(loc[:-1] + (close[0],))}?" if close else "see README 'Configuration'"
        return f"is not a known key ({hint})"
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected} or 1-4 (got {error.get('input')!r})"
    if kind == "union_tag_invalid":
        return f"kind must be one of 'eks', 'gke', 'kubeconfig' (got {error.get('ctx', {}).get('tag')!r})"
    if kind == "union_tag_not_found":
        return "needs a kind: 'eks', 'gke' or 'kubeconfig'"
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        form, example = _FORMS.get(pattern, (f"a value matching {pattern}", ""))
        return f"has an invalid value {error.get('input')!r}: expected {form}" + (
            f", e.g. {example}" if example else ""
        )
    if kind == "literal_error":
        return f"must be {error.get('ctx', {}).get('expected')} (got {error.get('input')!r})"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if msg.startswith("Input should be"):
        msg = "must be" + msg[len("Input should be") :] + f" (got {error.get('input')!r})"
    return f"{msg[0].lower()}{msg[1:]}" if msg else kind


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; plain strings stay strings."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:1] in "[{" or text in ("true", "false", "null") or text.lstrip("-").isdigit():
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    return value


def parse_raw(raw: Mapping[str, Any], base_dir: Path | None = None) -> StackConfig:
    """Validate a mapping of config keys (``scenario`` or ``meshgate:scenario``) into a StackConfig.

    `meshgate:apiDirectory` is read relative to `base_dir` (the project; default: the current
    directory, which is the project when Pulumi runs the program). Raises ConfigError with one
    message naming the offending key (or file and line).
    """
    from stacks import config_rules
    from stacks.api_files import load_api_directory

    values: dict[str, Any] = {}
    for key, value in raw.items():
        if ":" in key:
            namespace, _, short = key.partition(":")
            if namespace != NAMESPACE:
                if difflib.get_close_matches(namespace.lower(), [NAMESPACE], cutoff=0.75):
                    raise ConfigError(key, f"is not in the {NAMESPACE} namespace (did you mean {NAMESPACE}:{short}?)")
                continue  # another provider's or project's key (aws:region, pulumi:tags...)
        else:
            short = key
        values[short] = _decode(value)
    origins: list[str | None] = []
    directory = values.get("apiDirectory", values.get("api_directory"))
    inline = values.get("apis", [])
    if isinstance(directory, str) and directory.strip() and isinstance(inline, list):
        from_files = load_api_directory(directory.strip(), base_dir or Path.cwd())
        values["apis"] = [*inline, *(f.spec for f in from_files)]
        origins = [None] * len(inline) + [f.origin for f in from_files]
    try:
        config = StackConfig.model_validate(values)
    except ValidationError as err:
        # Unknown keys first: a misspelt key also makes the key it meant "required".
        errors = sorted(err.errors(), key=lambda e: (e["type"] != "extra_forbidden", [str(p) for p in e["loc"]]))
        first = errors[0]
        message = f"{_reason(first)}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise ConfigError(key_path(tuple(first["loc"])), message) from None
    config._api_origins = origins
    config_rules.check(config)
    return config


def load() -> StackConfig:
    """Read and validate the current stack's `meshgate:*` config from the Pulumi runtime."""
    import pulumi
    import pulumi.runtime.config as runtime_config

    from stacks import config_rules

    raw = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    config = parse_raw(raw)
    for warning in config_rules.warnings(config):
        pulumi.log.warn(warning)
    return config
