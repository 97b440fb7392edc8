"""Istio checks: mTLS posture, authorization patterns, gateway placement, CRD ordering.

Resource checks read the Istio custom resources Pulumi registers
(`kubernetes:<group>/<version>:<Kind>`, e.g. `kubernetes:security.istio.io/v1:PeerAuthentication`)
and the Helm releases of the Istio and Kong charts. Stack checks group objects by their
Kubernetes provider, i.e. by cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .graph import Graph
from .model import (
    HELM_RELEASE,
    Check,
    Level,
    StackCheck,
    StackResource,
    Violation,
    api_group,
    get,
    items,
    kubernetes_kind,
    mapping,
    of_kinds,
    walk_strings,
)

ROOT_NAMESPACE = "istio-system"
SECURITY = "security.istio.io"
NETWORKING = "networking.istio.io"
GATEWAY_API = "gateway.networking.k8s.io"
KONG = "configuration.konghq.com"
ISTIO_REPO_HINT = "istio-release"
KONG_REPO_HINT = "konghq"

NEGATIVE_SOURCE = ("notNamespaces", "notPrincipals", "notRequestPrincipals", "notIpBlocks", "notRemoteIpBlocks")
NEGATIVE_OPERATION = ("notHosts", "notPorts", "notMethods", "notPaths")


# --------------------------------------------------------------------------- Helm charts


def chart_name(props: Mapping[str, Any]) -> str:
    """`gateway` for chart `gateway`, `istio/gateway` or `oci://…/gateway`."""
    chart = props.get("chart")
    return chart.rstrip("/").rsplit("/", 1)[-1] if isinstance(chart, str) else ""


def chart_repo(props: Mapping[str, Any]) -> str:
    repo = get(props, "repositoryOpts.repo")
    chart = props.get("chart")
    return f"{repo or ''} {chart if isinstance(chart, str) else ''}"


def is_istio_chart(props: Mapping[str, Any], name: str) -> bool:
    return chart_name(props) == name and (ISTIO_REPO_HINT in chart_repo(props) or not get(props, "repositoryOpts.repo"))


def is_kong_chart(props: Mapping[str, Any]) -> bool:
    return chart_name(props) in ("kong", "ingress") and KONG_REPO_HINT in chart_repo(props)


def is_gateway_release(props: Mapping[str, Any]) -> bool:
    """A release that runs a gateway: Istio's `gateway` chart (ingress or east-west) or a Kong chart."""
    return is_istio_chart(props, "gateway") or is_kong_chart(props)


def namespace_of(props: Mapping[str, Any], resource_type: str) -> str:
    if resource_type == HELM_RELEASE:
        return str(props.get("namespace") or "default")
    return str(get(props, "metadata.namespace") or "default")


# --------------------------------------------------------------------------- resource checks


def _authz_positive_allow(_: str, props: Mapping[str, Any]) -> list[str]:
    spec = mapping(props.get("spec"))
    if spec.get("action", "ALLOW") != "ALLOW":
        return []
    out: list[str] = []
    for i, rule in enumerate(items(spec.get("rules"))):
        for source in items(get(rule, "from")):
            used = [f for f in NEGATIVE_SOURCE if get(source, f"source.{f}")]
            out += [f"rules[{i}] ALLOWs with negative match source.{f}" for f in used]
        for to in items(get(rule, "to")):
            used = [f for f in NEGATIVE_OPERATION if get(to, f"operation.{f}")]
            out += [f"rules[{i}] ALLOWs with negative match operation.{f}" for f in used]
    return out


def _permissive_is_scoped(_: str, props: Mapping[str, Any]) -> list[str]:
    spec = mapping(props.get("spec"))
    mode = get(spec, "mtls.mode")
    scoped = bool(get(spec, "selector.matchLabels"))
    out: list[str] = []
    if mode in ("PERMISSIVE", "DISABLE") and not scoped:
        scope = "mesh-wide" if namespace_of(props, "") == ROOT_NAMESPACE else "namespace-wide"
        out.append(f"{scope} mtls.mode {mode}: plaintext must be allowed per workload (selector) or per port only")
    for port, setting in mapping(spec.get("portLevelMtls")).items():
        if get(setting, "mode") == "DISABLE":
            out.append(
                f"portLevelMtls[{port}] DISABLE turns mTLS off; use PERMISSIVE for the ports a non-mesh caller needs"
            )
    return out


def _gateway_namespace(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    if resource_type == HELM_RELEASE:
        if not is_gateway_release(props):
            return []
    elif kubernetes_kind(resource_type) != "Gateway" or api_group(resource_type) != GATEWAY_API:
        return []
    if namespace_of(props, resource_type) == ROOT_NAMESPACE:
        return [f"gateway runs in {ROOT_NAMESPACE}; give gateways their own namespace (no access to istiod's secrets)"]
    return []


def _gateway_hosts(_: str, props: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for i, server in enumerate(items(get(props, "spec.servers"))):
        hosts = [h for h in items(get(server, "hosts")) if isinstance(h, str)]
        if any(h.rsplit("/", 1)[-1] == "*" for h in hosts):
            out.append(f"servers[{i}] accepts any host ('*'); list the hosts the gateway serves")
    return out


CHECKS: tuple[Check, ...] = (
    Check(
        "istio-authz-positive-allow",
        "AuthorizationPolicies ALLOW only with positive matches (no notNamespaces/notPrincipals/notPaths…).",
        Level.MANDATORY,
        "Istio security best practices: use ALLOW-with-positive-matching and DENY-with-negative-match patterns",
        of_kinds("AuthorizationPolicy", group=SECURITY),
        _authz_positive_allow,
    ),
    Check(
        "istio-permissive-scoped",
        "PERMISSIVE mTLS appears only workload- or port-scoped; DISABLE never.",
        Level.MANDATORY,
        "Istio security best practices (mutual TLS); docs/upstream-facts.md#scenario-2-a-gateway-outside-the-mesh",
        of_kinds("PeerAuthentication", group=SECURITY),
        _permissive_is_scoped,
    ),
    Check(
        "istio-gateway-own-namespace",
        "Gateways (Istio gateway chart, Kong, Gateway API Gateways) do not run in istio-system.",
        Level.MANDATORY,
        "Istio docs: installing gateways (deploy gateways in a "
        "separate namespace); docs/upstream-facts.md#istio-installation",
        lambda t: t == HELM_RELEASE or of_kinds("Gateway", group=GATEWAY_API)(t),
        _gateway_namespace,
    ),
    Check(
        "istio-gateway-hosts-explicit",
        "Istio Gateway servers list their hosts instead of '*'.",
        Level.ADVISORY,
        "Istio security best practices: avoid overly broad hosts configurations",
        of_kinds("Gateway", group=NETWORKING),
        _gateway_hosts,
    ),
)


# --------------------------------------------------------------------------- stack checks


def _by_provider(resources: Sequence[StackResource]) -> dict[str, list[StackResource]]:
    grouped: dict[str, list[StackResource]] = {}
    for r in resources:
        if r.type.startswith("kubernetes:"):
            grouped.setdefault(r.provider, []).append(r)
    return grouped


def _has_istio(objects: Sequence[StackResource]) -> bool:
    return any(
        (r.type == HELM_RELEASE and is_istio_chart(r.props, "istiod")) or api_group(r.type).endswith(".istio.io")
        for r in objects
    )


def is_mesh_wide_strict(r: StackResource) -> bool:
    return (
        kubernetes_kind(r.type) == "PeerAuthentication"
        and api_group(r.type) == SECURITY
        and namespace_of(r.props, r.type) == ROOT_NAMESPACE
        and not get(r.props, "spec.selector.matchLabels")
        and get(r.props, "spec.mtls.mode") == "STRICT"
    )


def _mesh_wide_strict(resources: Sequence[StackResource]) -> list[Violation]:
    out: list[Violation] = []
    for provider, objects in sorted(_by_provider(resources).items()):
        if _has_istio(objects) and not any(is_mesh_wide_strict(r) for r in objects):
            out.append(
                Violation(
                    f"cluster of provider {provider or '(default)'} runs Istio without a mesh-wide STRICT "
                    f"PeerAuthentication in {ROOT_NAMESPACE}",
                    provider or None,
                )
            )
    return out


def _crd_sources(objects: Sequence[StackResource], group: str) -> list[StackResource]:
    """Resources on one cluster that install the CRDs of API `group`."""
    sources: list[StackResource] = []
    for r in objects:
        if kubernetes_kind(r.type) == "CustomResourceDefinition" and get(r.props, "spec.group") == group:
            sources.append(r)
        elif r.type == HELM_RELEASE:
            if (group.endswith(".istio.io") and is_istio_chart(r.props, "base")) or (
                group == KONG and is_kong_chart(r.props)
            ):
                sources.append(r)
        elif (
            group == GATEWAY_API
            and r.type.startswith("kubernetes:yaml")
            and any("gateway-api" in text for _, text in walk_strings(r.props))
        ):
            sources.append(r)
    return sources


_BUILTIN_GROUPS = ("", "core", "apps", "batch", "policy", "autoscaling", "helm.sh", "yaml", "apiextensions.k8s.io")


def _custom_group(r: StackResource) -> str | None:
    group = api_group(r.type)
    if (
        r.type.startswith("kubernetes:yaml")
        or group in _BUILTIN_GROUPS
        or (group.endswith(".k8s.io") and group != GATEWAY_API)
    ):
        return None
    return group


def _crds_first(resources: Sequence[StackResource]) -> list[Violation]:
    graph = Graph(resources)
    out: list[Violation] = []
    for _, objects in sorted(_by_provider(resources).items()):
        for r in objects:
            group = _custom_group(r)
            if group is None:
                continue
            sources = _crd_sources(objects, group)
            if sources and not any(graph.depends_on(r.urn, s.urn) for s in sources):
                names = ", ".join(sorted(s.name for s in sources))
                out.append(Violation(f"{r.type} {r.name} does not depend on the CRDs of {group} ({names})", r.urn))
    return out


def _is_allow_nothing(r: StackResource) -> bool:
    return (
        kubernetes_kind(r.type) == "AuthorizationPolicy"
        and api_group(r.type) == SECURITY
        and not get(r.props, "spec.rules")
        and get(r.props, "spec.action", "ALLOW") == "ALLOW"
        and not get(r.props, "spec.selector.matchLabels")
    )


def _default_deny(resources: Sequence[StackResource]) -> list[Violation]:
    out: list[Violation] = []
    for provider, objects in sorted(_by_provider(resources).items()):
        allows = {
            namespace_of(r.props, r.type)
            for r in objects
            if kubernetes_kind(r.type) == "AuthorizationPolicy"
            and api_group(r.type) == SECURITY
            and get(r.props, "spec.rules")
            and get(r.props, "spec.action", "ALLOW") == "ALLOW"
        }
        baselines = {namespace_of(r.props, r.type) for r in objects if _is_allow_nothing(r)}
        for namespace in sorted(allows - baselines - {ROOT_NAMESPACE}):
            out.append(
                Violation(
                    f"namespace {namespace} (provider {provider}) has ALLOW policies but no allow-nothing baseline"
                )
            )
    return out


EXTERNAL_GATEWAY_TYPES = ("aws:apigatewayv2/integration:Integration", "gcp:apigateway/apiConfig:ApiConfig")


def _is_ingress_release(r: StackResource) -> bool:
    """An Istio ingress gateway release (the `gateway` chart without `networkGateway`, i.e. not east-west)."""
    return r.type == HELM_RELEASE and is_istio_chart(r.props, "gateway") and not get(r.props, "values.networkGateway")


def proves_gateway(rule: Mapping[str, Any]) -> bool:
    """True when only a request through the external gateway can match `rule`: an exact value of a
    request header (a secret only the gateway sends) or an exact request principal (the gateway's
    own token). Wildcards (`*`, `issuer/*`) match any client and prove nothing."""
    for condition in items(rule.get("when")):
        key = str(get(condition, "key") or "")
        values = [str(v) for v in items(get(condition, "values"))]
        if key.startswith("request.headers[") and values and all(v and "*" not in v for v in values):
            return True
    for source in items(rule.get("from")):
        principals = [str(p) for p in items(get(source, "source.requestPrincipals"))]
        if principals and all("*" not in p for p in principals):
            return True
    return False


def _ingress_only_from_gateway(resources: Sequence[StackResource]) -> list[Violation]:
    if not any(r.type in EXTERNAL_GATEWAY_TYPES for r in resources):
        return []
    out: list[Violation] = []
    for provider, objects in sorted(_by_provider(resources).items()):
        for release in (r for r in objects if _is_ingress_release(r)):
            namespace = namespace_of(release.props, release.type)
            allows = [
                r
                for r in objects
                if kubernetes_kind(r.type) == "AuthorizationPolicy"
                and api_group(r.type) == SECURITY
                and namespace_of(r.props, r.type) == namespace
                and get(r.props, "spec.action", "ALLOW") == "ALLOW"
                and items(get(r.props, "spec.rules"))
            ]
            if not allows:
                out.append(
                    Violation(
                        f"Istio ingress {release.name} (namespace {namespace}, "
                        f"provider {provider}) sits behind an external "
                        "API gateway but admits any caller that reaches it: add an ALLOW AuthorizationPolicy whose "
                        "rules require the gateway's proof (its secret header or its own request principal)",
                        release.urn,
                    )
                )
            for policy in allows:
                rules = items(get(policy.props, "spec.rules"))
                loose = [str(i) for i, rule in enumerate(rules) if not proves_gateway(mapping(rule))]
                if loose:
                    out.append(
                        Violation(
                            f"AuthorizationPolicy {namespace}/{get(policy.props, 'metadata.name')} "
                            "on the ingress behind the "
                            f"external API gateway: rule(s) {', '.join(loose)} admit requests without the gateway's "
                            "proof (exact secret header or exact request principal), so clients can bypass the gateway",
                            policy.urn,
                        )
                    )
    return out


CLOUD_CLUSTERS = ("aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster")
PLUGGED_IN_CA_KEY = "ca-key.pem"


def _self_managed_ca_on_cloud(resources: Sequence[StackResource]) -> list[Violation]:
    """A `cacerts` Secret carrying `ca-key.pem` on a stack that creates EKS/GKE clusters: the CA key came
    from the program, so it is in the state (a managed CA's cacerts is written by cert-manager instead)."""
    if not any(r.type in CLOUD_CLUSTERS for r in resources):
        return []
    out: list[Violation] = []
    for r in resources:
        if kubernetes_kind(r.type) != "Secret" or get(r.props, "metadata.name") != "cacerts":
            continue
        data = {**mapping(r.props.get("data")), **mapping(r.props.get("stringData"))}
        if PLUGGED_IN_CA_KEY in data:
            out.append(
                Violation(
                    f"Secret {ROOT_NAMESPACE}/cacerts ({r.name}) plugs a CA key generated by the program into a "
                    "cloud cluster: the key is in the stack's state; use meshgate:istio.ca.kind aws-private-ca "
                    "or google-cas",
                    r.urn,
                )
            )
    return out


STACK_CHECKS: tuple[StackCheck, ...] = (
    StackCheck(
        "istio-mesh-wide-strict",
        "Every cluster running Istio has a mesh-wide STRICT PeerAuthentication in istio-system.",
        Level.MANDATORY,
        "Istio security best practices (mutual TLS: STRICT mesh-wide); "
        "docs/upstream-facts.md#the-four-scenarios (every scenario's baseline)",
        _mesh_wide_strict,
    ),
    StackCheck(
        "k8s-crds-before-custom-resources",
        "Custom resources depend on the chart or manifest that installs their CRDs.",
        Level.MANDATORY,
        "docs/upstream-facts.md#istio-installation (no matches for kind)",
        _crds_first,
    ),
    StackCheck(
        "ingress-only-from-external-gateway",
        "An Istio ingress behind an external API gateway admits only requests "
        "carrying the gateway's proof (secret header or its request principal).",
        Level.MANDATORY,
        "Istio security best practices (authorization at ingress gateways); AWS HTTP API "
        "parameter mapping; GCP API Gateway backend authentication (x-google-backend jwt_audience)",
        _ingress_only_from_gateway,
    ),
    StackCheck(
        "mesh-ca-managed-on-cloud",
        "A stack with EKS or GKE clusters keeps the mesh's CA keys out of its state (a managed root of trust).",
        Level.ADVISORY,
        "Istio: Plug in CA certificates (keep the root key offline); AWS Private CA / Google CAS with cert-manager",
        _self_managed_ca_on_cloud,
    ),
    StackCheck(
        "istio-default-deny",
        "Namespaces with ALLOW AuthorizationPolicies also carry an allow-nothing baseline.",
        Level.ADVISORY,
        "Istio security best practices (default-deny authorization); "
        "docs/upstream-facts.md#scenario-3-kong-with-a-sidecar",
        _default_deny,
    ),
)
