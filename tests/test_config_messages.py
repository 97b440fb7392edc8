"""Config errors name the real mistake: unknown keys with the closest known one, pattern errors
with the expected form and an example, and stack files that are not UTF-8 or repeat a key.

Each message is one line and starts with what the user has to change (a key, or file:line).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from harness import Resource, evaluate, stack_config

from stacks.config import _FORMS, ConfigError, parse_raw  # pyright: ignore[reportPrivateUsage]
from stacks.pipeline.stackfile import StackFileError, raw_config


def _edit(stack: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    config = stack_config(stack)
    change(config)
    return config


def _rename(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    return lambda c: c.__setitem__(new, c.pop(old))


def _set(key: str, field: str, value: Any, index: int | None = None) -> Callable[[dict[str, Any]], None]:
    def change(c: dict[str, Any]) -> None:
        target = c[key] if index is None else c[key][index]
        target[field] = value

    return change


UNKNOWN = [
    (
        "top-level typo",
        "dev",
        _rename("meshgate:clusters", "meshgate:clustrs"),
        "meshgate:clustrs is not a known key (did you mean meshgate:clusters?)",
    ),
    (
        "nested typo",
        "dev",
        _set("meshgate:istio", "multiCluster", True),
        "meshgate:istio.multiCluster is not a known key (did you mean meshgate:istio.multicluster?)",
    ),
    (
        "cluster field typo",
        "dev",
        _set("meshgate:clusters", "contxt", "kind-kind", index=0),
        "meshgate:clusters[0].contxt is not a known key (did you mean meshgate:clusters[0].context?)",
    ),
    (
        "gke field typo",
        "prod",
        _set("meshgate:clusters", "masterCIDR", "172.16.0.16/28", index=1),
        "meshgate:clusters[1].masterCIDR is not a known key (did you mean meshgate:clusters[1].masterCidr?)",
    ),
    (
        "api field typo",
        "dev",
        _set("meshgate:apis", "rateLimitPerMinut", 5, index=0),
        "meshgate:apis[0].rateLimitPerMinut is not a known key (did you mean meshgate:apis[0].rateLimitPerMinute?)",
    ),
    (
        "namespace typo",
        "dev",
        _rename("meshgate:scenario", "meshgat:scenario"),
        "meshgat:scenario is not in the meshgate namespace (did you mean meshgate:scenario?)",
    ),
    (
        "namespace capitalised",
        "dev",
        _rename("meshgate:protect", "Meshgate:protect"),
        "Meshgate:protect is not in the meshgate namespace (did you mean meshgate:protect?)",
    ),
]


@pytest.mark.parametrize(("stack", "change", "expected"), [c[1:] for c in UNKNOWN], ids=[c[0] for c in UNKNOWN])
def test_unknown_keys_are_named_with_the_closest_known_key(
    stack: str, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_raw(_edit(stack, change))
    assert str(caught.value).startswith(expected), str(caught.value)


def test_unknown_key_without_a_close_match_points_to_the_reference() -> None:
    with pytest.raises(ConfigError, match=r"^meshgate:colour is not a known key \(see README 'Configuration'\)$"):
        parse_raw(_edit("dev", lambda c: c.__setitem__("meshgate:colour", "blue")))


def test_other_providers_keys_are_left_alone() -> None:
    config = _edit(
        "staging", lambda c: c.update({"aws:region": "us-east-1", "gcp:project": "acme", "kubernetes:context": "x"})
    )
    assert parse_raw(config).scenario.value == "external-gateway"


def test_the_program_names_a_namespace_typo_before_any_resource() -> None:
    """`__main__.py` reads every key of the stack's config, not only `meshgate:*` (a typo was dropped silently)."""
    registered: list[Resource] = []
    config = _edit("dev", lambda c: c.__setitem__("meshgat:protect", True))
    with pytest.raises(pulumi.RunError, match=r"^meshgat:protect is not in the meshgate namespace"):
        evaluate(config, stack="dev", record=registered)
    assert registered == []


def test_pattern_errors_show_the_expected_form_and_an_example() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_raw(_edit("dev", _set("meshgate:istio", "version", "1.25")))
    assert (
        str(caught.value)
        == "meshgate:istio.version has an invalid value '1.25': expected 1.<minor>.<patch>, e.g. 1.31.0"
    )


PATTERN_CASES = [
    ("prod", ["meshgate:clusters", 0, "region"], "useast1", "us-east-1"),
    ("prod", ["meshgate:clusters", 0, "kubernetesVersion"], "1.9", "1.35"),
    ("prod", ["meshgate:clusters", 1, "project"], "ACME", "acme-prod"),
    ("prod", ["meshgate:clusters", 1, "region"], "us-central", "us-central1"),
    ("dev", ["meshgate:istio", "revision"], "Canary_1", "1-31-0"),
    ("dev", ["meshgate:gateway", "gatewayApiVersion"], "1.2.1", "v1.6.1"),
    ("dev", ["meshgate:jwt", "jwksUri"], "http://auth/jwks", "https://"),
]


@pytest.mark.parametrize(("stack", "path", "bad", "example"), PATTERN_CASES, ids=[str(c[1][-1]) for c in PATTERN_CASES])
def test_every_pattern_field_explains_itself(stack: str, path: list[Any], bad: str, example: str) -> None:
    def change(c: dict[str, Any]) -> None:
        target: Any = c
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = bad

    with pytest.raises(ConfigError) as caught:
        parse_raw(_edit(stack, change))
    message = str(caught.value)
    assert f"has an invalid value {bad!r}: expected " in message and f"e.g. {example}" in message, message
    assert "matching ^" not in message  # a form in words, not the raw regex


@pytest.mark.parametrize("pattern", sorted(_FORMS))
def test_the_examples_shown_are_valid(pattern: str) -> None:
    assert re.search(pattern, _FORMS[pattern][1]), (pattern, _FORMS[pattern])


# --------------------------------------------------------------------------- stack files


def _stack_file(tmp_path: Path, content: bytes) -> Path:
    (tmp_path / "Pulumi.bad.yaml").write_bytes(content)
    return tmp_path


def test_a_stack_file_that_is_not_utf8_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    root = _stack_file(tmp_path, "config:\n  # café\n  meshgate:scenario: 3\n".encode("latin-1"))
    with pytest.raises(StackFileError) as caught:
        raw_config("bad", root=root)
    assert str(caught.value) == "Pulumi.bad.yaml:2: not UTF-8 (byte 0xe9 at column 8); save the file as UTF-8"


def test_duplicate_keys_are_refused_with_both_lines(tmp_path: Path) -> None:
    root = _stack_file(
        tmp_path, b"config:\n  meshgate:scenario: 3\n  meshgate:protect: false\n  meshgate:scenario: 2\n"
    )
    with pytest.raises(StackFileError) as caught:
        raw_config("bad", root=root)
    assert str(caught.value) == (
        "Pulumi.bad.yaml:4: duplicate key 'meshgate:scenario' (first at line 2; YAML would keep only the last)"
    )


def test_nested_duplicate_keys_are_refused(tmp_path: Path) -> None:
    root = _stack_file(tmp_path, b"config:\n  meshgate:istio:\n    version: 1.24.2\n    version: 1.24.3\n")
    with pytest.raises(StackFileError, match=r"^Pulumi\.bad\.yaml:4: duplicate key 'version'"):
        raw_config("bad", root=root)


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    root = _stack_file(tmp_path, b"config:\n  meshgate:clusters: [\n")
    with pytest.raises(StackFileError) as caught:
        raw_config("bad", root=root)
    assert re.fullmatch(r"Pulumi\.bad\.yaml:\d+: [^\n]+", str(caught.value)), str(caught.value)


def test_the_shipped_stack_files_are_strictly_valid() -> None:
    for stack in ("dev", "staging", "prod", "render"):
        assert raw_config(stack)["meshgate:scenario"]
