"""The Pulumi CLI as a supervised child process: graceful interruption, forced stop, no orphans.

The Automation API runs every engine command as a `pulumi` subprocess (`PulumiCommand.run`).
`SupervisedPulumiCommand` runs it the same way, with three differences:

- the CLI gets its own session (process group), so a terminal's Ctrl-C reaches only the
  pipeline, which forwards exactly one SIGINT per signal it receives (`Supervisor.interrupt`);
  the CLI's first SIGINT is Pulumi's graceful cancel (finish the operations in flight, write
  the state, release the lock), a second one terminates it;
- its stdin is /dev/null (it is non-interactive and no longer in the terminal's foreground group);
- on Linux the pipeline is a child subreaper (`PR_SET_CHILD_SUBREAPER`): plugins (language host,
  providers, each started by the CLI in its own process group) that lose their parent are
  re-parented to the pipeline instead of init, so `sweep_orphans` finds and stops them after
  every CLI run, and no plugin outlives the pipeline.

`Supervisor.force` (a second signal) kills the CLI and every process below it (SIGKILL to each
one's process group), unless checkpoints are skipped (`PULUMI_SKIP_CHECKPOINTS`): then the state
is only written at the end of the run and a forced stop would lose the record of everything the
run created, so the supervisor refuses and keeps waiting (docs/pipeline.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult, OnOutput
from pulumi.automation.errors import create_command_error

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
RUN_MARKER = "MESHGATE_ENGINE_RUN"  # in the CLI's environment, inherited by its plugins: what `sweep_orphans` may stop
ORPHAN_GRACE_SECONDS = 5.0  # the CLI gives its plugins the same time between SIGINT and SIGKILL
TRUTHY = ("1", "true", "yes", "on")


def checkpoints_skipped(environ: Mapping[str, str]) -> bool:
    """Whether `PULUMI_SKIP_CHECKPOINTS` is on: the engine then saves the state only when the run ends."""
    return environ.get("PULUMI_SKIP_CHECKPOINTS", "").strip().lower() in TRUTHY


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# --------------------------------------------------------------------------- /proc


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of a live process, from /proc (None if gone, a zombie or no /proc)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) "
    if not fields or fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2])


def _all_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def children_of(pid: int) -> list[int]:
    """Live direct children of `pid` (Linux /proc; empty elsewhere)."""
    out: list[int] = []
    for candidate in _all_pids():
        stat = _stat(candidate)
        if stat is not None and stat[0] == pid:
            out.append(candidate)
    return out


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, breadth first (one /proc scan)."""
    parents: dict[int, list[int]] = {}
    for candidate in _all_pids():
        stat = _stat(candidate)
        if stat is not None:
            parents.setdefault(stat[0], []).append(candidate)
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in parents.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def enable_subreaper() -> bool:
    """Make this process adopt orphaned descendants (Linux); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _signal_tree(pids: list[int], sig: int) -> None:
    """`sig` to every pid and to each one's process group (never ours)."""
    own_group = os.getpgrp()
    groups: set[int] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    for group in groups - {own_group}:
        with contextlib.suppress(OSError):
            os.killpg(group, sig)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def _zombie_children(pid: int) -> list[int]:
    """Exited children of `pid` not yet waited for (killed plugins re-parented to a subreaper)."""
    out: list[int] = []
    for candidate in _all_pids():
        try:
            text = Path(f"/proc/{candidate}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[0] == "Z" and int(fields[1]) == pid:
            out.append(candidate)
    return out


def _carries(pid: int, marker: str) -> bool:
    """Whether the process's environment holds `marker` (`NAME=value`)."""
    try:
        return marker.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _reap(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        except OSError:
            pass


# --------------------------------------------------------------------------- supervisor


@dataclass
class Supervisor:
    """The CLI process of the running engine command and what the signals asked for.

    One per pipeline process (`SUPERVISOR`). Thread-safe; `interrupt` is called from the signal
    handler (main thread) while the engine command runs.
    """

    skip_checkpoints: bool = False
    signals: list[str] = field(default_factory=list)  # the signals received, in order
    forced: bool = False
    force_refused: bool = False
    orphans_stopped: int = 0
    _process: subprocess.Popen[str] | None = None
    _starting: bool = False  # between the decision to start a CLI and its registration
    _starting_engine: bool = False
    tag: str = field(default_factory=lambda: uuid.uuid4().hex)  # RUN_MARKER's value for this pipeline
    _killed: list[int] = field(default_factory=list)  # what `force` killed: reaped once they are gone
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def interrupted(self) -> bool:
        return bool(self.signals)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._starting or (self._process is not None and self._process.poll() is None)

    def reset(self) -> None:
        with self._lock:
            self.signals.clear()
            self.forced = self.force_refused = False
            self.orphans_stopped = 0

    # -- called by the signal handler ------------------------------------------------

    def interrupt(self, signum: int) -> str:
        """Handle one SIGINT/SIGTERM; returns what was done: `cancel`, `force`, `force-refused`, `pending` (recorded:
        a CLI is starting or finishing) or `idle` (no CLI: the caller raises KeyboardInterrupt)."""
        with self._lock:
            self.signals.append(signal_name(signum))
            process = self._process
            first = len(self.signals) == 1
            starting = self._starting
        if process is None:
            return "pending" if starting else "idle"  # pending: `started` forwards it
        if process.poll() is not None:
            return "pending"  # it has just exited: the runner is finishing; no engine command starts after this
        if first:
            self._send(process, signal.SIGINT)
            return "cancel"
        if self.skip_checkpoints:
            self.force_refused = True
            return "force-refused"
        self.force()
        return "force"

    def force(self) -> None:
        """Kill the CLI and every process below it (SIGKILL, process group by process group)."""
        with self._lock:
            self.forced = True
            process = self._process
        if process is None:
            return
        tree = [process.pid, *descendants(process.pid)]
        self._killed.extend(tree)
        _signal_tree(tree, signal.SIGKILL)

    @staticmethod
    def _send(process: subprocess.Popen[str], sig: int) -> None:
        with contextlib.suppress(OSError):
            process.send_signal(sig)

    # -- called by the command runner ------------------------------------------------

    def starting(self, engine_operation: bool) -> None:
        """A CLI is about to start; an engine operation (up, preview, refresh, destroy) is refused after a signal."""
        with self._lock:
            if engine_operation and self.signals:
                raise KeyboardInterrupt
            self._starting, self._starting_engine = True, engine_operation

    def started(self, process: subprocess.Popen[str]) -> None:
        with self._lock:
            self._process = process
            pending = self._starting_engine and bool(self.signals)
            self._starting = self._starting_engine = False
        if pending:  # a signal arrived while the CLI was starting: it must not run unstopped
            self._send(process, signal.SIGINT)

    def finished(self) -> None:
        with self._lock:
            self._process = None
            self._starting = self._starting_engine = False
        self.sweep_orphans()

    def sweep_orphans(self) -> int:
        """Stop processes re-parented to this one (plugins of a CLI that is gone, recognised by RUN_MARKER in
        their environment): SIGTERM, then SIGKILL."""
        me = os.getpid()
        own = self._own_children()
        if self._killed:  # plugins a forced stop killed: SIGKILL is asynchronous, wait until each has exited
            deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
            while time.monotonic() < deadline and any(_stat(pid) is not None for pid in self._killed):
                time.sleep(0.02)
            _reap([pid for pid in self._killed if pid not in own])
            self._killed.clear()
        _reap([pid for pid in _zombie_children(me) if pid not in own])
        marker = f"{RUN_MARKER}={self.tag}"
        orphans = [pid for pid in children_of(me) if pid not in own and _carries(pid, marker)]
        if not orphans:
            return 0
        tree = orphans + [d for pid in orphans for d in descendants(pid)]
        _signal_tree(tree, signal.SIGTERM)
        deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
        while time.monotonic() < deadline:
            _reap(tree)
            if not any(_stat(pid) is not None for pid in tree):
                break
            time.sleep(0.05)
        alive = [pid for pid in tree if _stat(pid) is not None]
        if alive:
            _signal_tree(alive, signal.SIGKILL)
        _reap(tree)
        self.orphans_stopped += len(orphans)
        return len(orphans)

    def _own_children(self) -> set[int]:
        with self._lock:
            return {self._process.pid} if self._process is not None else set()


SUPERVISOR = Supervisor()
"""The pipeline's one supervisor: `SupervisedPulumiCommand` registers its CLI process here."""


# --------------------------------------------------------------------------- the CLI runner


class SupervisedPulumiCommand(auto.PulumiCommand):
    """`pulumi.automation.PulumiCommand` whose CLI runs in its own process group under a `Supervisor`."""

    def __init__(self, supervisor: Supervisor = SUPERVISOR, root: str | None = None) -> None:
        super().__init__(root=root)
        self.supervisor = supervisor
        enable_subreaper()

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: OnOutput | None = None,
        on_error: OnOutput | None = None,
    ) -> CommandResult:
        """The CLI command, as `PulumiCommand.run` does it (non-interactive, Automation API env), supervised."""
        head = args[: args.index("--")] if "--" in args else args
        if "--non-interactive" not in head:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true", RUN_MARKER: self.supervisor.tag}
        if os.path.isabs(self.command):  # plugins next to the CLI come first, as upstream
            env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env.get("PATH", "")])
        out: list[str] = []
        err: list[str] = []
        self.supervisor.starting(_is_engine_operation(args))
        process = subprocess.Popen(
            [self.command, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            encoding="utf-8",
            start_new_session=True,
        )
        self.supervisor.started(process)
        readers: list[threading.Thread] = []
        try:
            readers = [
                threading.Thread(target=_pump, args=(process.stdout, on_output, out), daemon=True),
                threading.Thread(target=_pump, args=(process.stderr, on_error, err), daemon=True),
            ]
            for reader in readers:
                reader.start()
            code = process.wait()
        finally:
            if process.poll() is None:  # an exception in this thread: never leave the CLI behind
                self.supervisor.force()
                process.wait()
            self.supervisor.finished()  # also stops orphans, which may hold the output pipes open
        for reader in readers:
            reader.join()
        result = CommandResult(stdout="\n".join(out), stderr="\n".join(err), code=code)
        if code != 0:
            raise create_command_error(result)
        return result


ENGINE_OPERATIONS = frozenset({"up", "preview", "refresh", "destroy", "import"})


def _is_engine_operation(args: list[str]) -> bool:
    """Whether the CLI arguments run the engine (not a read such as `stack export` or `cancel`)."""
    words = [a for a in args if not a.startswith("-")]
    return bool(words) and words[0] in ENGINE_OPERATIONS


def _pump(stream: Any, callback: OnOutput | None, lines: list[str]) -> None:
    for line in iter(stream.readline, ""):
        text = line.rstrip()
        if callback is not None:
            callback(text)
        lines.append(text)
    stream.close()


# --------------------------------------------------------------------------- signals


@contextmanager
def handling_signals(
    supervisor: Supervisor, on_signal: Callable[[str, str], None] | None = None
) -> Iterator[Supervisor]:
    """Route SIGINT and SIGTERM to `supervisor` while the block runs (main thread only).

    While no CLI runs (between engine commands, at a confirmation prompt) a signal raises
    KeyboardInterrupt as Python's default does, so nothing new starts. `on_signal(signal, action)`
    reports each one (`action` as `Supervisor.interrupt` returns it).
    """
    if threading.current_thread() is not threading.main_thread():
        yield supervisor
        return

    def handler(signum: int, _frame: Any) -> None:
        action = supervisor.interrupt(signum)
        if on_signal is not None:
            on_signal(signal_name(signum), action)
        if action == "idle":
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield supervisor
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
