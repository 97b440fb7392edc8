"""`meshgate:apiDirectory`: the API catalogue read from a directory of YAML files.

Every `*.yaml` (or `*.yml`) file directly in the directory holds one API entry (a mapping
with the fields of a `meshgate:apis` entry) or a list of them. A file may instead be an
OpenAPI 3 document (top-level `openapi:` key) whose `x-meshgate` extension holds the entry
(or a list): meshgate reads only that extension, so an API team can keep its routing next to
its API description. Files are read in name order, entries in file order, after the entries
of `meshgate:apis`.

Entries are validated by the same model as `meshgate:apis` (`stacks.config.ApiSpec`); a
failure is one `ConfigError` naming the file and line, e.g.
``apis/orders.yaml:4: rateLimitPerMinute must be greater than or equal to 1 (got 0)``.
Only the directory name passes through the engine's config, so a catalogue of thousands of
APIs does not grow the environment the engine hands the program (Linux refuses a single
variable over 128 KiB).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stacks.config import NAMESPACE, ApiSpec, ConfigError

KEY = f"{NAMESPACE}:apiDirectory"
SUFFIXES = (".yaml", ".yml")
OPENAPI_EXTENSION = "x-meshgate"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (the wheels are): the same nodes and marks, ~10x
faster than the pure-Python one (2.9 of 3.0 CPU-seconds of reading a 1,000-API directory)."""


@dataclass(frozen=True)
class FileApi:
    """One validated entry and where it was written (`<file>:<line>`, the file relative to the project)."""

    spec: ApiSpec
    origin: str


def _display(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _child(node: yaml.Node, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """The deepest node along a pydantic error location (the entry itself for a missing key)."""
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        node = found
    return node


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and "[" not in part:
            out += f".{part}" if out else part
    return out


def _read(path: Path, shown: str) -> tuple[yaml.Node | None, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{shown}:", f"cannot be read ({err}) ({KEY})") from None
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{shown}:{mark.line + 1}:" if mark is not None else f"{shown}:"
        raise ConfigError(where, f"is not valid YAML: {err.problem or err.context} ({KEY})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{shown}:", f"is not valid YAML: {err} ({KEY})") from None
    finally:
        loader.dispose()
    return node, data


def _entries(node: yaml.Node | None, data: Any, shown: str) -> list[tuple[yaml.Node, Any]]:
    """(node, value) of each entry: a mapping, a list of mappings, or an OpenAPI document's extension."""
    if node is None:
        return []
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict) and "openapi" in data:
        extension = _child(node, OPENAPI_EXTENSION)
        if extension is None:
            raise ConfigError(
                f"{shown}:{_line(node)}:",
                f"is an OpenAPI document without an `{OPENAPI_EXTENSION}` extension holding its meshgate entry ({KEY})",
            )
        return _entries(extension, data[OPENAPI_EXTENSION], shown)
    if isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        return list(zip(node.value, data, strict=True))
    if isinstance(node, yaml.MappingNode):
        return [(node, data)]
    raise ConfigError(f"{shown}:{_line(node)}:", f"must hold an API entry (a mapping) or a list of them ({KEY})")


def _validate(entry: yaml.Node, value: Any, shown: str) -> ApiSpec:
    from stacks.config import _reason

    if not isinstance(value, dict):
        raise ConfigError(f"{shown}:{_line(entry)}:", f"must be an API entry (a mapping with name, path, ...) ({KEY})")
    try:
        return ApiSpec.model_validate(value)
    except ValidationError as err:
        errors = sorted(err.errors(), key=lambda e: [str(p) for p in e["loc"]])
        first = errors[0]
        loc = tuple(first["loc"])
        field = _field_path(loc) or "entry"
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise ConfigError(f"{shown}:{_line(_node_at(entry, loc))}: {field}", f"{_reason(first)}{more}") from None


def api_files(directory: str, base: Path) -> list[Path]:
    """The API files of `directory` (relative to `base`, the project), in name order."""
    root = (base / directory).expanduser()
    if not root.is_dir():
        raise ConfigError(KEY, f"is {directory!r}, which is not a directory (resolved to {root})")
    files = sorted(p for p in root.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(KEY, f"is {directory!r}, which holds no *.yaml file")
    return files


def load_api_directory(directory: str, base: Path) -> list[FileApi]:
    """Every entry of the directory's files, validated, with its origin; raises ConfigError."""
    out: list[FileApi] = []
    for path in api_files(directory, base):
        shown = _display(path, base)
        node, data = _read(path, shown)
        for entry, value in _entries(node, data, shown):
            out.append(FileApi(_validate(entry, value, shown), f"{shown}:{_line(entry)}"))
    return out
