"""Tags every AWS resource of a meshgate cluster carries (cost allocation, ownership, console names)."""

from __future__ import annotations

from collections.abc import Mapping

CLUSTER_TAG = "meshgate:cluster"


def aws_tags(cluster: str, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """`meshgate:cluster=<cluster>`, `Name=<name>`, plus `extra` (e.g. Kubernetes discovery tags)."""
    return {CLUSTER_TAG: cluster, "Name": name, **(extra or {})}
