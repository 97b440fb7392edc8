"""Faults of the pipeline without the engine: signals forwarded to a stand-in `pulumi` process, forced
stops and orphaned plugins (real processes, checked in /proc), lock errors, `cancel`, and the
per-resource report of failed and interrupted runs (fake automation stack)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_events import NS_TYPE, NS_URN, SA_TYPE, SA_URN, Events
from fake_automation import STACK_RESOURCE, FakeStack, Run, command_error
from pulumi.automation import CommandError, UpResult

from stacks.pipeline import locks, processes
from stacks.pipeline.processes import SUPERVISOR, SupervisedPulumiCommand, Supervisor, handling_signals
from stacks.pipeline.report import ExitCode

CM_URN = "urn:pulumi:dev::meshgate::kubernetes:core/v1:ConfigMap::mesh-config"
CM_TYPE = "kubernetes:core/v1:ConfigMap"
STATE = [
    {"urn": NS_URN, "type": NS_TYPE},
    {"urn": SA_URN, "type": SA_TYPE},
    {"urn": CM_URN, "type": CM_TYPE},
]

# A stand-in for the Pulumi CLI: `version` answers like the CLI; any other command starts a "plugin"
# in its own process group (as the CLI does: Setpgid), prints `plugin <pid>` and waits. MODE says what
# it does on SIGINT: `graceful` stops its plugin and exits 255 (Pulumi's first Ctrl-C), `stubborn`
# keeps running (an operation that is still in flight), `orphan` exits at once leaving the plugin.
FAKE_PULUMI = textwrap.dedent(
    """\
    #!{python}
    import os, signal, subprocess, sys, time
    if sys.argv[1:] == ["version"]:
        print("v3.274.1")
        sys.exit(0)
    mode = os.environ["FAKE_PULUMI_MODE"]
    plugin = None
    def on_signal(signum, frame):
        print("signal", signum, flush=True)
        if mode == "graceful":
            plugin.terminate()
            plugin.wait()
            sys.exit(255)
    if mode != "orphan":
        # Before `plugin <pid>` is printed: the test signals as soon as it reads that line.
        signal.signal(signal.SIGINT, on_signal)
    plugin = subprocess.Popen([sys.executable, "-c", "import time\\nwhile True: time.sleep(1)"], start_new_session=True)
    print("plugin", plugin.pid, flush=True)
    if mode == "orphan":
        sys.exit(255)
    while True:
        signal.pause()
    """
)


def alive(pid: int) -> bool:
    return processes._stat(pid) is not None


@pytest.fixture
def fake_cli(tmp_path: Path) -> Iterator[Callable[[str], SupervisedPulumiCommand]]:
    """A SupervisedPulumiCommand on the stand-in CLI (`<root>/bin/pulumi`) with its own supervisor."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI.format(python=sys.executable))
    script.chmod(0o755)

    def make(mode: str) -> SupervisedPulumiCommand:
        os.environ["FAKE_PULUMI_MODE"] = mode
        return SupervisedPulumiCommand(Supervisor(), root=str(tmp_path))

    yield make
    os.environ.pop("FAKE_PULUMI_MODE", None)


class Background:
    """`command.run(["up"])` in a thread; `plugin` is the stand-in plugin's pid once it is up."""

    def __init__(self, command: SupervisedPulumiCommand) -> None:
        self.ready = threading.Event()
        self.plugin = 0
        self.lines: list[str] = []
        self.error: BaseException | None = None

        def on_output(line: str) -> None:
            self.lines.append(line)
            if line.startswith("plugin "):
                self.plugin = int(line.split()[1])
                self.ready.set()

        def target() -> None:
            try:
                command.run(["up", "--yes"], os.getcwd(), {}, on_output=on_output)
            except BaseException as err:  # recorded for the test
                self.error = err
            finally:
                self.ready.set()

        self.thread = threading.Thread(target=target)
        self.thread.start()
        assert self.ready.wait(60)

    def join(self) -> None:
        self.thread.join(60)
        assert not self.thread.is_alive()


# --------------------------------------------------------------------------- the supervised CLI


def test_first_signal_is_forwarded_as_sigint_and_the_cli_cancels_by_itself(
    fake_cli: Callable[[str], SupervisedPulumiCommand],
) -> None:
    command = fake_cli("graceful")
    run = Background(command)
    assert command.supervisor.running
    assert command.supervisor.interrupt(signal.SIGTERM) == "cancel"  # SIGTERM from CI: forwarded as SIGINT
    run.join()
    assert isinstance(run.error, CommandError)
    assert f"signal {int(signal.SIGINT)}" in run.lines
    assert command.supervisor.signals == ["SIGTERM"] and not command.supervisor.forced
    assert not alive(run.plugin)
    assert not command.supervisor.running


def test_second_signal_kills_the_cli_and_its_plugins(fake_cli: Callable[[str], SupervisedPulumiCommand]) -> None:
    command = fake_cli("stubborn")
    run = Background(command)
    assert command.supervisor.interrupt(signal.SIGINT) == "cancel"
    assert command.supervisor.interrupt(signal.SIGINT) == "force"
    run.join()
    assert isinstance(run.error, CommandError) and command.supervisor.forced
    assert not alive(run.plugin)  # in its own process group, like the CLI's plugins
    assert not Path(f"/proc/{run.plugin}").exists()  # and reaped: no zombie left either


def test_no_forced_stop_while_checkpoints_are_skipped(fake_cli: Callable[[str], SupervisedPulumiCommand]) -> None:
    command = fake_cli("stubborn")
    command.supervisor.skip_checkpoints = True
    run = Background(command)
    assert command.supervisor.interrupt(signal.SIGINT) == "cancel"
    assert command.supervisor.interrupt(signal.SIGINT) == "force-refused"
    assert command.supervisor.running and alive(run.plugin) and command.supervisor.force_refused
    command.supervisor.force()  # the test's own cleanup
    run.join()
    assert not alive(run.plugin)


def test_plugins_orphaned_by_the_cli_are_stopped_when_it_exits(
    fake_cli: Callable[[str], SupervisedPulumiCommand], live_pulumi: int
) -> None:
    command = fake_cli("orphan")
    run = Background(command)
    run.join()
    assert isinstance(run.error, CommandError)
    assert not alive(run.plugin)
    assert command.supervisor.orphans_stopped == 1
    assert alive(live_pulumi)  # another child of this process, not started by the CLI: left alone


def test_after_a_signal_no_engine_operation_starts_but_reads_do(
    fake_cli: Callable[[str], SupervisedPulumiCommand],
) -> None:
    command = fake_cli("orphan")
    assert command.supervisor.interrupt(signal.SIGINT) == "idle"
    with pytest.raises(KeyboardInterrupt):
        command.run(["destroy", "--yes"], os.getcwd(), {})
    with pytest.raises(CommandError):  # `stack export` still runs (the stand-in fails it)
        command.run(["stack", "export"], os.getcwd(), {})


def test_a_real_sigint_goes_to_the_supervisor_and_idle_raises_keyboard_interrupt(
    fake_cli: Callable[[str], SupervisedPulumiCommand],
) -> None:
    command = fake_cli("graceful")
    seen: list[tuple[str, str]] = []
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the test run itself was started in the background
    with handling_signals(command.supervisor, lambda name, action: seen.append((name, action))):
        run = Background(command)
        os.kill(os.getpid(), signal.SIGINT)  # handled in this (main) thread
        run.join()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(5)  # interrupted by the handler
    assert seen == [("SIGINT", "cancel"), ("SIGINT", "idle")]
    assert isinstance(run.error, CommandError) and not alive(run.plugin)
    assert signal.getsignal(signal.SIGINT) is before  # the handler that was there is back


def test_checkpoints_skipped() -> None:
    assert processes.checkpoints_skipped({"PULUMI_SKIP_CHECKPOINTS": "true"})
    assert processes.checkpoints_skipped({"PULUMI_SKIP_CHECKPOINTS": "1"})
    assert not processes.checkpoints_skipped({"PULUMI_SKIP_CHECKPOINTS": "false"})
    assert not processes.checkpoints_skipped({})


# --------------------------------------------------------------------------- locks


def lock_error(host: str, pid: int) -> str:
    return (
        "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete "
        "the lock file with `pulumi cancel`.\n"
        f"  file:///state/.pulumi/locks/organization/meshgate/dev/0b6e.json: created by ci@{host} (pid {pid}) at "
        "2026-12-01T23:00:00Z"
    )


@pytest.fixture
def live_pulumi(tmp_path: Path) -> Any:
    """A live process named `pulumi`, as a lock holder that is still running (yielded once it runs)."""
    binary = tmp_path / "pulumi"
    binary.write_text(f"#!{sys.executable}\nimport time\nprint('ready', flush=True)\ntime.sleep(600)\n")
    binary.chmod(0o755)
    process = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    yield process.pid
    process.kill()
    process.wait()


def test_lock_holders_are_parsed_and_checked(live_pulumi: int) -> None:
    here = socket.gethostname()
    (holder,) = locks.holders_in_error(lock_error(here, live_pulumi))
    assert (holder.user, holder.host, holder.pid) == ("ci", here, live_pulumi)
    assert holder.alive is True
    assert locks.holders_in_error(lock_error(here, os.getpid()))[0].alive is False  # a python process, not pulumi
    assert locks.holders_in_error(lock_error("elsewhere.example", live_pulumi))[0].alive is None


def write_lock(state: Path, pid: int, host: str | None = None) -> Path:
    directory = state / ".pulumi" / "locks" / "organization" / "meshgate" / "dev"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "5f1c.json"
    content = {
        "pid": pid,
        "username": "ci",
        "hostname": host or socket.gethostname(),
        "timestamp": "2026-12-01T23:00:00Z",
    }
    path.write_text(json.dumps(content))
    return path


def backend(state: Path) -> dict[str, str]:
    return {"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": ""}


@pytest.fixture(autouse=True)
def fresh_supervisor() -> Any:
    SUPERVISOR.reset()
    yield
    SUPERVISOR.reset()


def test_a_stack_locked_by_a_killed_run_exits_2_with_the_commands_that_recover_it() -> None:
    stack = FakeStack(resources=STATE, error=command_error(lock_error(socket.gethostname(), 999_999_999)))
    stack.pending = [{"resource": {"urn": SA_URN}, "type": "creating"}]
    run = Run(["up", "--stack", "dev", "--yes", "--json"], stack)
    doc = run.document
    assert run.code == ExitCode.USAGE == 2 and doc["error"]["kind"] == "locked"
    assert doc["recovery"] == [
        "python -m stacks.pipeline cancel --stack dev --yes",
        "python -m stacks.pipeline refresh --stack dev --yes --clear-pending-creates",
        "python -m stacks.pipeline up --stack dev --yes",
    ]
    assert "no longer running" in doc["error"]["message"] and doc["lock"][0]["alive"] is False
    assert doc["pendingOperations"] == [{"urn": SA_URN, "type": "creating"}]
    human = Run(["up", "--stack", "dev", "--yes"], stack)
    assert "python -m stacks.pipeline cancel --stack dev --yes" in human.stderr


def test_a_concurrent_run_is_refused_with_exit_4(live_pulumi: int) -> None:
    stack = FakeStack(error=command_error(lock_error(socket.gethostname(), live_pulumi)))
    run = Run(["destroy", "--stack", "dev", "--yes", "--json"], stack)
    assert run.code == ExitCode.BUSY == 4
    assert run.document["error"]["kind"] == "busy" and "nothing was run" in run.document["error"]["message"]
    assert "recovery" not in run.document  # never unlock a live run


def test_a_lock_held_on_another_host_is_exit_2_and_says_both_cases() -> None:
    stack = FakeStack(error=command_error(lock_error("runner-7", 42)))
    run = Run(["refresh", "--stack", "dev", "--yes", "--json"], stack)
    assert run.code == 2 and run.document["error"]["kind"] == "locked"
    assert "if that run is still going, wait for it" in run.document["error"]["message"]


def test_cancel_removes_a_stale_lock_after_confirmation(tmp_path: Path) -> None:
    write_lock(tmp_path, 999_999_999)
    stack = FakeStack(resources=STATE)
    stack.pending = [{"resource": {"urn": CM_URN}, "type": "creating"}]
    asked: list[str] = []
    declined = Run(
        ["cancel", "--stack", "dev"], stack, environ=backend(tmp_path), confirm=lambda q: asked.append(q) or False
    )
    assert declined.code == 1 and stack.calls == [] and "pid 999999999" in asked[0]
    run = Run(["cancel", "--stack", "dev", "--yes", "--json"], stack, environ=backend(tmp_path))
    assert run.code == 0 and stack.calls == [("cancel", {})]
    assert run.document["removed"] is True
    assert run.document["recovery"] == ["python -m stacks.pipeline refresh --stack dev --yes --clear-pending-creates"]


def test_cancel_needs_yes_without_a_terminal_and_refuses_a_live_run(tmp_path: Path, live_pulumi: int) -> None:
    write_lock(tmp_path, live_pulumi)
    stack = FakeStack()
    assert Run(["cancel", "--stack", "dev", "--json"], stack, environ=backend(tmp_path)).code == 2
    run = Run(["cancel", "--stack", "dev", "--yes", "--json"], stack, environ=backend(tmp_path))
    assert run.code == 4 and run.document["error"]["kind"] == "busy" and stack.calls == []


def test_cancel_on_an_unlocked_stack_does_nothing(tmp_path: Path) -> None:
    stack = FakeStack()
    run = Run(["cancel", "--stack", "dev", "--yes", "--json"], stack, environ=backend(tmp_path))
    assert run.code == 0 and run.document["removed"] is False and stack.calls == []


def damaged_backend(root: Path, stack: str = "dev") -> tuple[Path, Path]:
    """A file backend as a killed engine leaves it (measured): the previous checkpoint complete, its
    attributes file truncated to zero bytes by gocloud.dev fileblob's in-place rewrite, the backup's intact."""
    stacks = root / ".pulumi" / "stacks" / "meshgate"
    stacks.mkdir(parents=True)
    (stacks / f"{stack}.json").write_text('{"version": 3, "checkpoint": {}}')
    (stacks / f"{stack}.json.attrs").write_text("")
    (stacks / f"{stack}.json.bak.attrs").write_text('{"user.cache_control":"","user.content_type":"application/json"}')
    return stacks / f"{stack}.json.attrs", stacks / f"{stack}.json.bak.attrs"


def test_cancel_removes_the_truncated_attributes_a_killed_engine_leaves(tmp_path: Path) -> None:
    damaged, intact = damaged_backend(tmp_path)
    stack = FakeStack()
    run = Run(["cancel", "--stack", "dev", "--yes", "--json"], stack, environ=backend(tmp_path))
    assert run.code == 0, run.stdout
    assert run.document["repairedFiles"] == [str(damaged)]
    assert not damaged.exists() and intact.exists() and (tmp_path / ".pulumi/stacks/meshgate/dev.json").exists()
    again = Run(["cancel", "--stack", "dev", "--yes", "--json"], FakeStack(), environ=backend(tmp_path))
    assert "repairedFiles" not in again.document  # nothing left to repair


class DamagedStack(FakeStack):
    def up(self, **kwargs: Any) -> UpResult:  # type: ignore[override]
        raise command_error("error: failed to load checkpoint: EOF")


def test_reading_while_another_run_writes_is_busy_not_damage(tmp_path: Path, live_pulumi: int) -> None:
    """Measured with the engine: an `up` started while another writes its checkpoint can read the attributes
    file in the moment fileblob has truncated it ("failed to load checkpoint: EOF"). With a live lock holder
    that is a concurrent run (exit 4), not a damaged stack."""
    write_lock(tmp_path, live_pulumi)
    run = Run(["up", "--stack", "dev", "--yes", "--json"], DamagedStack(), environ=backend(tmp_path))
    assert run.code == 4 and run.document["error"]["kind"] == "busy", run.stdout


def test_a_truncated_stack_file_is_reported_with_the_command_that_repairs_it(tmp_path: Path) -> None:
    damaged_backend(tmp_path)
    run = Run(["up", "--stack", "dev", "--yes", "--json"], DamagedStack(), environ=backend(tmp_path))
    assert run.code == 2 and run.document["error"]["kind"] == "locked", run.stdout
    assert run.document["recovery"][0] == "python -m stacks.pipeline cancel --stack dev --yes"
    healthy = tmp_path / "healthy"
    healthy.mkdir()
    other = Run(["up", "--stack", "dev", "--yes", "--json"], DamagedStack(), environ=backend(healthy))
    assert other.code == 1 and other.document["error"]["kind"] == "engine"  # no damaged file: a plain failure


# --------------------------------------------------------------------------- interrupted and failed runs


class InterruptedStack(FakeStack):
    """`up` that gets `signals` while it runs (as the handler would call the supervisor), then fails as the CLI does."""

    def __init__(self, signals: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.signals = signals

    def up(self, **kwargs: Any) -> UpResult:  # type: ignore[override]
        on_event = kwargs["on_event"]
        for event in self.events:
            on_event(event)
        # The "CLI": a process that lets SIGINT pass (an operation still in flight) until it is killed.
        cli = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        SUPERVISOR.started(cli)  # type: ignore[arg-type]
        actions = [SUPERVISOR.interrupt(signal.SIGINT) for _ in range(self.signals)]
        assert actions == ["cancel", "force"][: self.signals]
        if self.signals == 1:
            cli.kill()
        cli.wait()
        SUPERVISOR.finished()
        raise command_error("error: update canceled")


def progress_events() -> list[Any]:
    e = Events()
    return [
        e.pre("same", NS_URN, NS_TYPE), e.outputs("same", NS_URN, NS_TYPE),
        e.pre("create", SA_URN, SA_TYPE), e.outputs("create", SA_URN, SA_TYPE),
        e.pre("create", CM_URN + "-2", CM_TYPE),  # in flight when the run stopped
    ]  # fmt: skip


def test_a_graceful_interrupt_reports_done_in_flight_and_not_attempted(tmp_path: Path) -> None:
    stack = InterruptedStack(1, resources=STATE, events=progress_events())
    run = Run(["up", "--stack", "dev", "--yes", "--json"], stack, environ=backend(tmp_path))
    doc = run.document
    assert run.code == 1 and doc["error"]["kind"] == "interrupted"
    assert doc["interrupted"]["signals"] == ["SIGINT"] and doc["interrupted"]["forced"] is False
    assert doc["interrupted"]["lockLeft"] is False and doc["interrupted"]["pendingOperations"] == []
    assert "released the lock" in doc["error"]["message"] and "create 1" in doc["error"]["message"]
    assert doc["resources"]["succeeded"] == {"create": [SA_URN]} and doc["resources"]["unchanged"] == 1
    assert doc["resources"]["inFlight"] == [{"urn": CM_URN + "-2", "operation": "create"}]
    assert doc["resources"]["notAttempted"] == [CM_URN]  # in the state, never reached
    assert doc["recovery"] == ["python -m stacks.pipeline up --stack dev --yes"]


def test_a_forced_stop_says_what_it_costs(tmp_path: Path) -> None:
    write_lock(tmp_path, 999_999_999)  # what the killed CLI leaves
    stack = InterruptedStack(2, resources=STATE, events=progress_events())
    stack.pending = [{"resource": {"urn": CM_URN + "-2"}, "type": "creating"}]
    run = Run(["up", "--stack", "dev", "--yes", "--json"], stack, environ=backend(tmp_path))
    doc = run.document
    assert run.code == 1 and doc["interrupted"]["forced"] is True and doc["interrupted"]["lockLeft"] is True
    assert (
        "lock is left behind" in doc["error"]["message"]
        and "1 operation(s) were left pending" in doc["error"]["message"]
    )
    assert doc["recovery"] == [
        "python -m stacks.pipeline cancel --stack dev --yes",
        "python -m stacks.pipeline refresh --stack dev --yes --clear-pending-creates",
        "python -m stacks.pipeline up --stack dev --yes",
    ]


def test_a_failed_resource_is_reported_with_its_message_and_what_was_not_attempted() -> None:
    e = Events()
    events = [
        e.pre("create", SA_URN, SA_TYPE), e.outputs("create", SA_URN, SA_TYPE),
        e.pre("create", NS_URN, NS_TYPE),
        e.diagnostic("error", "namespaces is forbidden: quota exceeded", urn=NS_URN),
        e.failed("create", NS_URN, NS_TYPE),
    ]  # fmt: skip
    stack = FakeStack(
        resources=[{"urn": CM_URN, "type": CM_TYPE}], events=events, error=command_error("error: update failed")
    )
    run = Run(["up", "--stack", "dev", "--yes", "--json"], stack)
    resources = run.document["resources"]
    assert run.code == 1 and run.document["error"]["kind"] == "engine"
    assert resources["failed"] == [
        {"urn": NS_URN, "operation": "create", "message": "namespaces is forbidden: quota exceeded"}
    ]
    assert resources["succeeded"] == {"create": [SA_URN]} and resources["notAttempted"] == [CM_URN]
    human = Run(["up", "--stack", "dev", "--yes"], stack)
    assert "Resources: 1 create, 0 unchanged, 1 failed, 1 not attempted" in human.stderr
    assert "failed to create: kubernetes:core/v1:Namespace local-istio-system: namespaces is forbidden" in human.stderr


def test_continue_on_error_and_clear_pending_creates_reach_the_engine() -> None:
    up = Run(["up", "--stack", "dev", "--yes", "--continue-on-error"])
    assert up.code == 0 and up.stack.calls[0][1]["continue_on_error"] is True
    destroy = Run(
        ["destroy", "--stack", "dev", "--yes", "--continue-on-error"], FakeStack(resources=[dict(STACK_RESOURCE)])
    )
    assert all(kwargs.get("continue_on_error") is True for c, kwargs in destroy.stack.calls if c == "destroy")
    refresh = Run(["refresh", "--stack", "dev", "--yes", "--clear-pending-creates"])
    assert refresh.stack.calls[0][1]["clear_pending_creates"] is True
    for argv in (
        ["preview", "--stack", "dev", "--continue-on-error"],
        ["refresh", "--stack", "dev", "--yes", "--continue-on-error"],
    ):
        assert Run(argv).code == 2  # no such engine option: documented


def test_refresh_of_a_render_stack_clears_pending_creates_without_reading_a_cluster() -> None:
    """A render stack's objects are files: Pulumi's refresh would ask the Kubernetes provider to read them from a
    cluster that does not exist ("failed to read resource state due to unreachable cluster", measured with the
    engine). The pipeline drops the pending creates from the state itself and runs no engine refresh."""
    create = {"type": "creating", "resource": {"urn": NS_URN, "type": NS_TYPE}}
    update = {"type": "updating", "resource": {"urn": SA_URN, "type": SA_TYPE}}
    stack = FakeStack(resources=[dict(STACK_RESOURCE)])
    stack.pending = [create, update]
    run = Run(["refresh", "--stack", "render", "--yes", "--clear-pending-creates", "--json"], stack)
    assert run.code == 0, run.stderr
    assert "refresh" not in run.commands and "import_stack" in run.commands
    assert run.document["pendingCreatesCleared"] == [NS_URN]
    assert stack.pending == [update]  # only creates are cleared, as Pulumi's flag does
    plain = Run(["refresh", "--stack", "render", "--yes"], FakeStack(resources=[dict(STACK_RESOURCE)]))
    assert plain.code == 0 and "refresh" not in plain.commands and "import_stack" not in plain.commands
    assert "renders to files: there is no cluster to read back" in plain.stderr


def test_the_help_documents_exit_4_and_the_cancel_command() -> None:
    from stacks.pipeline.cli import build_parser

    text = build_parser().format_help()
    assert "4  another run is changing the stack" in text and "cancel" in text
