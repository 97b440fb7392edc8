"""Gateway checks: who can configure the gateway, and whether credentials can travel in plaintext.

* `kong-admin-api-authenticated` (per resource): a Kong chart release whose admin API listens
  beyond localhost must require client certificates (`admin.tls.client.caBundle` or
  `admin.tls.client.secretName`, or the injected directives themselves in `env`:
  `nginx_admin_ssl_verify_client: "on"` with `nginx_admin_ssl_client_certificate`), no `env`/`customEnv`
  entry may turn that check off (they override what the chart sets), and the plaintext admin listener
  stays closed. In DB-less mode anyone who reaches the admin API can `POST /config` and replace every
  route, plugin and credential.
* `kong-admin-reachable-only-from-controller` (stack): the admin API is also closed on the network:
  its Service is ClusterIP (the chart's default is NodePort), and a NetworkPolicy selects the gateway
  pods whose every ingress rule admitting the admin port names only the controller pods (policies
  add up, so one open rule anywhere opens the port).
* `external-gateway-upstream-verified` (stack): a cloud API gateway (AWS HTTP API, GCP API
  Gateway) reaches its upstream over TLS it verifies — an `https://` URL, or a VPC-link integration
  with `tlsConfig.serverNameToVerify` — and the Istio ingress serving that hostname terminates TLS
  (`SIMPLE`/`MUTUAL`) with a certificate the program does not sign itself (a cloud gateway trusts
  only public CAs, so a `tls` provider certificate would fail every request).
* `gateway-credentials-https-only` (stack): a route that takes credentials (an API key, a JWT)
  is not served over plain HTTP — a Kong Ingress with an authentication plugin, or whose backend
  validates JWTs, lists only TLS protocols (`konghq.com/protocols`); a Gateway API HTTPRoute of
  such an API forwards only from HTTPS listeners (on an HTTP listener it may only redirect).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .istio import GATEWAY_API, KONG, SECURITY, chart_name, is_kong_chart
from .model import (
    HELM_RELEASE,
    Check,
    Level,
    StackCheck,
    StackResource,
    Violation,
    api_group,
    get,
    is_true,
    items,
    kubernetes_kind,
    mapping,
    of_types,
)

# --------------------------------------------------------------------------- Kong admin API

# Where a Kong chart takes its gateway values: kong/ingress nests the kong/kong chart under `gateway`.
_GATEWAY_VALUES = {"ingress": "gateway", "kong": ""}
# Defaults of the pinned charts (kong/kong values.yaml; kong/ingress sets gateway.admin.enabled: true).
_ADMIN_ENABLED_BY_DEFAULT = {"ingress": True, "kong": False}


# kong/kong values.yaml: `admin.type: NodePort`, `admin.tls.containerPort: 8444`.
_ADMIN_SERVICE_TYPE_DEFAULT = "NodePort"
_ADMIN_TLS_PORT_DEFAULT = 8444


def _listening_admin(props: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """(`values.<…>admin`, the admin values) of a Kong release whose admin API listens beyond localhost."""
    if not is_kong_chart(props):
        return None
    chart = chart_name(props)
    prefix = _GATEWAY_VALUES[chart]
    values = mapping(props.get("values"))
    gateway = mapping(get(values, prefix)) if prefix else values
    admin = mapping(gateway.get("admin"))
    enabled = admin.get("enabled", _ADMIN_ENABLED_BY_DEFAULT[chart])
    if not is_true(enabled) and not admin.get("addresses"):
        return None  # the chart binds the admin API to 127.0.0.1 and [::1]
    return f"values.{prefix + '.' if prefix else ''}admin", admin


_VERIFY_CLIENT = "KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT"
_CLIENT_CA = "KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE"


def _kong_env(props: Mapping[str, Any]) -> dict[str, Any]:
    """The Kong container's variables a release sets itself: `env.<key>` becomes `KONG_<KEY>`,
    `customEnv.<key>` `<KEY>`; both override what the chart derives from other values (kong/kong
    3.2.0 `kong.env`: mergeOverwrite of the chart's, `env`'s and `customEnv`'s variables)."""
    values = mapping(props.get("values"))
    prefix = _GATEWAY_VALUES[chart_name(props)]
    gateway = mapping(get(values, prefix)) if prefix else values
    out = {f"KONG_{str(k).upper()}": v for k, v in mapping(gateway.get("env")).items()}
    out.update({str(k).upper(): v for k, v in mapping(gateway.get("customEnv")).items()})
    return out


def _admin_api_authenticated(_: str, props: Mapping[str, Any]) -> list[str]:
    listening = _listening_admin(props)
    if listening is None:
        return []
    where, admin = listening
    out: list[str] = []
    client = mapping(get(admin, "tls.client"))
    env = _kong_env(props)
    verify = env.get(_VERIFY_CLIENT)
    env_values = where.removesuffix("admin") + "env"
    if verify is not None and str(verify) != "on":
        out.append(
            f"{env_values} sets {_VERIFY_CLIENT}={verify!r}, which replaces the client-certificate check "
            "(only 'on' rejects clients without a certificate)"
        )
    elif not (client.get("caBundle") or client.get("secretName") or (verify is not None and env.get(_CLIENT_CA))):
        out.append(
            f"{where} accepts clients without a certificate: set {where}.tls.client.caBundle (or secretName), or "
            f'{env_values}.nginx_admin_ssl_verify_client: "on" with nginx_admin_ssl_client_certificate, and '
            "ingressController.adminApi.tls.client on the controller, "
            "or anyone reaching the admin port can POST /config"
        )
    if is_true(get(admin, "http.enabled")):
        out.append(f"{where}.http.enabled opens a plaintext admin listener that no client certificate protects")
    return out


def kong_pod_labels(props: Mapping[str, Any], component: str) -> dict[str, str]:
    """Selector labels of a Kong chart's pods: kong/ingress names them by the subchart alias
    (`gateway`, `controller`), kong/kong by its own name; the instance is the release name."""
    name = component if chart_name(props) == "ingress" else "kong"
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": str(props.get("name") or ""),
        "app.kubernetes.io/component": "app",
    }


def _selects(selector: Any, labels: Mapping[str, str]) -> bool:
    """A LabelSelector's matchLabels pick pods with `labels` (matchExpressions count as not picking)."""
    selector = mapping(selector)
    if get(selector, "matchExpressions"):
        return False
    return all(labels.get(k) == v for k, v in mapping(selector.get("matchLabels")).items())


def _admits_port(rule: Mapping[str, Any], port: int) -> bool:
    ports = items(rule.get("ports"))
    return not ports or any(get(p, "port") in (None, port, float(port)) for p in ports)


def _admin_reachable_only_from_controller(resources: Sequence[StackResource]) -> list[Violation]:
    out: list[Violation] = []
    for release in (r for r in resources if r.type == HELM_RELEASE):
        listening = _listening_admin(release.props)
        if listening is None:
            continue
        where, admin = listening
        service_type = str(admin.get("type") or _ADMIN_SERVICE_TYPE_DEFAULT)
        if service_type != "ClusterIP":
            out.append(
                Violation(
                    f"{release.name}: {where}.type is {service_type}: the admin API is reachable from outside "
                    f"the cluster; set {where}.type: ClusterIP (the controller reaches it inside the cluster)",
                    release.urn,
                )
            )
        port = int(get(admin, "tls.containerPort") or _ADMIN_TLS_PORT_DEFAULT)
        namespace = str(release.props.get("namespace") or "default")
        gateway = kong_pod_labels(release.props, "gateway")
        controller = kong_pod_labels(release.props, "controller")
        policies = [
            r
            for r in resources
            if _kind(r, "NetworkPolicy", "networking.k8s.io")
            and r.provider == release.provider
            and _ns(r) == namespace
            and _selects(get(r.props, "spec.podSelector"), gateway)
            and ("Ingress" in items(get(r.props, "spec.policyTypes")) or get(r.props, "spec.ingress"))
        ]
        if not policies:
            out.append(
                Violation(
                    f"{release.name}: no NetworkPolicy selects the Kong gateway pods in {namespace}: every pod "
                    f"of the cluster can reach the admin port {port}; admit it from the controller pods only",
                    release.urn,
                )
            )
        for policy in policies:
            for index, rule in enumerate(items(get(policy.props, "spec.ingress"))):
                rule = mapping(rule)
                if not _admits_port(rule, port):
                    continue
                peers = [mapping(p) for p in items(rule.get("from"))]
                if not peers or not all(
                    set(p) == {"podSelector"}
                    and _selects(p["podSelector"], controller)
                    and mapping(p["podSelector"]).get("matchLabels")
                    for p in peers
                ):
                    out.append(
                        Violation(
                            f"NetworkPolicy {namespace}/{_name(policy)} spec.ingress[{index}] admits the Kong admin "
                            f"port {port} from more than the controller pods ({controller}): NetworkPolicies add "
                            "up, so this rule opens the admin API",
                            policy.urn,
                        )
                    )
    return out


# --------------------------------------------------------------------------- external gateway -> ingress TLS

AWS_INTEGRATION = "aws:apigatewayv2/integration:Integration"
GCP_API_CONFIG = "gcp:apigateway/apiConfig:ApiConfig"
TERMINATING_TLS_MODES = frozenset({"SIMPLE", "MUTUAL"})


def _upstreams(r: StackResource) -> list[tuple[str, str | None]]:
    """(what, hostname verified or None when the hop is not verified TLS) of one external gateway resource."""
    if r.type == AWS_INTEGRATION:
        what = f"integration {r.name}"
        if r.props.get("connectionType") == "VPC_LINK":
            name = get(r.props, "tlsConfig.serverNameToVerify")
            return [(what, str(name) if name else None)]
        uri = str(r.props.get("integrationUri") or "")
        return [(what, uri.removeprefix("https://").split("/", 1)[0] if uri.startswith("https://") else None)]
    out: list[tuple[str, str | None]] = []
    for doc in items(r.props.get("openapiDocuments")):
        contents = get(doc, "document.contents")
        if not isinstance(contents, str):
            continue  # unknown at preview
        try:
            spec = json.loads(base64.b64decode(contents))
        except ValueError:
            continue
        for path, operations in mapping(spec.get("paths")).items():
            for operation in mapping(operations).values():
                address = str(get(operation, "x-google-backend.address") or "")
                host = address.removeprefix("https://").split("/", 1)[0] if address.startswith("https://") else None
                out.append((f"API config {r.name} path {path}", host))
    return out


def _host_matches(pattern: str, host: str) -> bool:
    pattern = pattern.split("/", 1)[-1]  # Istio Gateway hosts may carry a namespace/ prefix
    return pattern == host or (pattern.startswith("*.") and host.endswith(pattern[1:]))


def _upstream_verified(resources: Sequence[StackResource]) -> list[Violation]:
    gateways = [r for r in resources if _kind(r, "Gateway", "networking.istio.io")]
    by_urn = {r.urn: r for r in resources}
    out: list[Violation] = []
    for r in (r for r in resources if r.type in (AWS_INTEGRATION, GCP_API_CONFIG)):
        for what, host in _upstreams(r):
            if host is None:
                out.append(
                    Violation(
                        f"{what} reaches its upstream without TLS it verifies: use an https:// URL or, over a VPC "
                        "link, tlsConfig.serverNameToVerify",
                        r.urn,
                    )
                )
                continue
            servers = [
                (g, mapping(server))
                for g in gateways
                for server in items(get(g.props, "spec.servers"))
                if any(_host_matches(str(h), host) for h in items(get(server, "hosts")))
                and str(get(server, "port.protocol", "")).upper() in ("HTTPS", "TLS")
            ]
            if not servers:
                out.append(Violation(f"{what}: no Istio Gateway server terminates TLS for {host}", r.urn))
            for gateway, server in servers:
                mode = str(get(server, "tls.mode") or "")
                secret = str(get(server, "tls.credentialName") or "")
                signed_here = [
                    s
                    for s in resources
                    if _kind(s, "Secret")
                    and s.provider == gateway.provider
                    and _ns(s) == _ns(gateway)
                    and _name(s) == secret
                    and any(by_urn.get(d, s).type.startswith("tls:") for d in s.dependencies)
                ]
                if mode not in TERMINATING_TLS_MODES or not secret:
                    out.append(
                        Violation(
                            f"{what}: Gateway {_ns(gateway)}/{_name(gateway)} serves {host} with TLS mode "
                            f"{mode or 'unset'}{'' if secret else ' and no credentialName'}: the external gateway "
                            "has no certificate to verify",
                            r.urn,
                        )
                    )
                elif signed_here:
                    out.append(
                        Violation(
                            f"{what}: Gateway {_ns(gateway)}/{_name(gateway)} serves {host} with Secret {secret}, "
                            "signed by the program's own CA: the external gateway trusts only publicly trusted "
                            "certificates, so every request would fail verification",
                            r.urn,
                        )
                    )
    return out


# --------------------------------------------------------------------------- credentials over HTTPS only

AUTH_PLUGINS = frozenset(
    {
        "key-auth",
        "key-auth-enc",
        "jwt",
        "basic-auth",
        "hmac-auth",
        "oauth2",
        "ldap-auth",
        "ldap-auth-advanced",
        "openid-connect",
    }
)
PLAINTEXT_PROTOCOLS = frozenset({"http", "grpc", "ws"})
KONG_DEFAULT_PROTOCOLS = "http,https"
ROOT_NAMESPACE = "istio-system"


def _ns(r: StackResource) -> str:
    return str(get(r.props, "metadata.namespace") or "default")


def _name(r: StackResource) -> str:
    return str(get(r.props, "metadata.name") or r.name)


def _kind(r: StackResource, kind: str, group: str | None = None) -> bool:
    return kubernetes_kind(r.type) == kind and (group is None or api_group(r.type) == group)


class _Cluster:
    """What one cluster's objects say about credentials: auth plugins, JWT-validating workloads, gateway JWT paths."""

    def __init__(self, objects: Sequence[StackResource]) -> None:
        self.plugins = {
            (_ns(r), _name(r)): str(r.props.get("plugin") or "") for r in objects if _kind(r, "KongPlugin", KONG)
        }
        self.selectors = {
            (_ns(r), _name(r)): dict(mapping(get(r.props, "spec.selector")))
            for r in objects
            if _kind(r, "Service", "") and get(r.props, "spec.selector")
        }
        self.jwt_workloads = [
            (_ns(r), dict(mapping(get(r.props, "spec.selector.matchLabels"))))
            for r in objects
            if _kind(r, "RequestAuthentication", SECURITY)
        ]
        self.jwt_paths: dict[str, set[str]] = {}
        for r in objects:
            if not _kind(r, "AuthorizationPolicy", SECURITY) or get(r.props, "spec.action", "ALLOW") != "ALLOW":
                continue
            for rule in items(get(r.props, "spec.rules")):
                if not any(get(s, "source.requestPrincipals") for s in items(get(rule, "from"))):
                    continue
                for to in items(get(rule, "to")):
                    self.jwt_paths.setdefault(_ns(r), set()).update(
                        p for p in items(get(to, "operation.paths")) if isinstance(p, str)
                    )
        self.gateways = {
            (_ns(r), _name(r)): [mapping(listener) for listener in items(get(r.props, "spec.listeners"))]
            for r in objects
            if _kind(r, "Gateway", GATEWAY_API)
        }

    def backend_validates_jwt(self, namespace: str, service: str) -> bool:
        """A RequestAuthentication selects the Service's pods (its selector, else meshgate's `app: <name>`)."""
        labels = self.selectors.get((namespace, service), {"app": service})
        for where, match in self.jwt_workloads:
            if (where == namespace or (where == ROOT_NAMESPACE and not match)) and all(
                labels.get(k) == v for k, v in match.items()
            ):
                return True
        return False


def _ingress_backends(r: StackResource) -> list[str]:
    names = [get(r.props, "spec.defaultBackend.service.name")]
    for rule in items(get(r.props, "spec.rules")):
        names += [get(p, "backend.service.name") for p in items(get(rule, "http.paths"))]
    return [n for n in names if isinstance(n, str)]


def _kong_ingress(r: StackResource, cluster: _Cluster) -> Violation | None:
    annotations = mapping(get(r.props, "metadata.annotations"))
    ingress_class = get(r.props, "spec.ingressClassName") or annotations.get("kubernetes.io/ingress.class")
    if ingress_class != "kong":
        return None
    namespace = _ns(r)
    attached = [p.strip() for p in str(annotations.get("konghq.com/plugins") or "").split(",") if p.strip()]
    auth = [p for p in attached if cluster.plugins.get((namespace, p)) in AUTH_PLUGINS]
    jwt = [s for s in _ingress_backends(r) if cluster.backend_validates_jwt(namespace, s)]
    if not auth and not jwt:
        return None
    protocols = {p.strip() for p in str(annotations.get("konghq.com/protocols") or KONG_DEFAULT_PROTOCOLS).split(",")}
    plain = sorted(protocols & PLAINTEXT_PROTOCOLS)
    if not plain:
        return None
    why = f"plugin {', '.join(auth)}" if auth else f"backend {', '.join(jwt)} validates JWTs"
    return Violation(
        f"Ingress {namespace}/{_name(r)} takes credentials ({why}) but Kong serves it over {', '.join(plain)}: "
        'set konghq.com/protocols: "https" and konghq.com/https-redirect-status-code',
        r.urn,
    )


def _route_paths(r: StackResource) -> list[str]:
    return [
        str(get(m, "path.value"))
        for rule in items(get(r.props, "spec.rules"))
        for m in items(get(rule, "matches"))
        if get(m, "path.value")
    ]


def _plain_listeners(listeners: list[Mapping[str, Any]], parent: Mapping[str, Any]) -> list[str]:
    section, port = parent.get("sectionName"), parent.get("port")
    return [
        str(listener.get("name"))
        for listener in listeners
        if listener.get("protocol") == "HTTP"
        and (section is None or listener.get("name") == section)
        and (port is None or listener.get("port") == port)
    ]


def _http_route(r: StackResource, cluster: _Cluster) -> Violation | None:
    namespace = _ns(r)
    forwards = [rule for rule in items(get(r.props, "spec.rules")) if items(get(rule, "backendRefs"))]
    if not forwards:
        return None  # redirects only
    backends = [get(b, "name") for rule in forwards for b in items(get(rule, "backendRefs"))]
    jwt_backend = any(isinstance(b, str) and cluster.backend_validates_jwt(namespace, b) for b in backends)
    for parent in items(get(r.props, "spec.parentRefs")):
        parent = mapping(parent)
        if parent.get("kind", "Gateway") != "Gateway":
            continue
        gateway = (str(parent.get("namespace") or namespace), str(parent.get("name")))
        listeners = cluster.gateways.get(gateway)
        if listeners is None:
            continue
        jwt_at_gateway = bool(set(_route_paths(r)) & cluster.jwt_paths.get(gateway[0], set()))
        plain = _plain_listeners(listeners, parent)
        if (jwt_backend or jwt_at_gateway) and plain:
            return Violation(
                f"HTTPRoute {namespace}/{_name(r)} takes JWTs but forwards from the plain-HTTP listener "
                f"{', '.join(plain)} of Gateway {gateway[0]}/{gateway[1]}: attach it with parentRefs[].sectionName to "
                "the HTTPS listener and redirect HTTP with a RequestRedirect filter (scheme https)",
                r.urn,
            )
    return None


def _credentials_https_only(resources: Sequence[StackResource]) -> list[Violation]:
    by_provider: dict[str, list[StackResource]] = {}
    for r in resources:
        if r.type.startswith("kubernetes:") and r.type != HELM_RELEASE:
            by_provider.setdefault(r.provider, []).append(r)
    out: list[Violation] = []
    for _, objects in sorted(by_provider.items()):
        cluster = _Cluster(objects)
        for r in objects:
            found = None
            if _kind(r, "Ingress", "networking.k8s.io"):
                found = _kong_ingress(r, cluster)
            elif _kind(r, "HTTPRoute", GATEWAY_API):
                found = _http_route(r, cluster)
            if found is not None:
                out.append(found)
    return out


CHECKS: tuple[Check, ...] = (
    Check(
        "kong-admin-api-authenticated",
        "Kong's admin API accepts only clients with a certificate (the ingress controller), never plaintext.",
        Level.MANDATORY,
        "Kong charts README (Admin Service mTLS; gateway discovery: anyone "
        "reaching the admin API configures the gateway); meshgate gateway hardening",
        of_types(HELM_RELEASE),
        _admin_api_authenticated,
    ),
)

STACK_CHECKS: tuple[StackCheck, ...] = (
    StackCheck(
        "kong-admin-reachable-only-from-controller",
        "Kong's admin API is reachable only from its ingress controller: ClusterIP Service, and a "
        "NetworkPolicy on the gateway pods admitting the admin port from the controller pods only.",
        Level.MANDATORY,
        "Kong charts README (gateway discovery: the controller configures the gateway through the admin "
        "API); Kubernetes NetworkPolicy semantics (policies are additive); meshgate gateway hardening",
        _admin_reachable_only_from_controller,
    ),
    StackCheck(
        "external-gateway-upstream-verified",
        "Cloud API gateways reach the Istio ingress over TLS they verify (https:// or VPC link "
        "serverNameToVerify), served with a certificate the program does not sign itself.",
        Level.MANDATORY,
        "AWS API Gateway HTTP API private integrations (tlsConfig.serverNameToVerify; publicly trusted "
        "certificates only); GCP API Gateway x-google-backend (https backends, public CAs); Istio Gateway TLS modes",
        _upstream_verified,
    ),
    StackCheck(
        "gateway-credentials-https-only",
        "Routes that take API keys or JWTs are served over HTTPS only (plain HTTP redirects).",
        Level.MANDATORY,
        "OWASP API Security Top 10 API2 (credentials sent over unencrypted channels); meshgate gateway hardening",
        _credentials_https_only,
    ),
)
