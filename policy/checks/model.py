"""What a check is, and small readers for resource properties.

Properties reach a check as the Pulumi engine records them: camelCase keys, nested
mappings and lists, numbers as floats and, for some providers, booleans as strings.
Under `pulumi preview` the policy SDK hands checks read-only proxies (Mapping/Sequence,
not dict/list) that raise on unknown values, so every reader here works on the abstract
collection types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """How a violation is enforced: mandatory blocks the update, advisory only warns."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"


ResourceValidate = Callable[[str, Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Check:
    """A per-resource check: `validate(resource_type, props)` returns violation messages."""

    id: str
    description: str
    level: Level
    source: str
    applies: Callable[[str], bool]
    validate: ResourceValidate

    def __call__(self, resource_type: str, props: Mapping[str, Any]) -> list[str]:
        if not self.applies(resource_type):
            return []
        return self.validate(resource_type, props)


@dataclass(frozen=True)
class StackResource:
    """One resource of a stack as a stack check sees it (engine state or recorded under mocks).

    `dependencies` are the URNs the resource depends on (explicit and property
    dependencies); `provider` is the URN of its provider, "" for components.
    """

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str = ""
    provider: str = ""
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Violation:
    """A message and, when it concerns one resource, that resource's URN."""

    message: str
    urn: str | None = None


StackValidate = Callable[[Sequence[StackResource]], list[Violation]]


@dataclass(frozen=True)
class StackCheck:
    """A check over the whole stack (resources and their dependency graph)."""

    id: str
    description: str
    level: Level
    source: str
    validate: StackValidate = field(repr=False)

    def __call__(self, resources: Sequence[StackResource]) -> list[Violation]:
        return self.validate(resources)


# --------------------------------------------------------------------------- matching


def of_types(*types: str) -> Callable[[str], bool]:
    """Applies to exactly these type tokens."""
    wanted = frozenset(types)
    return lambda resource_type: resource_type in wanted


def kubernetes_kind(resource_type: str) -> str | None:
    """`Deployment` for `kubernetes:apps/v1:Deployment`; None for non-Kubernetes types."""
    if not resource_type.startswith("kubernetes:"):
        return None
    return resource_type.rsplit(":", 1)[-1]


def api_group(resource_type: str) -> str:
    """`security.istio.io` for `kubernetes:security.istio.io/v1:PeerAuthentication`."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes":
        return ""
    group_version = parts[1]
    return group_version.rsplit("/", 1)[0] if "/" in group_version else ""


def of_kinds(*kinds: str, group: str | None = None) -> Callable[[str], bool]:
    """Applies to Kubernetes objects of these kinds (any version), optionally of one API group."""
    wanted = frozenset(kinds)

    def applies(resource_type: str) -> bool:
        if kubernetes_kind(resource_type) not in wanted or resource_type.startswith("kubernetes:helm.sh"):
            return False
        return group is None or api_group(resource_type) == group

    return applies


HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


# --------------------------------------------------------------------------- readers


def get(props: Any, path: str, default: Any = None) -> Any:
    """Dotted lookup through mappings and lists: ``get(p, "vpcConfig.publicAccessCidrs")``."""
    node = props
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif _is_list(node) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def items(value: Any) -> list[Any]:
    """A list value as a Python list; anything else (None, scalars, mappings) as []."""
    return list(value) if _is_list(value) else []


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def is_true(value: Any) -> bool:
    """True for True and for the string "true" (some providers record booleans as strings)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside `value` with its dotted path."""
    if isinstance(value, str):
        yield path or ".", value
    elif isinstance(value, Mapping):
        for key in value:
            yield from walk_strings(value[key], f"{path}.{key}" if path else str(key))
    elif _is_list(value):
        for index, element in enumerate(value):
            yield from walk_strings(element, f"{path}[{index}]")


WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def open_to_world(cidrs: Any) -> bool:
    return any(isinstance(c, str) and c.strip() in WORLD_CIDRS for c in items(cidrs))
