"""`meshgate:apiDirectory`: the catalogue read from YAML files, validated like `meshgate:apis`.

A directory entry must produce exactly what the same entry in `meshgate:apis` produces; bad
files are rejected before any resource registers, with one message naming the file and line;
duplicates across files and with `meshgate:apis` are errors; only the directory name travels
through the engine's config (the engine hands all stack config to the program in one
environment variable, and Linux refuses a single variable over 128 KiB).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from harness import ROOT, Resource, evaluate, stack_config

from stacks.config import ConfigError, StackConfig, parse_raw
from stacks.pipeline.stackfile import load_config
from stacks.recording import as_pulumi_config as _as_pulumi_config

ARG_MAX_STRLEN = 128 * 1024  # Linux MAX_ARG_STRLEN: the longest single argument or environment string


def _api(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"api-{i:04d}",
        "path": f"/api-{i:04d}",
        "cluster": "render",
        "service": {"name": f"svc-{i:04d}", "namespace": "shop", "port": 8080},
        **extra,
    }


def _render_without_apis(**extra: Any) -> dict[str, Any]:
    config = stack_config("render")
    config.pop("meshgate:apis")
    config.update(extra)
    return config


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text).lstrip())
    return directory


def _parse_dir(tmp_path: Path, files: dict[str, str], **extra: Any) -> StackConfig:
    _write(tmp_path / "apis", files)
    return parse_raw(_render_without_apis(**{"meshgate:apiDirectory": "apis", **extra}), base_dir=tmp_path)


ORDERS = """
    name: orders
    path: /orders
    cluster: render
    service: {name: orders, namespace: shop, port: 8080}
    auth: jwt
    rateLimitPerMinute: 600
"""


def test_entries_from_files_follow_the_inline_ones_in_file_order(tmp_path: Path) -> None:
    config = _parse_dir(
        tmp_path,
        {
            "b.yaml": "- "
            + yaml.safe_dump(_api(2)).replace("\n", "\n  ")
            + "\n- "
            + yaml.safe_dump(_api(3)).replace("\n", "\n  "),
            "a.yml": yaml.safe_dump(_api(1)),
            "notes.txt": "not an API file",
        },
        **{"meshgate:apis": [_api(0)]},
    )
    assert [a.name for a in config.apis] == ["api-0000", "api-0001", "api-0002", "api-0003"]
    assert config.apis[1].service.port == 8080


def test_a_directory_entry_renders_exactly_like_the_same_inline_entry(tmp_path: Path) -> None:
    render = stack_config("render")
    _write(tmp_path / "apis", {"all.yaml": yaml.safe_dump(render["meshgate:apis"])})
    from_files = evaluate(_render_without_apis(**{"meshgate:apiDirectory": str(tmp_path / "apis")}), stack="render")
    inline = evaluate(render, stack="render")

    def shape(resources: list[Resource]) -> list[tuple[str, str, Any]]:
        return sorted((r.type, r.name, json.dumps(r.inputs, sort_keys=True, default=str)) for r in resources)

    assert shape(from_files.resources) == shape(inline.resources)
    routes = [r.name for r in from_files.resources if r.kind == "HTTPRoute" and not r.name.endswith("-https-redirect")]
    assert len(routes) == len(render["meshgate:apis"]) == 2


def test_openapi_document_contributes_its_x_meshgate_extension(tmp_path: Path) -> None:
    config = _parse_dir(
        tmp_path,
        {
            "reviews.yaml": """
                openapi: 3.0.3
                info: {title: Reviews, version: "1"}
                paths: {/reviews: {get: {responses: {"200": {description: ok}}}}}
                x-meshgate:
                  name: reviews
                  path: /reviews
                  cluster: render
                  service: {name: reviews, namespace: shop, port: 9080}
            """
        },
    )
    assert [(a.name, a.path, a.service.port) for a in config.apis] == [("reviews", "/reviews", 9080)]


def test_shipped_example_directory_drives_the_render_stack() -> None:
    config = parse_raw(_render_without_apis(**{"meshgate:apiDirectory": "examples/apis"}), base_dir=ROOT)
    assert sorted(a.name for a in config.apis) == ["catalog", "orders", "reviews", "search"]
    program = evaluate(_render_without_apis(**{"meshgate:apiDirectory": "examples/apis"}), stack="render")
    names = sorted(r.get("metadata.name") for r in program.resources if r.kind == "HTTPRoute")
    assert [n for n in names if not n.endswith("-https-redirect")] == ["catalog", "orders", "reviews", "search"]


def test_pipeline_reads_the_directory_relative_to_the_project(tmp_path: Path) -> None:
    _write(tmp_path / "catalogue", {"orders.yaml": ORDERS})
    stack = _render_without_apis(**{"meshgate:apiDirectory": "catalogue"})
    (tmp_path / "Pulumi.big.yaml").write_text(yaml.safe_dump({"config": stack}))
    assert [a.name for a in load_config("big", root=tmp_path).apis] == ["orders"]


def test_engine_config_does_not_grow_with_the_catalogue(tmp_path: Path) -> None:
    """What the engine puts in PULUMI_CONFIG: 2,000 inline APIs exceed Linux's limit, a directory does not."""
    apis = [_api(i, rateLimitPerMinute=600) for i in range(2000)]
    _write(tmp_path / "apis", {"all.yaml": yaml.safe_dump(apis)})
    inline = json.dumps(_as_pulumi_config(_render_without_apis(**{"meshgate:apis": apis})))
    directory_config = _render_without_apis(**{"meshgate:apiDirectory": str(tmp_path / "apis")})
    from_dir = json.dumps(_as_pulumi_config(directory_config))
    assert len(inline) > ARG_MAX_STRLEN > len(from_dir)
    assert len(from_dir) < 2048
    assert len(parse_raw(directory_config).apis) == 2000


# (case, files, expected message start). Lines count from 1, as editors show them.
BAD: list[tuple[str, dict[str, str], str]] = [
    (
        "field-out-of-range",
        {"orders.yaml": ORDERS.replace("rateLimitPerMinute: 600", "rateLimitPerMinute: 0")},
        "apis/orders.yaml:6: rateLimitPerMinute must be greater than or equal to 1",
    ),
    (
        "nested-field-in-list",
        {
            "team.yaml": "- "
            + ORDERS.strip().replace("\n    ", "\n  ")
            + "\n- name: pay\n  path: /pay\n  cluster: render\n"
            "  service: {name: pay, namespace: shop, port: 70000}\n"
        },
        "apis/team.yaml:10: service.port must be less than or equal to 65535",
    ),
    (
        "missing-field",
        {"orders.yaml": ORDERS.replace("    path: /orders\n", "")},
        "apis/orders.yaml:1: path is required",
    ),
    ("unknown-key", {"orders.yaml": ORDERS + "    colour: blue\n"}, "apis/orders.yaml:7: colour is not a known key"),
    ("bad-yaml", {"orders.yaml": "name: orders\npath: [/orders\n"}, "apis/orders.yaml:3: is not valid YAML"),
    ("scalar-file", {"orders.yaml": "just a string\n"}, "apis/orders.yaml:1: must hold an API entry"),
    ("list-of-scalars", {"orders.yaml": "- orders\n"}, "apis/orders.yaml:1: must be an API entry"),
    (
        "openapi-without-extension",
        {"orders.yaml": "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n"},
        "apis/orders.yaml:1: is an OpenAPI document without an `x-meshgate` extension",
    ),
    (
        "duplicate-name-across-files",
        {"a.yaml": ORDERS, "b.yaml": ORDERS.replace("path: /orders", "path: /orders-v2")},
        "apis/b.yaml:1: name duplicates apis/a.yaml:1: name ('orders')",
    ),
    (
        "duplicate-path-across-files",
        {"a.yaml": ORDERS, "b.yaml": ORDERS.replace("name: orders", "name: orders-v2")},
        "apis/b.yaml:1: path duplicates apis/a.yaml:1: path ('/orders')",
    ),
    (
        "unknown-cluster",
        {"orders.yaml": ORDERS.replace("cluster: render", "cluster: elsewhere")},
        "apis/orders.yaml:1: cluster names unknown cluster 'elsewhere'",
    ),
    (
        "scenario-capability",
        {"orders.yaml": ORDERS.replace("auth: jwt", "auth: key")},
        "apis/orders.yaml:1: auth key is not supported by scenario gateway-api",
    ),
]


@pytest.mark.parametrize(("files", "start"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_api_file_names_file_and_line(tmp_path: Path, files: dict[str, str], start: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse_dir(tmp_path, files)
    message = str(caught.value)
    assert message.startswith(start), message
    assert "\n" not in message


def test_duplicate_of_an_inline_entry_names_both(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse_dir(tmp_path, {"orders.yaml": ORDERS}, **{"meshgate:apis": stack_config("render")["meshgate:apis"]})
    assert (
        str(caught.value) == "apis/orders.yaml:1: name duplicates meshgate:apis[0].name ('orders'); each must be unique"
    )


@pytest.mark.parametrize(
    ("directory", "files", "message"),
    [
        ("missing", None, "meshgate:apiDirectory is 'missing', which is not a directory"),
        ("apis", {"README.md": "no API here"}, "meshgate:apiDirectory is 'apis', which holds no *.yaml file"),
        ("", None, "meshgate:apiDirectory string should have at least 1 character"),
    ],
)
def test_unusable_directory_names_the_key(
    tmp_path: Path, directory: str, files: dict[str, str] | None, message: str
) -> None:
    if files is not None:
        _write(tmp_path / directory, files)
    with pytest.raises(ConfigError) as caught:
        parse_raw(_render_without_apis(**{"meshgate:apiDirectory": directory}), base_dir=tmp_path)
    assert str(caught.value).startswith(message), str(caught.value)


def test_bad_file_stops_the_program_before_any_resource(tmp_path: Path) -> None:
    _write(tmp_path / "apis", {"orders.yaml": ORDERS.replace("port: 8080", "port: eighty")})
    recorded: list[Resource] = []
    with pytest.raises(pulumi.RunError) as caught:
        evaluate(
            _render_without_apis(**{"meshgate:apiDirectory": str(tmp_path / "apis")}), stack="render", record=recorded
        )
    assert f"{tmp_path}/apis/orders.yaml:4: service.port must be a valid integer" in str(caught.value)
    assert recorded == []
