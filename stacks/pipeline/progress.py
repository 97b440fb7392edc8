"""Live progress from engine events: resources done/total, operations in flight, elapsed time.

`ProgressState` folds `pulumi.automation.events.EngineEvent`s into counters (pure, no I/O).
`ProgressDisplay` shows it on a rich console (stderr): a live panel on a terminal, one log
line per finished change otherwise (CI logs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pulumi.automation import EngineEvent
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

STACK_TYPE = "pulumi:pulumi:Stack"
REPORTED_SEVERITIES = ("info", "warning", "error")
"""Diagnostics kept for the report: not `debug`, and not `info#err` (a program's stderr, line by line)."""
MAX_SHOWN_OPERATIONS = 8

_ACTIVE_VERB = {
    "create": "creating",
    "update": "updating",
    "delete": "deleting",
    "replace": "replacing",
    "create-replacement": "creating replacement",
    "delete-replaced": "deleting replaced",
    "same": "checking",
    "read": "reading",
    "refresh": "refreshing",
    "import": "importing",
}
_DONE_VERB = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "replace": "replaced",
    "create-replacement": "created replacement",
    "delete-replaced": "deleted replaced",
    "read": "read",
    "refresh": "refreshed",
    "import": "imported",
}


def _op(value: Any) -> str:
    return str(getattr(value, "value", value))


def short_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class Diagnostic:
    """An engine diagnostic or policy finding worth reporting."""

    severity: str
    message: str
    urn: str | None = None
    policy: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"severity": self.severity, "message": self.message}
        if self.urn:
            out["urn"] = self.urn
        if self.policy:
            out["policy"] = self.policy
        return out


@dataclass
class Operation:
    op: str
    type: str
    name: str


@dataclass
class ProgressState:
    """Counters folded from engine events (resources exclude the root Stack resource)."""

    total_hint: int | None = None
    dry_run: bool = False
    in_flight: dict[str, Operation] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    completed: dict[str, int] = field(default_factory=dict)
    succeeded: dict[str, str] = field(default_factory=dict)  # URN -> operation, in completion order
    failed: list[str] = field(default_factory=list)
    failed_ops: dict[str, str] = field(default_factory=dict)  # URN -> operation that failed
    diagnostics: list[Diagnostic] = field(default_factory=list)
    summary_changes: dict[str, int] | None = None
    summary_seconds: int | None = None

    @property
    def done(self) -> int:
        return len(self.finished)

    @property
    def total(self) -> int:
        """Resources known so far: the hint (e.g. resources in state) or more if more showed up."""
        return max(self.total_hint or 0, len(self.seen))

    def handle(self, event: EngineEvent) -> tuple[str, Operation] | None:
        """Fold one event; return (verb, operation) when a resource finished with a real change.

        A resource counts once: components report outputs twice (on registration and on
        `register_outputs`), and only the first report is a completion.
        """
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if meta.type != STACK_TYPE:
                self.seen.add(meta.urn)
                self.in_flight[meta.urn] = Operation(_op(meta.op), meta.type, short_name(meta.urn))
            return None
        if event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            if meta.type == STACK_TYPE:
                return None
            self.seen.add(meta.urn)
            operation = self.in_flight.pop(meta.urn, None) or Operation(_op(meta.op), meta.type, short_name(meta.urn))
            if meta.urn in self.finished:
                return None
            self.finished.add(meta.urn)
            self.completed[operation.op] = self.completed.get(operation.op, 0) + 1
            self.succeeded[meta.urn] = operation.op
            if operation.op not in _DONE_VERB:
                return None
            return (f"would {operation.op}" if self.dry_run else _DONE_VERB[operation.op], operation)
        if event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            self.seen.add(meta.urn)
            operation = self.in_flight.pop(meta.urn, None) or Operation(_op(meta.op), meta.type, short_name(meta.urn))
            self.finished.add(meta.urn)
            self.failed.append(meta.urn)
            self.failed_ops[meta.urn] = operation.op
            return (f"FAILED to {operation.op}", operation)
        if event.diagnostic_event is not None:
            diag = event.diagnostic_event
            if diag.severity in REPORTED_SEVERITIES and not diag.ephemeral and diag.message.strip():
                self.diagnostics.append(Diagnostic(diag.severity, diag.message.strip(), diag.urn or None))
            return None
        if event.policy_event is not None:
            pol = event.policy_event
            self.diagnostics.append(
                Diagnostic(
                    pol.enforcement_level,
                    pol.message.strip(),
                    pol.resource_urn or None,
                    f"{pol.policy_pack_name}/{pol.policy_name}",
                )
            )
            return None
        if event.summary_event is not None:
            changes = {_op(k): int(v) for k, v in event.summary_event.resource_changes.items() if v}
            self.summary_changes = changes
            self.summary_seconds = event.summary_event.duration_seconds
        return None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity in ("error", "mandatory")]

    def breakdown(self, known: Iterable[str] = ()) -> dict[str, Any]:
        """Per resource: what succeeded (real changes), failed (with the engine's message), was still in
        flight, or was never attempted — of `known` (the state before the run, a preview's plan) the ones
        this run never reached. Resources neither known nor reached are not listed (a preview shows them)."""
        changed: dict[str, list[str]] = {}
        for urn, op in self.succeeded.items():
            if op != "same":
                changed.setdefault(op, []).append(urn)
        messages: dict[str, list[str]] = {}
        for diag in self.errors:
            if diag.urn:
                messages.setdefault(diag.urn, []).append(diag.message)
        reached = self.seen | self.finished
        return {
            "succeeded": changed,
            "unchanged": sum(1 for op in self.succeeded.values() if op == "same"),
            "failed": [
                {"urn": urn, "operation": self.failed_ops.get(urn, ""), "message": "\n".join(messages.get(urn, []))}
                for urn in self.failed
            ],
            "inFlight": [{"urn": urn, "operation": o.op} for urn, o in self.in_flight.items()],
            "notAttempted": sorted({u for u in known if u not in reached and short_type(u) != STACK_TYPE}),
        }


def short_type(urn: str) -> str:
    """The resource type of a URN (its last type segment)."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) > 3 else ""


def format_elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 60:02d}:{seconds % 60:02d}"
        if seconds < 3600
        else f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    )


def render(state: ProgressState, title: str, elapsed: float) -> RenderableType:
    """The live panel: header line, then the operations in flight."""
    header = Text()
    header.append(f"{title}  ", style="bold")
    header.append(f"{state.done}/{state.total} resources", style="cyan")
    header.append(f"  {format_elapsed(elapsed)}", style="dim")
    if state.failed:
        header.append(f"  {len(state.failed)} failed", style="bold red")
    warnings = sum(1 for d in state.diagnostics if d.severity == "warning")
    if warnings:
        header.append(f"  {warnings} warning{'s' if warnings > 1 else ''}", style="yellow")
    lines: list[RenderableType] = [header]
    active = [o for o in state.in_flight.values() if o.op != "same"] or list(state.in_flight.values())
    for operation in active[:MAX_SHOWN_OPERATIONS]:
        line = Text("  ")
        line.append(f"{_ACTIVE_VERB.get(operation.op, operation.op):<22}", style="magenta")
        line.append(f"{operation.type}  ", style="dim")
        line.append(operation.name)
        lines.append(line)
    if len(active) > MAX_SHOWN_OPERATIONS:
        lines.append(Text(f"  ... and {len(active) - MAX_SHOWN_OPERATIONS} more", style="dim"))
    return Group(*lines)


class ProgressDisplay:
    """Shows a ProgressState on `console` while the engine runs; `on_event` is thread-safe.

    On a terminal: a live panel, refreshed 4 times a second. Elsewhere (CI): one line per
    finished change or failure, with the running count.
    """

    def __init__(
        self,
        console: Console,
        title: str,
        total_hint: int | None = None,
        dry_run: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.title = title
        self.state = ProgressState(total_hint=total_hint, dry_run=dry_run)
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __rich__(self) -> RenderableType:
        with self._lock:
            return render(self.state, self.title, self._clock() - self._started)

    def on_event(self, event: EngineEvent) -> None:
        with self._lock:
            finished = self.state.handle(event)
            count = f"{self.state.done}/{self.state.total}"
        if finished is not None and self._live is None:
            verb, operation = finished
            style = "red" if verb.startswith("FAILED") else None
            self.console.print(
                f"{verb} {operation.type} {operation.name} ({count})",
                style=style,
                highlight=False,
                markup=False,
                soft_wrap=True,
            )

    def __enter__(self) -> ProgressDisplay:
        if self.console.is_terminal:
            self._live = Live(self, console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        else:
            self.console.print(f"{self.title} ...", highlight=False)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
