"""Faults through the real engine: `up` and `destroy` interrupted by SIGINT and SIGTERM at several
points, a forced stop (a second signal), two `up`s at once, and a killed run (SIGKILL of the whole
process tree) recovered with the commands docs/pipeline.md gives.

The render stack is enlarged in the project copy (`APIS` extra APIs, a few Kubernetes objects each)
so that an `up` lasts long enough to be interrupted in the middle. Signals are sent when the
pipeline has reported a given number of finished changes on stderr (one line each outside a
terminal), so the points do not depend on timing. After every interrupted run the tests check,
besides the exit code and message: no lock file in the backend, no process of the run left (every
process started by the pipeline carries a marker in its environment, found through /proc), no
pending operation in the state, and that the rendered manifests are exactly the Kubernetes objects
the state records (nothing exists that the state does not know about).

`faults` runs the whole sequence once, in order, on the module's own project copy and backend;
each test asserts on its steps.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from engine_project import Project

pytestmark = pytest.mark.engine
# the `engine` and `render_project` fixtures
pytest_plugins = ["engine_project"]

STACK = "render"
RENDER_DIR = "rendered"
APIS = 60  # extra APIs in the copy's stack file: each adds an HTTPRoute, an AuthorizationPolicy, ...
MARKER = "MESHGATE_FAULTS_RUN"
RUN_TIMEOUT_SECONDS = 900  # one pipeline run of the enlarged render stack (a few seconds to a minute)


@dataclass
class Run:
    """One pipeline process: exit code, stderr, stdout (the JSON document with --json), the processes it left."""

    args: tuple[str, ...]
    code: int
    stderr: str
    stdout: str
    left: list[str] = field(default_factory=list)  # "pid cmdline" of processes of this run alive after it exited

    @property
    def document(self) -> dict[str, Any]:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"{self.args}: no JSON (exit {self.code})\n{self.stderr[-3000:]}") from None

    def describe(self) -> str:
        return f"pipeline {' '.join(self.args)}: exit {self.code}\n{self.stderr[-3000:]}\n{self.stdout[-3000:]}"


def marked_processes(tag: str) -> list[str]:
    """Live processes whose environment carries `MARKER=tag` (the pipeline and everything it started)."""
    needle = f"{MARKER}={tag}".encode()
    found: list[str] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{name}/environ").read_bytes()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(f"{name} {cmdline[:160]}")
    return found


def kill_all(tag: str) -> None:
    """SIGKILL every process of a run, sweeping until none is left: a process that was being started during a
    sweep (the CLI forks its plugins) shows up in the next one."""
    for _ in range(100):
        found = marked_processes(tag)
        if not found:
            return
        for entry in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.split()[0]), signal.SIGKILL)
        time.sleep(0.05)
    raise AssertionError(f"processes of run {tag} survive SIGKILL: {marked_processes(tag)}")


def signal_all(tag: str, sig: int) -> None:
    """Send `sig` to every process of a run; two sweeps, so a process forked during the first gets it too."""
    for _ in range(2):
        for entry in marked_processes(tag):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.split()[0]), sig)


class Pipeline:
    """Runs `python -m stacks.pipeline` in the project copy and signals it at chosen points."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def run(
        self,
        *args: str,
        after: int | None = None,
        counting: str = "created ",
        signals: tuple[int, ...] = (),
        kill_tree: bool = False,
        alongside: Any = None,
    ) -> Run:
        """Run the pipeline; after `after` stderr lines starting with `counting`, send `signals` (SIGINT then SIGTERM
        back to back: a first and a second signal), or SIGKILL every process of the run (`kill_tree`), or call
        `alongside()` (another run, while this one is in the middle of its update: every process of this run is
        stopped with SIGSTOP meanwhile and continued after, so it still holds the stack's lock however fast the
        rest of its update would have gone)."""
        tag = uuid.uuid4().hex
        env = {**self.project.env, MARKER: tag}
        process = subprocess.Popen(
            [sys.executable, "-m", "stacks.pipeline", *args],
            cwd=self.project.dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(process.stdout.read() if process.stdout else ""))
        reader.start()
        err: list[str] = []
        finished = 0
        assert process.stderr is not None
        for line in process.stderr:
            err.append(line)
            if after is None:
                continue
            if line.startswith(counting):
                finished += 1
                if finished == after:
                    if kill_tree:
                        kill_all(tag)
                    elif alongside is not None:
                        signal_all(tag, signal.SIGSTOP)
                        try:
                            alongside()
                        finally:
                            signal_all(tag, signal.SIGCONT)
                    else:
                        for sig in signals:  # two different signals are both delivered, in number order
                            process.send_signal(sig)
        code = process.wait(RUN_TIMEOUT_SECONDS)
        reader.join(RUN_TIMEOUT_SECONDS)
        return Run(tuple(args), code, "".join(err), "".join(out), marked_processes(tag))


def enlarge(stack_file: Path, extra: int) -> None:
    """`extra` more APIs to the `orders` service, alternating JWT and open, with rate limits."""
    document = yaml.safe_load(stack_file.read_text())
    apis = document["config"]["meshgate:apis"]
    for i in range(extra):
        apis.append(
            {
                "name": f"api-{i:03d}",
                "path": f"/api-{i:03d}",
                "cluster": "render",
                "service": {"name": "orders", "namespace": "shop", "port": 8080},
                "auth": "jwt" if i % 2 else "none",
                "rateLimitPerMinute": 100 + i,
            }
        )
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))


@dataclass
class State:
    """What the backend and the render directory hold after a step."""

    resources: int  # in the state, without the stack itself
    kubernetes: set[tuple[str, str]]  # (kind, name) of the Kubernetes objects in the state
    pending: list[str]
    locks: list[str]
    rendered: set[tuple[str, str]]  # (kind, name) of the objects in rendered/


@dataclass
class Step:
    run: Run
    state: State


@dataclass
class Faults:
    total: int  # resources of the enlarged stack (state after a complete up, without the stack)
    steps: dict[str, Step] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)


def read_state(project: Project) -> State:
    deployment = project.stack(STACK).export_stack().deployment or {}
    resources = [r for r in deployment.get("resources") or [] if r.get("type") != "pulumi:pulumi:Stack"]
    kubernetes: set[tuple[str, str]] = set()
    for r in resources:
        type_ = r.get("type", "")
        if type_.startswith("kubernetes:") and not type_.startswith("kubernetes:helm") and "providers" not in type_:
            kubernetes.add((type_.rsplit(":", 1)[-1], (r.get("outputs") or {}).get("metadata", {}).get("name", "")))
    rendered: set[tuple[str, str]] = set()
    for path in (project.dir / RENDER_DIR).rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                rendered.add((doc["kind"], doc["metadata"]["name"]))
    state_dir = Path(project.env["PULUMI_BACKEND_URL"][len("file://") :])
    return State(
        resources=len(resources),
        kubernetes=kubernetes,
        pending=[
            f"{op.get('type')} {op.get('resource', {}).get('urn')}" for op in deployment.get("pending_operations") or []
        ],
        locks=[str(p) for p in (state_dir / ".pulumi" / "locks").rglob("*.json")],
        rendered=rendered,
    )


@pytest.fixture(scope="module")
def faults(render_project: Project) -> Faults:
    project = render_project
    enlarge(project.stack_file(STACK), APIS)
    pipeline = Pipeline(project)
    steps: dict[str, Step] = {}
    runs: dict[str, Run] = {}

    def step(name: str, *args: str, **kwargs: Any) -> Step:
        run = pipeline.run(*args, **kwargs)
        steps[name] = Step(run, read_state(project))
        return steps[name]

    up = ("up", "--stack", STACK, "--yes")
    destroy = ("destroy", "--stack", STACK, "--yes")
    clean = ("preview", "--stack", STACK, "--expect-no-changes")

    # up: SIGINT early, SIGTERM later, then a rerun with a second `up` started in its middle
    step("up SIGINT", *up, after=5, signals=(signal.SIGINT,))
    step("up SIGTERM", *up, after=40, signals=(signal.SIGTERM,))

    def concurrent() -> None:
        runs["concurrent up"] = pipeline.run(*up, "--json")

    step("up rerun", *up, after=3, alongside=concurrent)
    step("preview after up", *clean)
    total = steps["up rerun"].state.resources

    # destroy: SIGINT in the middle, up converges back; SIGTERM, then a forced stop, then recovery
    step("destroy SIGINT", *destroy, after=total // 3, counting="deleted ", signals=(signal.SIGINT,))
    step("up after destroy SIGINT", *up)
    step("preview after destroy SIGINT", *clean)
    step("destroy SIGTERM", *destroy, after=total // 2, counting="deleted ", signals=(signal.SIGTERM,))
    step("destroy forced", *destroy, after=10, counting="deleted ", signals=(signal.SIGINT, signal.SIGTERM))
    step("cancel after forced", "cancel", "--stack", STACK, "--yes")
    step("refresh after forced", "refresh", "--stack", STACK, "--yes", "--clear-pending-creates")
    step("destroy rerun", *destroy)

    # SIGKILL of everything in the middle of an up, then the documented recovery
    step("up SIGKILL", *up, after=total // 3, kill_tree=True)
    step("up while locked", *up, "--json")
    step("cancel", "cancel", "--stack", STACK, "--yes")
    step("refresh", "refresh", "--stack", STACK, "--yes", "--clear-pending-creates")
    step("up after recovery", *up)
    step("preview after recovery", *clean)
    return Faults(total=total, steps=steps, runs=runs)


def check_interrupted(faults: Faults, name: str, signal_name: str, op: str) -> Step:
    """Exit 1 and the message, nothing left behind, state and rendered objects in step."""
    step = faults.steps[name]
    run, state = step.run, step.state
    assert run.code == 1, run.describe()
    assert f"interrupted by {signal_name}: the engine finished the operations in flight, saved the state" in run.stderr
    assert f"Next: python -m stacks.pipeline {op} --stack {STACK} --yes" in run.stderr
    assert state.locks == [], state.locks
    assert run.left == [], run.left
    assert state.pending == []
    assert state.rendered == state.kubernetes  # every rendered object is in the state, and only those
    return step


# ------------------------------------------------------------------------------ up


def test_sigint_during_up_stops_after_the_operations_in_flight(faults: Faults) -> None:
    step = check_interrupted(faults, "up SIGINT", "SIGINT", "up")
    assert 5 <= step.state.resources < faults.total  # stopped in the middle, state saved
    assert "SIGINT received: the engine finishes the operations in flight" in step.run.stderr
    assert "not attempted" in step.run.stderr or "Resources:" in step.run.stderr


def test_sigterm_during_up_stops_the_same_way(faults: Faults) -> None:
    before = faults.steps["up SIGINT"].state.resources
    step = check_interrupted(faults, "up SIGTERM", "SIGTERM", "up")
    assert before < step.state.resources < faults.total


def test_a_rerun_converges_and_the_preview_is_clean(faults: Faults) -> None:
    rerun = faults.steps["up rerun"]
    assert rerun.run.code == 0, rerun.run.describe()
    assert rerun.run.left == [] and rerun.state.locks == [] and rerun.state.pending == []
    assert rerun.state.rendered == rerun.state.kubernetes
    preview = faults.steps["preview after up"].run
    assert preview.code == 0, preview.describe()


def test_a_second_up_at_the_same_time_is_refused_with_exit_4(faults: Faults) -> None:
    second = faults.runs["concurrent up"]
    document = second.document
    assert second.code == 4, second.describe()
    assert document["error"]["kind"] == "busy"
    assert "another run is changing stack render right now" in document["error"]["message"]
    assert document["lock"][0]["alive"] is True
    assert second.left == []
    assert faults.steps["up rerun"].run.code == 0  # the first one was not disturbed


# ------------------------------------------------------------------------------ destroy


def test_sigint_during_destroy_leaves_a_consistent_state(faults: Faults) -> None:
    step = check_interrupted(faults, "destroy SIGINT", "SIGINT", "destroy")
    assert 0 < step.state.resources < faults.total
    up = faults.steps["up after destroy SIGINT"]
    assert up.run.code == 0 and up.state.resources == faults.total, up.run.describe()
    assert faults.steps["preview after destroy SIGINT"].run.code == 0


def test_sigterm_during_destroy_leaves_a_consistent_state(faults: Faults) -> None:
    step = check_interrupted(faults, "destroy SIGTERM", "SIGTERM", "destroy")
    assert 0 < step.state.resources < faults.total


def test_a_second_signal_kills_the_engine_and_says_what_it_costs(faults: Faults) -> None:
    forced = faults.steps["destroy forced"]
    assert forced.run.code == 1, forced.run.describe()
    assert (
        "interrupted by SIGINT, then stopped at once by SIGTERM: the engine and its plugins were killed"
        in forced.run.stderr
    )
    assert forced.run.left == []  # CLI, language host and providers all gone
    # Usually the kill leaves the lock; on an idle machine the engine may finish its cancel (and release the
    # lock) in the moment between the two signals. Either way the report must match the backend.
    if forced.state.locks:
        assert f"python -m stacks.pipeline cancel --stack {STACK} --yes" in forced.run.stderr
        assert "The stack's lock is left behind." in forced.run.stderr
    else:
        assert "The stack's lock is left behind." not in forced.run.stderr
    for name in ("cancel after forced", "refresh after forced", "destroy rerun"):
        assert faults.steps[name].run.code == 0, faults.steps[name].run.describe()
    done = faults.steps["destroy rerun"].state
    assert done.resources == 0 and done.rendered == set() and done.locks == [] and done.pending == []


# ------------------------------------------------------------------------------ SIGKILL and recovery


def test_a_killed_run_leaves_the_lock_and_the_pipeline_says_how_to_recover(faults: Faults) -> None:
    killed = faults.steps["up SIGKILL"]
    assert killed.run.code == -signal.SIGKILL
    assert killed.run.left == []  # the test killed every process of the run
    assert killed.state.locks  # what a runner's SIGKILL leaves
    locked = faults.steps["up while locked"].run
    document = locked.document
    assert locked.code == 2 and document["error"]["kind"] == "locked", locked.describe()
    assert "no longer running" in document["error"]["message"]
    assert document["recovery"][0] == f"python -m stacks.pipeline cancel --stack {STACK} --yes"
    assert document["recovery"][-1] == f"python -m stacks.pipeline up --stack {STACK} --yes"


def test_the_documented_recovery_converges_to_a_clean_preview(faults: Faults) -> None:
    for name in ("cancel", "refresh", "up after recovery", "preview after recovery"):
        assert faults.steps[name].run.code == 0, faults.steps[name].run.describe()
    assert faults.steps["cancel"].state.locks == []
    assert faults.steps["refresh"].state.pending == []
    final = faults.steps["up after recovery"].state
    assert final.resources == faults.total and final.rendered == final.kubernetes
