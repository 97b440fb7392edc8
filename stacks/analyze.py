"""Istio's own analyzers over what a stack plans: `istioctl analyze --use-kube=false` on every
Kubernetes and Istio object the program registers, one cluster at a time, before anything is deployed.

The objects come from one run of the program under Pulumi mocks (`stacks.recording`): the inputs the
engine would receive, without an engine or a cluster. Helm releases are not objects here, so what the
charts install (istiod, the gateways' Deployments, Kong's Services) is absent and some "referenced
resource not found" messages are expected: each is listed, with the reason, in
`stacks/analyze_suppressions.yaml`; any other message is a finding (`meshgate analyze` exits 1).

istioctl is built from the istio.io/istio Go module by `scripts/build-istioctl.sh` (cached), or named
with MESHGATE_ISTIOCTL.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

ROOT = Path(__file__).resolve().parent.parent
SUPPRESSIONS = Path(__file__).resolve().parent / "analyze_suppressions.yaml"
BUILD_SCRIPT = ROOT / "scripts" / "build-istioctl.sh"
NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "pulumi:providers:")
"""Registered `kubernetes:` types that are not one Kubernetes object (releases, manifest groups)."""
PROVIDER_SUFFIX = "-k8s"
"""Every cluster's Kubernetes provider is named `<cluster>-k8s` (stacks.clusters)."""
REDACTED = "cmVkYWN0ZWQ="  # base64("redacted"): Secret values never leave the process


class RecordedResource(Protocol):
    """What the analysis reads of one registered resource (`stacks.recording.Resource`)."""

    type: str
    name: str
    provider: str

    @property
    def plain(self) -> dict[str, Any]: ...

    def get(self, path: str, default: Any = None) -> Any: ...


class Recorded(Protocol):
    """A recorded program run (`stacks.recording.Program`)."""

    @property
    def resources(self) -> Sequence[RecordedResource]: ...


class IstioctlMissing(Exception):
    """No istioctl to run (exit 2 with how to build it)."""


@dataclass(frozen=True)
class Message:
    """One analyzer message, for one cluster's objects."""

    cluster: str
    code: str
    level: str
    origin: str
    message: str
    documentation: str = ""

    def describe(self) -> str:
        return f"{self.cluster}: {self.level} [{self.code}] ({self.origin}) {self.message}"


@dataclass(frozen=True)
class Suppression:
    """An expected message: code, origin and message patterns (fnmatch) and why it is expected."""

    code: str
    origin: str
    message: str
    reason: str

    def matches(self, m: Message) -> bool:
        return (
            m.code == self.code
            and fnmatch.fnmatchcase(m.origin, self.origin)
            and fnmatch.fnmatchcase(m.message, self.message)
        )


@dataclass
class Analysis:
    """Every message of a stack, split into findings and expected (suppressed) ones."""

    findings: list[Message]
    suppressed: list[tuple[Message, Suppression]]
    clusters: dict[str, int]
    """Cluster -> number of objects analyzed."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "clusters": self.clusters,
            "findings": [asdict(m) for m in self.findings],
            "suppressed": [{**asdict(m), "reason": s.reason} for m, s in self.suppressed],
        }


def load_suppressions(path: Path = SUPPRESSIONS) -> list[Suppression]:
    entries = yaml.safe_load(path.read_text()) or []
    return [
        Suppression(str(e["code"]), str(e.get("origin", "*")), str(e.get("message", "*")), str(e["reason"]))
        for e in entries
    ]


def find_istioctl(environ: Mapping[str, str] | None = None) -> Path:
    """MESHGATE_ISTIOCTL, else the binary scripts/build-istioctl.sh has built (never starts a build)."""
    env = os.environ if environ is None else environ
    if env.get("MESHGATE_ISTIOCTL"):
        path = Path(env["MESHGATE_ISTIOCTL"])
        if not os.access(path, os.X_OK):
            raise IstioctlMissing(f"MESHGATE_ISTIOCTL={path} is not an executable file")
        return path
    cached = subprocess.run(["bash", str(BUILD_SCRIPT), "--cached"], capture_output=True, text=True, check=False)
    lines = cached.stdout.strip().splitlines()
    if cached.returncode == 0 and lines and os.access(lines[-1], os.X_OK):
        return Path(lines[-1])
    raise IstioctlMissing(
        "istioctl is not built: run `bash scripts/build-istioctl.sh` once (cost: docs/engine.md, "
        "'Time, disk, cache'; cached afterwards), or set MESHGATE_ISTIOCTL to an istioctl binary"
    )


def _is_object(resource: RecordedResource) -> bool:
    return resource.type.startswith("kubernetes:") and not resource.type.startswith(NOT_OBJECTS)


def _provider_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _manifest(resource: RecordedResource) -> dict[str, Any]:
    """The object as the Kubernetes provider would apply it; Secret values are replaced."""
    obj = {k: v for k, v in resource.plain.items() if v is not None}
    if obj.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if isinstance(obj.get(field), Mapping):
                obj[field] = {k: REDACTED for k in obj[field]}
    return obj


def objects_by_cluster(program: Recorded) -> dict[str, list[dict[str, Any]]]:
    """Each cluster's Kubernetes objects, by the provider (`<cluster>-k8s`) they are registered with."""
    out: dict[str, list[dict[str, Any]]] = {}
    for resource in program.resources:
        if _is_object(resource):
            cluster = _provider_name(resource.provider).removesuffix(PROVIDER_SUFFIX)
            out.setdefault(cluster, []).append(_manifest(resource))
    return out


def mesh_config(program: Recorded, cluster: str) -> dict[str, Any] | None:
    """The `meshConfig` values of the cluster's istiod release (what the analyzers' mesh config is)."""
    for resource in program.resources:
        if resource.type == "kubernetes:helm.sh/v3:Release" and resource.name == f"{cluster}-istiod":
            return dict(resource.get("values.meshConfig") or {})
    return None


def run_istioctl(
    istioctl: Path, cluster: str, objects: Sequence[Mapping[str, Any]], mesh: Mapping[str, Any] | None
) -> list[Message]:
    """`istioctl analyze --use-kube=false --all-namespaces -o json` over `objects`."""
    with tempfile.TemporaryDirectory(prefix="meshgate-analyze-") as tmp:
        manifests = Path(tmp) / "objects.yaml"
        manifests.write_text(yaml.safe_dump_all(list(objects), sort_keys=True))
        argv = [str(istioctl), "analyze", "--use-kube=false", "--all-namespaces", "--output", "json"]
        if mesh is not None:
            mesh_file = Path(tmp) / "mesh.yaml"
            mesh_file.write_text(yaml.safe_dump(dict(mesh), sort_keys=True))
            argv += ["--meshConfigFile", str(mesh_file)]
        done = subprocess.run([*argv, str(manifests)], capture_output=True, text=True, check=False, cwd=tmp)
    try:
        raw = json.loads(done.stdout or "null")
    except json.JSONDecodeError:
        raw = None
    if not isinstance(raw, list):
        raise RuntimeError(f"istioctl analyze failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return [
        Message(
            cluster=cluster,
            code=str(m.get("code", "")),
            level=str(m.get("level", "")),
            origin=str(m.get("origin", "")),
            message=str(m.get("message", "")),
            documentation=str(m.get("documentationUrl", "")),
        )
        for m in raw
    ]


def analyze(program: Recorded, istioctl: Path, suppressions: Sequence[Suppression] | None = None) -> Analysis:
    """Run the analyzers over each cluster's objects; split expected messages from findings."""
    rules = load_suppressions() if suppressions is None else list(suppressions)
    by_cluster = objects_by_cluster(program)
    findings: list[Message] = []
    suppressed: list[tuple[Message, Suppression]] = []
    for cluster, objects in sorted(by_cluster.items()):
        for message in run_istioctl(istioctl, cluster, objects, mesh_config(program, cluster)):
            rule = next((s for s in rules if s.matches(message)), None)
            if rule is None:
                findings.append(message)
            else:
                suppressed.append((message, rule))
    return Analysis(findings, suppressed, {c: len(o) for c, o in sorted(by_cluster.items())})
