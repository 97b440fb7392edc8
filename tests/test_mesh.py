"""Istio in one cluster: charts, values, namespaces, ordering, revisions, policy, outputs (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import Program, evaluate, evaluate_stack, stack_config
from mesh_helpers import kubeconfig_config, mesh_k8s, mesh_resources, objects, one_object, release, write_kubeconfig

from components.clusters.handle import ClusterHandle
from components.mesh.handle import MeshHandle

REPO = "https://blob.istio.io/istio-release/charts"


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kubeconfig(tmp_path_factory.mktemp("kube"), ["one", "two", "three"])


def dev_with(**istio: object) -> Program:
    base = dict(stack_config("dev")["meshgate:istio"])
    base.update(istio)
    return evaluate_stack("dev", {"istio": base})


# ------------------------------------------------------------------ charts


def test_base_and_istiod_from_the_official_repo_at_the_pinned_version(dev: Program) -> None:
    for chart, name, timeout in (("base", "istio-base", 300), ("istiod", "istiod", 600)):
        r = release(dev, "local", chart)
        assert r.get("name") == name
        assert r.get("version") == "1.31.0"
        assert r.get("repositoryOpts.repo") == REPO
        assert r.get("namespace") == "istio-system"
        assert r.get("atomic") is True and r.get("cleanupOnFail") is True
        assert r.get("skipAwait") in (None, False)
        assert r.get("timeout") == timeout


def test_chart_version_follows_config() -> None:
    program = dev_with(version="1.25.1")
    assert {r.get("version") for r in mesh_k8s(program) if r.type == "kubernetes:helm.sh/v3:Release"} == {"1.25.1"}


def test_every_mesh_release_has_an_explicit_timeout(prod: Program) -> None:
    releases = [r for r in mesh_k8s(prod) if r.type == "kubernetes:helm.sh/v3:Release"]
    assert len(releases) == 6  # base, istiod, east-west gateway in two clusters
    assert all((r.get("timeout") or 0) >= 300 for r in releases)


def test_istiod_values(dev: Program) -> None:
    values = release(dev, "local", "istiod").get("values")
    assert values["global"]["meshID"] == "meshgate-dev"
    assert values["global"]["multiCluster"]["clusterName"] == "local"
    assert values["global"]["network"] == "local-net"
    assert values["global"]["istioNamespace"] == "istio-system"
    mesh_config = values["meshConfig"]
    assert mesh_config["accessLogFile"] == "/dev/stdout"
    assert mesh_config["defaultConfig"]["holdApplicationUntilProxyStarts"] is True
    assert mesh_config["enableTracing"] is True
    assert mesh_config["trustDomain"] == "cluster.local"
    agent = {"service": "otel-agent.meshgate-telemetry.svc.cluster.local", "port": 4317}
    assert mesh_config["extensionProviders"] == [
        {"name": "otel-tracing", "opentelemetry": agent},
        {"name": "otel-als", "envoyOtelAls": agent},
    ]
    assert mesh_config["serviceSettings"] == [{"settings": {"clusterLocal": True}, "hosts": [agent["service"]]}]
    assert values["resources"]["requests"] == {"cpu": "500m", "memory": "2048Mi"}
    assert "revision" not in values


def test_access_logs_off_and_no_sampling() -> None:
    program = dev_with(accessLogs=False, tracing={"samplingPercent": 0})
    mesh_config = release(program, "local", "istiod").get("values")["meshConfig"]
    assert mesh_config["accessLogFile"] == ""
    assert mesh_config["enableTracing"] is False
    telemetry = one_object(program, "local", "Telemetry", "mesh-default")
    assert telemetry.get("spec.accessLogging") == [
        {"providers": [{"name": "envoy"}, {"name": "otel-als"}], "disabled": True}
    ]
    assert telemetry.get("spec.tracing.0.randomSamplingPercentage") == 0


def test_without_observability_no_provider_points_at_a_missing_service(staging: Program) -> None:
    """No collector, no provider: istiod gets no extension provider and Telemetry traces nothing
    (a provider whose Service does not exist is dropped by istiod, and no span is sent)."""
    for cluster in ("aws-east", "gcp-central"):
        mesh_config = release(staging, cluster, "istiod").get("values")["meshConfig"]
        assert "extensionProviders" not in mesh_config and mesh_config["enableTracing"] is False
        assert "tracing" not in one_object(staging, cluster, "Telemetry", "mesh-default").get("spec")


def test_base_values_point_the_default_validator_at_this_istiod(dev: Program) -> None:
    assert release(dev, "local", "base").get("values") == {
        "defaultRevision": "default",
        "global": {"istioNamespace": "istio-system"},
    }


# ------------------------------------------------------------------ namespaces and order


def test_istio_system_namespace_without_network_label_in_a_single_cluster(dev: Program) -> None:
    ns = one_object(dev, "local", "Namespace", "istio-system")
    assert "topology.istio.io/network" not in (ns.get("metadata.labels") or {})


def test_single_cluster_has_no_cacerts_east_west_or_remote_secrets(dev: Program, staging: Program) -> None:
    for program in (dev, staging):
        mesh = mesh_resources(program)
        assert not [r for r in mesh if r.kind == "Secret"]
        assert not [r for r in mesh if r.type.startswith("tls:")]
        assert not [r for r in mesh if r.type in ("meshgate:mesh:IstioGateway", "meshgate:mesh:MeshFederation")]
        assert not program.of_type("meshgate:mesh:MeshCertificateAuthority")
        assert not [r for r in mesh if r.get("chart") == "gateway"]


def test_install_order(dev: Program) -> None:
    ns = one_object(dev, "local", "Namespace", "istio-system")
    base = release(dev, "local", "base")
    istiod = release(dev, "local", "istiod")
    assert dev.depends_on(base, ns)
    assert dev.depends_on(istiod, base)
    assert dev.depends_on(istiod, ns)
    assert not dev.depends_on(base, istiod)


def test_every_istio_custom_resource_depends_on_the_base_chart(any_stack: tuple[str, Program]) -> None:
    stack, program = any_stack
    crs = [r for r in program.k8s_objects() if ".istio.io/" in r.type]
    assert crs
    if stack_config(stack).get("meshgate:istio", {}).get("install") is False:  # preinstalled Istio: its CRDs exist
        assert not program.releases()
        return
    for cr in crs:
        cluster_base = [b for b in program.releases() if b.get("chart") == "base" and b.provider == cr.provider]
        assert len(cluster_base) == 1, cr.name
        assert program.depends_on(cr, cluster_base[0]), f"{cr.name} does not wait for the Istio CRDs"


def test_no_webhook_configuration_is_managed_outside_the_charts(any_stack: tuple[str, Program]) -> None:
    _, program = any_stack
    assert not program.k8s_objects("ValidatingWebhookConfiguration")
    assert not program.k8s_objects("MutatingWebhookConfiguration")


def test_every_mesh_kubernetes_object_uses_its_clusters_provider(prod: Program) -> None:
    for r in mesh_k8s(prod):
        assert r.provider.rsplit("::", 1)[-1] in ("aws-east-k8s", "gcp-central-k8s"), r.name


# ------------------------------------------------------------------ mesh-wide policy


def test_mesh_wide_strict_mtls_and_telemetry_in_every_cluster(staging: Program) -> None:
    for cluster in ("aws-east", "gcp-central"):
        pa = one_object(staging, cluster, "PeerAuthentication", "default")
        assert pa.get("apiVersion") == "security.istio.io/v1"
        assert pa.get("metadata.namespace") == "istio-system"
        assert pa.get("spec") == {"mtls": {"mode": "STRICT"}}
        telemetry = one_object(staging, cluster, "Telemetry", "mesh-default")
        assert telemetry.get("apiVersion") == "telemetry.istio.io/v1"
        assert telemetry.get("metadata.namespace") == "istio-system"
        assert telemetry.get("spec") == {"accessLogging": [{"providers": [{"name": "envoy"}], "disabled": False}]}


def test_telemetry_provider_is_the_one_istiod_defines(dev: Program) -> None:
    defined = {p["name"] for p in release(dev, "local", "istiod").get("values")["meshConfig"]["extensionProviders"]}
    spec = one_object(dev, "local", "Telemetry", "mesh-default").get("spec")
    used = {p["name"] for p in spec["tracing"][0]["providers"]} | {
        p["name"] for p in spec["accessLogging"][0]["providers"]
    }
    assert used <= defined | {"envoy"}


# ------------------------------------------------------------------ revisions


def test_revision_installs_a_revisioned_istiod() -> None:
    program = dev_with(revision="1-24-2")
    istiod = release(program, "local", "istiod")
    assert istiod.get("name") == "istiod-1-24-2"
    assert istiod.get("values")["revision"] == "1-24-2"
    assert release(program, "local", "base").get("values")["defaultRevision"] == "1-24-2"
    assert program.plain_outputs["mesh"]["local"]["revision"] == "1-24-2"


def test_revision_change_keeps_base_and_replaces_only_istiod() -> None:
    default = {r.urn for r in mesh_resources(dev_with())}
    canary = {r.urn for r in mesh_resources(dev_with(revision="canary"))}
    assert {u.rsplit("::", 1)[-1] for u in default - canary} == {"local-istiod"}
    assert {u.rsplit("::", 1)[-1] for u in canary - default} == {"local-istiod-canary"}


def _handle(revision: str | None, trust_domain: str = "cluster.local") -> MeshHandle:
    cluster = ClusterHandle.__new__(ClusterHandle)
    return MeshHandle(
        cluster=cluster,
        version="1.31.0",
        chart_repo=REPO,
        revision=revision,
        trust_domain=trust_domain,
        mesh_id="m",
        network="n",
        multicluster=False,
    )


def test_injection_labels_follow_the_revision() -> None:
    assert _handle(None).injection_labels == {"istio-injection": "enabled"}
    assert _handle("1-24-2").injection_labels == {"istio.io/rev": "1-24-2"}


def test_principal_uses_the_trust_domain() -> None:
    assert _handle(None, "acme.example").principal("kong", "kong-gateway") == "acme.example/ns/kong/sa/kong-gateway"


# ------------------------------------------------------------------ preinstalled Istio


def test_install_false_installs_no_chart_but_keeps_the_policy() -> None:
    istio = {**stack_config("dev")["meshgate:istio"], "install": False}
    program = evaluate_stack("dev", {"istio": istio, "observability": {"enabled": False}})
    assert not [r for r in mesh_k8s(program) if r.type == "kubernetes:helm.sh/v3:Release"]
    assert not objects(program, "local", "Namespace", "istio-system")
    assert one_object(program, "local", "PeerAuthentication", "default").get("spec.mtls.mode") == "STRICT"
    assert "preinstalled" in program.plain_outputs["mesh"]["local"]["summary"]


# ------------------------------------------------------------------ scenario independence and outputs


@pytest.mark.parametrize("scenario", ["in-cluster-gateway", "gateway-api"])
def test_mesh_does_not_depend_on_the_scenario(dev: Program, scenario: str) -> None:
    # gateway-api has no API-key auth: the catalogue is adjusted, the mesh must not notice either
    apis = [{**api, "auth": "none"} for api in stack_config("dev")["meshgate:apis"]]
    other = evaluate_stack("dev", {"scenario": scenario, "apis": apis})
    assert {r.urn: r.plain for r in mesh_resources(other)} == {r.urn: r.plain for r in mesh_resources(dev)}


def test_mesh_of_a_multi_cluster_stack_does_not_depend_on_the_scenario(kubeconfig: Path) -> None:
    config = kubeconfig_config(kubeconfig, ["one", "two"], multicluster=True)
    first = evaluate(config)
    second = evaluate({**config, "meshgate:scenario": "gateway-api"})
    assert {r.urn: r.plain for r in mesh_resources(first)} == {r.urn: r.plain for r in mesh_resources(second)}


def test_mesh_stack_output(dev: Program, prod: Program) -> None:
    local = dev.plain_outputs["mesh"]["local"]
    assert local["version"] == "1.31.0" and local["revision"] == "default"
    assert "eastWestGateway" not in local
    assert local["summary"].startswith("Istio 1.31.0 (default revision")
    assert "single-cluster" in local["summary"] and "\n" not in local["summary"]
    for cluster in ("aws-east", "gcp-central"):
        out = prod.plain_outputs["mesh"][cluster]
        assert out["eastWestGateway"] == "istio-eastwestgateway.istio-eastwest.svc"
        assert "multi-cluster (2 clusters" in out["summary"]
