"""A stack's config as the program will see it: `Pulumi.<stack>.yaml` plus `--config` overrides,
validated by the same code as `__main__.py` (`stacks.config.parse_raw`) before the engine runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

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
        raise StackFileError(
            f"{path.name} not found in {root} (stacks: {', '.join(known_stacks(root)) or 'none'})"
        )
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise StackFileError(f"{path.name} is not valid YAML: {err}") from None
    config = document.get("config") if isinstance(document, dict) else None
    if config is not None and not isinstance(config, dict):
        raise StackFileError(f"{path.name}: `config:` must be a mapping")
    return apply_overrides(config or {}, overrides)


def load_config(stack: str, overrides: Sequence[Override] = (), root: Path = ROOT) -> StackConfig:
    """Validated config of `stack`; raises StackFileError, OverrideError or stacks.config.ConfigError."""
    return parse_raw(raw_config(stack, overrides, root))
