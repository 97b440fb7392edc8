"""Istio Helm charts as Pulumi Releases: the mesh's chart repository (Helm or OCI) and version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.helm_release import pinned_release
from components.mesh.handle import MeshHandle


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` merged into `base`: nested mappings merge key by key, everything else replaces."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)  # type: ignore[arg-type]
        else:
            merged[key] = value
    return merged


def istio_release(
    resource_name: str,
    *,
    mesh: MeshHandle,
    chart: str,
    release_name: str,
    namespace: str,
    values: Mapping[str, Any],
    timeout_seconds: int,
    opts: pulumi.ResourceOptions,
    version: str | None = None,
) -> k8s.helm.v3.Release:
    """Install the official Istio `chart` at the mesh's pinned version.

    `mesh.chart_repo` is a Helm repository (`https://…`) or an OCI registry (`oci://…`, the chart
    is then `<registry>/<chart>` and no repository is set). The release waits for its resources
    (no skip_await) up to `timeout_seconds`; a failed install or upgrade is rolled back (`atomic`)
    so no release is left `pending-install`.
    """
    oci = mesh.chart_repo.startswith("oci://")
    return pinned_release(
        resource_name,
        release_name=release_name,
        chart=f"{mesh.chart_repo.rstrip('/')}/{chart}" if oci else chart,
        version=version or mesh.version,
        repo=None if oci else mesh.chart_repo,
        namespace=namespace,
        values=values,
        timeout_seconds=timeout_seconds,
        opts=opts,
        create_namespace=False,
        skip_await=False,
    )
