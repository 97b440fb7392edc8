"""Observability in one pane (meshgate:observability): collectors, hub backends, Kiali, SLOs (issue 15).

Everything runs the real program under mocks (tests/harness.py). Upstream facts the assertions
rest on: istiod sends spans and OTel access logs to the Service named in
`meshConfig.extensionProviders` (a provider whose Service does not exist is dropped); Telemetry
selects providers by name; the opentelemetry-collector chart names its Service and ServiceAccount
after `fullnameOverride` and labels pods `app.kubernetes.io/instance: <release>`; Kiali reads a
remote cluster from a Secret whose `kiali.io/cluster` annotation and data key are the Istio
cluster name (kiali-prepare-remote-cluster.sh).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from harness import ROOT, Program, Resource, evaluate_stack, stack_config
from mesh_helpers import cluster_of, one_object
from schemas import validate_object

from components.observability import istio_views
from components.observability.charts import OTEL_COLLECTOR
from components.observability.collector import agent_config, components_used, hub_config
from components.observability.slo import ApiObjective, alerting_rules

OBS_TYPES = "meshgate:observability:"


def releases_named(program: Program, name: str) -> list[Resource]:
    return [r for r in program.releases() if r.get("name") == name]


def cluster_release(program: Program, cluster: str, name: str) -> Resource:
    found = [r for r in releases_named(program, name) if cluster_of(program, r) == cluster]
    assert len(found) == 1, f"{name} in {cluster}: {[r.urn for r in found]}"
    return found[0]


def collector_fqdn(r: Resource) -> str:
    return f"{r.get('values.fullnameOverride')}.{r.get('namespace')}.svc.cluster.local"


def observability_resources(program: Program) -> list[Resource]:
    """Every resource registered under an observability component."""
    components = {r.urn for r in program.resources if r.type.startswith(OBS_TYPES)}
    index = program.by_urn()

    def under(urn: str) -> bool:
        while urn in index:
            if urn in components:
                return True
            urn = index[urn].parent
        return False

    return [r for r in program.resources if under(r.urn)]


def observability_off(stack: str) -> Program:
    config = copy.deepcopy(stack_config(stack))
    config["meshgate:observability"] = {"enabled": False}
    return evaluate_stack(stack, {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("meshgate:")})


# ------------------------------------------------------------------ proxies -> collector


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_clusters_proxies_send_spans_and_access_logs_to_a_collector_that_exists(stack: str) -> None:
    program = evaluate_stack(stack)
    clusters = [c["name"] for c in stack_config(stack)["meshgate:clusters"]]
    for cluster in clusters:
        mesh_config = cluster_release(program, cluster, "istiod").get("values.meshConfig")
        providers = {p["name"]: p for p in mesh_config["extensionProviders"]}
        agent = cluster_release(program, cluster, "otel-agent")
        assert agent.get("chart") == "opentelemetry-collector" and agent.get("values.mode") == "deployment"
        telemetry = one_object(program, cluster, "Telemetry", "mesh-default").get("spec")
        used = [p["name"] for p in telemetry["tracing"][0]["providers"]]
        used += [p["name"] for p in telemetry["accessLogging"][0]["providers"] if p["name"] != "envoy"]
        assert sorted(used) == ["otel-als", "otel-tracing"]
        for name in used:
            target = providers[name].get("opentelemetry") or providers[name].get("envoyOtelAls")
            assert target == {"service": collector_fqdn(agent), "port": 4317}
        config = agent.get("values.alternateConfig")
        assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")
        assert {"traces", "logs", "metrics"} <= set(config["service"]["pipelines"])
        # the agent is kept to its own cluster, and stamps the Istio cluster name
        assert {"settings": {"clusterLocal": True}, "hosts": [collector_fqdn(agent)]} in mesh_config["serviceSettings"]
        assert config["processors"]["resource"]["attributes"] == [
            {"key": "k8s.cluster.name", "value": cluster, "action": "upsert"}
        ]
        assert cluster == cluster_release(program, cluster, "istiod").get("values.global.multiCluster.clusterName")


def test_agent_scrapes_merged_metrics_and_istiod_outside_its_sidecar(dev: Program) -> None:
    agent = cluster_release(dev, "local", "otel-agent")
    jobs = {j["job_name"]: j for j in agent.get("values.alternateConfig.receivers.prometheus.config.scrape_configs")}
    assert set(jobs) == {"istiod", "envoy-merged"}
    assert jobs["istiod"]["relabel_configs"][0]["regex"] == "istiod(-.+)?;http-monitoring"
    assert agent.get("values.podAnnotations") == {"traffic.sidecar.istio.io/excludeOutboundPorts": "15020,15014"}
    assert agent.get("values.clusterRole.create") is True
    namespace = one_object(dev, "local", "Namespace", "meshgate-telemetry")
    assert namespace.get("metadata.labels")["istio-injection"] == "enabled"  # collectors speak mTLS
    loop_guard = one_object(dev, "local", "Telemetry", "no-telemetry-loop")
    assert loop_guard.get("spec") == {
        "tracing": [{"disableSpanReporting": True}],
        "accessLogging": [{"disabled": True}],
    }


# ------------------------------------------------------------------ hub collector


def test_hub_collector_is_reachable_only_by_the_collectors(prod: Program) -> None:
    hub = cluster_release(prod, "aws-east", "otel-hub")
    assert releases_named(prod, "otel-hub") == [hub]
    telemetry_policies = {
        r.get("metadata.name"): r
        for r in prod.k8s_objects("AuthorizationPolicy")
        if r.get("metadata.namespace") == "meshgate-telemetry" and cluster_of(prod, r) == "aws-east"
    }
    assert set(telemetry_policies) == {"allow-nothing", "otel-agent-from-mesh", "otel-hub-from-agents"}
    assert telemetry_policies["allow-nothing"].get("spec") == {}
    policies = [telemetry_policies["otel-hub-from-agents"]]
    spec = policies[0].get("spec")
    assert spec["action"] == "ALLOW"
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/instance": "otel-hub"}}
    assert spec["rules"] == [
        {
            "from": [{"source": {"principals": ["cluster.local/ns/meshgate-telemetry/sa/otel-agent"]}}],
            "to": [{"operation": {"ports": ["4317"]}}],
        }
    ]
    # mTLS: the namespace is injected and the mesh is STRICT, so the principal is authenticated
    strict = one_object(prod, "aws-east", "PeerAuthentication", "default")
    assert strict.get("spec.mtls.mode") == "STRICT"
    # gcp-central exports to the hub over the mesh: a selector-less stub of the hub Service
    stub = [r for r in prod.k8s_objects("Service") if r.get("metadata.name") == "otel-hub"]
    assert [cluster_of(prod, r) for r in stub] == ["gcp-central"]
    assert stub[0].get("spec.selector") is None
    assert stub[0].get("spec.ports") == [
        {"name": "otlp", "port": 4317, "targetPort": 4317, "protocol": "TCP", "appProtocol": "grpc"}
    ]
    gcp_agent = cluster_release(prod, "gcp-central", "otel-agent")
    assert gcp_agent.get("values.alternateConfig.exporters.otlp.endpoint") == (
        "otel-hub.meshgate-telemetry.svc.cluster.local:4317"
    )


def test_hub_writes_metrics_to_prometheus_and_spans_to_tempo(prod: Program) -> None:
    config = cluster_release(prod, "aws-east", "otel-hub").get("values.alternateConfig")
    exporters = config["exporters"]
    assert exporters["prometheusremotewrite"]["endpoint"] == (
        "http://prometheus-server.meshgate-observability.svc.cluster.local/api/v1/write"
    )
    assert exporters["otlp/tempo"]["endpoint"] == "tempo.meshgate-observability.svc.cluster.local:4317"
    prometheus = cluster_release(prod, "aws-east", "prometheus")
    assert "web.enable-remote-write-receiver" in prometheus.get("values.server.extraFlags")
    assert {job for job, v in prometheus.get("values.scrapeConfigs").items() if v == {"enabled": False}} >= {
        "kubernetes-pods",
        "kubernetes-service-endpoints",
    }


def test_backends_admit_only_the_collectors_namespace(prod: Program) -> None:
    policy = [r for r in prod.k8s_objects("NetworkPolicy") if r.get("metadata.namespace") == "meshgate-observability"]
    assert len(policy) == 1
    sources = [
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for peer in policy[0].get("spec.ingress.0.from")
    ]
    assert sources == ["meshgate-telemetry", "meshgate-observability"]


def test_every_pod_states_its_requests() -> None:
    program = evaluate_stack("dev")
    for name in ("otel-agent", "otel-hub", "grafana"):
        assert cluster_release(program, "local", name).get("values.resources.requests")
    assert cluster_release(program, "local", "prometheus").get("values.server.resources.requests")
    assert cluster_release(program, "local", "tempo").get("values.tempo.resources.requests")
    assert cluster_release(program, "local", "kiali").get("values.deployment.resources.requests")


# ------------------------------------------------------------------ Kiali


def test_kiali_has_one_remote_secret_per_remote_cluster_named_after_the_istio_cluster(prod: Program) -> None:
    secrets = [
        r for r in prod.k8s_objects("Secret") if (r.get("metadata.labels") or {}).get("kiali.io/multiCluster") == "true"
    ]
    assert [(cluster_of(prod, s), s.get("metadata.name")) for s in secrets] == [
        ("aws-east", "kiali-remote-cluster-secret-gcp-central")
    ]
    secret = secrets[0]
    istio_name = cluster_release(prod, "gcp-central", "istiod").get("values.global.multiCluster.clusterName")
    assert secret.get("metadata.annotations") == {"kiali.io/cluster": istio_name}
    assert list(secret.get("stringData")) == [istio_name]
    kiali = cluster_release(prod, "aws-east", "kiali")
    assert kiali.get("values.clustering") == {
        "autodetect_secrets": {"enabled": False},
        "clusters": [{"name": "gcp-central", "secret_name": "kiali-remote-cluster-secret-gcp-central"}],
    }
    assert prod.depends_on(kiali, secret)
    remote = cluster_release(prod, "gcp-central", "kiali")
    assert remote.get("values.deployment") == {"remote_cluster_resources_only": True, "view_only_mode": True}
    token = [r for r in prod.k8s_objects("Secret") if r.get("metadata.name") == "kiali-remote-token"]
    assert [cluster_of(prod, t) for t in token] == ["gcp-central"]
    assert token[0].get("type") == "kubernetes.io/service-account-token"


def test_kiali_auth_is_explicit_anonymous_only_when_not_exposed(prod: Program) -> None:
    kiali = cluster_release(prod, "aws-east", "kiali")
    assert kiali.get("values.auth.strategy") == "anonymous"
    assert kiali.get("values.deployment.service_type") == "ClusterIP"
    assert kiali.get("values.deployment.view_only_mode") is True
    exposed = evaluate_stack(
        "dev",
        {
            "observability": {
                "enabled": True,
                "kiali": {
                    "expose": True,
                    "openid": {"issuerUri": "https://auth.dev.example.com/", "clientId": "kiali"},
                },
            }
        },
    )
    values = cluster_release(exposed, "local", "kiali").get("values")
    assert values["auth"] == {
        "strategy": "openid",
        "openid": {"issuer_uri": "https://auth.dev.example.com/", "client_id": "kiali"},
    }
    assert values["deployment"]["service_type"] == "LoadBalancer"


def test_without_a_multicluster_mesh_every_cluster_has_its_own_hub() -> None:
    config = copy.deepcopy(stack_config("staging"))
    overrides = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("meshgate:")}
    overrides["observability"] = {"enabled": True}
    program = evaluate_stack("staging", overrides)
    assert sorted(cluster_of(program, r) or "" for r in releases_named(program, "kiali")) == ["aws-east", "gcp-central"]
    assert not [r for r in program.k8s_objects("Service") if r.get("metadata.name") == "otel-hub"]
    assert "own backends" in program.plain_outputs["observability"]["scope"]


# ------------------------------------------------------------------ SLOs


def test_each_api_has_dashboard_panels_and_alert_rules(prod: Program) -> None:
    apis = [a["name"] for a in stack_config("prod")["meshgate:apis"]]
    prometheus = cluster_release(prod, "aws-east", "prometheus").get("values.serverFiles")
    recorded = {
        (r["record"], r["labels"]["api"])
        for g in prometheus["recording_rules.yml"]["groups"]
        for r in g["rules"]
        if "labels" in r
    }
    alerts = {(r["alert"], r["labels"]["api"]) for g in prometheus["alerting_rules.yml"]["groups"] for r in g["rules"]}
    dashboards = [r for r in prod.k8s_objects("ConfigMap") if r.get("metadata.name") == "meshgate-dashboards"]
    slo_dashboard = json.loads(dashboards[0].get("data")["api-slos.json"])
    for api in apis:
        assert ("meshgate:api_requests:rate5m", api) in recorded
        assert ("meshgate:api_error_ratio:rate1h", api) in recorded
        assert ("meshgate:api_latency_ms:p99", api) in recorded
        assert {a for a, x in alerts if x == api} == {
            "ApiErrorBudgetBurnFast",
            "ApiErrorBudgetBurnSlow",
            "ApiLatencyP99AboveObjective",
        }
        titles = [p["title"] for p in slo_dashboard["panels"] if p["type"] == "timeseries"]
        assert len([t for t in titles if t.startswith(f"{api}:")]) == 3


def test_burn_rate_thresholds_follow_the_objective() -> None:
    rules = alerting_rules([ApiObjective("orders", "orders", "shop", 99.9, 250)])["groups"][0]["rules"]
    assert rules[0]["expr"] == (
        'meshgate:api_error_ratio:rate1h{api="orders"} > 0.0144 and '
        'meshgate:api_error_ratio:rate5m{api="orders"} > 0.0144'
    )
    assert rules[1]["expr"].endswith('meshgate:api_error_ratio:rate30m{api="orders"} > 0.006')
    assert rules[2]["expr"] == 'meshgate:api_latency_ms:p99{api="orders"} > 250'


def test_api_slo_from_the_catalogue() -> None:
    config = copy.deepcopy(stack_config("dev"))
    apis = config["meshgate:apis"]
    apis[0]["slo"] = {"availability": 99.5, "latencyP99Ms": 800}
    program = evaluate_stack("dev", {"apis": apis})
    rules = cluster_release(program, "local", "prometheus").get("values.serverFiles")["alerting_rules.yml"]["groups"]
    orders = next(g for g in rules if g["name"] == "meshgate-api-orders-slo")["rules"]
    assert orders[0]["expr"].endswith("> 0.072") and orders[2]["expr"].endswith("> 800")


def test_istio_dashboards_are_shipped_files_in_sync_with_their_generator() -> None:
    assert istio_views.shipped() == {name: istio_views.render(name) for name in istio_views.DASHBOARDS}


# ------------------------------------------------------------------ off switch


def _inputs(program: Program) -> dict[str, Any]:
    return {r.urn: r.plain for r in program.resources}


def test_turning_observability_off_removes_all_of_it_and_changes_nothing_else(prod: Program) -> None:
    off = observability_off("prod")
    on_inputs, off_inputs = _inputs(prod), _inputs(off)
    added = set(on_inputs) - set(off_inputs)
    assert not set(off_inputs) - set(on_inputs)
    assert added == {r.urn for r in observability_resources(prod)}
    index = prod.by_urn()
    changed = sorted(index[u].name for u in on_inputs.keys() & off_inputs.keys() if on_inputs[u] != off_inputs[u])
    # only the two places that point proxies at the collectors
    assert changed == [
        "aws-east-istio-system-mesh-default",
        "aws-east-istiod",
        "gcp-central-istio-system-mesh-default",
        "gcp-central-istiod",
    ]
    assert "observability" not in off.plain_outputs


# ------------------------------------------------------------------ collector configs


def test_collector_configs_use_only_contrib_components() -> None:
    assert components_used(agent_config("c", "hub:4317")) == {
        "receivers": ["otlp", "prometheus"],
        "processors": ["batch", "memory_limiter", "resource"],
        "exporters": ["otlp"],
        "extensions": ["health_check"],
    }
    assert components_used(hub_config("http://p/api/v1/write", "t:4317"))["exporters"] == [
        "debug",
        "otlp",
        "prometheusremotewrite",
    ]
    # pipelines reference only defined components
    for config in (agent_config("c", "hub:4317"), hub_config("http://p/api/v1/write", "t:4317")):
        for pipeline in config["service"]["pipelines"].values():
            for kind in ("receivers", "processors", "exporters"):
                assert set(pipeline[kind]) <= set(config[kind])
        yaml.safe_dump(config)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_observability_object_is_schema_valid(stack: str) -> None:
    """Kubernetes 1.35 (strict) and Istio CRD models (extra=forbid), as for the mesh's objects."""
    objects = [
        r.plain
        for r in observability_resources(evaluate_stack(stack))
        if r.type.startswith("kubernetes:") and r.type != "kubernetes:helm.sh/v3:Release"
    ]
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "Telemetry", "AuthorizationPolicy", "NetworkPolicy", "ConfigMap"} <= kinds
    for obj in objects:
        validate_object(obj)


def test_the_collector_build_manifest_has_exactly_the_components_the_configs_use() -> None:
    """tools/otelcol/builder-config.yaml (OpenTelemetry Collector Builder) at the pinned image's version."""
    manifest = yaml.safe_load((ROOT / "tools" / "otelcol" / "builder-config.yaml").read_text())
    assert manifest["dist"]["version"] == OTEL_COLLECTOR.app_version
    suffix = {"receivers": "receiver", "processors": "processor", "exporters": "exporter", "extensions": "extension"}
    type_of = {"memorylimiter": "memory_limiter", "healthcheck": "health_check"}
    built: dict[str, list[str]] = {}
    for kind, entries in manifest.items():
        if kind in suffix:
            modules = [e["gomod"].split()[0].rsplit("/", 1)[-1] for e in entries]
            assert all(e["gomod"].split()[1] == f"v{OTEL_COLLECTOR.app_version}" for e in entries)
            names = [m.removesuffix(suffix[kind]) for m in modules]
            built[kind] = sorted(type_of.get(n) or n for n in names)
    used: dict[str, set[str]] = {}
    for config in (agent_config("c", "hub:4317"), hub_config("http://p/api/v1/write", "t:4317")):
        for kind, names in components_used(config).items():
            used.setdefault(kind, set()).update(names)
    assert built == {kind: sorted(names) for kind, names in used.items()}
