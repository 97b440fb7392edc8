"""Benchmark entry point: `python -m bench.run [--quick]` writes bench/RESULTS.md, results.json,
engine_results.json and PNG plots.

Sections: the real engine (bench/engine_bench.py: the render stack with 10-2,000 APIs against the
engine's no-program floor), then, under mocks, evaluation time per stack (cold/warm), scaling on
synthetic configs, import cost, deploy-time critical path against the lower bound.
`--only engine` / `--only mocks` reruns one part and keeps the other's last results.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable

from bench import doc_tables  # noqa: E402
from bench.critical_path import DURATIONS, analyse  # noqa: E402
from tests.harness import STACK_FILES, evaluate_stack  # noqa: E402

STACKS = sorted(STACK_FILES)
COLD_SNIPPET = (
    "import sys; sys.path[:0]=[{root!r},{tests!r}]; from harness import evaluate_stack; evaluate_stack({stack!r})"
)
SDKS = ("pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_tls", "pulumi", "pydantic", "grpc", "google", "yaml")


def _snippet(stack: str) -> str:
    return COLD_SNIPPET.format(root=str(ROOT), tests=str(ROOT / "tests"), stack=stack)


def _worker(*args: str) -> dict[str, Any]:
    out = subprocess.run([PY, str(BENCH / "worker.py"), *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_and_warm(repeats: int) -> dict[str, Any]:
    """Cold: wall time of a fresh interpreter evaluating the stack. Warm: in-process repeats after one run."""
    results: dict[str, Any] = {}
    for stack in STACKS:
        cold: list[float] = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([PY, "-c", _snippet(stack)], cwd=ROOT, check=True, capture_output=True)
            cold.append(time.perf_counter() - start)
        warm = _worker("stack", stack, str(repeats + 1))
        results[stack] = {
            "cold_s": cold,
            "cold_median_s": statistics.median(cold),
            "warm_s": warm["times_s"][1:],
            "warm_median_s": statistics.median(warm["times_s"][1:]),
            "resources": warm["resources"],
        }
        print(
            f"  {stack}: cold {results[stack]['cold_median_s']:.2f}s warm {results[stack]['warm_median_s']:.2f}s",
            flush=True,
        )
    return results


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_cost() -> dict[str, Any]:
    """`-X importtime` of each stack's evaluation: cumulative µs per top-level package."""
    results: dict[str, Any] = {}
    for stack in STACKS:
        out = subprocess.run(
            [PY, "-X", "importtime", "-c", _snippet(stack)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        loaded: set[str] = set()
        top_cumulative: dict[str, float] = {}
        total_us = 0
        for line in out.stderr.splitlines():
            m = _IMPORT_LINE.match(line)
            if not m:
                continue
            self_us, cum_us, indent, module = int(m[1]), int(m[2]), len(m[3]), m[4]
            total_us += self_us
            package = module.split(".")[0]
            loaded.add(package)
            if indent == 1:  # a top-level import: its cumulative time includes everything it pulled in
                top_cumulative[package] = top_cumulative.get(package, 0) + cum_us
        sdk_self = {}
        for line in out.stderr.splitlines():
            m = _IMPORT_LINE.match(line)
            if m:
                package = m[4].split(".")[0]
                sdk_self[package] = sdk_self.get(package, 0) + int(m[1])
        results[stack] = {
            "total_import_s": total_us / 1e6,
            "sdk_loaded": sorted(p for p in loaded if p in SDKS),
            "self_time_s_by_package": {p: sdk_self[p] / 1e6 for p in sorted(sdk_self, key=lambda p: -sdk_self[p])[:12]},
            "pulumi_aws_loaded": "pulumi_aws" in loaded,
            "pulumi_gcp_loaded": "pulumi_gcp" in loaded,
        }
        print(f"  {stack}: imports {total_us / 1e6:.2f}s, sdks {results[stack]['sdk_loaded']}", flush=True)
    return results


def _fit(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) on log(x)."""
    if len(xs) < 2:
        return None
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    den = sum((x - mx) ** 2 for x in lx)
    return sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / den if den else None


def scaling(quick: bool) -> dict[str, Any]:
    clusters = [1, 2, 4] if quick else [1, 2, 4, 8, 16]
    apis = [10, 100] if quick else [10, 100, 1000]
    big = {1, 16} if not quick else set()  # 1000 APIs only at these cluster counts (each ~1-2 min)
    points: list[dict[str, Any]] = []
    grid = [(c, a, "kubeconfig") for a in apis for c in clusters if a < 1000 or c in big]
    grid += [(c, 10, "eks-gke") for c in ([2, 4] if quick else [2, 4, 8, 16])]
    for c, a, mix in grid:
        repeats = 3 if a <= 100 else 1
        r = _worker("synthetic", str(c), str(a), mix, str(repeats))
        points.append({"clusters": c, "apis": a, "mix": mix, **r})
        print(
            f"  {mix} {c}x{a}: {r['median_s']:.2f}s {r['resources']} resources, peak RSS {r['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    kube = [p for p in points if p["mix"] == "kubeconfig"]
    fits: dict[str, Any] = {"in_apis": {}, "in_clusters": {}, "time_vs_resources": None}
    for c in clusters:
        row = [p for p in kube if p["clusters"] == c]
        fits["in_apis"][str(c)] = _fit([p["apis"] for p in row], [p["median_s"] for p in row])
        row = [p for p in kube if p["clusters"] == c and p["apis"] <= 100]
        fits["in_apis_10_100"] = fits.get("in_apis_10_100", {})
        fits["in_apis_10_100"][str(c)] = _fit([p["apis"] for p in row], [p["median_s"] for p in row])
        row = [p for p in kube if p["clusters"] == c and p["apis"] >= 100]
        fits.setdefault("in_apis_100_1000", {})[str(c)] = (
            _fit([p["apis"] for p in row], [p["median_s"] for p in row]) if len(row) > 1 else None
        )
    for a in apis:
        row = [p for p in kube if p["apis"] == a]
        fits["in_clusters"][str(a)] = _fit([p["clusters"] for p in row], [p["median_s"] for p in row])
    mixed = [p for p in points if p["mix"] == "eks-gke"]
    fits["in_clusters_eks_gke_10"] = _fit([p["clusters"] for p in mixed], [p["median_s"] for p in mixed])
    fits["time_vs_resources"] = _fit([p["resources"] for p in kube], [p["median_s"] for p in kube])
    fits["memory_vs_resources"] = _fit([p["resources"] for p in kube], [max(p["eval_rss_mb"], 1.0) for p in kube])
    return {"points": points, "fits": fits}


def critical_paths() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stack in STACKS:
        r = analyse(evaluate_stack(stack))
        out[stack] = {
            "estimated_s": r.estimated_s,
            "serial_s": r.serial_s,
            "lower_bound_s": r.lower_bound_s,
            "lower_bound_cluster": r.lower_bound_cluster,
            "ratio": r.ratio,
            "critical_path": r.critical_path,
            "not_required_edges": r.suspicious_edges,
        }
        print(f"  {stack}: est {r.estimated_s:.0f}s lb {r.lower_bound_s:.0f}s ratio {r.ratio:.3f}", flush=True)
    return out


def plots(results: dict[str, Any]) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made: list[str] = []
    pts = [p for p in results["scaling"]["points"] if p["mix"] == "kubeconfig"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for a in sorted({p["apis"] for p in pts}):
        row = sorted((p for p in pts if p["apis"] == a), key=lambda p: p["clusters"])
        axes[0].loglog([p["clusters"] for p in row], [p["median_s"] for p in row], "o-", label=f"{a} APIs")
    mixed = sorted((p for p in results["scaling"]["points"] if p["mix"] == "eks-gke"), key=lambda p: p["clusters"])
    if mixed:
        axes[0].loglog([p["clusters"] for p in mixed], [p["median_s"] for p in mixed], "s--", label="10 APIs, eks/gke")
    axes[0].set_xlabel("clusters")
    axes[0].set_ylabel("evaluation time (s)")
    axes[0].legend()
    axes[0].set_title("time vs clusters")
    for c in sorted({p["clusters"] for p in pts}):
        row = sorted((p for p in pts if p["clusters"] == c), key=lambda p: p["apis"])
        axes[1].loglog([p["apis"] for p in row], [p["median_s"] for p in row], "o-", label=f"{c} clusters")
    axes[1].set_xlabel("APIs")
    axes[1].set_ylabel("evaluation time (s)")
    axes[1].legend()
    axes[1].set_title("time vs APIs")
    fig.tight_layout()
    fig.savefig(BENCH / "scaling.png", dpi=110)
    plt.close(fig)
    made.append("scaling.png")

    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.loglog([p["resources"] for p in pts], [p["peak_rss_mb"] for p in pts], "o")
    ax.set_xlabel("resources")
    ax.set_ylabel("peak RSS (MB)")
    ax.set_title("memory vs resources")
    fig.tight_layout()
    fig.savefig(BENCH / "memory.png", dpi=110)
    plt.close(fig)
    made.append("memory.png")

    ev = results["evaluation"]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    xs = range(len(ev))
    ax.bar([x - 0.2 for x in xs], [ev[s]["cold_median_s"] for s in ev], 0.4, label="cold")
    ax.bar([x + 0.2 for x in xs], [ev[s]["warm_median_s"] for s in ev], 0.4, label="warm")
    ax.set_xticks(list(xs), [f"{s}\n({ev[s]['resources']} res)" for s in ev])
    ax.set_ylabel("seconds")
    ax.legend()
    ax.set_title("stack evaluation under mocks (median)")
    fig.tight_layout()
    fig.savefig(BENCH / "evaluation.png", dpi=110)
    plt.close(fig)
    made.append("evaluation.png")

    cp = {s: v for s, v in results["critical_path"].items() if v["lower_bound_s"] > 60}
    if cp:
        fig, ax = plt.subplots(figsize=(8, 3.2))
        for i, v in enumerate(cp.values()):
            for step in v["critical_path"]:
                if step["seconds"] >= 1:
                    ax.barh(i, step["seconds"], left=step["finish_s"] - step["seconds"], edgecolor="k")
                    if step["seconds"] >= 60:
                        ax.text(
                            step["finish_s"] - step["seconds"] / 2,
                            i,
                            step["type"].split(":")[-1],
                            ha="center",
                            va="center",
                            fontsize=7,
                        )
            ax.plot([v["lower_bound_s"]] * 2, [i - 0.4, i + 0.4], "r-")
        ax.set_yticks(range(len(cp)), list(cp))
        ax.set_xlabel("seconds (red: lower bound)")
        ax.set_title("estimated pulumi up critical path")
        fig.tight_layout()
        fig.savefig(BENCH / "critical_path.png", dpi=110)
        plt.close(fig)
        made.append("critical_path.png")
    return made


def _f(x: float | None, nd: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def report(results: dict[str, Any]) -> str:
    ev, imp, sc, cp = results["evaluation"], results["imports"], results["scaling"], results["critical_path"]
    fits = sc["fits"]
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `python -m bench.run{' --quick' if results['quick'] else ''}` on {results['machine']} "
        f"({results['cpus']} CPUs, Python {results['python']}), total bench time {results['bench_seconds']:.0f} s. "
        "All evaluations run the real `__main__.py` under Pulumi mocks via `tests/harness.py`.",
        "",
        "## Evaluation time per stack",
        "",
        f"Median of {results['repeats']} runs. Cold = wall time of a fresh `python -c` that imports the harness and "
        "evaluates the stack (interpreter start + imports + evaluation); warm = in-process repeat after a first run.",
        "",
        "| stack | resources | cold median (s) | warm median (s) | target | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    targets = {"dev": 2.0, "prod": 6.0}
    for s, v in ev.items():
        t = targets.get(s)
        lines.append(
            f"| {s} | {v['resources']} | {v['cold_median_s']:.2f} | {v['warm_median_s']:.2f} | "
            f"{f'≤ {t:.0f} s cold' if t else '-'} | {('yes' if v['cold_median_s'] <= t else '**no**') if t else '-'} |"
        )
    lines += [
        "",
        "## Import cost (`-X importtime`)",
        "",
        "| stack | total import (s) | SDK packages loaded | pulumi_aws | pulumi_gcp | top self-time packages (s) |",
        "|---|---:|---|---|---|---|",
    ]
    for s, v in imp.items():
        top = ", ".join(f"{p} {t:.2f}" for p, t in list(v["self_time_s_by_package"].items())[:5])
        lines.append(
            f"| {s} | {v['total_import_s']:.2f} | {', '.join(v['sdk_loaded'])} | "
            f"{'loaded' if v['pulumi_aws_loaded'] else 'no'} | {'loaded' if v['pulumi_gcp_loaded'] else 'no'} | {top} |"
        )
    dev = imp.get("dev", {})
    ok = dev and not dev["pulumi_aws_loaded"] and not dev["pulumi_gcp_loaded"]
    lines += [
        "",
        f"**dev loads no pulumi_aws / pulumi_gcp module: {'yes (asserted)' if ok else 'NO — target missed'}.**",
        "",
    ]

    lines += [
        "## Scaling (synthetic configs)",
        "",
        "Scenario in-cluster-gateway-mesh, `istio.multicluster` "
        "for >1 cluster, APIs round-robin over clusters, one demo "
        "service per API, auth cycling jwt/key/none. `kubeconfig` clusters isolate the mesh/gateway layers; `eks-gke` "
        "alternates EKS and GKE clusters. Time = median in-process evaluation (3 runs ≤100 APIs, 1 run at 1000); "
        "memory = peak RSS (Linux `VmHWM`, reset after the harness import, so it covers evaluation "
        "and the SDK modules it loads lazily); growth = peak minus RSS before evaluation.",
        "",
        "| clusters | APIs | mix | resources | time (s) | peak RSS (MB) | RSS growth during evaluation (MB) |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for p in sc["points"]:
        lines.append(
            f"| {p['clusters']} | {p['apis']} | {p['mix']} | {p['resources']} | "
            f"{p['median_s']:.2f} | {p['peak_rss_mb']:.0f} | {p['eval_rss_mb']:.0f} |"
        )
    lines += ["", "Fitted growth exponents (log-log least squares of time):", ""]
    lines += [
        "- in APIs (all measured API counts), per cluster count: "
        + ", ".join(f"{c} clusters: {_f(e)}" for c, e in fits["in_apis"].items())
    ]
    lines += [
        "- in APIs 10→100 only: " + ", ".join(f"{c} clusters: {_f(e)}" for c, e in fits["in_apis_10_100"].items())
    ]
    lines += [
        "- in APIs 100→1000 only (local slope at the top of the range): "
        + ", ".join(f"{c} clusters: {_f(e)}" for c, e in fits.get("in_apis_100_1000", {}).items() if e is not None)
    ]
    lines += [
        "- in clusters, per API count: " + ", ".join(f"{a} APIs: {_f(e)}" for a, e in fits["in_clusters"].items())
    ]
    lines += [f"- in clusters, eks/gke mix at 10 APIs: {_f(fits['in_clusters_eks_gke_10'])}"]
    lines += [
        f"- time vs resource count (all kubeconfig points): {_f(fits['time_vs_resources'])}; "
        f"RSS growth vs resources: {_f(fits['memory_vs_resources'])}",
        "",
    ]

    lines += [
        "## Deploy critical path (estimated `pulumi up`)",
        "",
        "Graph: every custom resource waits for its explicit dependencies, property dependencies and provider; "
        "a dependency on a component means all its descendants "
        "(as `Program.ancestors`). Weights are the typical create "
        "durations below (estimates, not measurements). Estimated "
        "wall clock = longest weighted path; serial = sum of all "
        "durations. Lower bound = the slowest cluster on its own: "
        "only that cluster's and global resources, only required "
        "edges (inputs, providers, explicit `dependsOn` judged required, "
        "plus nodes-before-workloads), cross-cluster edges dropped.",
        "",
        "| stack | estimated (min) | serial sum (min) | lower bound (min) "
        "| slowest cluster | estimated / lower bound | target ≤ 1.05 |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for s, v in cp.items():
        target = s in ("staging", "prod")
        lines.append(
            f"| {s} | {v['estimated_s'] / 60:.1f} | {v['serial_s'] / 60:.1f} | {v['lower_bound_s'] / 60:.1f} | "
            f"{v['lower_bound_cluster'] or '-'} | {v['ratio']:.3f} | "
            f"{('yes' if v['ratio'] <= 1.05 else '**no**') if target else '-'} |"
        )
    for s in ("staging", "prod"):
        if s not in cp:
            continue
        v = cp[s]
        lines += [
            "",
            f"Critical path, {s}:",
            "",
            "| # | resource | type | cluster | create (s) | finishes at (s) |",
            "|---:|---|---|---|---:|---:|",
        ]
        for i, step in enumerate(v["critical_path"], 1):
            lines.append(
                f"| {i} | {step['name']} | `{step['type']}` | {step['cluster'] or 'global'} "
                f"| {step['seconds']:g} | {step['finish_s']:.0f} |"
            )
        lines += ["", f"Edges on the {s} critical path that are not required:", ""]
        lines += [f"- {e['from']} → {e['to']}: {e['why']}" for e in v["not_required_edges"]] or ["- none"]
    lines += [
        "",
        "### Create-duration table (estimates)",
        "",
        "| resource type (prefix) | seconds | source |",
        "|---|---:|---|",
    ]
    lines += [f"| `{p}` | {s:g} | {src} |" for p, s, src in DURATIONS]
    if results["plots"]:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in results["plots"]]
    else:
        lines += ["", "Plots skipped: matplotlib is not installed (`pip install -r bench/requirements.txt`)."]
    return "\n".join(lines) + "\n"


ENGINE_RESULTS = BENCH / "engine_results.json"


def write_report(results: dict[str, Any]) -> None:
    """RESULTS.md: the real-engine section (from engine_results.json, if any), then the mock sections."""
    from bench.engine_report import engine_section

    engine = json.loads(ENGINE_RESULTS.read_text()) if ENGINE_RESULTS.is_file() else None
    mocks = report(results).replace("# Benchmark results\n", "## Under mocks\n", 1)
    mocks = "\n".join(
        ("#" + line) if line.startswith("## ") and not line.startswith("## Under mocks") else line
        for line in mocks.split("\n")
    )
    (BENCH / "RESULTS.md").write_text("# Benchmark results\n\n" + (engine_section(engine) if engine else "") + mocks)
    if not results["quick"]:
        doc_tables.update_docs(results)  # README and docs/performance.md quote these figures
    if engine and not engine.get("quick"):
        doc_tables.update_docs(engine, doc_tables.ENGINE_BLOCKS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small grids, 3 repeats; engine: 10-500 APIs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["engine", "mocks"], help="run one part; the other keeps its last results")
    parser.add_argument("--sizes", help="engine: comma-separated API counts instead of the default grid")
    parser.add_argument(
        "--checkpoint-sizes", help="engine: API counts of the checkpoint before/after runs (empty: none)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="re-render RESULTS.md and plots from the JSON results"
    )
    parser.add_argument(
        "--critical-path-only", action="store_true", help="rerun only the critical-path section (~30 s) and re-render"
    )
    args = parser.parse_args()
    if args.critical_path_only:
        results = json.loads((BENCH / "results.json").read_text())
        results["critical_path"] = critical_paths()
        results["plots"] = plots(results)
        (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        write_report(results)
        return
    if args.only != "mocks" and not args.report_only:
        from bench import engine_bench

        print("real engine", flush=True)
        sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else None
        checkpoint_sizes = (
            tuple(int(x) for x in args.checkpoint_sizes.split(",") if x) if args.checkpoint_sizes is not None else None
        )
        mock_results = json.loads((BENCH / "results.json").read_text())

        def save(partial: dict[str, Any]) -> None:
            ENGINE_RESULTS.write_text(json.dumps(partial, indent=2) + "\n")
            write_report(mock_results)

        engine = engine_bench.run(
            args.quick, sizes, log=lambda line: print(line, flush=True), save=save, checkpoint_sizes=checkpoint_sizes
        )
        save(engine)
        if args.only == "engine":
            write_report(json.loads((BENCH / "results.json").read_text()))
            print(f"wrote {BENCH / 'RESULTS.md'}", flush=True)
            return
    if args.report_only:
        results = json.loads((BENCH / "results.json").read_text())
        fits = results["scaling"]["fits"]
        kube = [p for p in results["scaling"]["points"] if p["mix"] == "kubeconfig"]
        for c in sorted({p["clusters"] for p in kube}):
            row = [p for p in kube if p["clusters"] == c and p["apis"] >= 100]
            fits.setdefault("in_apis_100_1000", {})[str(c)] = (
                _fit([p["apis"] for p in row], [p["median_s"] for p in row]) if len(row) > 1 else None
            )
        results["plots"] = plots(results)
        (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        write_report(results)
        return
    repeats = 3 if args.quick else max(args.repeats, 5)
    start = time.perf_counter()
    results: dict[str, Any] = {
        "quick": args.quick,
        "repeats": repeats,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print("evaluation time", flush=True)
    results["evaluation"] = cold_and_warm(repeats)
    print("import cost", flush=True)
    results["imports"] = import_cost()
    print("critical path", flush=True)
    results["critical_path"] = critical_paths()
    print("scaling", flush=True)
    results["scaling"] = scaling(args.quick)
    results["bench_seconds"] = time.perf_counter() - start
    results["plots"] = plots(results)
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results)
    print(f"wrote {BENCH / 'RESULTS.md'} in {results['bench_seconds']:.0f}s", flush=True)


if __name__ == "__main__":
    main()
