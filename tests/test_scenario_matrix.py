"""README's scenario-switch table is computed: every shipped stack x scenario, validated."""

from __future__ import annotations

from harness import ROOT

from stacks.config import Scenario, parse_raw
from stacks.scenario_switch import matrix, render, try_switch

README = (ROOT / "README.md").read_text()


def test_readme_table_is_current() -> None:
    section = README.split("<!-- scenario-switch:start -->\n", 1)[1].split("<!-- scenario-switch:end -->", 1)[0]
    assert section == render(), "run: python -m stacks.scenario_switch and paste into README.md"


def test_every_possible_switch_is_a_valid_config_with_only_the_listed_changes() -> None:
    for row in matrix():
        for switch in row:
            if switch.impossible is None:
                config = parse_raw(switch.config)
                assert config.scenario is switch.scenario, (switch.stack, switch.scenario)


def test_known_answers() -> None:
    """Spot checks against the rules in stacks/config_rules.py."""
    assert try_switch("dev", Scenario.IN_CLUSTER_GATEWAY).changes == []  # single cluster, Kong: nothing else
    dev4 = try_switch("dev", Scenario.GATEWAY_API)  # payments uses an API key, which Istio cannot check
    assert dev4.changes == ["`apis[1].auth: jwt` (payments: no API keys there)"]
    staging3 = try_switch("staging", Scenario.IN_CLUSTER_GATEWAY_MESH)  # APIs on EKS and GKE
    assert staging3.istio_changes and any("istio.multicluster: true" in c for c in staging3.changes)
    prod2 = try_switch("prod", Scenario.IN_CLUSTER_GATEWAY)  # catalog runs on GKE, Kong on EKS outside the mesh
    assert prod2.impossible is not None
    prod1 = try_switch("prod", Scenario.EXTERNAL_GATEWAY)
    assert any(c.startswith("`externalGateway: {kind: aws-http-api") for c in prod1.changes)
