"""Schema validation for the objects the program registers (reusable by every test module).

`validate_k8s(obj)`: built-in Kubernetes kinds, `kubernetes-validate` in strict mode (unknown
fields fail) against Kubernetes `K8S_VERSION`.
`validate_istio(obj)`: Istio custom resources, the `cloudcoil.models.istio` models validated
with pydantic `extra="forbid"` (unknown fields fail at any depth).
`validate_object(obj)` picks one by apiVersion. Each raises `SchemaError` naming the object.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Mapping
from functools import cache
from typing import Any

import kubernetes_validate
import pydantic
from cloudcoil.resources import Resource as CloudcoilResource

K8S_VERSION = "1.35.0"
"""The EKS default minor (`stacks.versions.KUBERNETES_SCHEMAS`); schemas are strict."""

ISTIO_GROUPS = ("networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io")


class SchemaError(AssertionError):
    """An object does not match its schema."""


def _label(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('apiVersion')} {obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '')}"


def validate_k8s(obj: Mapping[str, Any], version: str = K8S_VERSION) -> None:
    """Validate a built-in Kubernetes object strictly (no unknown fields) against `version`."""
    try:
        kubernetes_validate.validate(dict(obj), version, strict=True)
    except kubernetes_validate.ValidationError as err:
        raise SchemaError(f"{_label(obj)}: {'.'.join(str(p) for p in err.path)}: {err.message}") from None
    except kubernetes_validate.SchemaNotFoundError:
        raise SchemaError(f"{_label(obj)}: no Kubernetes {version} schema for this kind") from None


@cache
def istio_models() -> dict[tuple[str, str], type[CloudcoilResource]]:
    """(apiVersion, kind) -> cloudcoil model class, for every Istio API the package ships."""
    import cloudcoil.models.istio as root

    models: dict[tuple[str, str], type[CloudcoilResource]] = {}
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{root.__name__}."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, CloudcoilResource) and cls.__module__ == module.__name__:
                api_version = cls.model_fields["api_version"].default
                kind = cls.model_fields["kind"].default
                if isinstance(api_version, str) and isinstance(kind, str):
                    models[(api_version, kind)] = cls
    return models


def validate_istio(obj: Mapping[str, Any]) -> None:
    """Validate an Istio custom resource against its CRD model, rejecting unknown fields anywhere."""
    model = istio_models().get((str(obj.get("apiVersion")), str(obj.get("kind"))))
    if model is None:
        raise SchemaError(f"{_label(obj)}: not an Istio API known to cloudcoil.models.istio")
    try:
        model.model_validate(dict(obj), extra="forbid", strict=False)
    except pydantic.ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise SchemaError(f"{_label(obj)}: {problems}") from None


def is_istio(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).split("/")[0] in ISTIO_GROUPS


def validate_object(obj: Mapping[str, Any]) -> None:
    """Validate any registered Kubernetes object: Istio CRs by model, the rest by Kubernetes schema."""
    if is_istio(obj):
        validate_istio(obj)
    else:
        validate_k8s(obj)
