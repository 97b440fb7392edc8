"""Rules that span several config keys: references, uniqueness, overlaps, scenario constraints.

Each rule raises `ConfigError` naming the key the user has to change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from components.mesh.settings import DEFAULT_REVISION, STABLE_TAG
from stacks.config import (
    ConfigError,
    EksClusterSpec,
    GkeClusterSpec,
    KubeconfigClusterSpec,
    Scenario,
    StackConfig,
)

K = "meshgate"


def check(config: StackConfig) -> None:
    """Run every cross-key rule, in the order a user would fix them."""
    _unique([c.name for c in config.clusters], f"{K}:clusters", "name")
    _render_secrets(config)
    _cidrs_do_not_overlap(config)
    _cluster_references(config)
    _unique_apis(config, "name")
    _unique_apis(config, "path")
    _unique([f"{s.cluster}/{s.namespace}/{s.name}" for s in config.services], f"{K}:services", "name")
    _node_ranges(config)
    _eks_admins(config)
    _demo_backend_ports(config)
    _jwt(config)
    _multicluster(config)
    _mesh_ca(config)
    _istio_revisions(config)
    _deployer(config)
    _scenario(config)
    _gateway_capabilities(config)
    _external_ingress(config)
    _observability(config)


def _unique(values: Sequence[str], list_key: str, field: str) -> None:
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in seen:
            raise ConfigError(
                f"{list_key}[{i}].{field}",
                f"duplicates {list_key}[{seen[value]}].{field} ({value!r}); each must be unique",
            )
        seen[value] = i


def _unique_apis(config: StackConfig, field: str) -> None:
    """Names and paths are unique across `meshgate:apis` and every file of `meshgate:apiDirectory`."""
    seen: dict[str, int] = {}
    for i, api in enumerate(config.apis):
        value = str(getattr(api, field))
        if value in seen:
            raise ConfigError(
                config.api_key(i, field),
                f"duplicates {config.api_key(seen[value], field)} ({value!r}); each must be unique",
            )
        seen[value] = i


def _render_secrets(config: StackConfig) -> None:
    for i, c in enumerate(config.clusters):
        if isinstance(c, KubeconfigClusterSpec) and c.render_secrets and not c.render_directory:
            raise ConfigError(
                f"{K}:clusters[{i}].renderSecrets",
                "needs renderDirectory (it decides whether rendered YAML holds private keys; applied objects are "
                "always stored as Secrets)",
            )


def _cidrs_do_not_overlap(config: StackConfig) -> None:
    ranges: list[tuple[int, ipaddress.IPv4Network]] = []
    for i, cluster in enumerate(config.clusters):
        if isinstance(cluster, (EksClusterSpec, GkeClusterSpec)):
            net = ipaddress.IPv4Network(cluster.vpc_cidr)
            for j, other in ranges:
                if net.overlaps(other):
                    raise ConfigError(
                        f"{K}:clusters[{i}].vpcCidr",
                        f"overlaps {K}:clusters[{j}].vpcCidr ({other})",
                    )
            ranges.append((i, net))
        if isinstance(cluster, GkeClusterSpec):
            master = ipaddress.IPv4Network(cluster.master_cidr)
            if master.prefixlen != 28:
                raise ConfigError(f"{K}:clusters[{i}].masterCidr", f"must be a /28 (GKE requirement), got {master}")
            for j, other in ranges:
                if master.overlaps(other):
                    raise ConfigError(f"{K}:clusters[{i}].masterCidr", f"overlaps {K}:clusters[{j}].vpcCidr ({other})")


def _cluster_references(config: StackConfig) -> None:
    names = [c.name for c in config.clusters]

    def known(key: str, name: str | None) -> None:
        if name is not None and name not in names:
            raise ConfigError(key, f"names unknown cluster {name!r} (clusters: {', '.join(names)})")

    known(f"{K}:gateway.cluster", config.gateway.cluster)
    if config.external_gateway is not None:
        known(f"{K}:externalGateway.cluster", config.external_gateway.cluster)
    for i, api in enumerate(config.apis):
        known(config.api_key(i, "cluster"), api.cluster)
    for i, svc in enumerate(config.services):
        known(f"{K}:services[{i}].cluster", svc.cluster)


def _node_ranges(config: StackConfig) -> None:
    for i, cluster in enumerate(config.clusters):
        if isinstance(cluster, (EksClusterSpec, GkeClusterSpec)) and cluster.nodes.max < cluster.nodes.min:
            raise ConfigError(
                f"{K}:clusters[{i}].nodes.max",
                f"({cluster.nodes.max}) must be at least nodes.min ({cluster.nodes.min})",
            )


def admin_principal_key(arn: str) -> str:
    """What identifies a principal for EKS: `<partition>:<account>:<role|user>:<name>` (an assumed role is its role)."""
    fields = arn.split(":", 5)
    partition, account, resource = fields[1], fields[4], fields[5]
    kind, _, rest = resource.partition("/")
    if kind == "assumed-role":
        return f"{partition}:{account}:role:{rest.split('/', 1)[0]}"
    return f"{partition}:{account}:{kind}:{rest.rsplit('/', 1)[-1]}"


def _eks_admins(config: StackConfig) -> None:
    for i, cluster in enumerate(config.clusters):
        if not isinstance(cluster, EksClusterSpec):
            continue
        key = f"{K}:clusters[{i}].adminPrincipalArns"
        if not cluster.admin_principal_arns:
            raise ConfigError(
                key,
                "needs at least one IAM role or user ARN: cluster-admin access is granted only through access "
                "entries kept in the stack (the cluster creator gets no hidden admin access); list the role CI "
                "deploys with and your team's admin role (`aws sts get-caller-identity` shows yours)",
            )
        seen: dict[str, int] = {}
        for j, arn in enumerate(cluster.admin_principal_arns):
            principal = admin_principal_key(arn)
            if principal in seen:
                raise ConfigError(
                    f"{key}[{j}]",
                    f"names the same IAM principal as {key}[{seen[principal]}] ({principal.rsplit(':', 2)[-2]} "
                    f"{principal.rsplit(':', 1)[-1]!r}); EKS allows one access entry per principal",
                )
            seen[principal] = j


def _demo_backend_ports(config: StackConfig) -> None:
    """An API routed to a demo workload uses that workload's Service port and container port."""
    for i, api in enumerate(config.apis):
        demo = config.demo_service(api)
        if demo is None:
            continue
        j = config.services.index(demo)
        if api.service.port != demo.port:
            raise ConfigError(
                config.api_key(i, "service.port"),
                f"({api.service.port}) differs from meshgate:services[{j}].port ({demo.port}), the port of the "
                f"Service {demo.namespace}/{demo.name} it routes to",
            )
        if api.service.target_port is not None and api.service.target_port != demo.container_port:
            raise ConfigError(
                config.api_key(i, "service.targetPort"),
                f"({api.service.target_port}) differs from the container port of meshgate:services[{j}] "
                f"({demo.container_port}); set it there (targetPort) or leave it out here",
            )


def _jwt(config: StackConfig) -> None:
    for i, api in enumerate(config.apis):
        if api.auth == "jwt" and api.jwt is None and config.jwt is None:
            raise ConfigError(
                config.api_key(i, "jwt"),
                "is required when auth is jwt (or set meshgate:jwt with issuer and jwksUri for all APIs)",
            )


def _multicluster(config: StackConfig) -> None:
    if config.istio.multicluster and len(config.clusters) < 2:
        raise ConfigError(f"{K}:istio.multicluster", "needs at least two clusters in meshgate:clusters")
    if config.istio.multicluster:
        _unique([c.network_name for c in config.clusters], f"{K}:clusters", "network")


_CA_CLOUD = {"aws-private-ca": (("eks", "gke"), "AWS Private CA"), "google-cas": (("gke",), "Google CA Service")}
_CA_UNSUPPORTED = {
    "aws-private-ca": "a kubeconfig cluster has no OIDC issuer meshgate can register with AWS IAM",
    "google-cas": "an EKS cluster would need a GCP workload identity pool and provider for its issuer, which "
    "meshgate does not build; use kind: aws-private-ca for a mesh across EKS and GKE (one root, both clouds)",
}


def _mesh_ca(config: StackConfig) -> None:
    ca = config.istio.ca
    key = f"{K}:istio.ca"
    if not ca.managed:
        return
    kinds, service = _CA_CLOUD[ca.kind]
    if not config.istio.install:
        raise ConfigError(f"{key}.kind", "needs meshgate:istio.install: true (istiod must read the cacerts it gets)")
    if ca.region is None:
        raise ConfigError(f"{key}.region", f"is required with kind {ca.kind} (where the {service} lives)")
    if ca.kind == "google-cas" and ca.project is None:
        raise ConfigError(f"{key}.project", "is required with kind google-cas (the project of the CA pool)")
    others = [f"{c.name} ({c.kind})" for c in config.clusters if c.kind not in kinds]
    if others:
        raise ConfigError(
            f"{key}.kind",
            f"{ca.kind} issues cluster intermediates to {' and '.join(kinds)} clusters only; {', '.join(others)}: "
            f"{_CA_UNSUPPORTED[ca.kind]}. Otherwise keep kind: self-managed (docs/security.md#root-of-trust)",
        )


def mesh_namespaces(config: StackConfig) -> dict[str, str]:
    """Namespaces meshgate labels for injection, with the revision tag each uses (revisions only)."""
    names = [s.namespace for s in config.services] + [a.service.namespace for a in config.apis]
    if config.scenario in (Scenario.IN_CLUSTER_GATEWAY_MESH, Scenario.GATEWAY_API):
        names.append(config.gateway.namespace)
    if config.scenario is Scenario.EXTERNAL_GATEWAY:
        names.append("istio-ingress")
    if config.istio.multicluster:
        names.append("istio-eastwest")
    return {ns: config.istio.namespace_tags.get(ns, STABLE_TAG) for ns in sorted(set(names))}


def _istio_revisions(config: StackConfig) -> None:
    """Revisions, tags and namespace tags refer to each other; no tag points at a missing revision."""
    istio, key = config.istio, f"{K}:istio"
    if not istio.revisions:
        for field, value in (("tags", istio.tags), ("namespaceTags", istio.namespace_tags)):
            if value:
                raise ConfigError(f"{key}.{field}", f"needs {key}.revisions: tags point at installed istiod revisions")
        return
    if istio.revision:
        raise ConfigError(
            f"{key}.revision",
            f"cannot be combined with {key}.revisions: list every installed revision there and point "
            f"{key}.tags.{STABLE_TAG} at the one namespaces use",
        )
    if not istio.install:
        raise ConfigError(f"{key}.revisions", f"needs {key}.install: true (meshgate installs every revision)")
    _unique([r.name for r in istio.revisions], f"{key}.revisions", "name")
    installed = [r.name for r in istio.revisions]
    if STABLE_TAG not in istio.tags:
        raise ConfigError(
            f"{key}.tags",
            f"needs a `{STABLE_TAG}` tag (e.g. {{{STABLE_TAG}: {installed[0]}}}): every mesh namespace without an "
            f"entry in {key}.namespaceTags is labelled istio.io/rev={STABLE_TAG}",
        )
    users = mesh_namespaces(config)
    for tag, target in istio.tags.items():
        if tag == DEFAULT_REVISION:
            raise ConfigError(
                f"{key}.tags.{tag}", f"`{DEFAULT_REVISION}` is a revision name, not a tag; use another tag name"
            )
        if target not in installed:
            using = [ns for ns, t in users.items() if t == tag]
            who = (
                f"namespaces {', '.join(using)} use tag {tag!r}" if using else f"no meshgate namespace uses tag {tag!r}"
            )
            raise ConfigError(
                f"{key}.tags.{tag}",
                f"points at revision {target!r}, which is not in {key}.revisions ({', '.join(installed)}); {who}. "
                f"Removing a revision comes last: move the tag to an installed revision, `up`, restart the workloads, "
                f"then remove the revision",
            )
    for namespace, tag in istio.namespace_tags.items():
        if tag not in istio.tags:
            raise ConfigError(
                f"{key}.namespaceTags.{namespace}",
                f"uses tag {tag!r}, which is not in {key}.tags ({', '.join(istio.tags)})",
            )


def _deployer(config: StackConfig) -> None:
    """The same `pulumi up` that creates eks/gke clusters applies Kubernetes objects to them: say from where."""
    cloud = [c.name for c in config.clusters if isinstance(c, (EksClusterSpec, GkeClusterSpec))]
    if cloud and not config.deployer_cidrs and not config.deployer_inside_network:
        raise ConfigError(
            f"{K}:deployerCidrs",
            f"is required for eks/gke clusters ({', '.join(cloud)}): their API servers admit only listed networks, and "
            "this `pulumi up` applies Kubernetes objects to them. "
            "Either set meshgate:deployerCidrs to the public egress "
            "address of the laptop or CI runner that runs Pulumi (e.g. "
            "the output of `curl -s https://checkip.amazonaws.com` "
            "as /32), or set meshgate:deployerInsideNetwork: true if it runs inside the cluster networks (a runner in "
            "the VPC, VPN or peering)",
        )


DOCUMENTATION_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
"""RFC 5737 TEST-NET-1/2/3: reserved for examples, never the address of a real client."""


def warnings(config: StackConfig) -> list[str]:
    """Valid config that may still not behave as written; shown as warnings at preview and up."""
    return [
        *_documentation_range_warnings(config),
        *_aws_jwks_warnings(config),
        *_self_managed_ca_warnings(config),
        *_rendered_kong_warnings(config),
    ]


def _rendered_kong_warnings(config: StackConfig) -> list[str]:
    """Kong on a rendered cluster without renderSecrets: its admin-API keys are cert-manager objects."""
    if config.scenario not in (Scenario.IN_CLUSTER_GATEWAY, Scenario.IN_CLUSTER_GATEWAY_MESH):
        return []
    return [
        f"{K}:clusters[{i}].renderDirectory: Kong's admin-API certificates are rendered as cert-manager "
        "Issuers and Certificates (keys generated in the cluster, none in the files): the cluster you "
        "apply them to needs cert-manager (cert-manager.io/v1) first, or set renderSecrets: true "
        "(docs/security.md#kongs-admin-api-keys)"
        for i, c in enumerate(config.clusters)
        if c.name == config.gateway_cluster
        and isinstance(c, KubeconfigClusterSpec)
        and c.render_directory
        and not c.render_secrets
    ]


def _self_managed_ca_warnings(config: StackConfig) -> list[str]:
    """A cloud stack whose mesh CA keys Pulumi generates: they live in the stack's state."""
    istio = config.istio
    cloud = [c.name for c in config.clusters if c.kind in ("eks", "gke")]
    if istio.ca.managed or not cloud or not (istio.multicluster and istio.install):
        return []
    return [
        f"{K}:istio.ca.kind is self-managed on a stack with cloud clusters ({', '.join(cloud)}): the mesh's root "
        "and intermediate CA keys are generated by Pulumi and kept in the stack's state; use aws-private-ca "
        "(EKS and GKE clusters) or google-cas (GKE only) (docs/security.md#root-of-trust)"
    ]


def _documentation_range_warnings(config: StackConfig) -> list[str]:
    """Problems that do not stop a preview but leave something unreachable: documentation-only allowlist entries."""
    lists: list[tuple[str, list[str], str]] = [
        (
            f"{K}:deployerCidrs",
            config.deployer_cidrs,
            "the public egress address of the laptop or CI runner that runs `pulumi up` "
            "(`curl -s https://checkip.amazonaws.com`, as /32), or set meshgate:deployerInsideNetwork: true",
        ),
    ]
    for i, cluster in enumerate(config.clusters):
        if isinstance(cluster, EksClusterSpec):
            lists.append(
                (
                    f"{K}:clusters[{i}].endpointPublicAccessCidrs",
                    cluster.endpoint_public_access_cidrs,
                    "the CIDRs of the networks that must reach this API server, or leave it empty",
                )
            )
        if isinstance(cluster, GkeClusterSpec):
            lists.append(
                (
                    f"{K}:clusters[{i}].masterAuthorizedNetworks",
                    cluster.master_authorized_networks,
                    "the CIDRs of the networks that must reach this API server, or leave it empty",
                )
            )
    found = []
    for key, cidrs, instead in lists:
        for j, cidr in enumerate(cidrs):
            net = ipaddress.IPv4Network(cidr)
            if any(net.overlaps(doc) for doc in DOCUMENTATION_RANGES):
                found.append(
                    f"{key}[{j}] ({cidr}) is a documentation-only range (RFC 5737): no real client has that address, "
                    f"so it admits nobody; put {instead}"
                )
    return found


def _scenario(config: StackConfig) -> None:
    scenario = config.scenario
    gateway_cluster = config.gateway_cluster
    if scenario is Scenario.EXTERNAL_GATEWAY:
        ext = config.external_gateway
        if ext is None:
            raise ConfigError(
                f"{K}:externalGateway",
                "is required for scenario external-gateway (kind: aws-http-api or gcp-api-gateway)",
            )
        if ext.kind == "aws-http-api":
            eks = _eks_names(config.clusters)
            if not eks:
                raise ConfigError(f"{K}:externalGateway.kind", "aws-http-api needs an eks cluster for its VPC link")
            if ext.cluster is not None and ext.cluster not in eks:
                raise ConfigError(f"{K}:externalGateway.cluster", f"must name an eks cluster ({', '.join(eks)})")
        if ext.kind == "gcp-api-gateway" and not ext.project:
            raise ConfigError(f"{K}:externalGateway.project", "is required for gcp-api-gateway")
    if scenario is Scenario.IN_CLUSTER_GATEWAY:
        for i, api in enumerate(config.apis):
            if api.cluster != gateway_cluster:
                raise ConfigError(
                    config.api_key(i, "cluster"),
                    f"is {api.cluster!r}, but in scenario in-cluster-gateway the gateway runs outside the mesh "
                    f"in {gateway_cluster!r} and cannot reach other clusters; use scenario "
                    "in-cluster-gateway-mesh (3) with istio.multicluster: true",
                )
    if scenario in (Scenario.IN_CLUSTER_GATEWAY_MESH, Scenario.GATEWAY_API) and not config.istio.multicluster:
        for i, api in enumerate(config.apis):
            if api.cluster != gateway_cluster:
                raise ConfigError(
                    config.api_key(i, "cluster"),
                    f"is {api.cluster!r}, but the gateway runs in {gateway_cluster!r}; reaching another cluster "
                    "needs meshgate:istio.multicluster: true",
                )


def _gateway_capabilities(config: StackConfig) -> None:
    """What the chosen gateway can enforce: API keys, JWT audiences, the VPC link's region."""
    scenario = config.scenario
    ext = config.external_gateway if scenario is Scenario.EXTERNAL_GATEWAY else None
    if ext is not None and ext.kind == "aws-http-api":
        eks = config.cluster(ext.cluster or _eks_names(config.clusters)[0])
        if isinstance(eks, EksClusterSpec) and ext.region != eks.region:
            raise ConfigError(
                f"{K}:externalGateway.region",
                f"is {ext.region!r}, but the VPC link must be in the region of eks cluster {eks.name!r} ({eks.region})",
            )
    for i, api in enumerate(config.apis):
        if api.auth == "key" and ext is not None and ext.kind == "aws-http-api":
            raise ConfigError(
                config.api_key(i, "auth"),
                "key is not supported by externalGateway aws-http-api (HTTP APIs have no API keys); "
                "use jwt, or externalGateway gcp-api-gateway",
            )
        if api.auth == "key" and scenario is Scenario.GATEWAY_API:
            raise ConfigError(
                config.api_key(i, "auth"),
                "key is not supported by scenario gateway-api (Istio has no API-key authentication); "
                "use jwt, or an API gateway (scenarios 1-3)",
            )
        if (
            api.rate_limit_per_minute is not None
            and api.auth != "key"
            and ext is not None
            and ext.kind == "gcp-api-gateway"
        ):
            raise ConfigError(
                config.api_key(i, "rateLimitPerMinute"),
                f"needs auth: key with externalGateway gcp-api-gateway (API Gateway quotas count per API key; "
                f"with auth: {api.auth} the limit would not be enforced); set auth: key or remove the limit",
            )
        if api.auth == "jwt" and ext is not None and ext.kind == "aws-http-api":
            jwt = config.jwt_for(api)
            key = config.api_key(i, "jwt") if api.jwt is not None else f"{K}:jwt"
            if not jwt.audiences:
                raise ConfigError(
                    f"{key}.audiences", "is required by externalGateway aws-http-api (its JWT authorizer checks `aud`)"
                )
            if not jwt.issuer.startswith("https://"):
                raise ConfigError(
                    f"{key}.issuer",
                    f"must be an https:// URL with externalGateway aws-http-api (got {jwt.issuer!r}): its JWT "
                    "authorizer finds the signing keys by OIDC discovery at <issuer>/.well-known/openid-configuration",
                )


def _aws_jwks_warnings(config: StackConfig) -> list[str]:
    """aws-http-api's JWT authorizer ignores `jwksUri`: it finds the keys by OIDC discovery."""
    found: list[str] = []
    ext = config.external_gateway if config.scenario is Scenario.EXTERNAL_GATEWAY else None
    if ext is not None and ext.kind == "aws-http-api":
        keys: dict[str, tuple[str, list[str]]] = {}
        for i, api in enumerate(config.apis):
            if api.auth == "jwt":
                key = config.api_key(i, "jwt.jwksUri") if api.jwt is not None else f"{K}:jwt.jwksUri"
                keys.setdefault(key, (config.jwt_for(api).issuer, []))[1].append(api.name)
        for key, (issuer, names) in keys.items():
            found.append(
                f"{key} is not used by externalGateway aws-http-api: its JWT authorizer reads the signing keys from "
                f"{discovery_url(issuer)} (OIDC discovery); if the issuer does not serve that document, every "
                f"request to {', '.join(names)} is refused with 401 (docs/gateways.md, JWT on AWS)"
            )
    return found


def discovery_url(issuer: str) -> str:
    """Where API Gateway's JWT authorizer looks for the issuer's OIDC discovery document."""
    return f"{issuer.rstrip('/')}/.well-known/openid-configuration"


def _external_ingress(config: StackConfig) -> None:
    """Scenario 1: both managed gateways verify the certificate of the ingress they call (the AWS HTTP
    API over the VPC link's TLS and over the internet, GCP API Gateway always over the internet), so
    every ingress they call needs a DNS name and a publicly trusted certificate. A route to another
    cluster either enters the mesh at the edge cluster's ingress (multi-cluster mesh) or needs that."""
    ext = config.external_gateway
    if config.scenario is not Scenario.EXTERNAL_GATEWAY or ext is None:
        return
    edge = config.edge_cluster
    index = {c.name: i for i, c in enumerate(config.clusters)}
    for i, api in enumerate(config.apis):
        target = config.ingress_cluster(api)
        if config.cluster(target).ingress is not None:
            continue
        key = f"{K}:clusters[{index[target]}].ingress"
        if target != edge:
            raise ConfigError(
                f"{K}:apis[{i}].cluster",
                f"is {target!r}, whose ingress the {ext.kind} gateway would call over the internet with a self-signed "
                f"certificate it refuses. Either set {K}:istio.multicluster: true (the request then enters the mesh at "
                f"{edge!r}'s ingress and reaches {target!r} over mTLS through the east-west gateway), or set {key} "
                "{hostname, tlsSecret} with a publicly trusted certificate for that hostname",
            )
        how = (
            "the VPC link reaches the ingress over TLS and API Gateway verifies its certificate against the hostname"
            if ext.kind == "aws-http-api"
            else "API Gateway calls the ingress over the internet and verifies its certificate"
        )
        raise ConfigError(
            key,
            f"is required by externalGateway {ext.kind} ({how}): set {{hostname, tlsSecret}}, the Secret in namespace "
            "istio-ingress holding a publicly trusted certificate for hostname (e.g. from cert-manager)",
        )


def _eks_names(clusters: Iterable[object]) -> list[str]:
    return [c.name for c in clusters if isinstance(c, EksClusterSpec)]


def _observability(config: StackConfig) -> None:
    """The hub is a known cluster of a multi-cluster mesh; an exposed Kiali signs users in with OpenID."""
    obs = config.observability
    key = f"{K}:observability"
    if obs.enabled and not config.istio.install:
        raise ConfigError(
            f"{key}.enabled",
            "needs meshgate:istio.install: true (the tracing and access-log providers are set through the istiod "
            "chart; a preinstalled Istio would reference collectors its mesh config does not know)",
        )
    if obs.hub is not None:
        names = [c.name for c in config.clusters]
        if obs.hub not in names:
            raise ConfigError(f"{key}.hub", f"names unknown cluster {obs.hub!r} (clusters: {', '.join(names)})")
        if not config.istio.multicluster:
            raise ConfigError(
                f"{key}.hub",
                "needs meshgate:istio.multicluster: true (telemetry reaches another cluster only over the mesh; "
                "without it every cluster runs its own backends): remove hub or turn on the multi-cluster mesh",
            )
    if obs.kiali.expose and obs.kiali.openid is None:
        raise ConfigError(
            f"{key}.kiali.openid",
            "is required when kiali.expose is true (an exposed Kiali must sign users in; anonymous access is "
            "only for port-forwarding)",
        )
