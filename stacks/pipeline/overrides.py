"""`--config key=value` overrides, with the semantics of `pulumi config set --path`.

A key is `[namespace:]path` (namespace default `meshgate`); the path uses `.name`,
`[index]` and `["quoted.name"]` segments, e.g. `meshgate:apis[0].rateLimitPerMinute`.
Values are typed exactly as the engine stores them with `--path`: `true`/`false` become
booleans, integers without a leading zero become ints, everything else stays a string
(so `1.24` stays the string "1.24", as the Pulumi CLI would keep it). The same override
is applied twice: to the stack through the Automation API (`set_config(..., path=True)`)
and to the in-process copy of the stack file's config that is validated first.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stacks.config import NAMESPACE

Segment = str | int


class OverrideError(ValueError):
    """A malformed `--config` argument; the message names it."""


@dataclass(frozen=True)
class Override:
    """One `--config` argument, parsed."""

    key: str  # namespaced, as handed to `set_config`: "meshgate:istio.version"
    raw: str  # the value text, as handed to `set_config`
    namespace: str
    path: tuple[Segment, ...]  # ("istio", "version")

    @property
    def value(self) -> bool | int | str:
        """The value as the engine stores it under `--path`."""
        return typed_value(self.raw)

    @property
    def root(self) -> str:
        """The top-level config key the path starts at: "meshgate:istio"."""
        return f"{self.namespace}:{self.path[0]}"


_INT = re.compile(r"[+-]?[0-9]+")


def typed_value(raw: str) -> bool | int | str:
    """`pulumi config set --path` typing: booleans, ints (no leading zero), else the string."""
    if raw == "true":
        return True
    if raw == "false":
        return False
    if len(raw) > 1 and raw[0] == "0":
        return raw
    if _INT.fullmatch(raw):
        return int(raw)
    return raw


def parse_path(text: str) -> tuple[Segment, ...]:
    """Parse `a.b[0]["c.d"]` into ("a", "b", 0, "c.d")."""
    segments: list[Segment] = []
    i, n = 0, len(text)
    expect_name = True
    while i < n:
        ch = text[i]
        if ch == "[":
            close = text.find("]", i)
            if text.startswith('["', i):
                end = text.find('"]', i + 2)
                if end < 0:
                    raise OverrideError(f"unterminated quoted segment in {text!r}")
                segments.append(text[i + 2 : end])
                i = end + 2
            elif close > i + 1 and text[i + 1 : close].isdigit():
                segments.append(int(text[i + 1 : close]))
                i = close + 1
            else:
                raise OverrideError(f'invalid index in {text!r}: use [0] or ["name"]')
            expect_name = False
            continue
        if ch == ".":
            if expect_name or i + 1 >= n:
                raise OverrideError(f"empty segment in {text!r}")
            i += 1
            expect_name = True
            continue
        if not expect_name:
            raise OverrideError(f"expected '.' or '[' at position {i} of {text!r}")
        j = i
        while j < n and text[j] not in ".[":
            j += 1
        segments.append(text[i:j])
        i = j
        expect_name = False
    if not segments or not isinstance(segments[0], str) or not segments[0]:
        raise OverrideError(f"config path {text!r} must start with a key name")
    return tuple(segments)


def parse_override(argument: str) -> Override:
    """Parse one `--config key=value` argument."""
    key, sep, raw = argument.partition("=")
    key = key.strip()
    if not sep or not key:
        raise OverrideError(f"--config {argument!r}: expected key=value, e.g. {NAMESPACE}:istio.version=1.24.3")
    namespace, colon, path_text = key.partition(":")
    if not colon:
        namespace, path_text = NAMESPACE, key
    if not namespace:
        raise OverrideError(f"--config {argument!r}: empty namespace before ':'")
    try:
        path = parse_path(path_text)
    except OverrideError as err:
        raise OverrideError(f"--config {argument!r}: {err}") from None
    return Override(key=f"{namespace}:{path_text}", raw=raw, namespace=namespace, path=path)


def normalize_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """Stack-file config with every key namespaced (`scenario` -> `meshgate:scenario`)."""
    return {(k if ":" in k else f"{NAMESPACE}:{k}"): v for k, v in config.items()}


def apply_overrides(config: Mapping[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    """A copy of `config` (namespaced keys) with every override set, in order."""
    out = copy.deepcopy(normalize_keys(config))
    for override in overrides:
        _set(out, override)
    return out


def _container(value: Any) -> Any:
    """Structured values set as JSON text (`pulumi config set k '{...}'`) are containers too."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _set(config: dict[str, Any], override: Override) -> None:
    path = override.path
    if len(path) == 1:
        config[override.root] = override.value
        return
    holder: Any = config
    key: Segment = override.root
    for depth, segment in enumerate(path[1:], start=1):
        current = _container(holder[key]) if _has(holder, key) else None
        if current is None:
            current = [] if isinstance(segment, int) else {}
        where = _render(override.namespace, path[:depth])
        if isinstance(segment, int):
            if not isinstance(current, list):
                raise OverrideError(f"--config {override.key}: {where} is not a list")
            if segment > len(current):
                raise OverrideError(
                    f"--config {override.key}: index {segment} is out of range ({where} has {len(current)} entries)"
                )
        elif not isinstance(current, dict):
            raise OverrideError(f"--config {override.key}: {where} is not an object")
        _store(holder, key, current)
        holder, key = current, segment
    _store(holder, key, override.value)


def _has(holder: Any, key: Segment) -> bool:
    if isinstance(holder, list):
        return isinstance(key, int) and key < len(holder)
    return key in holder


def _store(holder: Any, key: Segment, value: Any) -> None:
    if isinstance(holder, list):
        assert isinstance(key, int)
        if key == len(holder):
            holder.append(value)
        else:
            holder[key] = value
    else:
        holder[key] = value


def _render(namespace: str, path: Sequence[Segment]) -> str:
    out = f"{namespace}:{path[0]}"
    for segment in path[1:]:
        out += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
    return out
