"""Which existing clusters a stack deploys onto: `python -m stacks.pipeline.targets --stack S`.

`scripts/deploy.sh` runs this before anything is applied: it prints, per `kind: kubeconfig`
cluster of the stack, the kubeconfig file and context the program will use (the cluster's
`context`, else the kubeconfig's `current-context`, as the Kubernetes provider does), and
refuses (exit 2) when that context does not exist. Clusters the stack creates (EKS, GKE) and
rendered clusters (`renderDirectory`) touch no existing context.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stacks.config import ConfigError, KubeconfigClusterSpec, StackConfig
from stacks.pipeline.overrides import OverrideError
from stacks.pipeline.stackfile import StackFileError, load_config


class TargetError(Exception):
    """The kubeconfig context a cluster needs is missing (exit 2: nothing was run)."""


@dataclass(frozen=True)
class Target:
    """Where one cluster of the stack lives."""

    cluster: str
    description: str


def kubeconfig_files(spec: KubeconfigClusterSpec, environ: Mapping[str, str]) -> list[Path]:
    """The files the provider reads: the cluster's `kubeconfig`, else $KUBECONFIG (a path list), else ~/.kube/config."""
    if spec.kubeconfig:
        return [Path(spec.kubeconfig).expanduser()]
    listed = [p for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [Path(p).expanduser() for p in listed]
    return [Path(environ.get("HOME", str(Path.home()))) / ".kube" / "config"]


def _merged(files: Sequence[Path]) -> tuple[str | None, list[str]]:
    """`current-context` (first file that sets it wins, as kubectl merges) and every context name."""
    current: str | None = None
    names: list[str] = []
    for path in files:
        if not path.is_file():
            continue
        try:
            document: Any = yaml.safe_load(path.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise TargetError(f"{path}: not a readable kubeconfig ({' '.join(str(err).split())[:120]})") from None
        if not isinstance(document, dict):
            continue
        current = current or document.get("current-context") or None
        for entry in document.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name"):
                names.append(str(entry["name"]))
    return current, names


def targets(config: StackConfig, environ: Mapping[str, str]) -> list[Target]:
    """One Target per cluster; raises TargetError naming the cluster whose context is missing."""
    found: list[Target] = []
    for index, cluster in enumerate(config.clusters):
        if not isinstance(cluster, KubeconfigClusterSpec):
            found.append(Target(cluster.name, f"new {cluster.kind} cluster (created by the stack)"))
            continue
        if cluster.render_directory:
            found.append(Target(cluster.name, f"no cluster: manifests rendered to {cluster.render_directory}/"))
            continue
        files = kubeconfig_files(cluster, environ)
        shown = os.pathsep.join(str(f) for f in files)
        if not any(f.is_file() for f in files):
            raise TargetError(
                f"meshgate:clusters[{index}] ({cluster.name}): no kubeconfig at {shown}; create a cluster "
                "(e.g. `kind create cluster`) or set KUBECONFIG"
            )
        current, names = _merged(files)
        context = cluster.context or current
        if context is None:
            raise TargetError(
                f"meshgate:clusters[{index}] ({cluster.name}): {shown} has no current-context; "
                "run `kubectl config use-context <name>` or set meshgate:clusters[].context"
            )
        if context not in names:
            raise TargetError(
                f"meshgate:clusters[{index}] ({cluster.name}): kubeconfig context {context!r} not found in {shown} "
                f"(contexts: {', '.join(names) or 'none'})"
            )
        found.append(Target(cluster.name, f"kubeconfig context {context!r} ({shown})"))
    return found


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.pipeline.targets", description="Which existing clusters a stack deploys onto."
    )
    parser.add_argument("--stack", "-s", required=True)
    args = parser.parse_args(argv)
    try:
        found = targets(load_config(args.stack), os.environ if environ is None else environ)
    except (TargetError, ConfigError, StackFileError, OverrideError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # stderr: stdout stays free for the pipeline's --json document (scripts/deploy.sh --json)
    print(f"stack {args.stack} deploys to:", file=sys.stderr)
    for target in found:
        print(f"  {target.cluster}: {target.description}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
