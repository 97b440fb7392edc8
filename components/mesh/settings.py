"""IstioSettings: what an IstioMesh installs (versions, revisions and tags, mesh identity, telemetry switches)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

STABLE_TAG = "stable"
"""The revision tag every mesh namespace uses unless `namespace_tags` says otherwise."""
DEFAULT_REVISION = "default"
"""Revision name of the unrevisioned install (release `istiod`, no `revision` value)."""


@dataclass(frozen=True)
class IstioRevision:
    """One istiod revision installed side by side with others (canary upgrades)."""

    name: str
    """Revision name (a DNS label, e.g. 1-31-0): the `revision` chart value and the `istio.io/rev` label."""
    version: str | None = None
    """Istio version of this revision; None = `IstioSettings.version`."""


@dataclass(frozen=True)
class IstioSettings:
    """The Istio install of one mesh, the same in every cluster of it."""

    version: str
    """Istio version of the charts (base, istiod, gateway), e.g. 1.31.0."""
    chart_repo: str
    """Helm repository of the Istio charts."""
    mesh_id: str = "meshgate"
    """`global.meshID`, shared by every cluster of the mesh."""
    trust_domain: str = "cluster.local"
    """SPIFFE trust domain of the workload identities."""
    revision: str | None = None
    """The single istiod's revision name; None = the unrevisioned install."""
    revisions: tuple[IstioRevision, ...] = ()
    """Several istiods side by side (overrides `revision`)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Revision tags -> revision names (with `revisions`; `stable` is the one namespaces use by default)."""
    namespace_tags: Mapping[str, str] = field(default_factory=dict)
    """Mesh namespaces -> the revision tag they are labelled with (default `stable`)."""
    access_logs: bool = True
    """Envoy access logs to stdout."""
    tracing_sampling_percent: float = 1.0
    """Share of requests traced, 0-100 (0 turns tracing off)."""
    install: bool = True
    """Install Istio; False = it is already installed (managed Istio), only namespaces and policies are added."""

    def revision_version(self, revision: IstioRevision) -> str:
        return revision.version or self.version

    @property
    def stable_revision(self) -> IstioRevision | None:
        """The revision the `stable` tag points at (None without `revisions`)."""
        target = self.tags.get(STABLE_TAG)
        return next((r for r in self.revisions if r.name == target), None)
