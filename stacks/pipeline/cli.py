"""The command line: `python -m stacks.pipeline <command> --stack S [options]`.

Flow of every command: parse arguments -> read `Pulumi.<stack>.yaml`, apply `--config`
overrides, validate with `stacks.config.parse_raw` (exit 2 on any problem, before the
engine is touched) -> for engine commands, check the environment, open the stack, set the
overrides on it, run the engine with live progress -> report (human summary on stderr, or
one JSON document on stdout with `--json`) -> exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.prompt import Confirm

from stacks import analyze as analysis
from stacks.config import ConfigError, KubeconfigClusterSpec, StackConfig
from stacks.pipeline import diagram as diagrams
from stacks.pipeline import engine, file_state, locks, state_encryption
from stacks.pipeline.destroy_plan import DestroyPlan
from stacks.pipeline.engine import (
    Checkpoints,
    EngineError,
    Interrupted,
    Op,
    OpenStack,
    Outcome,
    RunOptions,
    SetupError,
    StackLocked,
)
from stacks.pipeline.overrides import Override, OverrideError, parse_override
from stacks.pipeline.processes import SUPERVISOR, Supervisor, checkpoints_skipped, handling_signals
from stacks.pipeline.progress import ProgressDisplay, ProgressState
from stacks.pipeline.report import ExitCode, Report, has_changes, mask, outputs_table, render_human, traffic_table
from stacks.pipeline.stackfile import ROOT, StackFileError, load_config, raw_config, stack_file
from stacks.traffic.objects import record
from stacks.traffic.query import QueryError, StackTraffic, check_source, parse_target

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  engine or deployment failure (including a declined confirmation)
  2  bad usage, bad stack config or environment not set up (nothing was run)
  3  --expect-no-changes and there are changes (program vs recorded state;
     drift only with preview --refresh, which reads the real resources first)
  4  another run is changing the stack right now (its lock is held by a live process): nothing was run

  A stack locked by a run that was killed is exit 2, with the command that unlocks it (`cancel`).
  SIGINT/SIGTERM stop the engine gracefully (exit 1); a second signal stops it at once.

environment:
  PULUMI_BACKEND_URL              state backend (default: file://<repo>/.pulumi-state)
  PULUMI_CONFIG_PASSPHRASE[_FILE] secrets passphrase, required by self-managed backends
                                  (PULUMI_CONFIG_PASSPHRASE= for an empty one in local development)
"""

CONFIG_HELP = (
    "override a config value like `pulumi config set --path` (repeatable; persisted to the stack like "
    "`pulumi up --config`): meshgate:istio.version=1.24.3, meshgate:apis[0].rateLimitPerMinute=100"
)

CONTINUE_HELP = (
    "keep going after a resource fails (Pulumi's --continue-on-error): independent resources are still "
    "changed, dependents of the failed one are skipped; destroy still stops before phase 2 if the gateway "
    "layer is not gone"
)

DOCS_DIAGRAMS = ROOT / "docs" / "diagrams"

TRAFFIC_FROM_HELP = (
    "`gateway` (the scenario's gateway), `mesh:NAMESPACE/SERVICEACCOUNT` (a workload with a sidecar) or "
    "`outside-mesh` (a pod without a sidecar, plaintext); without --from/--to: the whole matrix"
)

Confirm_ = Callable[[str], bool]


class UsageError(Exception):
    """Bad command-line usage (exit 2)."""


class _Parser(argparse.ArgumentParser):
    commands: dict[str, argparse.ArgumentParser]  # the subcommands' parsers, by name (top-level parser only)

    def error(self, message: str) -> Any:  # argparse would print and exit; the caller reports instead
        raise UsageError(message)


def usage_for(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """The usage line of the subcommand named in `argv` (the top-level one without a known command)."""
    commands: dict[str, argparse.ArgumentParser] = getattr(parser, "commands", {})
    name = next((a for a in argv if a in commands), None)
    return (commands[name] if name else parser).format_usage().rstrip()


def _program_name() -> str:
    """`meshgate` when run as the installed command, else the module form that always works."""
    return "meshgate" if Path(sys.argv[0]).name == "meshgate" else "python -m stacks.pipeline"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_program_name(),
        description="Drive meshgate stacks through the Pulumi Automation API (preview, up, refresh, destroy, "
        "outputs), draw their traffic paths (diagram), ask who may call what (traffic) and run Istio's analyzers "
        "over what a stack plans (analyze).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    parser.commands = sub.choices  # pyright: ignore[reportAttributeAccessIssue]

    def command(name: str, help_text: str, *, stack_required: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("--stack", "-s", required=stack_required, help="stack name (Pulumi.<stack>.yaml)")
        p.add_argument("--config", "-c", action="append", default=[], metavar="KEY=VALUE", help=CONFIG_HELP)
        p.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else")
        return p

    def engine_options(p: argparse.ArgumentParser, *, yes: bool, expect: bool, policy: bool) -> None:
        if yes:  # the commands that change the state: up, refresh, destroy
            p.add_argument(
                "--checkpoints",
                choices=[c.value for c in Checkpoints],
                default=Checkpoints.AUTO.value,
                help="save the state after every step, or only at the end (faster for large changes; see "
                "docs/pipeline.md#checkpoints); auto: end for kubeconfig-only stacks of "
                f">= {engine.AUTO_END_AT_RESOURCES} resources",
            )
        if yes:
            p.add_argument(
                "--yes", "-y", action="store_true", help="do not ask for confirmation (required without a terminal)"
            )
        if expect:
            p.add_argument(
                "--expect-no-changes",
                action="store_true",
                help=(
                    "exit 3 if there are changes against the recorded state (a drift check only with preview --refresh)"
                ),
            )
        if policy:
            p.add_argument(
                "--policy-pack",
                action="append",
                default=[],
                metavar="DIR",
                help="run this CrossGuard policy pack (repeatable)",
            )
        p.add_argument(
            "--target", "-t", action="append", default=[], metavar="URN", help="only this resource (repeatable)"
        )

    preview = command("preview", "show what `up` would change")
    engine_options(preview, yes=False, expect=True, policy=True)
    preview.add_argument(
        "--refresh",
        action="store_true",
        help="read the real state of every resource first (not saved): with --expect-no-changes, a drift check",
    )
    up = command("up", "create or update the stack's resources")
    engine_options(up, yes=True, expect=True, policy=True)
    up.add_argument("--continue-on-error", action="store_true", help=CONTINUE_HELP)
    refresh = command("refresh", "read the real state of the stack's resources")
    engine_options(refresh, yes=True, expect=True, policy=False)
    refresh.add_argument(
        "--clear-pending-creates",
        action="store_true",
        help="drop the creates a killed run left pending from the state (check the cloud first: docs/pipeline.md)",
    )
    destroy = command("destroy", "delete the stack's resources: gateway layer first, then the rest")
    engine_options(destroy, yes=True, expect=False, policy=False)
    destroy.add_argument("--continue-on-error", action="store_true", help=CONTINUE_HELP)
    cancel = command("cancel", "remove the lock a killed run left on the stack (pulumi cancel)")
    cancel.add_argument(
        "--yes", "-y", action="store_true", help="do not ask for confirmation (required without a terminal)"
    )
    command("outputs", "print the stack outputs (secrets masked)")
    d = command("diagram", "draw the stack's traffic paths from its config (no engine)", stack_required=False)
    d.add_argument("--format", "-f", choices=["mermaid", "dot", "svg", "png"], default="mermaid")
    d.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout (with --all: a directory)")
    d.add_argument(
        "--all",
        action="store_true",
        help=(
            f"write {DOCS_DIAGRAMS.relative_to(ROOT)}/<scenario>.md for the four scenarios from the documented examples"
        ),
    )
    t = command("traffic", "allow or deny: who may call what, from the policies the stack registers (no engine)")
    t.add_argument("--from", dest="source", metavar="SOURCE", help=TRAFFIC_FROM_HELP)
    t.add_argument(
        "--to", dest="target", metavar="SERVICE.NAMESPACE:PORT", help="a Service port (Istio sees its targetPort)"
    )
    t.add_argument("--jwt", action="store_true", help="the request carries a valid token from the configured issuer")
    t.add_argument("--path", default="/", help="the request path (default /); path-scoped rules match against it")
    t.add_argument("--method", default="GET", help="the request method (default GET)")
    command(
        "analyze",
        "run Istio's analyzers (istioctl analyze --use-kube=false) over the objects the stack registers (no engine); "
        "exit 1 on any message not listed in stacks/analyze_suppressions.yaml",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    open_stack: OpenStack = engine.open_stack,
    environ: Mapping[str, str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    confirm: Confirm_ | None = None,
    supervisor: Supervisor = SUPERVISOR,
) -> int:
    """Run one command; return its exit code. Everything external is injectable for tests."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    console = Console(file=stderr or sys.stderr, highlight=False)
    json_mode = "--json" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        report = Report(command=_command_in(argv), stack=None).fail(ExitCode.USAGE, "usage", str(err))
        if not json_mode:
            console.print(usage_for(parser, argv), markup=False)
        return _finish(report, json_mode, out, console)
    if confirm is None and not json_mode and sys.stdin.isatty() and console.is_terminal:
        confirm = lambda question: Confirm.ask(question, console=console, default=False)  # noqa: E731
    runner = _Runner(args, open_stack, os.environ if environ is None else environ, out, console, confirm, supervisor)
    return _finish(runner.run(), json_mode, out, console)


def _command_in(argv: Sequence[str]) -> str:
    names = getattr(build_parser(), "commands", {})
    return next((a for a in argv if a in names), "")


def _finish(report: Report, json_mode: bool, out: IO[str], console: Console) -> int:
    if json_mode:
        out.write(report.to_json() + "\n")
        out.flush()
    else:
        render_human(report, console)
    return int(report.exit_code)


class _Runner:
    """One command's flow; every failure becomes the report's error and exit code."""

    def __init__(
        self,
        args: argparse.Namespace,
        open_stack: OpenStack,
        environ: Mapping[str, str],
        out: IO[str],
        console: Console,
        confirm: Confirm_ | None,
        supervisor: Supervisor = SUPERVISOR,
    ) -> None:
        self.supervisor = supervisor
        self.known: set[str] = set()  # resources the run could touch: the state before it, a preview's plan
        self.stack: engine.StackOps | None = None
        self.env: dict[str, str] = {}
        self.args = args
        self.open_stack = open_stack
        self.environ = environ
        self.out = out
        self.console = console
        self.confirm = confirm
        self.json = bool(args.json)
        self.report = Report(command=args.command, stack=args.stack)
        self.state = ProgressState()
        self._started: float | None = None  # when the engine operation itself started
        self.config: StackConfig | None = None

    def run(self) -> Report:
        try:
            overrides = [parse_override(a) for a in self.args.config]
            if self.args.command == "diagram":
                self._diagram(overrides)
            elif self.args.command == "traffic":
                self._traffic(overrides)
            elif self.args.command == "analyze":
                self._analyze(overrides)
            elif self.args.command == "cancel":
                self._cancel(overrides)
            else:
                assert self.args.stack is not None
                self.config = load_config(self.args.stack, overrides)
                self._engine(Op(self.args.command), overrides)
        except (OverrideError, StackFileError, ConfigError) as err:
            self.report.fail(ExitCode.USAGE, "config", str(err))
        except (UsageError, SetupError, QueryError) as err:
            self.report.fail(ExitCode.USAGE, "setup" if isinstance(err, SetupError) else "usage", str(err))
        except StackLocked as err:
            self._locked(err)
        except (Interrupted, KeyboardInterrupt):
            self._interrupted()
        except EngineError as err:
            if self.supervisor.interrupted:  # e.g. the signal stopped `pulumi stack select`
                self._interrupted()
            elif file_state.DAMAGED_MARKER in str(err) and self._live_holders():
                # fileblob rewrites the attributes file in place: a run that reads while another writes sees it
                # empty for a moment. Nothing is damaged; another run is changing the stack.
                self._locked(StackLocked(str(err), self._live_holders()))
            elif file_state.DAMAGED_MARKER in str(err) and self._damaged_state():
                steps = [self._command("cancel") + " --yes", self._command(str(self.args.command))]
                self.report.extra["recovery"] = steps
                self.report.fail(
                    ExitCode.USAGE,
                    "locked",
                    f"{err}: the stack file's attributes were truncated by an engine that was killed while "
                    "saving (the checkpoint itself is intact); nothing was run. Recover with: " + " && ".join(steps),
                )
            else:
                self.report.fail(ExitCode.FAILED, "engine", str(err))
                self._breakdown()
        except diagrams.GraphvizMissing as err:
            self.report.fail(ExitCode.USAGE, "setup", str(err))
        self.report.diagnostics = [d.as_dict() for d in self.state.diagnostics]
        return self.report

    # ------------------------------------------------------------------ faults

    def _command(self, *words: str) -> str:
        return " ".join(["python -m stacks.pipeline", *words, "--stack", str(self.args.stack)])

    def _breakdown(self) -> None:
        """Per-resource summary of a failed or interrupted engine run (nothing when the engine never ran)."""
        if self.state.seen or self.state.finished or self.state.failed:
            self.report.extra["resources"] = self.state.breakdown(self.known)

    def _pending(self) -> list[dict[str, str]] | None:
        if self.stack is None:
            return None
        try:
            return engine.pending_operations(self.stack)
        except EngineError:
            return None

    def _lock_holders(self) -> list[locks.LockHolder] | None:
        """The stack's locks on a file:// backend (None when the backend cannot be read from here)."""
        backend = self.env.get("PULUMI_BACKEND_URL", "")
        if not backend.startswith("file://"):
            return None
        return locks.file_backend_locks(backend, str(self.args.stack).rsplit("/", 1)[-1])

    def _recovery(self, lock_left: bool, pending: Sequence[Mapping[str, str]] | None) -> list[str]:
        steps: list[str] = []
        if lock_left:
            steps.append(self._command("cancel") + " --yes")
        if pending or pending is None:
            steps.append(self._command("refresh") + " --yes --clear-pending-creates")
        return steps

    def _locked(self, err: StackLocked) -> None:
        holders = err.holders
        self.report.extra["lock"] = [h.as_dict() for h in holders]
        who = "; ".join(h.describe() for h in holders) or "unknown holder"
        name = self.args.stack
        if err.busy:
            self.report.fail(
                ExitCode.BUSY,
                "busy",
                f"another run is changing stack {name} right now (pulumi {who}); nothing was run. "
                "Wait for it to end, then run this command again.",
            )
            return
        pending = self._pending()
        steps = self._recovery(True, pending) + [
            self._command(str(self.args.command))
            + (" --yes" if self.args.command in ("up", "destroy", "refresh") else "")
        ]
        self.report.extra["pendingOperations"] = pending
        self.report.extra["recovery"] = steps
        if all(h.alive is False for h in holders) and holders:
            why = f"by a run that is no longer running ({who}): it was killed before it could release the lock"
        else:
            why = (
                f"by {who}, which cannot be checked from this host: if that run is still going, wait for it; "
                "if it was killed"
            )
        self.report.fail(
            ExitCode.USAGE,
            "locked",
            f"stack {name} is locked {why}; nothing was run. Recover with: " + " && ".join(steps),
        )

    def _live_holders(self) -> list[locks.LockHolder]:
        return [h for h in self._lock_holders() or [] if h.alive]

    def _damaged_state(self) -> list[str]:
        backend = self.env.get("PULUMI_BACKEND_URL", "")
        return [str(p) for p in file_state.damaged_attributes(backend, str(self.args.stack).rsplit("/", 1)[-1])]

    def _repair_state(self) -> list[str]:
        """Remove what a killed engine left half-written in a file backend (see stacks/pipeline/file_state.py)."""
        backend = self.env.get("PULUMI_BACKEND_URL", "")
        repaired = file_state.repair(backend, str(self.args.stack).rsplit("/", 1)[-1])
        if repaired:
            self.report.extra["repairedFiles"] = repaired
        return repaired

    def _interrupted(self) -> None:
        sup = self.supervisor
        signals = sup.signals or ["SIGINT"]
        op = str(self.args.command)
        if sup.forced:  # the engine was killed here: it may have been writing the stack file
            self._repair_state()
        self._breakdown()
        holders = self._lock_holders()
        lock_left = sup.forced if holders is None else bool(holders)
        pending = self._pending()
        details: dict[str, Any] = {
            "signals": signals,
            "forced": sup.forced,
            "forceRefused": sup.force_refused,
            "lockLeft": lock_left if holders is not None or sup.forced else None,
            "pendingOperations": pending,
            "orphansStopped": sup.orphans_stopped,
        }
        self.report.extra["interrupted"] = details
        done = self.state.completed
        summary = ", ".join(f"{op_} {n}" for op_, n in sorted(done.items())) or "nothing"
        if sup.forced:
            what = (
                f"interrupted by {signals[0]}, then stopped at once by "
                f"{signals[1] if len(signals) > 1 else signals[0]}: the engine and its plugins were killed"
            )
        elif op == "preview":
            what = f"interrupted by {signals[0]}: the preview stopped (a preview changes nothing)"
        else:
            what = f"interrupted by {signals[0]}: the engine finished the operations in flight, saved the state" + (
                " and released the lock" if not lock_left else ""
            )
        text = f"{what}. Done: {summary}."
        if pending:
            text += f" {len(pending)} operation(s) were left pending in the state."
        if lock_left:
            text += " The stack's lock is left behind."
        steps = self._recovery(lock_left, pending) if (lock_left or pending) else []
        if op in ("up", "destroy", "refresh"):
            steps.append(self._command(op) + " --yes")
        self.report.extra["recovery"] = steps
        if steps:
            text += " Next: " + " && ".join(steps)
        self.report.fail(ExitCode.FAILED, "interrupted", text)

    def _on_signal(self, name: str, action: str) -> None:
        if self.json:
            return
        messages = {
            "cancel": f"{name} received: the engine finishes the operations in flight, saves the state and releases "
            "the lock (as long as the slowest operation takes). Signal again to stop at once: that leaves the stack "
            "locked, with the operations in flight pending (recovery: docs/pipeline.md).",
            "force": f"{name} received again: killing the engine and its plugins now.",
            "force-refused": f"{name} received again, but checkpoints are skipped (PULUMI_SKIP_CHECKPOINTS): the state "
            "is only written when the engine stops, so stopping it now would lose the record of everything this run "
            "created. Still waiting for the engine; SIGKILL stops it anyway, at that cost.",
        }
        if action in messages:
            self.console.print(messages[action], style="yellow", highlight=False, markup=False, soft_wrap=True)

    def _cancel(self, overrides: list[Override]) -> None:
        if overrides:
            raise UsageError("cancel takes no --config")
        name = self.args.stack
        if not stack_file(name).is_file():
            raise StackFileError(f"Pulumi.{name.rsplit('/', 1)[-1]}.yaml not found")
        if not self.args.yes and (self.json or self.confirm is None):
            raise UsageError(
                "cancel removes the stack's lock: pass --yes (there is no prompt in --json mode or without a terminal)"
            )
        self.env = engine.engine_environment(self.environ)
        holders = self._lock_holders()
        if not [h for h in holders or [] if h.alive]:
            self._repair_state()  # before the engine reads the stack file (a truncated one fails every command)
        if holders is not None:
            self.report.extra["lock"] = [h.as_dict() for h in holders]
            live = [h for h in holders if h.alive]
            if live:
                raise StackLocked(
                    "; ".join(h.describe() for h in live), live
                )  # reported as busy: never unlock a run that is still going
            if not holders:
                self.report.extra["removed"] = False
                self._after_unlock(f"stack {name} is not locked; nothing to do")
                return
        stack = self.open_stack(name, self.env, False)
        self.stack = stack
        if not self.args.yes:
            assert self.confirm is not None
            who = "; ".join(h.describe() for h in holders or []) or "whatever run holds it"
            if not self.confirm(
                f"Remove the lock of stack {name} held by {who}? Only if that run is no longer running."
            ):
                raise EngineError("cancel declined: the lock is kept")
        engine.cancel(stack)
        self.report.extra["removed"] = True
        self._after_unlock(f"removed the lock of stack {name}")

    def _after_unlock(self, what: str) -> None:
        repaired = self.report.extra.get("repairedFiles") or []
        if repaired:
            what += f"; removed {len(repaired)} truncated file(s) a killed engine left: {', '.join(repaired)}"
        if self.stack is None:
            self.stack = self.open_stack(str(self.args.stack), self.env, False)
        pending = self._pending()
        self.report.extra["pendingOperations"] = pending
        steps = self._recovery(False, pending) if pending else []
        self.report.extra["recovery"] = steps
        if not self.json:
            self.console.print(what, highlight=False, markup=False)
            for op in pending or []:
                self.console.print(
                    f"  pending: {op['type']} {op['urn']}", highlight=False, markup=False, soft_wrap=True
                )
            if steps:
                self.console.print(
                    "next (check the cloud for these resources first: docs/pipeline.md):", highlight=False
                )

    # ------------------------------------------------------------------ engine commands

    def _engine(self, op: Op, overrides: list[Override]) -> None:
        args = self.args
        options = RunOptions(
            targets=tuple(args.target) if op is not Op.OUTPUTS else (),
            policy_packs=tuple(self._policy_packs()),
            expect_no_changes=bool(getattr(args, "expect_no_changes", False)),
            refresh=bool(getattr(args, "refresh", False)),
            continue_on_error=bool(getattr(args, "continue_on_error", False)),
            clear_pending_creates=bool(getattr(args, "clear_pending_creates", False)),
        )
        needs_yes = op in (Op.UP, Op.REFRESH, Op.DESTROY) and not args.yes
        if needs_yes and (self.json or self.confirm is None):
            raise UsageError(
                f"{op.value} changes the stack: pass --yes (there is no prompt in --json mode or without a terminal)"
            )
        env = engine.engine_environment(self.environ, op)
        self._require_encryption(op)
        self.env = env
        self.supervisor.reset()
        self.supervisor.skip_checkpoints = False  # a preview saves nothing; set for up/refresh/destroy below
        try:
            with handling_signals(self.supervisor, self._on_signal):
                self._engine_steps(op, overrides, options, env, needs_yes)
        finally:  # only an operation that started has a duration (no "Duration: 0.0s" before a setup error)
            if self._started is not None:
                self.report.duration_seconds = time.monotonic() - self._started

    def _require_encryption(self, op: Op) -> None:
        """Refuse preview/up/refresh of a cloud stack with an empty passphrase (they write its secrets);
        destroy and outputs of an existing one still run. Other stacks: one warning line."""
        assert self.config is not None
        state = state_encryption.encryption(str(self.args.stack), self.environ)
        if op in (Op.DESTROY, Op.OUTPUTS) and state_encryption.cloud_clusters(self.config):
            return
        warning = state_encryption.require(str(self.args.stack), self.config, state)
        if warning:  # shown once the stack is open (a setup error stays the first thing printed)
            self.report.extra["stateEncryption"] = warning

    def _engine_steps(
        self, op: Op, overrides: list[Override], options: RunOptions, env: dict[str, str], needs_yes: bool
    ) -> None:
        args = self.args
        stack = self.open_stack(args.stack, env, op in (Op.PREVIEW, Op.UP, Op.REFRESH))
        self.stack = stack
        warning = self.report.extra.get("stateEncryption")
        if warning and not self.json:
            self.console.print(warning, style="yellow", highlight=False, markup=False, soft_wrap=True)
        if op is not Op.OUTPUTS:
            engine.apply_overrides(stack, overrides)
        if op is Op.OUTPUTS:
            outputs = mask(engine.state_outputs(engine.state_resources(stack)))
            self.report.outputs = outputs
            if not self.json:
                Console(file=self.out, highlight=False).print(outputs_table(outputs))
            return
        if op is Op.REFRESH and self._renders_only():
            self._refresh_rendered(stack, options)
            return
        resources = engine.state_resources(stack)
        hint = sum(1 for r in resources if r.get("type") != "pulumi:pulumi:Stack")
        self.known = {str(r.get("urn")) for r in resources if r.get("urn")}
        if op in (Op.UP, Op.DESTROY, Op.REFRESH):
            options = replace(options, checkpoints=self._checkpoints(hint))
            self.supervisor.skip_checkpoints = options.checkpoints is Checkpoints.END
        plan: DestroyPlan | None = None
        if op is Op.DESTROY and not options.targets:
            plan = engine.plan_for(stack)
            self.report.extra["destroyPlan"] = {
                "firstPhase": [{"urn": u, "reason": plan.reasons[u]} for u in plan.first],
                "remaining": len(plan.remaining),
                "protected": list(plan.protected_first),
                "blockers": list(plan.blockers),
            }
            if plan.blockers:  # refuse before phase 1 deletes the gateway layer of a stack that will not go
                names = ", ".join(u.rsplit("::", 1)[-1] for u in plan.blockers[:5])
                raise UsageError(
                    f"destroy refused, nothing was deleted: {len(plan.blockers)} resource(s) are protected ({names}"
                    f"{', ...' if len(plan.blockers) > 5 else ''}). First run "
                    f"`python -m stacks.pipeline up --stack {args.stack} -c meshgate:protect=false --yes` (clears "
                    "Pulumi's protect and GKE's deletion_protection), then destroy"
                )
        if needs_yes and not self._confirmed(op, stack, options, plan):
            raise EngineError(f"{op.value} cancelled: confirmation declined, nothing was changed")
        self._started = time.monotonic()
        outcome = self._with_progress(
            f"{op.value} {args.stack}",
            hint,
            lambda on_event: engine.run(stack, op, options, on_event, plan),
            dry_run=op is Op.PREVIEW,
        )
        self._record(outcome, options)

    def _renders_only(self) -> bool:
        """Every cluster of the stack renders its objects to files (`renderDirectory`): no cluster to read."""
        config = self.config
        assert config is not None
        return all(isinstance(c, KubeconfigClusterSpec) and c.render_directory for c in config.clusters)

    def _refresh_rendered(self, stack: engine.StackOps, options: RunOptions) -> None:
        """`refresh` of a render stack: its objects are files, so the engine has nothing to read back (the Kubernetes
        provider fails with "unreachable cluster"); only `--clear-pending-creates` has something to do."""
        cleared = engine.clear_pending_creates(stack) if options.clear_pending_creates else []
        self.report.extra["pendingCreatesCleared"] = cleared
        text = (
            f"stack {self.args.stack} renders to files: there is no cluster to read back, so refresh reads nothing"
            + (f"; cleared {len(cleared)} pending create(s) from the state" if options.clear_pending_creates else "")
            + " (the next up writes every file again)"
        )
        if not self.json:
            self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    def _checkpoints(self, state_resources: int) -> Checkpoints:
        """The resolved `--checkpoints` mode; `auto` sizes the stack by its state or its catalogue."""
        config = self.config
        assert config is not None
        kubernetes_only = all(c.kind == "kubeconfig" for c in config.clusters)
        size = max(state_resources, len(config.apis))
        requested = Checkpoints(self.args.checkpoints)
        if requested is Checkpoints.AUTO and checkpoints_skipped({**os.environ, **self.environ}):
            requested = Checkpoints.END  # Pulumi's own PULUMI_SKIP_CHECKPOINTS=true, honoured under auto
        mode = engine.resolve_checkpoints(requested, kubernetes_only, size)
        self.report.extra["checkpoints"] = mode.value
        return mode

    def _policy_packs(self) -> list[str]:
        packs: list[str] = []
        for pack in getattr(self.args, "policy_pack", []) or []:
            path = Path(pack).expanduser().resolve()
            if not (path / "PulumiPolicy.yaml").is_file():
                raise UsageError(f"--policy-pack {pack}: no PulumiPolicy.yaml in {path}")
            packs.append(str(path))
        return packs

    def _with_progress(
        self, title: str, hint: int, call: Callable[[engine.OnEvent], Outcome], dry_run: bool = False
    ) -> Outcome:
        """Run `call` with an event handler: counters only in JSON mode, the live display otherwise."""
        if self.json:
            self.state = ProgressState(total_hint=hint, dry_run=dry_run)
            return call(self.state.handle)
        display = ProgressDisplay(self.console, title, total_hint=hint, dry_run=dry_run)
        self.state = display.state
        with display:
            return call(display.on_event)

    def _confirmed(self, op: Op, stack: engine.StackOps, options: RunOptions, plan: DestroyPlan | None) -> bool:
        assert self.confirm is not None
        if op is Op.UP:
            preview = self._with_progress(
                f"preview {self.args.stack}",
                0,
                lambda on_event: engine.run(stack, Op.PREVIEW, options, on_event),
                dry_run=True,
            )
            self.known |= self.state.seen
            render_human(Report(command="preview", stack=self.args.stack, changes=preview.changes), self.console)
            return self.confirm("Do you want to perform this update?")
        if op is Op.DESTROY and plan is not None:
            self.console.print(
                f"destroy {self.args.stack}: phase 1 deletes {len(plan.first)} gateway-layer resource(s) "
                f"(load balancers), phase 2 the remaining {len(plan.remaining)}.",
                highlight=False,
            )
        return self.confirm(f"Do you want to {op.value} stack {self.args.stack}?")

    def _record(self, outcome: Outcome, options: RunOptions) -> None:
        report = self.report
        report.changes = outcome.changes
        report.phases = [
            {"name": p.name, "changes": p.changes, "targets": p.targets, "engineSeconds": p.duration_seconds}
            for p in outcome.phases
        ]
        report.outputs = None if outcome.outputs is None else mask(outcome.outputs)
        if self.state.failed:
            report.fail(ExitCode.FAILED, "engine", f"{len(self.state.failed)} resource operation(s) failed")
            self._breakdown()
        elif options.expect_no_changes and (outcome.changes_refused or has_changes(outcome.changes)):
            found = ", ".join(f"{op} {n}" for op, n in sorted(outcome.changes.items()) if op != "same") or "changes"
            report.fail(ExitCode.CHANGES, "changes", f"changes found ({found}) but --expect-no-changes was given")

    # ------------------------------------------------------------------ diagram

    def _diagram(self, overrides: list[Override]) -> None:
        args = self.args
        if args.all:
            if args.stack or overrides or args.format != "mermaid":
                raise UsageError(
                    "diagram --all draws the documented examples as Mermaid; drop --stack/--config/--format"
                )
            self._diagram_all(Path(args.output) if args.output else DOCS_DIAGRAMS)
            return
        if not args.stack:
            raise UsageError("diagram needs --stack (or --all)")
        model = diagrams.traffic_model(load_config(args.stack, overrides))
        self.report.extra["diagram"] = model.as_dict()
        if args.format in ("mermaid", "dot"):
            text = diagrams.mermaid(model) if args.format == "mermaid" else diagrams.dot(model)
            self.report.extra[args.format] = text
            self._emit(text.encode(), args.output)
            return
        if args.output is None and (self.json or args.format == "png"):
            raise UsageError(f"--format {args.format} needs --output FILE" + (" in --json mode" if self.json else ""))
        try:
            data = diagrams.render_graphviz(model, args.format)
        except RuntimeError as err:
            raise EngineError(str(err)) from None
        self._emit(data, args.output)

    # ------------------------------------------------------------------ traffic

    def _traffic(self, overrides: list[Override]) -> None:
        args = self.args
        if (args.source is None) != (args.target is None):
            raise UsageError("traffic needs both --from and --to (or neither, for the whole matrix)")
        if args.source is None and (args.jwt or args.path != "/" or args.method != "GET"):
            raise UsageError("--jwt, --path and --method describe one request: give --from and --to too")
        source = check_source(args.source) if args.source is not None else None
        target = parse_target(args.target) if args.target is not None else None
        config = load_config(args.stack, overrides)
        traffic = StackTraffic.of(config, raw_config(args.stack, overrides), args.stack)
        if source is not None and target is not None:
            verdicts = traffic.ask(source, target, jwt=args.jwt, path=args.path, method=args.method)
        else:
            verdicts = traffic.matrix()
        rows = [v.as_dict() for v in verdicts]
        self.report.extra["scenario"] = config.scenario.value
        self.report.extra["traffic"] = rows
        if source is not None:
            self.report.extra["verdict"] = "allow" if all(r["verdict"] == "allow" for r in rows) else "deny"
        if self.json:
            return
        console = Console(file=self.out, highlight=False, width=200)
        console.print(traffic_table(rows, config.scenario.value))
        for row in rows if source is not None else []:
            console.print(f"{row['verdict']}: {row['decidedBy']} ({row['reason']})", markup=False)
            for note in row["notes"]:
                console.print(f"  note: {note}", markup=False)

    # ------------------------------------------------------------------ analyze

    def _analyze(self, overrides: list[Override]) -> None:
        stack = self.args.stack
        load_config(stack, overrides)  # exit 2 on bad config, before anything runs
        try:
            istioctl = analysis.find_istioctl(self.environ)
        except analysis.IstioctlMissing as err:
            raise SetupError(str(err)) from None
        result = analysis.analyze(record(raw_config(stack, overrides), stack), istioctl)
        self.report.extra["analyze"] = result.as_dict()
        if not self.json:
            for message in result.findings:
                self.out.write(message.describe() + "\n")
            objects = ", ".join(f"{c}: {n} objects" for c, n in result.clusters.items())
            self.console.print(
                f"analyzed {objects}; {len(result.findings)} finding(s), {len(result.suppressed)} expected "
                "message(s) suppressed (stacks/analyze_suppressions.yaml)",
                highlight=False,
            )
        if result.findings:
            self.report.fail(ExitCode.FAILED, "findings", f"istioctl analyze: {len(result.findings)} finding(s)")

    def _emit(self, data: bytes, output: str | None) -> None:
        if output:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_bytes(data)
            self.report.extra["output"] = output
        elif not self.json:  # mermaid, dot or svg: text
            self.out.write(data.decode())

    def _diagram_all(self, directory: Path) -> None:
        written: list[str] = []
        for scenario, (stack, settings) in diagrams.DOC_EXAMPLES.items():
            overrides = [parse_override(s) for s in settings]
            model = diagrams.traffic_model(load_config(stack, overrides))
            source = f"`Pulumi.{stack}.yaml`" + (f" with `--config {' '.join(settings)}`" if settings else "")
            path = directory / f"{scenario.value}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(diagrams.markdown(model, source))
            written.append(str(path))
        self.report.extra["written"] = written
        if not self.json:
            for path in written:
                self.console.print(f"wrote {path}", highlight=False)
