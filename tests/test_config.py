"""Stack config parsing: valid stack files parse, bad config names the key in one message."""

from __future__ import annotations

from typing import Any

import pytest
from config_cases import BAD, _mutated
from harness import stack_config

from stacks.config import ConfigError, Scenario, StackConfig, parse_raw


def parse(config: dict[str, Any]) -> StackConfig:
    return parse_raw(config)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_files_parse(stack: str) -> None:
    config = parse(stack_config(stack))
    assert config.clusters, stack


def test_scenario_numbers_are_aliases() -> None:
    base = stack_config("dev")
    # gateway-api cannot enforce `auth: key` (config_rules._gateway_capabilities): use unauthenticated APIs here
    base["meshgate:apis"] = [{**api, "auth": "none"} for api in base["meshgate:apis"]]
    for number, scenario in enumerate(Scenario, start=1):
        base["meshgate:scenario"] = number
        if scenario is Scenario.EXTERNAL_GATEWAY:
            continue  # needs an external gateway; covered by the bad-config corpus
        assert parse(base).scenario is scenario
        base["meshgate:scenario"] = str(number)
        assert parse(base).scenario is scenario


def test_defaults_fill_in() -> None:
    config = parse({"meshgate:scenario": "gateway-api", "meshgate:clusters": [{"name": "c", "kind": "kubeconfig"}]})
    assert config.istio.version == "1.31.0"
    assert config.clusters[0].network_name == "c-net"
    assert config.gateway_cluster == "c"
    assert config.protect is False


def test_structured_values_arrive_as_json_text() -> None:
    config = parse(
        {
            "meshgate:scenario": "4",
            "meshgate:clusters": '[{"name": "c", "kind": "kubeconfig"}]',
            "meshgate:protect": "true",
        }
    )
    assert config.protect is True and config.clusters[0].name == "c"


@pytest.mark.parametrize(("stack", "path", "value", "key"), BAD, ids=[f"{b[3]}={b[2]!r}" for b in BAD])
def test_bad_config_names_the_key(stack: str, path: list[Any], value: Any, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(_mutated(stack, path, value))
    message = str(caught.value)
    assert message.startswith(key + " ") or message.startswith(key + "["), message
    assert "\n" not in message and "Traceback" not in message


def test_scenario_2_cross_cluster_suggests_scenario_3() -> None:
    with pytest.raises(ConfigError, match="in-cluster-gateway-mesh"):
        parse(
            _mutated(
                "prod",
                ["meshgate:scenario"],
                2,
            )
        )


def test_overlap_message_names_both_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(_mutated("prod", ["meshgate:clusters", 1, "vpcCidr"], "10.10.0.0/20"))
    assert str(caught.value) == "meshgate:clusters[1].vpcCidr overlaps meshgate:clusters[0].vpcCidr (10.10.0.0/16)"
