"""The one way meshgate installs a pinned upstream Helm chart: a Pulumi `helm.v3.Release`.

Every release keeps `HELM_HISTORY` revisions (rollback targets) and cleans up what a failed
install created; by default it also waits for its resources and rolls a failed install or upgrade
back (`atomic`), so no release is left `pending-install`. Callers differ only in the chart, its
pin, where it goes and the values they set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

HELM_HISTORY = 5
"""Helm release revisions kept per release (rollback targets)."""


def pinned_release(
    resource_name: str,
    *,
    release_name: str,
    chart: str,
    version: pulumi.Input[str],
    repo: str | None,
    namespace: str,
    values: Mapping[str, Any] | pulumi.Input[Mapping[str, Any]],
    timeout_seconds: int,
    opts: pulumi.ResourceOptions,
    create_namespace: bool | None = None,
    atomic: bool | None = True,
    skip_await: bool | None = None,
) -> k8s.helm.v3.Release:
    """Install `chart` at `version` from the Helm repository `repo` (None: `chart` is an OCI reference)
    as release `release_name` in `namespace`, waiting up to `timeout_seconds`."""
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=release_name,
            chart=chart,
            version=version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo) if repo is not None else None,
            namespace=namespace,
            create_namespace=create_namespace,
            values=dict(values) if isinstance(values, Mapping) else values,
            timeout=timeout_seconds,
            atomic=atomic,
            cleanup_on_fail=True,
            skip_await=skip_await,
            max_history=HELM_HISTORY,
        ),
        opts,
    )
