"""A stack's config as the program will see it: `Pulumi.<stack>.yaml` plus `--config` overrides,
validated by the same code as `__main__.py` (`stacks.config.parse_raw`) before the engine runs."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import yaml

from stacks.config import StackConfig, parse_raw
from stacks.pipeline.overrides import Override, apply_overrides

ROOT = Path(__file__).resolve().parents[2]
_STACK_NAME = re.compile(r"([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+")


class StackFileError(Exception):
    """The stack name or its stack file is unusable (exit 2)."""


def known_stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def stack_file(stack: str, root: Path = ROOT) -> Path:
    """`Pulumi.<name>.yaml` for `name` or a fully qualified `org/project/name`."""
    if not _STACK_NAME.fullmatch(stack):
        raise StackFileError(f"--stack {stack!r} is not a valid stack name (letters, digits, '-', '_', '.')")
    return root / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"


def raw_config(stack: str, overrides: Sequence[Override] = (), root: Path = ROOT) -> dict[str, Any]:
    """The stack file's `config:` mapping (namespaced keys) with the overrides applied."""
    path = stack_file(stack, root)
    if not path.is_file():
        raise StackFileError(f"{path.name} not found in {root} (stacks: {', '.join(known_stacks(root)) or 'none'})")
    document = read_yaml(path) or {}
    config = document.get("config") if isinstance(document, dict) else None
    if config is not None and not isinstance(config, dict):
        raise StackFileError(f"{path.name}: `config:` must be a mapping")
    return apply_overrides(config or {}, overrides)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML keeps the last one silently)."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)  # pyright: ignore[reportUnknownMemberType]
        line = key_node.start_mark.line + 1
        if isinstance(key, Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key]}; YAML would keep only the last)",
                key_node.start_mark,
            )
        if isinstance(key, Hashable):
            seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def read_yaml(path: Path) -> Any:
    """Parse a stack file strictly; every problem is one StackFileError line `<file>:<line>: <what>`."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise StackFileError(
            f"{path.name}:{line}: not UTF-8 (byte 0x{data[err.start]:02x} at column {column}); save the file as UTF-8"
        ) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path.name}:{mark.line + 1}" if mark is not None else path.name
        what = " ".join(str(err.problem or err.context or "invalid YAML").split())
        raise StackFileError(f"{where}: {what}") from None
    except yaml.YAMLError as err:
        raise StackFileError(f"{path.name}: not valid YAML: {' '.join(str(err).split())}") from None


def load_config(stack: str, overrides: Sequence[Override] = (), root: Path = ROOT) -> StackConfig:
    """Validated config of `stack`; raises StackFileError, OverrideError or stacks.config.ConfigError."""
    return parse_raw(raw_config(stack, overrides, root), base_dir=root)
