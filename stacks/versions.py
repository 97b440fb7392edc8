"""The supported-versions matrix: which Istio supports which Kubernetes minors, which EKS and GKE
versions are in standard support, and the other upstream pins, each with its dates and source.

This module is the one place for these facts. `tests/test_versions.py` fails when a default in
`stacks.config` falls outside the matrix (or is past its end of support), and keeps
`docs/versions.md` in sync: regenerate it with ``python -m stacks.versions``.

Every date comes from the source named next to it, as stored on the date given there; nothing
is extrapolated. Dates marked *expected* are the upstream's own estimates (e.g. Istio's
"~Feb 2027 (Expected)"); they are kept as the first day of that month, so support is never
assumed for longer than upstream says.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from components.gateways.kong.gateway import KIC_IMAGE, KIC_TAG, KONG_GATEWAY_IMAGE, KONG_GATEWAY_TAG
from components.mesh import managed_ca

CHECKED_ON = date(2026, 12, 1)
"""The day the matrix below was last checked against its sources."""

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "versions.md"


@dataclass(frozen=True)
class Source:
    """Where a fact comes from and the date of the copy that was read."""

    title: str
    url: str
    as_of: str


ISTIO_SUPPORT = Source(
    "Istio supported releases (data/compatibility/supportStatus.yml of istio/istio.io)",
    "https://istio.io/latest/docs/releases/supported-releases/",
    "copy listing 1.31 (released Aug 2026); 1.29/1.30 rows from the copy of mid-2026",
)
ISTIO_131_NOTES = Source(
    'Istio 1.31 upgrade notes ("Deprecation of GCP infrastructure and hosting")',
    "https://istio.io/latest/news/releases/1.31.x/announcing-1.31/upgrade-notes/",
    "2026-09",
)
ISTIO_RELEASE_131 = Source(
    "istio/istio branch release-1.31 (charts, go.mod, istioctl MinK8SVersion = 32)",
    "https://github.com/istio/istio/tree/release-1.31",
    "2026-08-20 (branch head; 1.31.0 was tagged 2026-08-31)",
)
EKS_CALENDAR = Source(
    "Amazon EKS Kubernetes release calendar",
    "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar",
    "copy of 2026-04-24",
)
EKS_136 = Source(
    '"Kubernetes 1.36 on Amazon EKS" (devopsdreams blog, quoting the EKS calendar; not an AWS page)',
    "https://devopsdreams.blogspot.com/2026/08/kubernetes-136-on-amazon-eks-upgrade.html",
    "2026-10-09",
)
GKE_REGULAR_NOTES = Source(
    "GKE Regular channel release notes",
    "https://cloud.google.com/kubernetes-engine/docs/release-notes-regular",
    "2026-09-17 (2026-R39: 1.35.8-gke.1036000 is the Regular default)",
)
GKE_STABLE_NOTES = Source(
    "GKE release notes, current versions per channel",
    "https://cloud.google.com/kubernetes-engine/docs/release-notes",
    "2026-07 (Rapid default 1.36.0, Regular 1.35.5, Stable 1.34.8; Stable notes of 2026-07-10)",
)
GKE_VERSIONING = Source(
    "GKE versioning and support",
    "https://cloud.google.com/kubernetes-engine/versioning",
    "2026",
)
K8S_RELEASES = Source("Kubernetes releases", "https://kubernetes.io/releases/", "2026-09-15")
GATEWAY_API_TAGS = Source(
    "kubernetes-sigs/gateway-api tags", "https://github.com/kubernetes-sigs/gateway-api/releases", "2026-08-21"
)
KONG_CHART_TAGS = Source("Kong/charts tags", "https://github.com/Kong/charts/releases", "2026-07-17")
KONG_SUPPORT = Source(
    "Kong Gateway version support (Konnect compatibility table)",
    "https://developer.konghq.com/konnect-platform/compatibility/",
    "2026",
)
KONG_GATEWAY_POLICY = Source(
    "Kong Gateway version support policy (one LTS a year from 3.10, each supported 3 years)",
    "https://developer.konghq.com/gateway/version-support-policy",
    "2026",
)
KONG_OSS_310 = Source(
    "Kong/kong discussion #14405 (no OSS `kong` image or package after 3.9; 3.10 released 2025-03-27)",
    "https://github.com/Kong/kong/discussions/14405",
    "2025",
)
KONG_CHART_VALUES = Source(
    "Kong/charts tag kong-3.2.0, charts/kong/values.yaml (`image: kong:3.9`, "
    "`ingressController.image: kong/kubernetes-ingress-controller:3.5`)",
    "https://github.com/Kong/charts/blob/kong-3.2.0/charts/kong/values.yaml",
    "tag of 2026-03-31 (bundled by ingress-0.24.0, 2026-04-03)",
)
KIC_SUPPORT = Source(
    "Kong Ingress Controller version support policy (table of supported versions; source "
    "app/kubernetes-ingress-controller/support.md of Kong/developer.konghq.com)",
    "https://developer.konghq.com/kubernetes-ingress-controller/support/",
    "copy of 2026-08-21; 3.5's end of support moved from 2026-07-04 to 2027-12-18 on 2026-03-03 (#4355)",
)
KIC_COMPATIBILITY = Source(
    "Kong Ingress Controller version compatibility (Kong Gateway, Kubernetes, Gateway API and Istio tables; source "
    "app/kubernetes-ingress-controller/version-compatibility.md of Kong/developer.konghq.com)",
    "https://developer.konghq.com/kubernetes-ingress-controller/version-compatibility/",
    "copy of 2026-08-21 (Kubernetes 1.35 added 2026-04-23)",
)
KIC_RELEASES = Source(
    "Kong/kubernetes-ingress-controller CHANGELOG.md and tags (release workflow pushes images tagged "
    "`<major>.<minor>.<patch>` and `<major>.<minor>`)",
    "https://github.com/Kong/kubernetes-ingress-controller/blob/main/CHANGELOG.md",
    "main of 2026-08-18: newest tags v3.5.13 and v3.4.20 (2026-08-07), no 3.6; README: new development "
    "lands in Kong Operator, KIC stays supported per the support policy",
)
PYPI = Source("PyPI, as served to this project's Python 3.11", "https://pypi.org/", "2026-12-01")


# ---------------------------------------------------------------- Istio


@dataclass(frozen=True)
class IstioRelease:
    """One Istio minor: release date, end of life, supported Kubernetes minors (inclusive)."""

    minor: str
    released: date
    end_of_life: date
    end_of_life_expected: bool
    kubernetes: tuple[str, ...]
    gateway_api: str
    """The Gateway API release the minor is built against (go.mod) or requires (upgrade notes)."""
    source: Source

    def supported_on(self, day: date) -> bool:
        return self.released <= day < self.end_of_life


# Kubernetes ranges: the release announcements (1.31.0: "1.32 to 1.36"); the supported-releases
# table added 1.37 to 1.31 later (2026-09-30), which is not relied on here.
ISTIO: tuple[IstioRelease, ...] = (
    IstioRelease(
        "1.31",
        date(2026, 8, 31),
        date(2027, 2, 1),
        True,
        ("1.32", "1.33", "1.34", "1.35", "1.36"),
        "v1.6.0",
        ISTIO_SUPPORT,
    ),
    IstioRelease(
        "1.30",
        date(2026, 5, 18),
        date(2026, 11, 1),
        True,
        ("1.32", "1.33", "1.34", "1.35", "1.36"),
        "v1.5.1",
        ISTIO_SUPPORT,
    ),
    IstioRelease(
        "1.29",
        date(2026, 2, 16),
        date(2026, 10, 12),
        True,
        ("1.31", "1.32", "1.33", "1.34", "1.35"),
        "v1.4.1",
        ISTIO_SUPPORT,
    ),
)

ISTIO_CHART_REPOS = {
    "https://blob.istio.io/istio-release/charts": "Helm repository for 1.31 and later",
    "oci://ghcr.io/istio/release/charts": "OCI charts for 1.31 and later",
}
"""From 1.31 on, Istio publishes no chart to istio-release.storage.googleapis.com (ISTIO_131_NOTES)."""

# ---------------------------------------------------------------- managed Kubernetes


@dataclass(frozen=True)
class KubernetesRelease:
    """A Kubernetes minor on a managed service: availability and end of standard support."""

    minor: str
    available: date
    end_of_standard_support: date | None
    """None: the stored sources do not give the date."""
    source: Source

    def standard_support_on(self, day: date) -> bool:
        return self.available <= day and (self.end_of_standard_support is None or day < self.end_of_standard_support)


EKS: tuple[KubernetesRelease, ...] = (
    KubernetesRelease("1.36", date(2026, 6, 2), date(2027, 8, 2), EKS_136),
    KubernetesRelease("1.35", date(2026, 1, 28), date(2027, 3, 27), EKS_CALENDAR),
    KubernetesRelease("1.34", date(2025, 10, 2), date(2026, 12, 2), EKS_CALENDAR),
    KubernetesRelease("1.33", date(2025, 5, 29), date(2026, 7, 29), EKS_CALENDAR),
)

GKE_CHANNEL_DEFAULTS: dict[str, tuple[str, Source]] = {
    "RAPID": ("1.36", GKE_STABLE_NOTES),
    "REGULAR": ("1.35", GKE_REGULAR_NOTES),
    "STABLE": ("1.34", GKE_STABLE_NOTES),
}
"""The minor a new cluster gets in each release channel (GKE has no pinned minor: the channel
chooses and auto-upgrades it). Channels missing here are not covered by the stored sources."""

GKE: tuple[KubernetesRelease, ...] = (
    # GKE gives about 14 months of standard support from availability in Regular; the stored
    # sources give the dates each minor was the Regular/Stable/Rapid default, not its end of
    # standard support.
    # 1.36: the Rapid default in the undated copy of mid-2026; the date is that of the copy.
    KubernetesRelease("1.36", date(2026, 7, 10), None, GKE_STABLE_NOTES),
    KubernetesRelease("1.35", date(2026, 7, 9), None, GKE_REGULAR_NOTES),
    KubernetesRelease("1.34", date(2026, 5, 27), None, GKE_STABLE_NOTES),
)

KUBERNETES_UPSTREAM_EOL = {"1.35": date(2027, 2, 28)}
"""Upstream end of life (kubernetes.io); EKS and GKE patch past it."""

# ---------------------------------------------------------------- other pins


@dataclass(frozen=True)
class Pin:
    """A pinned upstream artifact: the pinned value, the newest seen, and why."""

    name: str
    pinned: str
    newest_seen: str
    released: date | None
    note: str
    source: Source


GATEWAY_API = Pin(
    "Gateway API CRDs (standard-install.yaml)",
    "v1.6.1",
    "v1.6.1",
    date(2026, 7, 16),
    "Istio 1.31 is built against v1.6.0; Istio 1.30 already requires v1.5 or newer",
    GATEWAY_API_TAGS,
)
KONG_CHART = Pin(
    "Kong chart kong/ingress",
    "0.24.0",
    "0.24.0",
    date(2026, 4, 3),
    "the newest kong/ingress release; it bundles kong/kong 3.2.0, whose default image kong:3.9 left "
    "Kong's support on 2025-12-12, so meshgate overrides the gateway image (see Kong Gateway above)",
    KONG_CHART_TAGS,
)


@dataclass(frozen=True)
class KongGatewayRelease:
    """One Kong Gateway minor and its end of support."""

    minor: str
    end_of_support: date
    lts: bool
    source: Source

    def supported_on(self, day: date) -> bool:
        return day < self.end_of_support


KONG_GATEWAY: tuple[KongGatewayRelease, ...] = (
    KongGatewayRelease("3.14", date(2029, 4, 7), True, KONG_SUPPORT),
    KongGatewayRelease("3.13", date(2026, 12, 18), False, KONG_SUPPORT),
    KongGatewayRelease("3.10", date(2028, 3, 31), True, KONG_SUPPORT),
    KongGatewayRelease("3.9", date(2025, 12, 12), False, KONG_SUPPORT),
)
"""Kong Gateway minors around the pin (3.11 and 3.12 ended 2026-07-03 and 2026-10-01)."""

KONG_CHART_GATEWAY_DEFAULT = "kong:3.9"
"""What kong/ingress 0.24.0 (kong/kong 3.2.0) would run without the pin (KONG_CHART_VALUES)."""
KONG_CONTROLLER_CHART_DEFAULT = "kong/kubernetes-ingress-controller:3.5"
"""The controller image kong/ingress 0.24.0 would run without the pin: a floating minor tag (KONG_CHART_VALUES)."""


@dataclass(frozen=True)
class KicRelease:
    """One Kong Ingress Controller minor: release, end of support, and the Kong Gateway, Kubernetes and
    Istio minors Kong lists it as compatible with."""

    minor: str
    released: date
    end_of_support: date
    lts: bool
    kong_gateway: tuple[str, ...]
    kubernetes: tuple[str, ...]
    istio: tuple[str, ...]
    """The Istio minors Kong tested the minor with (scenario 3 runs Kong in the mesh)."""
    source: Source

    def supported_on(self, day: date) -> bool:
        return self.released <= day < self.end_of_support

    def supports_gateway(self, tag: str) -> bool:
        return minor_of(tag) in self.kong_gateway

    def supports_kubernetes(self, minor: str) -> bool:
        return minor in self.kubernetes


_KIC_GATEWAYS = ("3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12")
_KIC_KUBERNETES = ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35")
_KIC_ISTIO = ("1.21", "1.22", "1.23", "1.24", "1.25", "1.26")

KIC: tuple[KicRelease, ...] = (
    KicRelease(
        "3.5", date(2025, 7, 4), date(2027, 12, 18), False, _KIC_GATEWAYS, _KIC_KUBERNETES, _KIC_ISTIO, KIC_SUPPORT
    ),
    KicRelease(
        "3.4", date(2024, 12, 18), date(2027, 12, 18), True, _KIC_GATEWAYS, _KIC_KUBERNETES, _KIC_ISTIO, KIC_SUPPORT
    ),
    KicRelease(
        "2.12",
        date(2023, 9, 25),
        date(2026, 9, 25),
        True,
        ("2.8", *_KIC_GATEWAYS),
        _KIC_KUBERNETES,
        _KIC_ISTIO,
        KIC_SUPPORT,
    ),
)
"""Kong Ingress Controller minors. KIC_SUPPORT gives release and end of support; KIC_COMPATIBILITY lists the
same ranges for all three: Kong Gateway 3.4.x-3.12.x (2.12 also 2.8.x), Kubernetes 1.27-1.35, Istio 1.21-1.26
tested. 3.5 is the newest minor (KIC_RELEASES); Kong gave it the 3.4 LTS's end of support. Neither table lists
Kubernetes 1.36, Kong Gateway 3.13/3.14 or an Istio newer than 1.26 yet."""

KIC_PATCH = Pin(
    f"Kong Ingress Controller image {KIC_IMAGE}",
    KIC_TAG,
    "3.5.13",
    date(2026, 8, 7),
    "the newest 3.5 patch in the stored copy (CHANGELOG: 2026-08-07); the chart's default is the floating "
    f"`{KONG_CONTROLLER_CHART_DEFAULT.split(':')[1]}` tag",
    KIC_RELEASES,
)

ISTIO_MODELS = Pin(
    "cloudcoil.models.istio (tests)",
    "1.24.2.1",
    "1.31.0.1",
    None,
    "1.31.0.x requires Python >= 3.14 and is not installable here; the Istio APIs meshgate writes "
    "(networking/security/telemetry v1) are unchanged between 1.24 and 1.31",
    PYPI,
)
KUBERNETES_SCHEMAS = Pin(
    "kubernetes-validate schemas (tests)",
    "1.35.0",
    "1.37.0",
    None,
    "package 1.37.0 ships schemas up to 1.37; tests validate against the EKS default minor",
    PYPI,
)

CERT_MANAGER_TAGS = Source(
    "cert-manager/cert-manager tags", "https://github.com/cert-manager/cert-manager/releases", "2026-12-02"
)
AWS_PCA_ISSUER_TAGS = Source(
    "cert-manager/aws-privateca-issuer tags",
    "https://github.com/cert-manager/aws-privateca-issuer/releases",
    "2026-12-02",
)
GOOGLE_CAS_ISSUER_TAGS = Source(
    "cert-manager/google-cas-issuer tags", "https://github.com/cert-manager/google-cas-issuer/releases", "2026-12-02"
)
CERT_MANAGER_CHART = Pin(
    "cert-manager chart (managed mesh CA)",
    managed_ca.CERT_MANAGER_VERSION,
    "v1.21.1",
    date(2026, 7, 29),
    "only with meshgate:istio.ca.kind aws-private-ca or google-cas; repository https://charts.jetstack.io",
    CERT_MANAGER_TAGS,
)
AWS_PCA_ISSUER_CHART = Pin(
    "aws-privateca-issuer chart (meshgate:istio.ca.kind aws-private-ca)",
    managed_ca.AWS_ISSUER_VERSION,
    "v1.9.0",
    date(2026, 6, 12),
    "repository https://cert-manager.github.io/aws-privateca-issuer; AWS credentials from EKS Pod Identity (EKS) "
    "or web-identity federation (GKE)",
    AWS_PCA_ISSUER_TAGS,
)
GOOGLE_CAS_ISSUER_CHART = Pin(
    "cert-manager-google-cas-issuer chart (meshgate:istio.ca.kind google-cas)",
    managed_ca.GOOGLE_ISSUER_VERSION,
    "v0.12.0",
    date(2026, 7, 7),
    "repository https://charts.jetstack.io; the project is in maintenance mode upstream (fixes only)",
    GOOGLE_CAS_ISSUER_TAGS,
)


# ---------------------------------------------------------------- queries


def minor_of(version: str) -> str:
    """`1.31` for `1.31.0`, `v1.31.0` or `1.31`."""
    parts = version.lstrip("v").split(".")
    return ".".join(parts[:2])


def istio_release(version: str) -> IstioRelease | None:
    return next((r for r in ISTIO if r.minor == minor_of(version)), None)


def eks_release(minor: str) -> KubernetesRelease | None:
    return next((r for r in EKS if r.minor == minor), None)


def gke_release(minor: str) -> KubernetesRelease | None:
    return next((r for r in GKE if r.minor == minor), None)


def kong_gateway_release(tag: str) -> KongGatewayRelease | None:
    return next((r for r in KONG_GATEWAY if r.minor == minor_of(tag)), None)


def kic_release(tag: str) -> KicRelease | None:
    return next((r for r in KIC if r.minor == minor_of(tag)), None)


def istio_supports(istio_version: str, kubernetes_minor: str) -> bool:
    release = istio_release(istio_version)
    return release is not None and kubernetes_minor in release.kubernetes


# ---------------------------------------------------------------- docs/versions.md


def _date(day: date | None, expected: bool = False) -> str:
    if day is None:
        return "not in the sources"
    return f"~{day:%b %Y} (expected)" if expected else day.isoformat()


def _span(minors: tuple[str, ...]) -> str:
    """`2.8, 3.4–3.12` for ("2.8", "3.4", ..., "3.12"): runs of consecutive minors as ranges."""
    runs: list[list[str]] = []
    for minor in minors:
        major, number = minor.split(".")
        last = runs[-1][-1].split(".") if runs else None
        if last is not None and last[0] == major and int(last[1]) + 1 == int(number):
            runs[-1].append(minor)
        else:
            runs.append([minor])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs)


def _chart_values_section() -> list[str]:
    """docs/versions.md "Chart values": one row per recorded chart file, and how to add one."""
    from stacks import chart_values

    lines = [
        "## Chart values",
        "",
        "A Helm value the chart does not read is ignored without a word, so every chart version meshgate",
        "installs has the set of value paths it accepts recorded in `stacks/chart_values/<chart>-<version>.json`,",
        "read from that version's `values.yaml` (and its templates where `values.yaml` is not exhaustive).",
        "`tests/test_chart_values.py` fails when a shipped stack or scenario sets a path the pinned chart does",
        "not have, and when a Release pins a chart version without a file.",
        "",
        "| chart | version | paths | open (free-form) | read from templates | subcharts |",
        "|---|---|---|---|---|---|",
    ]
    for path in sorted(chart_values.DIRECTORY.glob("*.json")):
        c = chart_values.load_file(path)
        subcharts = ", ".join(f"`{k}` → {v}" for k, v in sorted(c.subcharts.items())) or "—"
        lines.append(
            f"| {c.chart} | {c.version} | {len(c.paths)} | {len(c.open)} | {len(c.from_templates)} | {subcharts} |"
        )
    lines += [
        "",
        "Each file names the exact `values.yaml` it was read from (`source`). To add a chart or a new version",
        "of one, read its `values.yaml` at that tag and record it:",
        "",
        "```bash",
        "python -m stacks.chart_values record CHART VERSION values.yaml --source URL-OF-THAT-FILE-AT-THE-TAG \\",
        "  [--strip _internal_defaults_do_not_set]   # Istio charts: defaults wrapped, set at the top level",
        "  [--open PATH=REASON]...                   # a map a template renders whole (e.g. istiod meshConfig)",
        "  [--path PATH=REASON]...                   # a key a template reads that values.yaml only comments",
        "  [--subchart ALIAS=CHART-VERSION]...       # a dependency with an alias (kong/ingress: gateway, controller)",
        "python -m stacks.versions                   # regenerate this page",
        "```",
        "",
        "Empty (`{}`) and null values in `values.yaml` are recorded as open by themselves. When the test",
        "names a path, check the chart's templates before adding `--open`/`--path`: a path no template",
        "reads is a misspelling.",
    ]
    return lines


def render_markdown() -> str:
    """docs/versions.md, generated from the matrix and the defaults of `stacks.config`."""
    from stacks import config

    defaults = {
        "istio": config.DEFAULT_ISTIO_VERSION,
        "eks": config.DEFAULT_EKS_KUBERNETES_VERSION,
        "gke": config.DEFAULT_GKE_RELEASE_CHANNEL,
        "gatewayApi": config.DEFAULT_GATEWAY_API_VERSION,
        "kong": config.DEFAULT_KONG_CHART_VERSION,
        "chartRepo": config.ISTIO_CHART_REPO,
    }
    sources: list[Source] = []

    def cite(source: Source) -> str:
        if source not in sources:
            sources.append(source)
        return f"[{sources.index(source) + 1}]"

    lines = [
        "# Supported versions",
        "",
        "<!-- generated by `python -m stacks.versions` from stacks/versions.py; "
        "tests/test_versions.py keeps it in sync -->",
        "",
        f"Checked on **{CHECKED_ON.isoformat()}** against the sources listed at the end (each with the",
        "date of the copy that was read). `tests/test_versions.py` fails when a default below falls outside",
        "this matrix or is past its end of support, so a stale pin shows up as a red test, not in production.",
        "",
        "## Defaults",
        "",
        "| what | default | config key |",
        "|---|---|---|",
        f"| Istio (base, istiod, gateway charts) | `{defaults['istio']}` | `meshgate:istio.version` |",
        f"| Istio chart repository | `{defaults['chartRepo']}` | `meshgate:istio.chartRepo` |",
        f"| EKS Kubernetes | `{defaults['eks']}` | `meshgate:clusters[].kubernetesVersion` |",
        f"| GKE release channel | `{defaults['gke']}` (Kubernetes {GKE_CHANNEL_DEFAULTS[defaults['gke']][0]} "
        f"for new clusters) | `meshgate:clusters[].releaseChannel` |",
        f"| Gateway API CRDs | `{defaults['gatewayApi']}` | `meshgate:gateway.gatewayApiVersion` |",
        f"| Kong chart (kong/ingress) | `{defaults['kong']}` | `meshgate:gateway.kongChartVersion` |",
        f"| Kong Gateway image | `{KONG_GATEWAY_IMAGE}:{KONG_GATEWAY_TAG}` | — (set in the chart values) |",
        f"| Kong Ingress Controller image | `{KIC_IMAGE}:{KIC_TAG}` | — (set in the chart values) |",
        "",
        "## Istio and Kubernetes",
        "",
        "| Istio | released | end of life | Kubernetes | Gateway API | source |",
        "|---|---|---|---|---|---|",
    ]
    for r in ISTIO:
        k8s = f"{r.kubernetes[0]}–{r.kubernetes[-1]}"
        lines.append(
            f"| {r.minor} | {r.released.isoformat()} | {_date(r.end_of_life, r.end_of_life_expected)} | {k8s} "
            f"| {r.gateway_api} | {cite(r.source)} |"
        )
    lines += [
        "",
        "Istio supports a minor until six weeks after the second next minor is released. Istio 1.31 is",
        f"the newest minor in the sources {cite(ISTIO_RELEASE_131)}; its charts' values were read at the",
        "release branch and every value meshgate sets exists there (`global.meshID`,",
        "`global.multiCluster.clusterName`, `global.network`, `meshConfig.*`, `resources`, `podAnnotations`,",
        "`revision`, `revisionTags`; gateway `service.ports`, `networkGateway`, `labels`, `revision`).",
        "From 1.31 on, charts are published only at `https://blob.istio.io/istio-release/charts` (Helm) and",
        "`oci://ghcr.io/istio/release/charts` (OCI), not at "
        f"`istio-release.storage.googleapis.com` {cite(ISTIO_131_NOTES)},",
        "which is why the default chart repository changed; both forms work in `meshgate:istio.chartRepo`.",
        "",
        "## EKS standard support",
        "",
        "| Kubernetes | on EKS since | end of standard support | Istio " + ISTIO[0].minor + " | source |",
        "|---|---|---|---|---|",
    ]
    for r in EKS:
        ok = "yes" if istio_supports(defaults["istio"], r.minor) else "no"
        lines.append(
            f"| {r.minor} | {r.available.isoformat()} | {_date(r.end_of_standard_support)} | {ok} | {cite(r.source)} |"
        )
    lines += [
        "",
        "EKS gives 14 months of standard support, then 12 months of paid extended support. meshgate sets",
        "`upgradePolicy.supportType: STANDARD`, so EKS upgrades the control plane at the end of standard",
        "support instead of billing extended support: keep `kubernetesVersion` inside this table.",
        "",
        "## GKE",
        "",
        "| release channel | Kubernetes for new clusters | end of standard support | Istio "
        + ISTIO[0].minor
        + " | source |",
        "|---|---|---|---|---|",
    ]
    for channel, (minor, source) in GKE_CHANNEL_DEFAULTS.items():
        release = gke_release(minor)
        end = _date(release.end_of_standard_support if release else None)
        ok = "yes" if istio_supports(defaults["istio"], minor) else "no"
        lines.append(f"| {channel} | {minor} | {end} | {ok} | {cite(source)} |")
    lines += [
        "",
        f"GKE clusters follow their release channel {cite(GKE_VERSIONING)}: GKE picks the minor and upgrades",
        "it automatically (about 14 months of standard support from availability in Regular). A channel can",
        f"move a cluster to a minor newer than the pinned Istio supports (Istio {ISTIO[0].minor}: up to "
        f"{ISTIO[0].kubernetes[-1]}); upgrade Istio",
        "(revision canary, [mesh.md](mesh.md#upgrading-with-a-revision-canary)) before the channel moves, or",
        "set a maintenance exclusion. Upstream end of life: "
        + ", ".join(f"{m} {d.isoformat()}" for m, d in KUBERNETES_UPSTREAM_EOL.items())
        + f" {cite(K8S_RELEASES)}.",
        "",
        "## Kong Gateway",
        "",
        "| Kong Gateway | LTS | end of support | source |",
        "|---|---|---|---|",
    ]
    for k in KONG_GATEWAY:
        pinned = " (pinned)" if k.minor == minor_of(KONG_GATEWAY_TAG) else ""
        lts = "yes" if k.lts else "no"
        lines.append(f"| {k.minor}{pinned} | {lts} | {k.end_of_support.isoformat()} | {cite(k.source)} |")
    lines += [
        "",
        f"The Kong chart `{defaults['kong']}` runs `{KONG_CHART_GATEWAY_DEFAULT}` by default "
        f"{cite(KONG_CHART_VALUES)}, out of support since",
        "2025-12-12. meshgate sets `gateway.image` to "
        f"`{KONG_GATEWAY_IMAGE}:{KONG_GATEWAY_TAG}`, the 3.10 LTS: from 3.10 on",
        f"Kong publishes no `kong` (OSS) image {cite(KONG_OSS_310)}, only `kong/kong-gateway`, which runs in free",
        f"mode without a license. One LTS a year, each supported three years {cite(KONG_GATEWAY_POLICY)}; the",
        "next step is 3.14 LTS, once the controller's compatibility table lists it (below).",
        "",
        "## Kong Ingress Controller",
        "",
        "| KIC | LTS | released | end of support | Kong Gateway | Kubernetes | Istio (tested) | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in KIC:
        pinned = " (pinned)" if c.minor == minor_of(KIC_TAG) else ""
        lines.append(
            f"| {c.minor}{pinned} | {'yes' if c.lts else 'no'} | {c.released.isoformat()} "
            f"| {c.end_of_support.isoformat()} | {_span(c.kong_gateway)} "
            f"| {_span(c.kubernetes)} | {_span(c.istio)} | {cite(c.source)} {cite(KIC_COMPATIBILITY)} |"
        )
    kic = kic_release(KIC_TAG)
    assert kic is not None
    listed = [f"`{c}` ({m})" for c, (m, _) in GKE_CHANNEL_DEFAULTS.items() if kic.supports_kubernetes(m)]
    unlisted = [f"`{c}` ({m})" for c, (m, _) in GKE_CHANNEL_DEFAULTS.items() if not kic.supports_kubernetes(m)]
    unlisted_eks = [r.minor for r in EKS if not kic.supports_kubernetes(r.minor)]
    lines += [
        "",
        f"The chart `{defaults['kong']}` runs the controller image `{KONG_CONTROLLER_CHART_DEFAULT}` "
        f"{cite(KONG_CHART_VALUES)}, a floating",
        f"minor tag. meshgate sets `controller.ingressController.image` to `{KIC_IMAGE}:{KIC_TAG}`, the newest "
        f"patch of the newest minor {cite(KIC_RELEASES)},",
        "so every controller pod runs the same build and a new patch arrives by changing the pin. KIC",
        f"{kic.minor} is supported to {kic.end_of_support.isoformat()} (Kong moved it to the {KIC[1].minor} LTS's "
        f"date) and listed as compatible with the",
        f"pinned Kong Gateway {minor_of(KONG_GATEWAY_TAG)}, the EKS default Kubernetes {defaults['eks']} and the "
        f"GKE channels {', '.join(listed)}.",
        f"Kong's tables stop at Kubernetes {kic.kubernetes[-1]}, Kong Gateway {kic.kong_gateway[-1]} and tested "
        f"Istio {kic.istio[-1]}: EKS {', '.join(unlisted_eks) or '—'}, the GKE",
        f"channel {', '.join(unlisted) or '—'}, Kong Gateway 3.13/3.14 and the Istio {ISTIO[0].minor} that "
        "scenario 3 runs Kong next to",
        "are not (yet) in them; meshgate has checked those combinations under mocks only. No KIC minor",
        "followed 3.5: Kong develops its Kubernetes controller in Kong Operator now and keeps KIC",
        "supported under the policy above. KIC 3.5 lists Gateway API up to v1.3; the Kong scenarios",
        f"install no Gateway API CRDs (only the gateway-api scenario does, at `{defaults['gatewayApi']}`).",
        "",
        "## Other pins",
        "",
        "| what | pinned | newest seen | released | note | source |",
        "|---|---|---|---|---|---|",
    ]
    for pin in (
        GATEWAY_API,
        KONG_CHART,
        KIC_PATCH,
        CERT_MANAGER_CHART,
        AWS_PCA_ISSUER_CHART,
        GOOGLE_CAS_ISSUER_CHART,
        ISTIO_MODELS,
        KUBERNETES_SCHEMAS,
    ):
        released = pin.released.isoformat() if pin.released else "—"
        note = f"{pin.note} {cite(KONG_SUPPORT)}" if pin is KONG_CHART else pin.note
        lines.append(
            f"| {pin.name} | `{pin.pinned}` | `{pin.newest_seen}` | {released} | {note} | {cite(pin.source)} |"
        )
    lines += ["", *_chart_values_section()]
    from components.observability.charts import OTEL_COLLECTOR_IMAGE, PINS

    lines += [
        "",
        "## Observability charts (`meshgate:observability`)",
        "",
        "| chart | pinned | application | repository | read at |",
        "|---|---|---|---|---|",
    ]
    for chart in PINS:
        lines.append(f"| {chart.chart} | `{chart.version}` | {chart.app_version} | <{chart.repo}> | {chart.source} |")
    lines += [
        "",
        f"The collector runs the contrib image `{OTEL_COLLECTOR_IMAGE}` at the chart's application version. Every",
        "value meshgate sets was read against the pinned chart's values.yaml ([observability.md](observability.md)).",
    ]
    lines += [
        "",
        "## Upgrading an existing stack",
        "",
        "Istio: never by changing `istio.version` of the serving control plane in place. Add the new",
        "version as a second revision, move the `stable` tag, restart workloads, remove the old revision —",
        "each a config change and one `up` ([mesh.md](mesh.md#upgrading-with-a-revision-canary)).",
        "A stack on the old default (Istio 1.24.2, unrevisioned) starts by declaring that install as",
        "revision `default`. EKS: raise `kubernetesVersion` one minor per `up` (EKS upgrades one minor at",
        "a time), then the node group follows. Gateway API CRDs and the Kong chart: change the pin,",
        "`preview`, `up`. The Kong images are pinned in code (`KONG_GATEWAY_TAG`, `KIC_TAG` in",
        "`components/gateways/kong/gateway.py`): move them with this matrix; the release rolls the pods.",
        "",
        "## Sources",
        "",
    ]
    for index, source in enumerate(sources, 1):
        lines.append(f"{index}. {source.title} — <{source.url}> (read: {source.as_of})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render_markdown()
    if args == ["--check"]:
        return 0 if DOC_PATH.read_text() == text else 1
    DOC_PATH.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
