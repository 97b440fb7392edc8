"""`--config key=value`: path syntax, typing like `pulumi config set --path`, applying to the stack file's config."""

from __future__ import annotations

import pytest

from stacks.config import ConfigError
from stacks.pipeline.overrides import OverrideError, apply_overrides, parse_override, parse_path, typed_value
from stacks.pipeline.stackfile import StackFileError, load_config, raw_config, stack_file


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("false", False),
        ("100", 100),
        ("-3", -3),
        ("0", 0),
        ("0123", "0123"),  # leading zero stays a string, as the engine keeps it
        ("1.24", "1.24"),  # not a float: the CLI stores it as a string
        ("1.24.3", "1.24.3"),
        ("yes", "yes"),
        ("True", "True"),
        ("", ""),
    ],
)
def test_values_are_typed_like_pulumi_config_set_path(raw: str, expected: object) -> None:
    assert typed_value(raw) == expected and type(typed_value(raw)) is type(expected)


def test_paths() -> None:
    assert parse_path("istio.version") == ("istio", "version")
    assert parse_path("apis[0].rateLimitPerMinute") == ("apis", 0, "rateLimitPerMinute")
    assert parse_path('clusters[1]["vpcCidr"]') == ("clusters", 1, "vpcCidr")
    assert parse_path('labels["a.b/c"].x') == ("labels", "a.b/c", "x")


@pytest.mark.parametrize("bad", ["", ".a", "a..b", "a.", "a[x]", "a[]", '["a"', "[0]", "a[0]b"])
def test_bad_paths_are_rejected(bad: str) -> None:
    with pytest.raises(OverrideError):
        parse_path(bad)


def test_parse_override_namespaces_and_keeps_the_raw_value() -> None:
    o = parse_override("meshgate:apis[0].rateLimitPerMinute=100")
    assert (o.key, o.raw, o.value, o.root, o.path) == (
        "meshgate:apis[0].rateLimitPerMinute",
        "100",
        100,
        "meshgate:apis",
        ("apis", 0, "rateLimitPerMinute"),
    )
    bare = parse_override("scenario=2")
    assert (bare.key, bare.value) == ("meshgate:scenario", 2)
    assert parse_override("aws:region=eu-west-1=x").raw == "eu-west-1=x"  # only the first '=' splits


@pytest.mark.parametrize("bad", ["meshgate:istio.version", "=1", ":x=1", "meshgate:a..b=1"])
def test_malformed_arguments_name_themselves(bad: str) -> None:
    with pytest.raises(OverrideError, match="--config"):
        parse_override(bad)


BASE = {
    "meshgate:scenario": "in-cluster-gateway-mesh",
    "meshgate:istio": {"version": "1.31.0", "tracing": {"samplingPercent": 10}},
    "meshgate:apis": [{"name": "orders", "rateLimitPerMinute": 600}],
    "protect": False,
}


def test_apply_sets_nested_values_without_touching_the_input() -> None:
    out = apply_overrides(
        BASE,
        [
            parse_override("meshgate:istio.version=1.24.3"),
            parse_override("meshgate:apis[0].rateLimitPerMinute=100"),
            parse_override("meshgate:istio.tracing.samplingPercent=50"),
            parse_override("protect=true"),
        ],
    )
    assert out["meshgate:istio"] == {"version": "1.24.3", "tracing": {"samplingPercent": 50}}
    assert out["meshgate:apis"] == [{"name": "orders", "rateLimitPerMinute": 100}]
    assert out["meshgate:protect"] is True and "protect" not in out  # keys are namespaced first
    assert BASE["meshgate:istio"]["version"] == "1.31.0"  # type: ignore[index]


def test_apply_creates_missing_objects_and_appends_at_the_end_of_a_list() -> None:
    out = apply_overrides(
        BASE,
        [
            parse_override("meshgate:gateway.replicas=3"),
            parse_override("meshgate:apis[1].name=catalog"),
            parse_override("meshgate:jwt.audiences[0]=shop"),
        ],
    )
    assert out["meshgate:gateway"] == {"replicas": 3}
    assert out["meshgate:apis"][1] == {"name": "catalog"}
    assert out["meshgate:jwt"] == {"audiences": ["shop"]}


def test_apply_decodes_structured_values_stored_as_json_text() -> None:
    out = apply_overrides({"meshgate:istio": '{"version": "1.31.0"}'}, [parse_override("meshgate:istio.meshId=acme")])
    assert out["meshgate:istio"] == {"version": "1.31.0", "meshId": "acme"}


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("meshgate:apis[5].name=x", "index 5 is out of range"),
        ("meshgate:istio[0]=x", "meshgate:istio is not a list"),
        ("meshgate:apis.name=x", "meshgate:apis is not an object"),
        ("meshgate:scenario.x=1", "meshgate:scenario is not an object"),
    ],
)
def test_apply_rejects_paths_that_do_not_fit(argument: str, message: str) -> None:
    with pytest.raises(OverrideError, match=message):
        apply_overrides(BASE, [parse_override(argument)])


def test_stack_file_config_with_overrides_is_validated_by_the_program_code() -> None:
    config = load_config(
        "prod",
        [parse_override("meshgate:istio.version=1.24.3"), parse_override("meshgate:apis[0].rateLimitPerMinute=100")],
    )
    assert config.istio.version == "1.24.3"
    assert config.apis[0].rate_limit_per_minute == 100
    assert raw_config("prod")["meshgate:istio"]["version"] == "1.31.0"  # the file itself is not changed


def test_bad_override_fails_validation_with_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^meshgate:clusters\[1\]\.vpcCidr overlaps meshgate:clusters\[0\]\.vpcCidr"):
        load_config("prod", [parse_override("meshgate:clusters[1].vpcCidr=10.10.0.0/16")])


def test_unknown_stack_and_bad_names() -> None:
    with pytest.raises(StackFileError, match=r"Pulumi\.nope\.yaml not found in .*\(stacks: ") as err:
        raw_config("nope")
    assert {"dev", "prod", "staging"} <= set(str(err.value).rsplit("(stacks: ", 1)[1].rstrip(")").split(", "))
    for bad in ("dev prod", "a/b/c/d", "dev;rm"):
        with pytest.raises(StackFileError, match="not a valid stack name"):
            stack_file(bad)
    assert stack_file("acme/meshgate/prod").name == "Pulumi.prod.yaml"
