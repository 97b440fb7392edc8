"""Every number README and docs quote is checked against the one place it comes from.

Sources: the code (timeouts, requests, pins in scripts/build-engine.sh and tools/engine/*/go.mod), the policy pack, the
test corpora, bench/results.json (performance), docs/engine.md (the engine build's cost, stated
there only). When a test here fails, update the document, not the test.
"""

from __future__ import annotations

import json
import re

import pytest
from harness import ROOT, Program, evaluate_stack, stack_program

from bench import doc_tables

README = (ROOT / "README.md").read_text()
ENGINE_DOC = (ROOT / "docs" / "engine.md").read_text()
SECURITY_DOC = (ROOT / "docs" / "security.md").read_text()
BUILD_ENGINE = (ROOT / "scripts" / "build-engine.sh").read_text()

# The Istio sidecar's requests when the chart value is not set: istiod chart values.yaml,
# `global.proxy.resources.requests` (istio/istio manifests/charts/istio-control/istio-discovery,
# docs/upstream-facts.md). meshgate sets no proxy resources, so every injected pod gets these.
ISTIO_SIDECAR_REQUESTS = {"cpu": "100m", "memory": "128Mi"}


def _script_value(name: str) -> str:
    match = re.search(rf'^{name}="([^"]+)"', BUILD_ENGINE, re.M)
    assert match, name
    return match.group(1)


# --------------------------------------------------------------------------- prerequisites


def test_go_version_is_the_one_the_build_needs() -> None:
    minimum = _script_value("MIN_GO")
    assert f"Go {minimum}+" in README
    assert re.findall(r"Go (1\.\d+(?:\.\d+)?)\+", README) == [minimum]  # no other Go version claimed
    assert f"\ngo {minimum}\n" not in BUILD_ENGINE  # the wrapper modules use $MIN_GO, not a copy


def test_pulumi_cli_version_matches_the_pin() -> None:
    """The CLI's pin is the require line of tools/engine/cli/go.mod (build-engine.sh reads it there)."""
    cli_mod = (ROOT / "tools" / "engine" / "cli" / "go.mod").read_text()
    match = re.search(r"^\s+github\.com/pulumi/pulumi/pkg/v3 (v[\d.]+)", cli_mod, re.M)
    assert match, "tools/engine/cli/go.mod pins no github.com/pulumi/pulumi/pkg/v3"
    pin = match.group(1)
    assert re.findall(r"Pulumi CLI \((v[\d.]+)\)", README) == [pin]
    assert f"`github.com/pulumi/pulumi/pkg/v3/cmd/pulumi` @ {pin}" in ENGINE_DOC


def test_the_engine_builds_cost_is_stated_once_in_docs_engine() -> None:
    """Build minutes and cache size appear in docs/engine.md's table only; README and the script refer to it."""
    others = [
        (README, "README.md"),
        (BUILD_ENGINE, "build-engine.sh"),
        ((ROOT / "scripts" / "test.sh").read_text(), "test.sh"),
    ]
    others += [(p.read_text(), p.name) for p in (ROOT / "docs").glob("*.md") if p.name != "engine.md"]
    for text, name in others:
        for sentence in re.split(r"(?<=[.;)])\s", text):
            if re.search(r"build", sentence, re.I) and re.search(r"\bengine\b", sentence, re.I):
                assert not re.search(r"~?\d+ ?(min\b|minutes|GB)", sentence), (name, sentence)
    assert "docs/engine.md#time-disk-cache" in README
    table = ENGINE_DOC.split("## Time, disk, cache", 1)[1].split("\n\n", 3)[2]
    parts = [
        re.search(rf"\| {label}, cold[^|]*\| (\d+) min (\d+) s", table)
        for label in ("CLI \\+ language host \\+ Kubernetes provider", "TLS provider")
    ]
    assert all(parts), table
    total_s = sum(int(m.group(1)) * 60 + int(m.group(2)) for m in parts if m)
    whole = re.search(r"\| Whole cold build \| ~(\d+) min", table)
    assert whole and int(whole.group(1)) == round(total_s / 60), (whole, total_s)
    outside = ENGINE_DOC.replace(table, "")
    assert not re.search(r"~\d+ min", outside), "build minutes outside the table of docs/engine.md"


def test_the_istioctl_build_is_stated_once_in_docs_engine() -> None:
    """istioctl's cold build time and download size: docs/engine.md's table only; its pin is tools/istioctl/go.mod's."""
    pin = re.search(r"^require istio\.io/istio (v\S+)$", (ROOT / "tools" / "istioctl" / "go.mod").read_text(), re.M)
    assert pin, "tools/istioctl/go.mod pins no istio.io/istio"
    assert ENGINE_DOC.count(pin.group(1)) >= 2 and pin.group(1) in (ROOT / "scripts" / "build-istioctl.sh").read_text()
    table = ENGINE_DOC.split("## Time, disk, cache", 1)[1].split("\n\n", 3)[2]
    assert re.search(
        r"\| istioctl [^|]*cold[^|]*\| \d+ min \d+ s \(1-minute load average [^|]*\| modules downloaded", table
    )
    others = [(README, "README.md"), ((ROOT / "scripts" / "build-istioctl.sh").read_text(), "build-istioctl.sh")]
    others += [(p.read_text(), p.name) for p in (ROOT / "docs").glob("*.md") if p.name != "engine.md"]
    for text, name in others:
        for sentence in re.split(r"(?<=[.;)])\s", text):
            if "istioctl" in sentence:
                assert not re.search(r"~?\d+ ?(min\b|minutes|MB|GB)", sentence), (name, sentence)


def test_kongs_release_timeout_as_quoted() -> None:
    from components.gateways.kong.gateway import HELM_TIMEOUT_SECONDS

    assert f"full timeout ({HELM_TIMEOUT_SECONDS // 60} minutes)" in README


def _cpu_m(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def _mem_mi(value: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(value[:-2]) * units[value[-2:]]


def _dev_requests(program: Program) -> tuple[int, int, dict[str, int]]:
    """CPU (m) and memory (Mi) requested by the dev stack's pods, from the recorded resources."""
    injected = {
        r.inputs["metadata"]["name"]
        for r in program.of_type("kubernetes:core/v1:Namespace")
        if (r.inputs["metadata"].get("labels") or {}).get("istio-injection") == "enabled"
    }
    pods: list[tuple[str, int, dict[str, str], bool]] = []  # what, replicas, requests, sidecar
    for r in program.of_type("kubernetes:apps/v1:Deployment"):
        spec = r.inputs["spec"]
        namespace = r.inputs["metadata"].get("namespace")
        for c in spec["template"]["spec"]["containers"]:
            pods.append((r.name, int(spec["replicas"]), c["resources"]["requests"], namespace in injected))
    for r in program.of_type("kubernetes:helm.sh/v3:Release"):
        values, chart = r.inputs.get("values") or {}, r.inputs.get("chart")
        if chart == "istiod":
            pods.append(("istiod", 1, values["resources"]["requests"], False))  # chart default: 1 replica
        if chart == "ingress":  # kong/ingress: the proxy and the controller, in the Kong namespace
            in_mesh = r.inputs["namespace"] in injected
            gateway, controller = values["gateway"], values["controller"]
            pods.append(("kong proxy", int(gateway["replicaCount"]), gateway["resources"]["requests"], in_mesh))
            pods.append(
                (
                    "kong controller",
                    int(controller["replicaCount"]),
                    controller["ingressController"]["resources"]["requests"],
                    in_mesh,
                )
            )
        in_mesh = r.inputs.get("namespace") in injected
        if chart == "opentelemetry-collector":
            pods.append((r.inputs["name"], int(values["replicaCount"]), values["resources"]["requests"], in_mesh))
        observability = {
            "prometheus": ("server", "resources"),
            "tempo": ("tempo", "resources"),
            "grafana": ("resources",),
            "kiali-server": ("deployment", "resources"),
        }
        if chart in observability and not (values.get("deployment") or {}).get("remote_cluster_resources_only"):
            node = values
            for part in observability[chart]:
                node = node[part]
            pods.append((chart, 1, node["requests"], in_mesh))  # one replica each (chart defaults)
    cpu = mem = 0
    counts: dict[str, int] = {}
    for what, replicas, requests, sidecar in pods:
        cpu += replicas * (_cpu_m(requests["cpu"]) + (_cpu_m(ISTIO_SIDECAR_REQUESTS["cpu"]) if sidecar else 0))
        mem += replicas * (_mem_mi(requests["memory"]) + (_mem_mi(ISTIO_SIDECAR_REQUESTS["memory"]) if sidecar else 0))
        counts[what] = replicas
    return cpu, mem, counts


def test_the_dev_cluster_size_is_computed_from_the_program() -> None:
    cpu, mem, counts = _dev_requests(evaluate_stack("dev"))
    assert {"istiod", "kong proxy", "kong controller"} <= set(counts)
    assert f"**{cpu}m CPU and {mem} MiB memory**" in README, (
        f"the dev stack requests {cpu}m CPU / {mem} MiB: update README 'What you need'"
    )


# --------------------------------------------------------------------------- counts


def test_policy_pack_counts() -> None:
    from policy.checks import RESOURCE_CHECKS, STACK_CHECKS

    checks = [*RESOURCE_CHECKS, *STACK_CHECKS]
    mandatory = sum(1 for c in checks if c.level.name == "MANDATORY")
    advisory = len(checks) - mandatory
    fix = f"the pack has {len(checks)} checks ({mandatory} mandatory, {advisory} advisory): update the counts in "
    assert f"of {len(checks)} checks" in README, fix + "README.md, 'Security and the policy pack'"
    assert f"({mandatory} mandatory, {advisory} advisory)" in README, fix + "README.md, 'Security and the policy pack'"
    line = (
        f"{len(checks)} checks: {len(RESOURCE_CHECKS)} per resource, {len(STACK_CHECKS)} over the whole stack; "
        f"{mandatory} mandatory, {advisory} advisory."
    )
    assert line in SECURITY_DOC, fix + f"docs/security.md: {line!r}"


def test_bad_input_corpus_counts() -> None:
    import test_bad_input
    import test_config

    parser, program = len(test_config.BAD), len(test_bad_input.CASES)
    fix = f"tests/test_config.py has {parser} bad configs, tests/test_bad_input.py {program}: update "
    assert f"bad-input corpus ({parser + program} invalid configs" in README, fix + "README.md"
    assert f"rejects {parser} bad configs at the parser" in SECURITY_DOC, fix + "docs/security.md"
    assert f"runs\n{program} more kinds" in SECURITY_DOC or f"runs {program} more kinds" in SECURITY_DOC, (
        fix + "docs/security.md"
    )


# --------------------------------------------------------------------------- performance


# --------------------------------------------------------------------------- benchmark figures

BENCH_RESULTS = json.loads((ROOT / "bench" / "results.json").read_text())


@pytest.mark.parametrize("name", sorted(doc_tables.BLOCKS))
def test_quoted_benchmark_figures_are_the_committed_results(name: str) -> None:
    """README and docs/performance.md hold exactly what bench/results.json says (rerun `python -m bench.run`)."""
    path, render = doc_tables.BLOCKS[name]
    assert doc_tables.block(path.read_text(), name) == render(BENCH_RESULTS), (
        f"{path.name} bench:{name} differs from bench/results.json: rerun `python -m bench.run --only mocks`"
    )


def test_quoted_engine_figures_are_the_committed_engine_results() -> None:
    """The real-engine summary in docs/performance.md is bench/engine_results.json's (`bench.run --only engine`)."""
    results = json.loads(doc_tables.ENGINE_RESULTS.read_text())
    path, render = doc_tables.ENGINE_BLOCKS["engine"]
    assert doc_tables.block(path.read_text(), "engine") == render(results)
    assert [p["apis"] for p in results["points"]] == [10, 100, 500, 1000, 2000], "the issue's sizes, all measured"


def test_benchmarked_resource_counts_are_todays_stacks() -> None:
    """A bench result is stale once a stack registers a different number of resources."""
    measured = {stack: v["resources"] for stack, v in BENCH_RESULTS["evaluation"].items()}
    today = {stack: len(stack_program(stack).resources) for stack in measured}
    assert measured == today, "bench/results.json predates today's stacks: rerun `python -m bench.run --only mocks`"


def test_a_changed_figure_is_noticed() -> None:
    changed = json.loads(json.dumps(BENCH_RESULTS))
    changed["evaluation"]["dev"]["cold_median_s"] += 0.5
    assert doc_tables.evaluation_table(changed) != doc_tables.evaluation_table(BENCH_RESULTS)
