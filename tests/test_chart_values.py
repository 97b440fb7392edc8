"""Every Helm value the program sets exists in the pinned chart (stacks/chart_values: the value
paths recorded from each chart version's values.yaml and templates, with the source)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stack_programs import shipped_programs

from components.clusters import eks_autoscaler
from components.observability import charts as observability_charts
from stacks import chart_values, config

PROGRAMS = shipped_programs()


def test_every_release_sets_only_values_its_pinned_chart_has() -> None:
    problems: list[str] = []
    for label, program in PROGRAMS:
        for release in program.releases():
            chart, version = release.plain["chart"], release.plain["version"]
            unknown = chart_values.load(chart, version).unknown(release.plain.get("values") or {})
            problems += [f"{label}: {release.name} ({chart} {version}) sets {path}" for path in unknown]
    assert problems == [], "\n".join(problems)


def test_the_shipped_stacks_cover_every_pinned_chart() -> None:
    """The pins in the code are what the shipped stacks install (so the test above covers each of them)."""
    charts = {(r.plain["chart"], r.plain["version"]) for _, p in PROGRAMS for r in p.releases()}
    assert charts >= {
        ("base", config.DEFAULT_ISTIO_VERSION),
        ("istiod", config.DEFAULT_ISTIO_VERSION),
        ("gateway", config.DEFAULT_ISTIO_VERSION),
        ("ingress", config.DEFAULT_KONG_CHART_VERSION),
        (eks_autoscaler.CHART, eks_autoscaler.CHART_VERSION),
        *((pin.chart, pin.version) for pin in observability_charts.PINS),
    }


def test_every_recorded_file_is_for_its_name_and_names_its_source() -> None:
    files = sorted(chart_values.DIRECTORY.glob("*.json"))
    assert files
    for path in files:
        recorded = chart_values.load_file(path)
        assert path == recorded.file
        assert recorded.source.startswith("https://github.com/") and recorded.version in recorded.source
        for subchart in recorded.subcharts.values():
            assert (chart_values.DIRECTORY / f"{subchart}.json").exists(), (path.name, subchart)
        assert recorded.paths


def test_a_misspelled_value_is_reported() -> None:
    kong = chart_values.load("ingress", config.DEFAULT_KONG_CHART_VERSION)
    values = {"gateway": {"replicaCout": 2, "replicaCount": 2, "podAnnotations": {"a.b/c": "x"}}}
    assert kong.unknown(values) == ["gateway.replicaCout"]
    istiod = chart_values.load("istiod", config.DEFAULT_ISTIO_VERSION)
    assert istiod.unknown({"global": {"meshId": "x", "meshID": "x"}, "meshConfig": {"anything": 1}}) == [
        "global.meshId"
    ]
    # The Istio charts' defaults sit under _internal_defaults_do_not_set; users set them at the top.
    assert istiod.unknown({"_internal_defaults_do_not_set": {"global": {}}}) == ["_internal_defaults_do_not_set.global"]


def test_a_scalar_in_the_chart_is_not_a_map() -> None:
    """`image.repository` exists in Kong's chart; `image.repository.name` does not."""
    kong = chart_values.load("kong", "3.2.0")
    assert kong.unknown({"image": {"repository": "kong/kong-gateway"}}) == []
    assert kong.unknown({"image": {"repository": {"name": "x"}}}) == ["image.repository.name"]


def test_a_chart_version_without_a_file_fails_with_the_command_to_record_it() -> None:
    with pytest.raises(FileNotFoundError, match=r"ingress 0\.99\.0 .*python -m stacks.chart_values record"):
        chart_values.load("ingress", "0.99.0")


def test_record_reads_values_yaml_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stacks.chart_values.__main__ import main

    values = tmp_path / "values.yaml"
    values.write_text(
        "_internal_defaults_do_not_set:\n  global:\n    meshID: ''\n  podAnnotations: {}\n  tolerations: []\n"
        "  hostname: ~\n"
    )
    monkeypatch.setattr(chart_values, "DIRECTORY", tmp_path)
    argv = ["record", "demo", "1.0.0", str(values), "--source", "https://github.com/x/y/blob/1.0.0/values.yaml"]
    argv += ["--strip", "_internal_defaults_do_not_set", "--open", "meshConfig=templates/configmap.yaml"]
    argv += ["--path", "pdb.maxUnavailable=templates/pdb.yaml"]
    assert main(argv) == 0
    data = json.loads((tmp_path / "demo-1.0.0.json").read_text())
    assert data["paths"] == ["global.meshID", "hostname", "podAnnotations", "tolerations"]
    assert set(data["open"]) == {"hostname", "podAnnotations", "meshConfig"}
    assert data["fromTemplates"] == {"pdb.maxUnavailable": "templates/pdb.yaml"}
    recorded = chart_values.load_file(tmp_path / "demo-1.0.0.json")
    assert recorded.unknown({"pdb": {"maxUnavailable": 1}, "meshConfig": {"x": 1}, "global": {"meshId": ""}}) == [
        "global.meshId"
    ]
