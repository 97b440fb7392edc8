"""The traffic query on the bypasses the gateways used to leave open: a workload that calls an API's
backend directly, around the gateway, is denied; the gateway is still allowed.

Expectations follow Istio's AuthorizationPolicy semantics
(https://istio.io/latest/docs/reference/config/security/authorization-policy/: with an ALLOW
policy on a workload, a request no rule matches is denied; `principals` need the caller's mTLS
identity).
"""

from __future__ import annotations

from functools import cache

from stacks.pipeline.overrides import parse_override
from stacks.pipeline.stackfile import load_config, raw_config
from stacks.traffic.query import GATEWAY, OUTSIDE_MESH, StackTraffic, Target


@cache
def traffic(stack: str, *settings: str) -> StackTraffic:
    overrides = [parse_override(s) for s in settings]
    return StackTraffic.of(load_config(stack, overrides), raw_config(stack, overrides), stack)


def verdicts(
    query: StackTraffic, source: str, target: str, *, jwt: bool = False, path: str = "/"
) -> set[tuple[bool, str]]:
    """(allowed, deciding object) in every cluster that runs `target` (`SERVICE.NAMESPACE:PORT`)."""
    service, rest = target.split(".", 1)
    namespace, port = rest.split(":")
    return {
        (v.decision.allowed, v.decision.decided_by)
        for v in query.ask(source, Target(service, namespace, int(port)), jwt=jwt, path=path)
    }


def test_staging_backends_admit_only_the_ingress_and_the_jwt_where_it_is_forwarded() -> None:
    """Scenario 1 (staging, AWS HTTP API): before, `orders` had no AuthorizationPolicy and any
    workload with a sidecar called it without the JWT the gateway checks ("no policy: allowed")."""
    staging = traffic("staging")
    orders, catalog = "orders.shop:8080", "catalog.shop:8080"
    assert verdicts(staging, GATEWAY, orders, jwt=True, path="/orders") == {
        (True, "AuthorizationPolicy shop/orders-from-gateway")
    }
    assert verdicts(staging, GATEWAY, orders, path="/orders") == {(False, "AuthorizationPolicy shop/allow-nothing")}
    assert verdicts(staging, GATEWAY, catalog, path="/catalog") == {
        (True, "AuthorizationPolicy shop/catalog-from-gateway")
    }
    for target in (orders, catalog):
        for jwt in (False, True):
            assert verdicts(staging, "mesh:shop/intruder", target, jwt=jwt) == {
                (False, "AuthorizationPolicy shop/allow-nothing")
            }
            assert verdicts(staging, "mesh:default/sleep", target, jwt=jwt) == {
                (False, "AuthorizationPolicy shop/allow-nothing")
            }
        assert verdicts(staging, OUTSIDE_MESH, target) == {(False, "PeerAuthentication istio-system/default")}


def test_scenario2_backends_admit_only_kongs_pods() -> None:
    """Scenario 2 (Kong outside the mesh): before, the backend port was PERMISSIVE with no policy and
    any pod, with or without a sidecar, called the backends in plaintext around Kong. Now the
    NetworkPolicy on each backend admits its port only from Kong's gateway pods
    (https://kubernetes.io/docs/concepts/services-networking/network-policies/)."""
    dev = traffic("dev", "meshgate:scenario=in-cluster-gateway")
    for service in ("orders", "payments"):
        target, dropped = f"{service}.shop:8080", f"NetworkPolicy shop/{service}-from-gateway-pods"
        assert verdicts(dev, GATEWAY, target, path=f"/{service}") == {(True, dropped)}  # admitted by it
        assert verdicts(dev, OUTSIDE_MESH, target) == {(False, dropped)}
        for caller in ("mesh:shop/orders", "mesh:shop/payments", "mesh:default/sleep"):
            if caller != f"mesh:shop/{service}":
                assert verdicts(dev, caller, target) == {(False, dropped)}
        # Kong's own namespace, another workload in it (not a gateway pod)
        assert verdicts(dev, "mesh:meshgate-gateway/other", target) == {(False, dropped)}
