"""The supported-versions matrix (stacks/versions.py): defaults stay inside it, docs stay in sync."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import yaml
from schemas import K8S_VERSION

from stacks import config, versions

ROOT = Path(__file__).resolve().parent.parent


def test_default_istio_is_a_supported_minor_of_the_matrix() -> None:
    release = versions.istio_release(config.DEFAULT_ISTIO_VERSION)
    assert release is not None, f"Istio {config.DEFAULT_ISTIO_VERSION} is not in stacks/versions.ISTIO"
    assert release.supported_on(versions.CHECKED_ON)
    assert release is versions.ISTIO[0], "the default is the newest Istio minor in the matrix"


def test_default_eks_version_is_in_standard_support_and_supported_by_istio() -> None:
    release = versions.eks_release(config.DEFAULT_EKS_KUBERNETES_VERSION)
    assert release is not None and release.standard_support_on(versions.CHECKED_ON)
    assert versions.istio_supports(config.DEFAULT_ISTIO_VERSION, config.DEFAULT_EKS_KUBERNETES_VERSION)
    assert config.EksClusterSpec.model_fields["kubernetes_version"].default == config.DEFAULT_EKS_KUBERNETES_VERSION


def test_every_gke_channel_gives_a_kubernetes_the_default_istio_supports() -> None:
    assert config.GkeClusterSpec.model_fields["release_channel"].default == config.DEFAULT_GKE_RELEASE_CHANNEL
    for channel, (minor, _) in versions.GKE_CHANNEL_DEFAULTS.items():
        assert versions.gke_release(minor) is not None, channel
        assert versions.istio_supports(config.DEFAULT_ISTIO_VERSION, minor), f"GKE {channel} runs {minor}"


def test_default_gateway_api_is_at_least_what_istio_is_built_against() -> None:
    release = versions.istio_release(config.DEFAULT_ISTIO_VERSION)
    assert release is not None

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.lstrip("v").split("."))

    assert key(config.DEFAULT_GATEWAY_API_VERSION) >= key(release.gateway_api)
    assert versions.GATEWAY_API.pinned == config.DEFAULT_GATEWAY_API_VERSION
    assert versions.KONG_CHART.pinned == config.DEFAULT_KONG_CHART_VERSION


def test_istio_chart_repository_publishes_the_default_version() -> None:
    # From 1.31 on, istio-release.storage.googleapis.com gets no charts.
    assert config.ISTIO_CHART_REPO in versions.ISTIO_CHART_REPOS
    assert "storage.googleapis.com" not in config.ISTIO_CHART_REPO


def _kubernetes_minor(cluster: dict[str, object]) -> str | None:
    """The Kubernetes minor a shipped stack's cluster runs: EKS pinned, GKE by channel, kubeconfig unknown."""
    if cluster["kind"] == "eks":
        return str(cluster.get("kubernetesVersion", config.DEFAULT_EKS_KUBERNETES_VERSION))
    if cluster["kind"] == "gke":
        return versions.GKE_CHANNEL_DEFAULTS[str(cluster.get("releaseChannel", config.DEFAULT_GKE_RELEASE_CHANNEL))][0]
    return None


def test_shipped_stacks_use_versions_inside_the_matrix() -> None:
    kic = versions.kic_release(versions.KIC_TAG)
    assert kic is not None
    for path in sorted(ROOT.glob("Pulumi.*.yaml")):
        raw = yaml.safe_load(path.read_text())["config"]
        gateway = raw.get("meshgate:gateway", {})
        if gateway.get("kind") == "kong":  # KIC runs in the gateway cluster only
            (cluster,) = [c for c in raw["meshgate:clusters"] if c["name"] == gateway["cluster"]]
            minor = _kubernetes_minor(cluster)
            assert minor is None or kic.supports_kubernetes(minor), f"{path.name}: KIC {kic.minor} on {minor}"
        istio = raw.get("meshgate:istio", {})
        version = istio.get("version", config.DEFAULT_ISTIO_VERSION)
        release = versions.istio_release(version)
        assert release is not None and release.supported_on(versions.CHECKED_ON), f"{path.name}: Istio {version}"
        for cluster in raw.get("meshgate:clusters", []):
            if cluster["kind"] == "eks":
                minor = cluster.get("kubernetesVersion", config.DEFAULT_EKS_KUBERNETES_VERSION)
                eks = versions.eks_release(minor)
                assert eks is not None and eks.standard_support_on(versions.CHECKED_ON), f"{path.name}: EKS {minor}"
                assert versions.istio_supports(version, minor), f"{path.name}: Istio {version} on {minor}"
            if cluster["kind"] == "gke":
                channel = cluster.get("releaseChannel", config.DEFAULT_GKE_RELEASE_CHANNEL)
                minor = versions.GKE_CHANNEL_DEFAULTS[channel][0]
                assert versions.istio_supports(version, minor), f"{path.name}: Istio {version} on GKE {channel}"


def test_schema_version_of_the_tests_is_the_eks_default() -> None:
    assert versions.KUBERNETES_SCHEMAS.pinned == K8S_VERSION
    assert versions.minor_of(K8S_VERSION) == config.DEFAULT_EKS_KUBERNETES_VERSION


def test_defaults_are_not_past_their_end_of_support_today() -> None:
    """Fails once a pinned default leaves upstream support: update stacks/versions.py and the pins."""
    today = date.today()
    istio = versions.istio_release(config.DEFAULT_ISTIO_VERSION)
    eks = versions.eks_release(config.DEFAULT_EKS_KUBERNETES_VERSION)
    assert istio is not None and eks is not None
    assert today < istio.end_of_life, f"Istio {istio.minor} reaches end of life {istio.end_of_life}"
    assert eks.end_of_standard_support is not None and today < eks.end_of_standard_support, (
        f"EKS {eks.minor} leaves standard support {eks.end_of_standard_support}"
    )


def test_docs_versions_md_is_generated_from_the_matrix() -> None:
    assert (ROOT / "docs" / "versions.md").read_text() == versions.render_markdown(), (
        "docs/versions.md is stale: run `python -m stacks.versions`"
    )


def test_default_kong_gateway_image_is_a_supported_release() -> None:
    """kong/ingress 0.24.0 defaults to kong:3.9 (ended 2025-12-12): the pin must be a supported minor."""
    release = versions.kong_gateway_release(versions.KONG_GATEWAY_TAG)
    assert release is not None, f"Kong Gateway {versions.KONG_GATEWAY_TAG} is not in stacks/versions.KONG_GATEWAY"
    assert release.supported_on(versions.CHECKED_ON)
    assert release.supported_on(date.today()), f"Kong Gateway {release.minor} left support {release.end_of_support}"
    chart_default = versions.kong_gateway_release(versions.KONG_CHART_GATEWAY_DEFAULT.split(":")[1])
    assert chart_default is not None and not chart_default.supported_on(versions.CHECKED_ON)


def test_kong_ingress_controller_pin_is_a_supported_release_of_the_matrix() -> None:
    """kong/ingress 0.24.0 leaves the controller on the floating `3.5` tag: the pin must be a full patch of
    the newest KIC minor, supported today, and listed as compatible with the pinned Kong Gateway minor and
    the default Kubernetes minors (EKS default, GKE default channel)."""
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.KIC_TAG), f"KIC {versions.KIC_TAG} is not a full patch tag"
    assert versions.KIC_PATCH.pinned == versions.KIC_TAG
    release = versions.kic_release(versions.KIC_TAG)
    assert release is not None, f"KIC {versions.KIC_TAG} is not in stacks/versions.KIC"
    assert release is versions.KIC[0], "the pin is the newest KIC minor in the matrix"
    assert release.supported_on(versions.CHECKED_ON)
    assert release.supported_on(date.today()), f"KIC {release.minor} left support {release.end_of_support}"
    assert release.supports_gateway(versions.KONG_GATEWAY_TAG), (
        f"KIC {release.minor} does not list Kong Gateway {versions.KONG_GATEWAY_TAG}"
    )
    assert release.supports_kubernetes(config.DEFAULT_EKS_KUBERNETES_VERSION)
    assert release.supports_kubernetes(versions.GKE_CHANNEL_DEFAULTS[config.DEFAULT_GKE_RELEASE_CHANNEL][0])
    # What the chart would run without the pin: the same minor, floating.
    assert f"{versions.KIC_IMAGE}:{release.minor}" == versions.KONG_CONTROLLER_CHART_DEFAULT
    ended = [r for r in versions.KIC if not r.supported_on(versions.CHECKED_ON)]
    assert [r.minor for r in ended] == ["2.12"], "2.12 LTS ended 2026-09-25"
