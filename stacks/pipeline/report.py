"""What a command reports: exit codes, the JSON document (CI), the human summary, secret masking."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from pulumi.automation import OutputValue
from rich.console import Console
from rich.table import Table
from rich.text import Text

SECRET = "[secret]"
_SIG_KEY = "4dabf18193072939515e22adb298388d"  # pulumi.runtime.rpc._special_sig_key
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # pulumi.runtime.rpc._special_secret_sig


class ExitCode(IntEnum):
    """The process exit codes (documented in --help and docs/pipeline.md)."""

    OK = 0
    FAILED = 1  # the engine or a deployment failed
    USAGE = 2  # bad arguments, bad stack config, environment not set up
    CHANGES = 3  # --expect-no-changes and there are changes (drift only with preview --refresh)
    BUSY = 4  # another run holds the stack's lock right now (concurrent run): nothing was run


NO_CHANGE_OPS = frozenset({"same", "read", "discard", "read-replacement"})
"""Step kinds that change nothing: `same`, and reads of existing resources (`Resource.get`), which
the engine's own `--expect-no-changes` does not count either (engine.ResourceChanges.HasChanges)."""


def has_changes(changes: Mapping[str, int]) -> bool:
    """Whether a change summary holds anything but `same` and reads."""
    return any(n > 0 for op, n in changes.items() if op not in NO_CHANGE_OPS)


def is_secret(value: Any) -> bool:
    """A secret as the engine records it: an OutputValue flagged secret or a state secret envelope."""
    if isinstance(value, OutputValue):
        return value.secret
    return isinstance(value, Mapping) and value.get(_SIG_KEY) == _SECRET_SIG


def mask(value: Any) -> Any:
    """`value` with every secret, at any depth, replaced by "[secret]"."""
    if is_secret(value):
        return SECRET
    if isinstance(value, OutputValue):
        return mask(value.value)
    if isinstance(value, Mapping):
        return {str(k): mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    return value


@dataclass
class Report:
    """Everything one command tells its caller; `document()` is the JSON mode output."""

    command: str
    stack: str | None
    exit_code: ExitCode = ExitCode.OK
    error: str | None = None
    error_kind: str | None = None  # usage | config | setup | engine | changes | interrupted | locked | busy
    changes: dict[str, int] | None = None
    phases: list[dict[str, Any]] = field(default_factory=list)
    duration_seconds: float | None = None
    outputs: dict[str, Any] | None = None  # already masked
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def fail(self, code: ExitCode, kind: str, message: str) -> Report:
        self.exit_code, self.error_kind, self.error = code, kind, message
        return self

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "command": self.command,
            "stack": self.stack,
            "ok": self.exit_code == ExitCode.OK,
            "exitCode": int(self.exit_code),
            "error": None if self.error is None else {"kind": self.error_kind, "message": self.error},
            "changes": self.changes,
            "hasChanges": None if self.changes is None else has_changes(self.changes),
            "phases": self.phases,
            "durationSeconds": None if self.duration_seconds is None else round(self.duration_seconds, 3),
            "outputs": self.outputs,
            "diagnostics": self.diagnostics,
        }
        doc.update(self.extra)
        return doc

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=2, sort_keys=False, default=str)


_ORDER = ["create", "update", "replace", "delete", "same"]


def changes_table(changes: Mapping[str, int], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    table.add_column("operation")
    table.add_column("resources", justify="right")
    ops = [op for op in _ORDER if op in changes] + sorted(op for op in changes if op not in _ORDER)
    for op in ops or ["same"]:
        table.add_row(Text(op), Text(str(changes.get(op, 0))))
    return table


def outputs_table(outputs: Mapping[str, Any]) -> Table:
    table = Table(title="Outputs", title_justify="left", show_header=True, header_style="bold")
    table.add_column("name")
    table.add_column("value", overflow="fold")
    for name, value in outputs.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        table.add_row(Text(name), Text(text))  # Text: "[secret]" is not markup
    return table


def traffic_table(rows: Sequence[Mapping[str, Any]], scenario: str) -> Table:
    """The traffic verdicts: source, target, connection, verdict and the object that decided."""
    table = Table(title=f"Traffic ({scenario})", title_justify="left", show_header=True, header_style="bold")
    for column in ("from", "to", "cluster", "request", "connection", "verdict", "decided by"):
        table.add_column(column, overflow="fold")
    for row in rows:
        request = f"{row['method']} {row['path']} :{row['targetPort']}" + (" + JWT" if row["jwt"] else "")
        style = "green" if row["verdict"] == "allow" else "red"
        cells = [row["from"], row["to"], row["cluster"], request, row["connection"], row["verdict"], row["decidedBy"]]
        table.add_row(*(Text(str(c)) for c in cells[:5]), Text(row["verdict"], style=style), Text(str(cells[6])))
    return table


MAX_LISTED = 10


def _name(urn: str) -> str:
    parts = urn.split("::")
    return f"{parts[2].rsplit('$', 1)[-1]} {parts[3]}" if len(parts) > 3 else urn


def render_resources(resources: Mapping[str, Any], console: Console) -> None:
    """The per-resource breakdown of a failed or interrupted run: failed, in flight, not attempted."""
    changed = {op: len(urns) for op, urns in resources["succeeded"].items()}
    counts = [f"{n} {op}" for op, n in sorted(changed.items())]
    counts.append(f"{resources['unchanged']} unchanged")
    for key, label in (("failed", "failed"), ("inFlight", "in flight"), ("notAttempted", "not attempted")):
        if resources[key]:
            counts.append(f"{len(resources[key])} {label}")
    console.print("Resources: " + ", ".join(counts), highlight=False, markup=False)
    for item in resources["failed"]:
        message = item["message"].splitlines()[0] if item["message"] else "(no message)"
        console.print(
            f"  failed to {item['operation']}: {_name(item['urn'])}: {message}",
            style="red",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    for item in resources["inFlight"][:MAX_LISTED]:
        console.print(f"  in flight ({item['operation']}): {_name(item['urn'])}", highlight=False, markup=False)
    if resources["notAttempted"]:
        names = ", ".join(_name(u) for u in resources["notAttempted"][:MAX_LISTED])
        more = len(resources["notAttempted"]) - MAX_LISTED
        console.print(
            f"  not attempted: {names}" + (f" and {more} more (--json lists all)" if more > 0 else ""),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def render_human(report: Report, console: Console) -> None:
    """Summary table (per phase for destroy), duration, outputs, warnings/errors, on `console` (stderr)."""
    title = {"preview": "Planned changes", "destroy": "Destroyed"}.get(report.command, "Changes")
    for phase in report.phases if len(report.phases) > 1 else []:
        console.print(changes_table(phase["changes"], f"{title}: {phase['name']}"))
    if report.changes is not None:
        console.print(changes_table(report.changes, title if len(report.phases) <= 1 else f"{title}: total"))
    if report.duration_seconds is not None:
        console.print(f"Duration: {report.duration_seconds:.1f}s", highlight=False)
    if report.outputs:
        console.print(outputs_table(report.outputs))
    if report.extra.get("resources"):
        render_resources(report.extra["resources"], console)
    shown: list[str] = []
    for diag in report.diagnostics:
        severity = diag["severity"]
        if severity in ("warning", "advisory", "error", "mandatory"):
            label = "warning" if severity in ("warning", "advisory") else "error"
            where = f" [{diag['policy']}]" if diag.get("policy") else ""
            console.print(
                f"{label}{where}: {diag['message']}",
                style="yellow" if label == "warning" else "red",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            shown.append(diag["message"])
    if report.error is not None:
        repeated = all(any(line in message for message in shown) for line in report.error.splitlines())
        if not repeated:
            console.print(f"error: {report.error}", style="bold red", highlight=False, markup=False, soft_wrap=True)
    for command in report.extra.get("recovery") or []:
        console.print(f"  {command}", highlight=False, markup=False, soft_wrap=True)
