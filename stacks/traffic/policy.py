"""Istio's documented authentication and authorization semantics, evaluated for one request.

No engine and no cluster: the input is the PeerAuthentication, RequestAuthentication,
AuthorizationPolicy and NetworkPolicy objects of one cluster (as the program registers them) and one request
(who calls which workload on which target port, with or without a valid token). Sources:

- PeerAuthentication: https://istio.io/latest/docs/reference/config/security/peer_authentication/
  and https://istio.io/latest/docs/concepts/security/#peer-authentication — a workload-selector
  policy wins over the namespace policy, which wins over the mesh policy in the root namespace;
  `UNSET` inherits; `portLevelMtls` (workload policies only) is keyed by the workload's port;
  STRICT refuses plaintext, PERMISSIVE accepts both, DISABLE turns mTLS off (no peer identity).
  With nothing set the mode is PERMISSIVE.
- RequestAuthentication: https://istio.io/latest/docs/reference/config/security/request_authentication/
  — a request with an invalid token is rejected, one without a token is admitted with no
  request identity. A token only yields a request principal (`<iss>/<sub>`) at a workload
  whose RequestAuthentication has a rule for its issuer.
- AuthorizationPolicy: https://istio.io/latest/docs/reference/config/security/authorization-policy/
  and https://istio.io/latest/docs/concepts/security/#authorization — CUSTOM, then DENY, then
  ALLOW; with no ALLOW policy on the workload the request is allowed, with one it is allowed only
  if an ALLOW rule matches (`spec: {}` allows nothing, a rule `{}` matches everything);
  `principals`/`namespaces` need an mTLS peer identity, `requestPrincipals` a validated token;
  values match exactly, by prefix (`abc*`), by suffix (`*abc`), or `*` for any non-empty value.

- NetworkPolicy: https://kubernetes.io/docs/concepts/services-networking/network-policies/ —
  evaluated before the sidecar sees anything: a pod that no Ingress policy selects admits every
  connection; one that some select admits a connection only if a rule of one of them matches
  (its `ports`, empty = all; its `from` peers, empty = everyone; a peer with `podSelector` alone
  means pods of the policy's namespace, with `namespaceSelector` alone every pod of the matching
  namespaces, with both the matching pods of the matching namespaces). Traffic from the pod's own
  node (kubelet probes) is always allowed, so it is not a source here.

What an offline query cannot know (source IPs, hosts, headers, claims) makes a field not
match, and the decision says so in `notes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_MODE = "PERMISSIVE"
ANY_SUBJECT = "<sub>"
"""The subject of the token in a query: unknown, so only principal patterns that cover every subject match."""


@dataclass(frozen=True)
class IstioObject:
    """One registered Istio security object."""

    kind: str
    namespace: str
    name: str
    spec: Mapping[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def selects(self, workload: Workload, root_namespace: str) -> bool:
        """Whether the object applies to `workload`: its namespace (or the root namespace) and its selector."""
        if self.namespace not in (workload.namespace, root_namespace):
            return False
        labels: Mapping[str, str] = (self.spec.get("selector") or {}).get("matchLabels") or {}
        return all(workload.labels.get(k) == v for k, v in labels.items())


@dataclass(frozen=True)
class Workload:
    """The pods behind a Service: their namespace, pod labels, and whether a sidecar is injected."""

    namespace: str
    labels: Mapping[str, str]
    sidecar: bool = True


@dataclass(frozen=True)
class Pod:
    """The calling pod as a NetworkPolicy sees it: its namespace and its labels (as far as known)."""

    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Caller:
    """Who opens the connection. `principal` (`<trustDomain>/ns/<ns>/sa/<sa>`) is None for a caller
    without a sidecar: it connects in plaintext and has no peer identity. `pod` is None for a pod
    of unknown namespace and labels (it matches only peers that admit every pod)."""

    principal: str | None
    pod: Pod | None = None

    @property
    def namespace(self) -> str | None:
        parts = (self.principal or "").split("/")
        return parts[2] if len(parts) >= 5 and parts[1] == "ns" else None

    @property
    def service_account(self) -> str | None:
        parts = (self.principal or "").split("/")
        return f"{parts[2]}/{parts[4]}" if len(parts) >= 5 and parts[3] == "sa" else None


@dataclass(frozen=True)
class Request:
    """One request: `port` is the workload's (target) port; `issuer` of a valid token, if it carries one."""

    caller: Caller
    target: Workload
    port: int
    path: str = "/"
    method: str = "GET"
    issuer: str | None = None


@dataclass(frozen=True)
class Policies:
    """The security objects of one cluster and its root namespace (meshConfig.rootNamespace)."""

    root_namespace: str
    objects: Sequence[IstioObject] = ()
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def of_kind(self, kind: str, workload: Workload) -> list[IstioObject]:
        return [o for o in self.objects if o.kind == kind and o.selects(workload, self.root_namespace)]


@dataclass(frozen=True)
class Decision:
    """The verdict, the object that decided it ("no policy: allowed" when none did), and why."""

    allowed: bool
    decided_by: str
    reason: str
    mtls: bool
    notes: tuple[str, ...] = ()
    mode: str = DEFAULT_MODE  # the mTLS mode on the target port
    mode_set_by: str | None = None  # the PeerAuthentication that set it (None: Istio's default)

    @property
    def verdict(self) -> str:
        return "allow" if self.allowed else "deny"


NO_POLICY = "no policy: allowed"


# --------------------------------------------------------------------------- peer authentication


def _mode(value: Any) -> str | None:
    mode = (value or {}).get("mode") if isinstance(value, Mapping) else None
    return None if mode in (None, "UNSET") else str(mode)


def peer_mode(policies: Policies, workload: Workload, port: int) -> tuple[str, IstioObject | None, list[str]]:
    """The mTLS mode on `port` of `workload`, the PeerAuthentication that set it (None: Istio's
    default), and notes (several policies at one level: Istio applies the oldest)."""
    notes: list[str] = []
    root = policies.root_namespace
    found = [o for o in policies.of_kind("PeerAuthentication", workload)]
    mesh = [o for o in found if o.namespace == root and not o.spec.get("selector")]
    namespace = [o for o in found if o.namespace == workload.namespace != root and not o.spec.get("selector")]
    # selector policies in the root namespace are ignored (PeerAuthentication reference)
    selected = [o for o in found if o.namespace == workload.namespace != root and o.spec.get("selector")]
    mode, decided = DEFAULT_MODE, None
    for level in (mesh, namespace, selected):
        if len(level) > 1:
            notes.append(
                f"{len(level)} PeerAuthentications at one level ({', '.join(o.name for o in level)}): "
                f"Istio applies the oldest; taken: {level[0].name} (registered first)"
            )
        if level and _mode(level[0].spec.get("mtls")) is not None:
            mode, decided = str(_mode(level[0].spec.get("mtls"))), level[0]
    if selected:
        port_level: Mapping[str, Any] = selected[0].spec.get("portLevelMtls") or {}
        override = _mode(port_level.get(str(port), port_level.get(port)))  # pyright: ignore[reportCallIssue, reportArgumentType]
        if override is not None:
            mode, decided = override, selected[0]
    return mode, decided, notes


# --------------------------------------------------------------------------- value matching


def value_matches(pattern: str, value: str) -> bool:
    """Istio string matching: exact, `prefix*`, `*suffix`, and `*` for any non-empty value."""
    if pattern == "*":
        return value != ""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _any(patterns: Iterable[Any], value: str) -> bool:
    return any(value_matches(str(p), value) for p in patterns)


@dataclass
class _Facts:
    """What the request shows to a rule; attributes an offline query cannot know are `unknown`."""

    principal: str
    namespace: str
    service_account: str
    request_principal: str
    port: str
    path: str
    method: str
    unknown: list[str] = field(default_factory=list)

    def field_matches(self, name: str, values: Sequence[Any], known: str | None) -> bool:
        """`name` (positive or `notX`) against `known`; None marks an attribute the query cannot know."""
        if known is None:
            self.unknown.append(name)
            return False
        hit = _any(values, known)
        return not hit if name.startswith("not") else hit


def _source_matches(source: Mapping[str, Any], facts: _Facts) -> bool:
    known = {
        "principals": facts.principal,
        "namespaces": facts.namespace,
        "serviceAccounts": facts.service_account,
        "requestPrincipals": facts.request_principal,
        "ipBlocks": None,
        "remoteIpBlocks": None,
    }
    return _fields_match(source, known, facts)


def _operation_matches(operation: Mapping[str, Any], facts: _Facts) -> bool:
    known = {"ports": facts.port, "paths": facts.path, "methods": facts.method, "hosts": None}
    return _fields_match(operation, known, facts)


def _fields_match(spec: Mapping[str, Any], known: Mapping[str, str | None], facts: _Facts) -> bool:
    for name, values in spec.items():
        base = name[3].lower() + name[4:] if name.startswith("not") else name
        if base not in known:
            facts.unknown.append(name)
            return False
        if not facts.field_matches(name, list(values or []), known[base]):
            return False
    return True


_CONDITION_KEYS = {
    "source.principal": "principal",
    "source.namespace": "namespace",
    "request.auth.principal": "request_principal",
    "destination.port": "port",
}


def _condition_matches(condition: Mapping[str, Any], facts: _Facts) -> bool:
    key = str(condition.get("key", ""))
    attribute = _CONDITION_KEYS.get(key)
    if attribute is None:
        facts.unknown.append(f"when {key}")
        return False
    value = str(getattr(facts, attribute))
    values, excluded = condition.get("values") or [], condition.get("notValues") or []
    return (not values or _any(values, value)) and not (excluded and _any(excluded, value))


def rule_matches(rule: Mapping[str, Any], facts: _Facts) -> bool:
    """A rule matches when one of its `from`, one of its `to` and all of its `when` match (absent = any)."""
    sources = rule.get("from") or []
    if sources and not any(_source_matches(s.get("source") or {}, facts) for s in sources):
        return False
    operations = rule.get("to") or []
    if operations and not any(_operation_matches(o.get("operation") or {}, facts) for o in operations):
        return False
    return all(_condition_matches(c, facts) for c in rule.get("when") or [])


def _matching(policy: IstioObject, facts: _Facts) -> bool:
    return any(rule_matches(rule or {}, facts) for rule in policy.spec.get("rules") or [])


# --------------------------------------------------------------------------- the decision


def _request_principal(policies: Policies, request: Request) -> tuple[str, Decision | None, list[str]]:
    """The request principal the token yields at the workload, or a rejection by RequestAuthentication."""
    if request.issuer is None:
        return "", None, []
    rules = policies.of_kind("RequestAuthentication", request.target)
    if not rules:
        return "", None, ["the token is not validated here (no RequestAuthentication): no request principal"]
    issuers = {str(r.get("issuer")) for o in rules for r in o.spec.get("jwtRules") or []}
    if request.issuer in issuers:
        return f"{request.issuer}/{ANY_SUBJECT}", None, []
    rejected = Decision(
        False,
        rules[0].ref,
        f"token issuer {request.issuer} is not one of its jwtRules: invalid token, rejected (401)",
        mtls=False,
    )
    return "", rejected, []


def decide(policies: Policies, request: Request) -> Decision:
    """Whether Kubernetes' NetworkPolicies and Istio let `request` through, and which object decided."""
    if not request.target.sidecar:
        decision = Decision(True, NO_POLICY, "the target has no sidecar: no Istio policy is enforced", mtls=False)
    else:
        mode, peer_policy, notes = peer_mode(policies, request.target, request.port)
        decision = _decide(policies, request, mode, peer_policy, notes)
        decision = replace(decision, mode=mode, mode_set_by=peer_policy.ref if peer_policy else None)
    dropped, admitted = network_policy_verdict(policies, request)
    if dropped is None:
        if admitted is not None and decision.allowed and decision.decided_by == NO_POLICY:
            reason = f"{admitted.ref} admits this pod on port {request.port}; {decision.reason}"
            return replace(decision, decided_by=admitted.ref, reason=reason)
        return decision
    reason = f"no ingress rule of the NetworkPolicies selecting the target admits this pod on port {request.port}"
    return replace(decision, allowed=False, decided_by=dropped.ref, reason=reason)


def _labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """A LabelSelector (matchLabels only; matchExpressions count as not matching) against known labels."""
    if selector is None:
        return True
    if selector.get("matchExpressions"):
        return False
    wanted: Mapping[str, str] = selector.get("matchLabels") or {}
    if not wanted:
        return True
    return labels is not None and all(labels.get(k) == v for k, v in wanted.items())


def _peer_matches(peer: Mapping[str, Any], policy: IstioObject, caller: Pod | None, policies: Policies) -> bool:
    if "ipBlock" in peer:
        return False  # source addresses are not known offline
    pods, namespaces = peer.get("podSelector"), peer.get("namespaceSelector")
    if namespaces is None:  # pods of the policy's own namespace
        return caller is not None and caller.namespace == policy.namespace and _labels_match(pods, caller.labels)
    namespace_labels = None
    if caller is not None:
        namespace_labels = {
            "kubernetes.io/metadata.name": caller.namespace,
            **policies.namespace_labels.get(caller.namespace, {}),
        }
    return _labels_match(namespaces, namespace_labels) and _labels_match(pods, caller.labels if caller else None)


def _port_matches(rule: Mapping[str, Any], port: int) -> bool:
    ports = rule.get("ports") or []
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        start = p.get("port")
        if start is None:
            return True
        if isinstance(start, (int, float)) and int(start) <= port <= int(p.get("endPort") or start):
            return True  # numbers (recorded inputs may carry them as floats); a named port never matches here
    return False


def network_policy_verdict(policies: Policies, request: Request) -> tuple[IstioObject | None, IstioObject | None]:
    """(the NetworkPolicy that drops the connection: the first selecting the target, the one whose
    rule admits it); both None when no NetworkPolicy selects the target."""
    selecting = [
        o
        for o in policies.objects
        if o.kind == "NetworkPolicy"
        and o.namespace == request.target.namespace
        and "Ingress" in (o.spec.get("policyTypes") or ["Ingress"])
        and _labels_match(o.spec.get("podSelector") or {}, request.target.labels)
    ]
    if not selecting:
        return None, None
    for policy in selecting:
        for rule in policy.spec.get("ingress") or []:
            peers = rule.get("from") or []
            if _port_matches(rule, request.port) and (
                not peers or any(_peer_matches(p, policy, request.caller.pod, policies) for p in peers)
            ):
                return None, policy
    return selecting[0], None


def _decide(
    policies: Policies, request: Request, mode: str, peer_policy: IstioObject | None, notes: list[str]
) -> Decision:
    sidecar_caller = request.caller.principal is not None
    mtls = sidecar_caller and mode != "DISABLE"
    connection = "mTLS" if mtls else "plaintext"
    if not sidecar_caller and mode == "STRICT":
        assert peer_policy is not None, "STRICT is never Istio's default"
        reason = f"mTLS STRICT on port {request.port}: plaintext refused"
        return Decision(False, peer_policy.ref, reason, False, tuple(notes))
    request_principal, rejected, token_notes = _request_principal(policies, request)
    notes += token_notes
    if rejected is not None:
        return replace(rejected, mtls=mtls, notes=tuple(notes))
    peer = request.caller if mtls else Caller(None)
    facts = _Facts(
        principal=peer.principal or "",
        namespace=peer.namespace or "",
        service_account=peer.service_account or "",
        request_principal=request_principal,
        port=str(request.port),
        path=request.path,
        method=request.method,
    )
    authz = policies.of_kind("AuthorizationPolicy", request.target)
    for policy in authz:
        if policy.spec.get("action") == "CUSTOM" and _matching(policy, facts):
            notes.append(f"{policy.ref} (CUSTOM) sends this request to an external authorizer; assumed to allow it")
    for policy in authz:
        if policy.spec.get("action") == "DENY" and _matching(policy, facts):
            return Decision(False, policy.ref, f"a DENY rule matches ({connection})", mtls, _with_unknown(notes, facts))
    allow = [p for p in authz if p.spec.get("action", "ALLOW") == "ALLOW"]
    if not allow:
        return Decision(True, NO_POLICY, f"no ALLOW policy selects the workload ({connection})", mtls, tuple(notes))
    for policy in allow:
        if _matching(policy, facts):
            reason = f"an ALLOW rule matches ({connection})"
            return Decision(True, policy.ref, reason, mtls, _with_unknown(notes, facts))
    allow.sort(key=lambda p: bool(p.spec.get("rules")))  # an allow-nothing policy first: it is the default deny
    reason = f"ALLOW policies select the workload and no rule of theirs matches ({connection})"
    return Decision(False, allow[0].ref, reason, mtls, _with_unknown(notes, facts))


def _with_unknown(notes: list[str], facts: _Facts) -> tuple[str, ...]:
    if facts.unknown:
        fields = ", ".join(dict.fromkeys(facts.unknown))
        notes = [*notes, f"not known to an offline query, so treated as not matching: {fields}"]
    return tuple(notes)
