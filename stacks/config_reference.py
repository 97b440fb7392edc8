"""Render the config reference (every `meshgate:*` key, its type and default) from the models.

`python -m stacks.config_reference` prints the Markdown table embedded in README.md; a test
keeps the two in sync, so the defaults are documented in exactly one place: stacks/config.py.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from stacks.config import EksClusterSpec, GkeClusterSpec, KubeconfigClusterSpec, StackConfig


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(dict.fromkeys(names))
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    if isinstance(annotation, type) and hasattr(annotation, "__members__"):
        return " \\| ".join(f"`{m.value}`" for m in annotation.__members__.values())  # type: ignore[attr-defined]
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return f"`{json.dumps(info.default_factory())}`"  # type: ignore[call-arg]  # no-argument factories only
    if info.default is PydanticUndefined:
        return "**required**"
    value = info.default
    if isinstance(value, BaseModel):
        return "see below"
    if hasattr(value, "value"):
        value = value.value
    return f"`{json.dumps(value)}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        annotation = info.annotation
        rows.append(f"| `{key}` | {_type_name(annotation)} | {_default(info)} | {info.description or ''} |")
        nested = _nested_model(annotation)
        if nested is not None and nested not in (EksClusterSpec, GkeClusterSpec, KubeconfigClusterSpec):
            separator = "[]." if typing.get_origin(annotation) is list else "."
            rows.extend(_rows(nested, f"{key}{separator}"))
    return rows


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        inner = typing.get_args(candidate)
        for arg in inner:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def render() -> str:
    """The config reference as Markdown."""
    header = "| key | type | default | notes |\n|---|---|---|---|"
    parts = [header, *_rows(StackConfig, "meshgate:")]
    for kind, model in (("eks", EksClusterSpec), ("gke", GkeClusterSpec), ("kubeconfig", KubeconfigClusterSpec)):
        parts.append(f"| **clusters[] with `kind: {kind}`** | | | {(model.__doc__ or '').strip()} |")
        parts.extend(row for row in _rows(model, "meshgate:clusters[].") if "`meshgate:clusters[].kind`" not in row)
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render(), end="")
