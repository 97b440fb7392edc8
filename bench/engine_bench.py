"""Real-engine benchmark: the render stack (scenario 4, one cluster, APIs from `meshgate:apiDirectory`)
through the Pulumi engine that `scripts/build-engine.sh` builds, side by side with the engine's own
floor: a stack of the same number of trivial resources (Kubernetes ConfigMaps rendered to a
directory by the same provider), run in the same session.

Per catalogue size: first `preview`, `up`, no-op `preview`, and a one-field change across the
whole catalogue (every API's backend port, so every HTTPRoute and backend AuthorizationPolicy
is updated) applied with `up`. The product steps run through the pipeline CLI
(`python -m stacks.pipeline ... --json`, i.e. the Automation API, checkpoint mode `auto`); the
floor runs the `pulumi` CLI directly with the same `PULUMI_SKIP_CHECKPOINTS` setting. A
before/after section runs the same stack with the engine's default checkpoints (every step)
to show what skipping them saves. Every step records wall time, the 1-minute load average
before and after (the machine is shared), the peak resident memory of the engine processes
(CLI + plugins), of the program (the Python process the language host runs) and of the
Automation API driver (sampled from /proc every 0.2 s), and the state file's size.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.engine_project import Engine, copy_project, find_engine  # noqa: E402

SIZES = (10, 100, 500, 1000, 2000)
QUICK_SIZES = (10, 100, 500)
CHECKPOINT_SIZES = (100, 500)  # before/after: every-step checkpoints are quadratic, so not beyond
QUICK_CHECKPOINT_SIZES = (100,)
STEP_TIMEOUT_S = 3600
PASSPHRASE = "meshgate-bench"
NAMESPACES = 10
GOALS = {"preview_1000_s": 20.0, "up_1000_s": 60.0, "exponent": 1.1}
GOAL_APIS = 1000
PREVIEW_REPEATS = 3
"""At the goal size the first preview (and the floor's) runs this many times on the same fresh stack and the
median counts: one run on a shared 2-core VM varies by a third from one run to the next."""


def _median_step(runs: list[Step]) -> tuple[Step, list[float]]:
    ordered = sorted(runs, key=lambda r: r.seconds)
    return ordered[len(ordered) // 2], [r.seconds for r in runs]


BENCH_STACK = {
    "meshgate:scenario": "gateway-api",
    "meshgate:clusters": [
        {"name": "render", "kind": "kubeconfig", "network": "render-net", "renderDirectory": "rendered"}
    ],
    "meshgate:istio": {"version": "1.31.0", "meshId": "meshgate-bench", "install": False},
    "meshgate:gateway": {"cluster": "render", "replicas": 2, "installGatewayApiCrds": False},
    "meshgate:jwt": {
        "issuer": "https://auth.example.com/",
        "jwksUri": "https://auth.example.com/.well-known/jwks.json",
        "audiences": ["https://api.example.com"],
    },
    "meshgate:apiDirectory": "apis",
}

FLOOR_PROGRAM = '''"""The engine's floor: N trivial resources (ConfigMaps rendered to a directory), no meshgate code."""
import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
count = config.require_int("resources")
value = config.get("value") or "a"
provider = k8s.Provider("render", render_yaml_to_directory="rendered")
for i in range(count):
    k8s.core.v1.ConfigMap(
        f"cm-{i:05d}",
        metadata={"name": f"cm-{i:05d}", "namespace": "floor"},
        data={"value": value},
        opts=pulumi.ResourceOptions(provider=provider),
    )
'''


# --------------------------------------------------------------------------- catalogue files


def write_catalogue(directory: Path, apis: int, port: int = 8080, per_file: int = 50) -> None:
    """`apis` entries in files of `per_file`; auth alternates jwt/none, every API rate-limited, own backend."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    entries = [
        {
            "name": f"api-{i:04d}",
            "path": f"/api-{i:04d}",
            "cluster": "render",
            "service": {"name": f"svc-{i:04d}", "namespace": f"team-{i % NAMESPACES:02d}", "port": port},
            "auth": "jwt" if i % 2 == 0 else "none",
            "rateLimitPerMinute": 600,
        }
        for i in range(apis)
    ]
    for start in range(0, apis, per_file):
        (directory / f"apis-{start // per_file:03d}.yaml").write_text(yaml.safe_dump(entries[start : start + per_file]))


# --------------------------------------------------------------------------- memory sampling


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _classify(pid: int) -> tuple[str, int] | None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        rss_kb = next(
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("VmRSS:")
        )
    except (OSError, StopIteration, ValueError):
        return None
    if comm.startswith("pulumi"):
        return "engine", rss_kb
    if "pulumi-language-python-exec" in cmdline or "__main__.py" in cmdline:
        return "program", rss_kb
    if "python" in comm:
        return "driver", rss_kb
    return None


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process so far (/proc/<pid>/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


class TreeSampler:
    """Peak summed RSS and CPU seconds per class (engine, program, driver) of a process tree, sampled every 0.2 s.

    CPU is each process's last sample, so a process loses at most its final 0.2 s.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_mb: dict[str, float] = {"engine": 0.0, "program": 0.0, "driver": 0.0}
        self._cpu: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            tree = _children()
            todo, seen = [self.root], set()
            totals = {k: 0.0 for k in self.peak_mb}
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                found = _classify(pid)
                if found is not None:
                    totals[found[0]] += found[1] / 1024
                    cpu = _cpu_seconds(pid)
                    if cpu is not None:
                        self._cpu[pid] = (found[0], cpu)
                todo.extend(tree.get(pid, []))
            for k, v in totals.items():
                self.peak_mb[k] = max(self.peak_mb[k], v)
            self._stop.wait(0.2)

    @property
    def cpu_s(self) -> dict[str, float]:
        """CPU seconds per class over the processes seen."""
        out = {k: 0.0 for k in self.peak_mb}
        for kind, seconds in self._cpu.values():
            out[kind] += seconds
        return out


# --------------------------------------------------------------------------- running steps


@dataclass
class Step:
    """One engine command: wall time, load before/after, peak memory, what the engine reported."""

    name: str
    seconds: float
    load_before: float
    load_after: float
    peak_mb: dict[str, float]
    ok: bool
    cpu_s: float = 0.0  # user + system CPU of the whole process tree (waited-for descendants): load-independent
    cpu_by_class: dict[str, float] = field(default_factory=dict)  # engine (CLI + plugins) / program / driver
    changes: dict[str, int] = field(default_factory=dict)
    checkpoints: str | None = None
    error: str | None = None


def _run(name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[Step, str]:
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeSampler(proc.pid) as sampler:
        try:
            out, err = proc.communicate(timeout=STEP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    step = Step(
        name,
        seconds,
        load_before,
        os.getloadavg()[0],
        dict(sampler.peak_mb),
        proc.returncode == 0,
        cpu_s=cpu,
        cpu_by_class=sampler.cpu_s,
    )
    if proc.returncode != 0:
        step.error = (err or out)[-2000:]
    return step, out


def _pipeline(name: str, project: Path, env: dict[str, str], *args: str) -> Step:
    step, out = _run(name, [sys.executable, "-m", "stacks.pipeline", *args, "--json"], project, env)
    try:
        doc = json.loads(out)
    except json.JSONDecodeError:
        step.ok = False
        return step
    step.changes = dict(doc.get("changes") or {})
    step.checkpoints = doc.get("checkpoints")
    if not doc.get("ok"):
        step.ok = False
        step.error = json.dumps(doc.get("error"))[:2000]
    return step


def _cli(name: str, engine: Engine, project: Path, env: dict[str, str], *args: str) -> Step:
    pulumi = str(engine.bin_dir / "pulumi") if engine.bin_dir else "pulumi"
    step, out = _run(name, [pulumi, *args, "--non-interactive", "--color", "never", "--json"], project, env)
    try:
        doc = json.loads(out)
        summary = doc.get("changeSummary") or doc.get("summary", {}).get("resourceChanges") or {}
        step.changes = {k: int(v) for k, v in summary.items() if v}
    except (json.JSONDecodeError, AttributeError):
        pass
    return step


def _environment(engine: Engine, state: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(engine.env)
    env.update(
        {
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_HOME": str(home),
        }
    )
    return env


def _state_file(state: Path, stack: str) -> Path | None:
    found = sorted(p for p in state.rglob(f"{stack}.json*") if ".bak" not in p.name and "history" not in p.parts)
    return found[0] if found else None


def _floor_project(base: Path) -> Path:
    project = base / "floor"
    project.mkdir(parents=True)
    (project / "Pulumi.yaml").write_text(
        "name: floor\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: .venv\n"
    )
    (project / "__main__.py").write_text(FLOOR_PROGRAM)
    (project / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return project


# --------------------------------------------------------------------------- one size


def measure_size(engine: Engine, base: Path, apis: int, env: dict[str, str], floor_dir: Path) -> dict[str, Any]:
    """The four steps through the pipeline for `apis` APIs, then the floor with as many resources."""
    project = base / f"project-{apis}"
    copy_project(project, ())
    stack = f"bench{apis}"
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": BENCH_STACK}))
    write_catalogue(project / "apis", apis)
    steps: dict[str, Step] = {}
    repeats = PREVIEW_REPEATS if apis == GOAL_APIS else 1
    steps["preview"], preview_runs = _median_step(
        [_pipeline("preview", project, env, "preview", "--stack", stack) for _ in range(repeats)]
    )
    resources = sum(steps["preview"].changes.values())
    steps["up"] = _pipeline("up", project, env, "up", "--stack", stack, "--yes")
    steps["noop_preview"] = _pipeline("noop_preview", project, env, "preview", "--stack", stack, "--expect-no-changes")
    write_catalogue(project / "apis", apis, port=8081)
    steps["change_up"] = _pipeline("change_up", project, env, "up", "--stack", stack, "--yes")
    state = _state_file(Path(env["PULUMI_BACKEND_URL"][len("file://") :]), stack)
    state_bytes = state.stat().st_size if state else None
    skip = {"PULUMI_SKIP_CHECKPOINTS": "true"} if steps["up"].checkpoints == "end" else {}

    floor_stack = f"floor{apis}"
    floor: dict[str, Step] = {}
    fenv = {**env, "PULUMI_SKIP_CHECKPOINTS": "true"}
    subprocess.run(
        [
            str(engine.bin_dir / "pulumi") if engine.bin_dir else "pulumi",
            "stack",
            "init",
            floor_stack,
            "--non-interactive",
        ],
        cwd=floor_dir,
        env=env,
        capture_output=True,
        check=False,
    )
    config = ["--config", f"resources={resources}"]
    floor["preview"], floor_preview_runs = _median_step(
        [_cli("preview", engine, floor_dir, fenv, "preview", "--stack", floor_stack, *config) for _ in range(repeats)]
    )
    floor["up"] = _cli(
        "up", engine, floor_dir, {**env, **skip}, "up", "--stack", floor_stack, "--yes", "--skip-preview", *config
    )
    floor["noop_preview"] = _cli("noop_preview", engine, floor_dir, fenv, "preview", "--stack", floor_stack, *config)
    floor["change_up"] = _cli(
        "change_up",
        engine,
        floor_dir,
        {**env, **skip},
        "up",
        "--stack",
        floor_stack,
        "--yes",
        "--skip-preview",
        *config,
        "--config",
        "value=b",
    )
    floor_state = _state_file(Path(env["PULUMI_BACKEND_URL"][len("file://") :]), floor_stack)
    result = {
        "apis": apis,
        "resources": resources,
        "state_bytes": state_bytes,
        "floor_state_bytes": floor_state.stat().st_size if floor_state else None,
        "steps": {k: vars(v) for k, v in steps.items()},
        "floor": {k: vars(v) for k, v in floor.items()},
        "preview_runs": preview_runs,
        "floor_preview_runs": floor_preview_runs,
    }
    shutil.rmtree(project, ignore_errors=True)
    shutil.rmtree(floor_dir / "rendered", ignore_errors=True)
    return result


def measure_checkpoints(engine: Engine, base: Path, apis: int, env: dict[str, str]) -> dict[str, Any]:
    """The same stack with the engine's default (checkpoint after every step) against skipped checkpoints,
    through the CLI: first preview and `up`, each both ways, on fresh stacks."""
    project = base / f"ckpt-{apis}"
    copy_project(project, ())
    write_catalogue(project / "apis", apis)
    out: dict[str, Any] = {"apis": apis}
    for mode, extra in (("every-step", {}), ("end", {"PULUMI_SKIP_CHECKPOINTS": "true"})):
        stack = f"ckpt{apis}{mode.replace('-', '')}"
        (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": BENCH_STACK}))
        menv = {**env, **extra}
        pulumi = str(engine.bin_dir / "pulumi") if engine.bin_dir else "pulumi"
        subprocess.run(
            [pulumi, "stack", "init", stack, "--non-interactive"],
            cwd=project,
            env=env,
            capture_output=True,
            check=False,
        )
        out[f"preview_{mode}"] = vars(_cli("preview", engine, project, menv, "preview", "--stack", stack))
        out[f"up_{mode}"] = vars(_cli("up", engine, project, menv, "up", "--stack", stack, "--yes", "--skip-preview"))
    shutil.rmtree(project, ignore_errors=True)
    return out


def profile_preview(engine: Engine, base: Path, apis: int, env: dict[str, str]) -> dict[str, Any]:
    """CPU profile of the CLI (`pulumi --profiling`) for a first preview, checkpoints on and skipped: the
    share of samples under the snapshot manager's save path (`go tool pprof -top -cum`)."""
    go = shutil.which("go")
    project = base / f"prof-{apis}"
    copy_project(project, ())
    write_catalogue(project / "apis", apis)
    stack = f"prof{apis}"
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": BENCH_STACK}))
    pulumi = str(engine.bin_dir / "pulumi") if engine.bin_dir else "pulumi"
    subprocess.run(
        [pulumi, "stack", "init", stack, "--non-interactive"], cwd=project, env=env, capture_output=True, check=False
    )
    out: dict[str, Any] = {"apis": apis}
    for mode, extra in (("every-step", {}), ("end", {"PULUMI_SKIP_CHECKPOINTS": "true"})):
        prefix = base / f"prof-{mode}"
        step = _cli(
            "preview", engine, project, {**env, **extra}, "preview", "--stack", stack, "--profiling", str(prefix)
        )
        entry: dict[str, Any] = {"seconds": step.seconds, "load_before": step.load_before}
        cpu = sorted(base.glob(f"prof-{mode}.*.cpu"))
        if go and cpu:
            top = subprocess.run(
                [go, "tool", "pprof", "-top", "-cum", pulumi, str(cpu[-1])], capture_output=True, text=True, check=False
            )
            entry["top"] = _pprof_shares(top.stdout)
        out[mode] = entry
    shutil.rmtree(project, ignore_errors=True)
    return out


def _pprof_shares(text: str) -> dict[str, Any]:
    """Total samples and the cumulative share of the functions that matter here."""
    interesting = (
        "SnapshotManager).saveSnapshot",
        "SnapshotManager).Deployment",
        "SerializeDeployment",
        "VerifyIntegrity",
        "deploy.(*deployment",
        "engine.(*deploymentExecutor).Execute",
        "runtime.gcBgMarkWorker",
    )
    shares: dict[str, float] = {}
    total = None
    for line in text.splitlines():
        if "samples" in line and "Total" in line or line.startswith("Duration"):
            total = line.strip()
        parts = line.split()
        if len(parts) >= 6 and parts[4].endswith("%"):
            name = " ".join(parts[5:])
            for key in interesting:
                if key in name and key not in shares:
                    shares[key] = float(parts[4].rstrip("%"))
    return {"header": total, "cum_percent": shares}


# --------------------------------------------------------------------------- analysis


def fit(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) on log(x)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx, my = statistics.fmean(p[0] for p in pts), statistics.fmean(p[1] for p in pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


STEPS = ("preview", "up", "noop_preview", "change_up")


def analyse(points: list[dict[str, Any]]) -> dict[str, Any]:
    top = [p for p in points if p["apis"] >= 100]
    fits: dict[str, Any] = {}
    for step in STEPS:
        fits[step] = fit([p["apis"] for p in top], [p["steps"][step]["seconds"] for p in top])
        fits[f"floor_{step}"] = fit([p["resources"] for p in top], [p["floor"][step]["seconds"] for p in top])
    fits["resources_per_api"] = fit([p["apis"] for p in top], [p["resources"] for p in top])
    fits["state_bytes"] = fit([p["apis"] for p in top], [p["state_bytes"] or 0 for p in top])
    return fits


def run(
    quick: bool,
    sizes: tuple[int, ...] | None = None,
    log: Any = print,
    save: Any = None,
    checkpoint_sizes: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    """Measure every size, then checkpoints before/after and the CPU profile; `save(results)` after each
    part, so an interrupted run keeps what it measured."""
    engine = find_engine()
    base = Path(tempfile.mkdtemp(prefix="meshgate-engine-bench-"))
    state, home = base / "state", base / "home"
    state.mkdir()
    env = _environment(engine, state, home)
    floor_dir = _floor_project(base)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "quick": quick,
        "engine": engine.source,
        "cpus": os.cpu_count(),
        "started_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "points": [],
    }
    try:
        version = subprocess.run(
            [str(engine.bin_dir / "pulumi") if engine.bin_dir else "pulumi", "version"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        ).stdout.strip()
        results["pulumi_version"] = version
        for apis in sizes or (QUICK_SIZES if quick else SIZES):
            point = measure_size(engine, base, apis, env, floor_dir)
            results["points"].append(point)
            s, f = point["steps"], point["floor"]
            log(
                f"  {apis} APIs, {point['resources']} resources: "
                + ", ".join(
                    f"{k} {s[k]['seconds']:.1f}s/{s[k]['cpu_s']:.1f}cpu (floor {f[k]['seconds']:.1f}s)"
                    f"{'' if s[k]['ok'] else ' FAILED'}"
                    for k in STEPS
                )
                + f"; load {s['preview']['load_before']:.1f}"
            )
            results["fits"] = analyse(results["points"])
            results["bench_seconds"] = time.perf_counter() - started
            if save is not None:
                save(results)
        results["checkpoints"] = []
        ckpt_sizes = (
            checkpoint_sizes
            if checkpoint_sizes is not None
            else (QUICK_CHECKPOINT_SIZES if quick else CHECKPOINT_SIZES)
        )
        for apis in ckpt_sizes:
            c = measure_checkpoints(engine, base, apis, env)
            results["checkpoints"].append(c)
            results["bench_seconds"] = time.perf_counter() - started
            if save is not None:
                save(results)
            log(
                f"  checkpoints at {apis} APIs: preview {c['preview_every-step']['seconds']:.1f}s "
                f"-> {c['preview_end']['seconds']:.1f}s, "
                f"up {c['up_every-step']['seconds']:.1f}s -> {c['up_end']['seconds']:.1f}s"
            )
        if ckpt_sizes:
            results["profile"] = profile_preview(engine, base, max(ckpt_sizes), env)
        results["fits"] = analyse(results["points"])
    finally:
        results["bench_seconds"] = time.perf_counter() - started
        shutil.rmtree(base, ignore_errors=True)
    return results
