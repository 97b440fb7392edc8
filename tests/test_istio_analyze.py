"""Istio's own analyzers (`istioctl analyze --use-kube=false`, built by scripts/build-istioctl.sh)
over every Kubernetes and Istio object each shipped stack and each dev/prod scenario registers.

Every message is a failure unless stacks/analyze_suppressions.yaml lists it with the reason (objects
that Helm charts install are not there offline). These tests never skip: without istioctl they fail
with the command that builds it (scripts/test.sh builds it before the unit tier).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import stack_program
from stack_programs import shipped_programs, shipped_programs_by_label

from stacks import analyze

pytestmark = pytest.mark.istioctl


@pytest.fixture(scope="module")
def istioctl() -> Path:
    try:
        return analyze.find_istioctl()
    except analyze.IstioctlMissing as err:
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def analyses(istioctl: Path) -> dict[str, analyze.Analysis]:
    return {label: analyze.analyze(program, istioctl) for label, program in shipped_programs()}


def test_no_stack_or_scenario_has_an_unexpected_message(analyses: dict[str, analyze.Analysis]) -> None:
    findings = [f"{label}: {m.describe()}" for label, a in analyses.items() for m in a.findings]
    assert findings == [], "\n".join(findings)


def test_every_cluster_of_every_stack_is_analyzed(analyses: dict[str, analyze.Analysis]) -> None:
    assert analyses["dev"].clusters.keys() == {"local"}
    assert analyses["prod"].clusters.keys() == {"aws-east", "gcp-central"}
    assert all(n > 10 for a in analyses.values() for n in a.clusters.values())


def test_every_suppression_is_needed_and_explained(analyses: dict[str, analyze.Analysis]) -> None:
    used = {s for a in analyses.values() for _, s in a.suppressed}
    rules = analyze.load_suppressions()
    for rule in rules:
        assert len(rule.reason.split()) >= 8, rule
    stale = [r for r in rules if r not in used]
    assert stale == [], "suppressions no stack needs any more (remove them)"


def test_a_real_finding_is_reported_and_fails(istioctl: Path) -> None:
    """IST0101: a VirtualService bound to a Gateway that does not exist (istio.io docs:
    reference/config/analysis/ist0101) — next to dev's own objects, only it is reported."""
    virtual_service = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "orders", "namespace": "shop"},
        "spec": {"hosts": ["orders.shop.svc.cluster.local"], "gateways": ["shop/no-such-gateway"], "http": []},
    }
    objects = [*analyze.objects_by_cluster(stack_program("dev"))["local"], virtual_service]
    messages = analyze.run_istioctl(istioctl, "local", objects, analyze.mesh_config(stack_program("dev"), "local"))
    assert {(m.code, m.origin, m.message) for m in messages if m.code == "IST0101"} == {
        ("IST0101", "VirtualService shop/orders", 'Referenced gateway not found: "shop/no-such-gateway"')
    }
    assert all(m.origin == "VirtualService shop/orders" for m in messages)  # dev's own objects stay clean


def test_the_rate_limit_filter_has_a_priority(istioctl: Path) -> None:
    """IST0151 (an EnvoyFilter with a relative patch and no priority) fired on the Gateway API
    scenario before the filter got `priority`; without it the warning comes back."""
    program = shipped_programs_by_label()["dev@gateway-api"]
    objects = analyze.objects_by_cluster(program)["local"]
    (envoy_filter,) = [o for o in objects if o["kind"] == "EnvoyFilter"]
    assert envoy_filter["spec"]["priority"] > 0
    del envoy_filter["spec"]["priority"]
    codes = {m.code for m in analyze.run_istioctl(istioctl, "local", objects, None)}
    assert "IST0151" in codes


def test_secret_values_never_reach_istioctl() -> None:
    program = stack_program("dev")
    secrets = [o for objs in analyze.objects_by_cluster(program).values() for o in objs if o["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        assert set((secret.get("data") or {}).values()) <= {analyze.REDACTED}
        assert set((secret.get("stringData") or {}).values()) <= {analyze.REDACTED}
