"""The benchmark figures that README.md and docs/performance.md quote, rendered from bench/results.json.

`python -m bench.run` rewrites each block between `<!-- bench:NAME:start -->` and
`<!-- bench:NAME:end -->` after a run, and `tests/test_docs_numbers.py` checks that the documents
hold exactly what these functions render from the committed results (and that the resource
counts in the results are those of today's stacks), so a figure cannot drift from its measurement.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PERFORMANCE = ROOT / "docs" / "performance.md"

COLD_TARGETS_S = {"dev": 2.0, "prod": 6.0}
RATIO_TARGET = 1.05
EXPONENT_TARGET = 1.1
SUMMARY_STACKS = ("dev", "staging", "prod")
# Scaling points quoted in docs/performance.md: (clusters, APIs, mix).
SCALING_POINTS = (
    (1, 10, "kubeconfig"),
    (16, 10, "kubeconfig"),
    (1, 100, "kubeconfig"),
    (16, 100, "kubeconfig"),
    (1, 1000, "kubeconfig"),
    (16, 1000, "kubeconfig"),
    (16, 10, "eks-gke"),
)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def readme_summary(results: dict[str, Any]) -> str:
    """README's Performance table: resources, cold/warm evaluation, deploy critical path per stack."""
    ev, cp = results["evaluation"], results["critical_path"]
    cold_ok = all(ev[s]["cold_median_s"] <= t for s, t in COLD_TARGETS_S.items())
    ratio_ok = all(cp[s]["ratio"] <= RATIO_TARGET for s in SUMMARY_STACKS if s != "dev")

    def path(s: str) -> str:
        ratio = "" if s == "dev" else f" ({cp[s]['ratio']:.3f})"
        return f"{_minutes(cp[s]['estimated_s'])} / {_minutes(cp[s]['lower_bound_s'])}{ratio}"

    rows = [
        "| | " + " | ".join(SUMMARY_STACKS) + " | target |",
        "|---|" + "---:|" * len(SUMMARY_STACKS) + "---|",
        "| resources | " + " | ".join(str(ev[s]["resources"]) for s in SUMMARY_STACKS) + " | |",
        "| cold evaluation (fresh process, median of 5) | "
        + " | ".join(f"{ev[s]['cold_median_s']:.2f} s" for s in SUMMARY_STACKS)
        + f" | dev ≤ 2 s, prod ≤ 6 s: {_met(cold_ok)} |",
        "| warm evaluation | " + " | ".join(f"{ev[s]['warm_median_s']:.2f} s" for s in SUMMARY_STACKS) + " | |",
        "| estimated `pulumi up` / lower bound | "
        + " | ".join(path(s) for s in SUMMARY_STACKS)
        + f" | ≤ {RATIO_TARGET}: {_met(ratio_ok)} |",
    ]
    points, fits = results["scaling"]["points"], results["scaling"]["fits"]
    top = max(points, key=lambda p: (p["clusters"] * p["apis"], p["mix"] == "kubeconfig"))
    in_apis = max(v for v in [*fits["in_apis"].values(), *fits["in_apis_100_1000"].values()] if v is not None)
    in_clusters = max(v for v in [*fits["in_clusters"].values(), fits["in_clusters_eks_gke_10"]] if v is not None)
    rows += [
        "",
        f"Scaling up to {top['clusters']} clusters × {top['apis']} APIs ({top['resources']:,} resources, "
        f"{top['median_s']:.0f} s, {top['peak_rss_mb']:.0f} MB): growth exponent in APIs ≤ {in_apis:.2f}, in clusters "
        f"≤ {in_clusters:.2f} (target ≤ {EXPONENT_TARGET}: {_met(max(in_apis, in_clusters) <= EXPONENT_TARGET)}).",
    ]
    return "\n".join(rows)


def evaluation_table(results: dict[str, Any]) -> str:
    """docs/performance.md: evaluation time per stack."""
    rows = ["| stack | resources | cold (s) | warm (s) | target | met |", "|---|---:|---:|---:|---|---|"]
    for stack, v in results["evaluation"].items():
        target = COLD_TARGETS_S.get(stack)
        met = ("yes" if v["cold_median_s"] <= target else "**no**") if target else "–"
        rows.append(
            f"| {stack} | {v['resources']} | {v['cold_median_s']:.2f} | {v['warm_median_s']:.2f} | "
            f"{f'≤ {target:.0f} s' if target else '–'} | {met} |"
        )
    return "\n".join(rows)


def scaling_table(results: dict[str, Any]) -> str:
    """docs/performance.md: selected scaling points and the fitted exponents."""
    points = {(p["clusters"], p["apis"], p["mix"]): p for p in results["scaling"]["points"]}
    rows = ["| clusters × APIs | resources | time (s) | peak RSS (MB) |", "|---|---:|---:|---:|"]
    for key in SCALING_POINTS:
        p = points.get(key)
        if p is None:
            continue
        label = f"{key[0]} × {key[1]}" + (", EKS/GKE alternating" if key[2] == "eks-gke" else "")
        rows.append(f"| {label} | {p['resources']} | {p['median_s']:.2f} | {p['peak_rss_mb']:.0f} |")
    fits = results["scaling"]["fits"]
    worst = max(
        [v for v in fits["in_apis"].values() if v is not None]
        + [v for v in fits["in_apis_100_1000"].values() if v is not None]
        + [v for v in fits["in_clusters"].values() if v is not None]
        + [fits["in_clusters_eks_gke_10"]]
    )

    def series(values: dict[str, float | None], unit: str) -> str:
        return ", ".join(f"{v:.2f} ({k} {unit if k != '1' else unit[:-1]})" for k, v in values.items() if v is not None)

    rows += [
        "",
        f"Fitted exponents (log-log least squares of time); the largest is {worst:.2f}, target ≤ {EXPONENT_TARGET}: "
        f"{_met(worst <= EXPONENT_TARGET)}.",
        "",
        f"- in APIs, 10→1000: {series(fits['in_apis'], 'clusters')}",
        f"- in APIs, local slope 100→1000: {series(fits['in_apis_100_1000'], 'clusters')}",
        f"- in clusters (kubeconfig): {series(fits['in_clusters'], 'APIs')}; "
        f"EKS/GKE alternating at 10 APIs: {fits['in_clusters_eks_gke_10']:.2f}",
        f"- time vs resource count: {fits['time_vs_resources']:.2f}; memory vs resources: "
        f"{fits['memory_vs_resources']:.2f}",
    ]
    return "\n".join(rows)


def critical_path_table(results: dict[str, Any]) -> str:
    """docs/performance.md: estimated `pulumi up` against the lower bound per stack."""
    rows = [
        "| stack | estimated `pulumi up` | serial sum | lower bound | estimated / bound | target ≤ 1.05 |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for stack in ("staging", "prod", "dev"):
        v = results["critical_path"][stack]
        met = "–" if stack == "dev" else _met(v["ratio"] <= RATIO_TARGET)
        rows.append(
            f"| {stack} | {_minutes(v['estimated_s'])} | {_minutes(v['serial_s'])} | "
            f"{_minutes(v['lower_bound_s'])} | {v['ratio']:.3f} | {met} |"
        )
    return "\n".join(rows)


BLOCKS: dict[str, tuple[Path, Callable[[dict[str, Any]], str]]] = {
    "summary": (README, readme_summary),
    "evaluation": (PERFORMANCE, evaluation_table),
    "scaling": (PERFORMANCE, scaling_table),
    "critical-path": (PERFORMANCE, critical_path_table),
}


ENGINE_RESULTS = ROOT / "bench" / "engine_results.json"


def engine_summary(results: dict[str, Any]) -> str:
    """docs/performance.md: the real-engine summary (from bench/engine_results.json)."""
    from bench.engine_bench import GOAL_APIS, GOALS, STEPS
    from bench.engine_report import summary_table

    started = results.get("started_utc", "?")
    text = (
        f"Run of {started} ({results.get('pulumi_version', '?')}, {results.get('cpus', '?')} CPUs shared with "
        "other work: the `load` column is the 1-minute load average before the first preview; CPU is user + system "
        "seconds of the whole process tree, which the load does not inflate).\n\n" + summary_table(results).rstrip()
    )
    goal = next((p for p in results["points"] if p["apis"] == GOAL_APIS), None)
    if goal is not None:
        preview, up = goal["steps"]["preview"]["seconds"], goal["steps"]["up"]["seconds"]
        runs = goal.get("preview_runs") or [preview]
        fits = results.get("fits") or {}
        worst = max((fits[s] for s in STEPS if fits.get(s) is not None), default=None)
        measured = f"median of {', '.join(f'{x:.1f}' for x in runs)} s" if len(runs) > 1 else "one run"
        text += (
            f"\n\nAt {GOAL_APIS:,} APIs: first preview {preview:.1f} s ({measured}; "
            f"goal ≤ {GOALS['preview_1000_s']:.0f} s: "
            f"{_met(preview <= GOALS['preview_1000_s'])}), `up` {up:.1f} s (goal ≤ {GOALS['up_1000_s']:.0f} s: "
            f"{_met(up <= GOALS['up_1000_s'])})"
        )
        if worst is not None:
            met = _met(worst <= GOALS["exponent"])
            text += f"; largest growth exponent {worst:.2f} (goal ≤ {GOALS['exponent']}: {met})"
        split = goal["steps"]["preview"].get("cpu_by_class") or {}
        if split:
            text += (
                f". CPU of that preview: engine + plugins {split.get('engine', 0):.1f} s, program "
                f"{split.get('program', 0):.1f} s, driver {split.get('driver', 0):.1f} s"
            )
        text += "."
    return text


ENGINE_BLOCKS: dict[str, tuple[Path, Callable[[dict[str, Any]], str]]] = {
    "engine": (PERFORMANCE, engine_summary),
}


def block(text: str, name: str) -> str:
    """The text between a block's markers (without the marker lines)."""
    match = re.search(rf"<!-- bench:{name}:start -->\n(.*?)\n<!-- bench:{name}:end -->", text, re.S)
    if not match:
        raise KeyError(f"no bench:{name} block")
    return match.group(1)


def update_docs(
    results: dict[str, Any], blocks: dict[str, tuple[Path, Callable[[dict[str, Any]], str]]] = BLOCKS
) -> None:
    """Rewrite every block from `results` (the mock part's results.json, or ENGINE_BLOCKS from engine_results.json)."""
    for name, (path, render) in blocks.items():
        text = path.read_text()
        old = block(text, name)
        path.write_text(text.replace(old, render(results), 1))
