"""The traffic evaluator against Istio's documentation, case by case.

Each case rebuilds an example or a sentence of the page named above it (objects written here,
not taken from the program) and asserts the outcome the page states.
"""

from __future__ import annotations

from typing import Any

from stacks.traffic.policy import (
    NO_POLICY,
    Caller,
    IstioObject,
    Pod,
    Policies,
    Request,
    Workload,
    decide,
    peer_mode,
    value_matches,
)

PA_REF = "https://istio.io/latest/docs/reference/config/security/peer_authentication/"
AUTHN = "https://istio.io/latest/docs/concepts/security/#authentication"
AP_REF = "https://istio.io/latest/docs/reference/config/security/authorization-policy/"
AUTHZ = "https://istio.io/latest/docs/concepts/security/#authorization"
RA_REF = "https://istio.io/latest/docs/reference/config/security/request_authentication/"

ROOT = "istio-system"
FINANCE = Workload("foo", {"app": "finance"})
OTHER = Workload("foo", {"app": "other"})
HTTPBIN = Workload("foo", {"app": "httpbin"})
SLEEP = Caller("cluster.local/ns/foo/sa/sleep")
PLAIN = Caller(None)
ISSUER = "issuer-foo"


def pa(name: str, spec: dict[str, Any], namespace: str = "foo") -> IstioObject:
    return IstioObject("PeerAuthentication", namespace, name, spec)


def ap(name: str, spec: dict[str, Any], namespace: str = "foo") -> IstioObject:
    return IstioObject("AuthorizationPolicy", namespace, name, spec)


def ra(name: str, spec: dict[str, Any], namespace: str = "foo") -> IstioObject:
    return IstioObject("RequestAuthentication", namespace, name, spec)


def verdict(objects: list[IstioObject], request: Request) -> tuple[str, str]:
    decision = decide(Policies(ROOT, tuple(objects)), request)
    return decision.verdict, decision.decided_by


FINANCE_SELECTOR = {"selector": {"matchLabels": {"app": "finance"}}}
HTTPBIN_SELECTOR = {"selector": {"matchLabels": {"app": "httpbin"}}}


# --------------------------------------------------------------------------- PeerAuthentication


def test_namespace_permissive_with_a_strict_workload() -> None:
    """PA_REF, "allow both mTLS and plaintext traffic for all workloads under namespace foo, but
    require mTLS for workload finance": the workload policy wins over the namespace policy."""
    objects = [
        pa("default", {"mtls": {"mode": "PERMISSIVE"}}),
        pa("finance", {**FINANCE_SELECTOR, "mtls": {"mode": "STRICT"}}),
    ]
    assert verdict(objects, Request(PLAIN, FINANCE, 8080)) == ("deny", "PeerAuthentication foo/finance")
    assert verdict(objects, Request(PLAIN, OTHER, 8080)) == ("allow", NO_POLICY)
    assert verdict(objects, Request(SLEEP, FINANCE, 8080))[0] == "allow"  # PERMISSIVE/STRICT both admit mTLS


def test_strict_workload_with_a_plaintext_port() -> None:
    """PA_REF, "enables strict mTLS for all finance workloads, but leaves the port 8080 to plaintext"."""
    objects = [
        pa("default", {**FINANCE_SELECTOR, "mtls": {"mode": "STRICT"}, "portLevelMtls": {"8080": {"mode": "DISABLE"}}})
    ]
    assert verdict(objects, Request(PLAIN, FINANCE, 8080))[0] == "allow"
    assert verdict(objects, Request(PLAIN, FINANCE, 9090)) == ("deny", "PeerAuthentication foo/default")


def test_unset_inherits_from_the_namespace_and_mesh() -> None:
    """PA_REF, "inherit mTLS mode from namespace (or mesh) settings, and overwrite settings for port 8080"
    (mode UNSET inherits from the parent)."""
    mesh = pa("default", {"mtls": {"mode": "STRICT"}}, namespace=ROOT)
    workload = pa(
        "finance", {**FINANCE_SELECTOR, "mtls": {"mode": "UNSET"}, "portLevelMtls": {"8080": {"mode": "DISABLE"}}}
    )
    assert peer_mode(Policies(ROOT, (mesh, workload)), FINANCE, 9090)[:2] == ("STRICT", mesh)
    assert peer_mode(Policies(ROOT, (mesh, workload)), FINANCE, 8080)[:2] == ("DISABLE", workload)
    assert verdict([mesh, workload], Request(PLAIN, FINANCE, 9090)) == (
        "deny",
        "PeerAuthentication istio-system/default",
    )


def test_the_root_namespace_policy_is_mesh_wide_and_the_namespace_overrides_it() -> None:
    """PA_REF "For mesh level, put the policy in root-namespace"; AUTHN (policy precedence):
    a namespace-wide policy takes precedence over the mesh-wide one."""
    mesh = pa("default", {"mtls": {"mode": "STRICT"}}, namespace=ROOT)
    assert verdict([mesh], Request(PLAIN, Workload("bar", {"app": "x"}), 80))[0] == "deny"
    namespace = pa("default", {"mtls": {"mode": "PERMISSIVE"}}, namespace="bar")
    assert verdict([mesh, namespace], Request(PLAIN, Workload("bar", {"app": "x"}), 80))[0] == "allow"


def test_a_selector_policy_in_the_root_namespace_is_ignored() -> None:
    """PA_REF: "PeerAuthentication policies with workload selectors are ignored when deployed in the root namespace"."""
    objects = [pa("finance", {**FINANCE_SELECTOR, "mtls": {"mode": "STRICT"}}, namespace=ROOT)]
    assert verdict(objects, Request(PLAIN, FINANCE, 8080)) == ("allow", NO_POLICY)


def test_without_any_policy_the_mode_is_permissive() -> None:
    """AUTHN: workloads accept both plaintext and mTLS by default (PERMISSIVE)."""
    assert peer_mode(Policies(ROOT), FINANCE, 8080)[:2] == ("PERMISSIVE", None)
    assert decide(Policies(ROOT), Request(PLAIN, FINANCE, 8080)).allowed


def test_disable_leaves_no_peer_identity_for_principal_rules() -> None:
    """PA_REF (DISABLE: the connection is not tunnelled) with AP_REF (`principals` needs mTLS):
    a sidecar caller reaches a DISABLE port in plaintext, so a principal rule cannot match it."""
    objects = [
        pa("finance", {**FINANCE_SELECTOR, "mtls": {"mode": "DISABLE"}}),
        ap("only-sleep", {**FINANCE_SELECTOR, "rules": [{"from": [{"source": {"principals": [SLEEP.principal]}}]}]}),
    ]
    decision = decide(Policies(ROOT, tuple(objects)), Request(SLEEP, FINANCE, 8080))
    assert (decision.verdict, decision.mtls, decision.decided_by) == (
        "deny",
        False,
        "AuthorizationPolicy foo/only-sleep",
    )


# --------------------------------------------------------------------------- AuthorizationPolicy


def test_allow_nothing() -> None:
    """AP_REF: "allow-nothing" (`spec: {}`, action ALLOW by default, no rules) denies every request."""
    assert verdict([ap("allow-nothing", {})], Request(SLEEP, HTTPBIN, 8000)) == (
        "deny",
        "AuthorizationPolicy foo/allow-nothing",
    )


def test_allow_all_rule_overrides_allow_nothing() -> None:
    """AP_REF: a policy with the single empty rule `{}` allows all requests, even next to allow-nothing."""
    objects = [ap("allow-nothing", {}), ap("allow-all", {"rules": [{}]})]
    assert verdict(objects, Request(PLAIN, HTTPBIN, 8000)) == ("allow", "AuthorizationPolicy foo/allow-all")


def test_deny_all() -> None:
    """AP_REF: "deny-all" (action DENY with the rule `{}`) denies every request."""
    assert verdict([ap("deny-all", {"action": "DENY", "rules": [{}]})], Request(SLEEP, HTTPBIN, 8000))[0] == "deny"


def test_deny_is_evaluated_before_allow() -> None:
    """AUTHZ (policy precedence): CUSTOM, DENY, then ALLOW — a matching DENY wins over a matching ALLOW."""
    objects = [
        ap("allow-all", {**HTTPBIN_SELECTOR, "rules": [{}]}),
        ap(
            "deny-post",
            {**HTTPBIN_SELECTOR, "action": "DENY", "rules": [{"to": [{"operation": {"methods": ["POST"]}}]}]},
        ),
    ]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000, method="POST")) == (
        "deny",
        "AuthorizationPolicy foo/deny-post",
    )
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000, method="GET")) == (
        "allow",
        "AuthorizationPolicy foo/allow-all",
    )


def test_without_authorization_policies_everything_is_allowed() -> None:
    """AUTHZ: "For workloads without authorization policies applied, Istio allows all requests"."""
    other_workload = ap("deny-all-finance", {**FINANCE_SELECTOR, "action": "DENY", "rules": [{}]})
    assert verdict([other_workload], Request(PLAIN, HTTPBIN, 8000)) == ("allow", NO_POLICY)


def test_any_allow_policy_denies_what_it_does_not_match() -> None:
    """AUTHZ: with an ALLOW policy on the workload, a request no ALLOW rule matches is denied."""
    objects = [ap("from-admin", {**HTTPBIN_SELECTOR, "rules": [{"from": [{"source": {"namespaces": ["admin"]}}]}]})]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000)) == ("deny", "AuthorizationPolicy foo/from-admin")
    admin = Caller("cluster.local/ns/admin/sa/default")
    assert verdict(objects, Request(admin, HTTPBIN, 8000))[0] == "allow"


def test_principals_and_namespaces_need_mtls() -> None:
    """AP_REF (Source.principals, Source.namespaces): "This field requires mTLS enabled" — a
    plaintext caller (PERMISSIVE) matches neither."""
    rules = [{"from": [{"source": {"principals": ["*"]}}]}, {"from": [{"source": {"namespaces": ["*"]}}]}]
    objects = [ap("authenticated", {**HTTPBIN_SELECTOR, "rules": rules})]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000))[0] == "allow"
    assert verdict(objects, Request(PLAIN, HTTPBIN, 8000))[0] == "deny"


def test_principal_values_match_exactly_by_prefix_suffix_or_presence() -> None:
    """AP_REF (value matching): exact, prefix `abc*`, suffix `*abc`, and `*` for any non-empty value."""
    assert value_matches("cluster.local/ns/foo/sa/sleep", "cluster.local/ns/foo/sa/sleep")
    assert value_matches("cluster.local/ns/foo/*", "cluster.local/ns/foo/sa/sleep")
    assert value_matches("*/sa/sleep", "cluster.local/ns/foo/sa/sleep")
    assert value_matches("*", "x") and not value_matches("*", "")
    assert not value_matches("cluster.local/ns/bar/*", "cluster.local/ns/foo/sa/sleep")


def test_not_principals() -> None:
    """AP_REF (Source.notPrincipals, exclusion): a DENY rule with notPrincipals denies every caller but those listed."""
    rule = {"from": [{"source": {"notPrincipals": [SLEEP.principal]}}]}
    objects = [ap("only-sleep", {**HTTPBIN_SELECTOR, "action": "DENY", "rules": [rule]})]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000))[0] == "allow"
    assert verdict(objects, Request(Caller("cluster.local/ns/foo/sa/other"), HTTPBIN, 8000))[0] == "deny"
    assert verdict(objects, Request(PLAIN, HTTPBIN, 8000))[0] == "deny"  # no principal is not the listed one


def test_ports_and_not_ports_are_workload_ports() -> None:
    """AP_REF (Operation.ports / notPorts): "A list of ports as specified in the connection"."""
    objects = [ap("port", {**HTTPBIN_SELECTOR, "rules": [{"to": [{"operation": {"ports": ["8000"]}}]}]})]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000))[0] == "allow"
    assert verdict(objects, Request(SLEEP, HTTPBIN, 9000))[0] == "deny"
    objects = [ap("not-admin", {**HTTPBIN_SELECTOR, "rules": [{"to": [{"operation": {"notPorts": ["15000"]}}]}]})]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000))[0] == "allow"
    assert verdict(objects, Request(SLEEP, HTTPBIN, 15000))[0] == "deny"


def test_paths_methods_and_not_paths() -> None:
    """AP_REF example: allow GET on paths `/info*` and POST on `/data`; notPaths excludes."""
    rules = [
        {
            "to": [
                {"operation": {"methods": ["GET"], "paths": ["/info*"]}},
                {"operation": {"methods": ["POST"], "paths": ["/data"]}},
            ]
        }
    ]
    objects = [ap("httpbin", {**HTTPBIN_SELECTOR, "rules": rules})]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000, path="/info/x", method="GET"))[0] == "allow"
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000, path="/data", method="POST"))[0] == "allow"
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000, path="/data", method="GET"))[0] == "deny"
    objects = [ap("not-admin", {**HTTPBIN_SELECTOR, "rules": [{"to": [{"operation": {"notPaths": ["/admin*"]}}]}]})]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000, path="/admin/users"))[0] == "deny"
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000, path="/"))[0] == "allow"


def test_a_root_namespace_policy_applies_to_every_namespace() -> None:
    """AP_REF: a root-namespace policy applies to all workloads in the mesh (its selector, in every namespace)."""
    objects = [ap("deny-all", {"action": "DENY", "rules": [{}]}, namespace=ROOT)]
    assert verdict(objects, Request(SLEEP, Workload("bar", {"app": "x"}), 80)) == (
        "deny",
        "AuthorizationPolicy istio-system/deny-all",
    )


def test_when_conditions_on_the_source() -> None:
    """AP_REF (Condition, with the authorization conditions page): `source.namespace` needs mTLS like `namespaces`."""
    rule = {"when": [{"key": "source.namespace", "values": ["foo"]}]}
    objects = [ap("from-foo", {**HTTPBIN_SELECTOR, "rules": [rule]})]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000))[0] == "allow"
    assert verdict(objects, Request(PLAIN, HTTPBIN, 8000))[0] == "deny"


def test_custom_is_evaluated_first_and_noted() -> None:
    """AUTHZ: CUSTOM policies are checked first; their verdict comes from the external authorizer,
    which an offline query cannot ask — the decision says so and continues with DENY and ALLOW."""
    objects = [ap("ext", {**HTTPBIN_SELECTOR, "action": "CUSTOM", "provider": {"name": "opa"}, "rules": [{}]})]
    decision = decide(Policies(ROOT, tuple(objects)), Request(SLEEP, HTTPBIN, 8000))
    assert decision.allowed and any("external authorizer" in n for n in decision.notes)


# --------------------------------------------------------------------------- RequestAuthentication


JWT = {**HTTPBIN_SELECTOR, "jwtRules": [{"issuer": ISSUER, "jwksUri": "https://example.com/.well-known/jwks.json"}]}
REQUIRE_JWT = {**HTTPBIN_SELECTOR, "rules": [{"from": [{"source": {"requestPrincipals": ["*"]}}]}]}


def test_require_jwt_for_all_requests() -> None:
    """RA_REF example "Require JWT for all request for workloads that have label app:httpbin":
    a valid token is allowed, a request without one has no identity and is denied by the ALLOW policy."""
    objects = [ra("httpbin", JWT), ap("httpbin", REQUIRE_JWT)]
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000, issuer=ISSUER)) == (
        "allow",
        "AuthorizationPolicy foo/httpbin",
    )
    assert verdict(objects, Request(SLEEP, HTTPBIN, 8000)) == ("deny", "AuthorizationPolicy foo/httpbin")


def test_request_authentication_admits_requests_without_a_token() -> None:
    """RA_REF: "A request that does not contain any authentication credentials will be accepted but
    will not have any authenticated identity"."""
    assert verdict([ra("httpbin", JWT)], Request(PLAIN, HTTPBIN, 8000)) == ("allow", NO_POLICY)


def test_request_authentication_rejects_an_invalid_token() -> None:
    """RA_REF: "It will reject a request if the request contains invalid authentication information"
    — here a token from an issuer none of its rules accepts."""
    decision = decide(Policies(ROOT, (ra("httpbin", JWT),)), Request(SLEEP, HTTPBIN, 8000, issuer="issuer-bar"))
    assert (decision.verdict, decision.decided_by) == ("deny", "RequestAuthentication foo/httpbin")


def test_request_principals_need_a_validated_token() -> None:
    """AP_REF (Source.requestPrincipals, `iss/sub`): without a RequestAuthentication the token is not
    validated and yields no request principal; a prefix pattern `iss/*` matches any subject."""
    rule = {**HTTPBIN_SELECTOR, "rules": [{"from": [{"source": {"requestPrincipals": [f"{ISSUER}/*"]}}]}]}
    assert verdict([ap("jwt", rule)], Request(SLEEP, HTTPBIN, 8000, issuer=ISSUER))[0] == "deny"
    assert verdict([ra("httpbin", JWT), ap("jwt", rule)], Request(SLEEP, HTTPBIN, 8000, issuer=ISSUER))[0] == "allow"


def test_a_workload_without_a_sidecar_enforces_nothing() -> None:
    """AUTHZ: authorization is enforced by the server-side Envoy proxy; without one nothing is checked."""
    bare = Workload("foo", {"app": "httpbin"}, sidecar=False)
    assert verdict(
        [pa("default", {"mtls": {"mode": "STRICT"}}), ap("allow-nothing", {})], Request(PLAIN, bare, 8000)
    ) == (
        "allow",
        NO_POLICY,
    )


# ---------------------------------------------------------------- NetworkPolicy
NP_DOC = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"


def _np(namespace: str, selector: dict[str, str], ingress: list[dict[str, Any]]) -> IstioObject:
    spec = {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"], "ingress": ingress}
    return IstioObject("NetworkPolicy", namespace, "np", spec)


def test_network_policy_peers_and_ports_as_the_kubernetes_page_states() -> None:
    """NP_DOC: a pod selected by an Ingress policy admits only what a rule allows (rules add up);
    a peer with `namespaceSelector` and `podSelector` in one element admits the matching pods of
    the matching namespaces only; `podSelector` alone means the policy's own namespace; a rule
    without `from` admits every source on its ports."""
    target = Workload("shop", {"app": "orders"}, sidecar=False)  # no sidecar: only the NetworkPolicy decides
    gateway_pods = {"app.kubernetes.io/name": "gateway"}
    both = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}},
        "podSelector": {"matchLabels": gateway_pods},
    }
    policies = Policies(
        ROOT,
        (_np("shop", {"app": "orders"}, [{"from": [both], "ports": [{"port": 8080}]}, {"ports": [{"port": 15020}]}]),),
    )

    def allowed(pod: Pod | None, port: int) -> bool:
        return decide(policies, Request(Caller(None, pod), target, port)).allowed

    assert allowed(Pod("edge", gateway_pods), 8080)
    assert not allowed(Pod("edge", {"app": "other"}), 8080)  # right namespace, wrong pod
    assert not allowed(Pod("shop", gateway_pods), 8080)  # right labels, wrong namespace
    assert not allowed(None, 8080)  # a pod of unknown namespace and labels
    assert allowed(None, 15020)  # a rule without `from`: everyone, on its ports
    assert not allowed(Pod("edge", gateway_pods), 9090)  # no rule names the port
    same_ns = Policies(
        ROOT, (_np("shop", {"app": "orders"}, [{"from": [{"podSelector": {"matchLabels": gateway_pods}}]}]),)
    )
    assert decide(same_ns, Request(Caller(None, Pod("shop", gateway_pods)), target, 8080)).allowed
    assert not decide(same_ns, Request(Caller(None, Pod("edge", gateway_pods)), target, 8080)).allowed
    unselected = Workload("shop", {"app": "payments"}, sidecar=False)  # no policy selects it: open
    assert decide(policies, Request(Caller(None), unselected, 8080)).allowed
    denied = decide(policies, Request(Caller("cluster.local/ns/shop/sa/x", Pod("shop", {})), target, 8080))
    assert (denied.allowed, denied.decided_by) == (False, "NetworkPolicy shop/np")
