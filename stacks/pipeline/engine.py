"""The Automation API calls, behind the small `StackOps` interface (tests replace it with a fake).

The real implementation is `pulumi.automation.Stack` of a `LocalWorkspace` on the project
directory (where Pulumi.yaml is). State goes to a local file backend
(`file://<repo>/.pulumi-state`) unless `PULUMI_BACKEND_URL` is set; self-managed backends
need the passphrase from `PULUMI_CONFIG_PASSPHRASE` or `PULUMI_CONFIG_PASSPHRASE_FILE`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Protocol

from pulumi import automation as auto
from pulumi.automation import ConfigValue, Deployment, EngineEvent

from stacks.pipeline import locks
from stacks.pipeline.destroy_plan import DestroyPlan, leftovers, plan_destroy
from stacks.pipeline.overrides import Override
from stacks.pipeline.processes import SUPERVISOR, SupervisedPulumiCommand
from stacks.pipeline.stackfile import ROOT

DEFAULT_STATE_DIR = ROOT / ".pulumi-state"
SELF_MANAGED_SCHEMES = ("file://", "s3://", "gs://", "azblob://", "postgres://")
SKIP_CHECKPOINTS = "PULUMI_SKIP_CHECKPOINTS"
AUTO_END_AT_RESOURCES = 300
"""`--checkpoints auto` saves the state only at the end from this many resources on, in stacks of Kubernetes
objects only (threshold from the real-engine bench: docs/performance.md)."""

OnEvent = Callable[[EngineEvent], Any]


class SetupError(Exception):
    """The environment cannot run the engine (exit 2: fix the invocation, not the stack)."""


class EngineError(Exception):
    """The engine or a deployment failed (exit 1); `str()` is the meaningful part of its output."""


class StackLocked(EngineError):
    """The engine refused to start: the stack's lock is held (a concurrent run, or a killed one)."""

    def __init__(self, message: str, holders: Sequence[locks.LockHolder]) -> None:
        super().__init__(message)
        self.holders = list(holders)

    @property
    def busy(self) -> bool:
        """A live `pulumi` on this host holds the lock: another run is changing the stack right now."""
        return any(h.alive for h in self.holders)


class Interrupted(EngineError):
    """A signal stopped the engine command (the supervisor says how: graceful cancel or forced)."""


class StackOps(Protocol):
    """The part of `pulumi.automation.Stack` the pipeline uses."""

    @property
    def name(self) -> str: ...

    def set_config(self, key: str, value: ConfigValue, *, path: bool = False) -> None: ...

    def preview(
        self,
        *,
        target: list[str] | None = None,
        policy_packs: list[str] | None = None,
        refresh: bool | None = None,
        color: str | None = None,
        on_event: OnEvent | None = None,
    ) -> auto.PreviewResult: ...

    def up(
        self,
        *,
        target: list[str] | None = None,
        policy_packs: list[str] | None = None,
        expect_no_changes: bool | None = None,
        continue_on_error: bool | None = None,
        color: str | None = None,
        on_event: OnEvent | None = None,
    ) -> auto.UpResult: ...

    def refresh(
        self,
        *,
        target: list[str] | None = None,
        expect_no_changes: bool | None = None,
        clear_pending_creates: bool | None = None,
        color: str | None = None,
        on_event: OnEvent | None = None,
    ) -> auto.RefreshResult: ...

    def destroy(
        self,
        *,
        target: list[str] | None = None,
        target_dependents: bool | None = None,
        continue_on_error: bool | None = None,
        color: str | None = None,
        on_event: OnEvent | None = None,
    ) -> auto.DestroyResult: ...

    def export_stack(self) -> Deployment: ...

    def import_stack(self, state: Deployment) -> None: ...

    def cancel(self) -> None: ...


OpenStack = Callable[[str, Mapping[str, str], bool], StackOps]
"""`open(stack_name, env_vars, create)`: the factory `cli.main` calls; tests inject a fake."""


# --------------------------------------------------------------------------- environment


class Checkpoints(StrEnum):
    """When `up`/`destroy`/`refresh` save the state: after every step (Pulumi's default) or only at the end.

    Each checkpoint re-serialises the whole deployment, so a run changing N resources of an
    N-resource stack costs O(N²) (`PULUMI_SKIP_CHECKPOINTS=true` turns it off). `auto` picks
    `end` for large stacks of Kubernetes objects only, `every-step` otherwise.
    """

    AUTO = "auto"
    EVERY_STEP = "every-step"
    END = "end"


def resolve_checkpoints(mode: Checkpoints, kubernetes_only: bool, resources: int) -> Checkpoints:
    """`auto` -> `end` when every cluster is an existing one (kubeconfig: only Kubernetes objects, which a
    later `refresh`/`up` can reconcile) and the stack holds or will hold >= AUTO_END_AT_RESOURCES resources."""
    if mode is not Checkpoints.AUTO:
        return mode
    return Checkpoints.END if kubernetes_only and resources >= AUTO_END_AT_RESOURCES else Checkpoints.EVERY_STEP


def checkpoint_environment(op: Op | None, checkpoints: Checkpoints) -> dict[str, str]:
    """`PULUMI_SKIP_CHECKPOINTS` for one command: always for `preview` (the engine discards its snapshot
    anyway), for `up`/`destroy`/`refresh` when `checkpoints` is `end`."""
    skip = op is Op.PREVIEW or (op in (Op.UP, Op.DESTROY, Op.REFRESH) and checkpoints is Checkpoints.END)
    return {SKIP_CHECKPOINTS: "true"} if skip else {}


def engine_environment(
    environ: Mapping[str, str], op: Op | None = None, checkpoints: Checkpoints = Checkpoints.EVERY_STEP
) -> dict[str, str]:
    """Environment for the workspace: backend, passphrase, no update check, checkpoint mode of `op`.

    Raises SetupError when a self-managed backend has no passphrase configured. An empty
    `PULUMI_CONFIG_PASSPHRASE=` is accepted on purpose (local development; scripts/deploy.sh).
    A `PULUMI_SKIP_CHECKPOINTS` in `environ` is ignored: `checkpoints` decides.
    """
    backend = environ.get("PULUMI_BACKEND_URL") or f"file://{DEFAULT_STATE_DIR}"
    env = {"PULUMI_BACKEND_URL": backend, "PULUMI_SKIP_UPDATE_CHECK": "true", **checkpoint_environment(op, checkpoints)}
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        if name in environ:
            env[name] = environ[name]
    if backend.startswith(SELF_MANAGED_SCHEMES) and not (
        "PULUMI_CONFIG_PASSPHRASE" in env or env.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        raise SetupError(
            f"the {backend.split('://', 1)[0]} backend encrypts "
            "secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE "
            "or PULUMI_CONFIG_PASSPHRASE_FILE (for local development PULUMI_CONFIG_PASSPHRASE= sets an empty one)"
        )
    return env


def use_checkpoints(stack: StackOps, op: Op, checkpoints: Checkpoints) -> None:
    """Set `op`'s checkpoint mode on a real stack's workspace (the Automation API reads `env_vars` at each
    command), so a preview run on a stack opened for `up` still skips checkpoints. Fakes have no workspace."""
    env_vars = getattr(getattr(stack, "workspace", None), "env_vars", None)
    if isinstance(env_vars, dict):
        env_vars.pop(SKIP_CHECKPOINTS, None)
        env_vars.update(checkpoint_environment(op, checkpoints))


def ensure_state_dir(env: Mapping[str, str]) -> None:
    """Create the directory of a `file://` backend (the engine does not)."""
    backend = env.get("PULUMI_BACKEND_URL", "")
    if backend.startswith("file://"):
        path = Path(backend[len("file://") :].split("?", 1)[0]).expanduser()
        path.mkdir(parents=True, exist_ok=True)


def open_stack(stack_name: str, env: Mapping[str, str], create: bool) -> StackOps:
    """The real stack: a LocalWorkspace on the project directory; created if `create`."""
    ensure_state_dir(env)
    try:
        command = SupervisedPulumiCommand(SUPERVISOR)
        opts = auto.LocalWorkspaceOptions(work_dir=str(ROOT), env_vars=dict(env), pulumi_command=command)
        if create:
            return auto.create_or_select_stack(stack_name, work_dir=str(ROOT), opts=opts)
        return auto.select_stack(stack_name, work_dir=str(ROOT), opts=opts)
    except FileNotFoundError as err:
        raise SetupError(
            f'the Pulumi CLI was not found ({err.filename or "pulumi"}); run `eval "$(bash scripts/env.sh)"` '
            "(puts the engine on PATH, building it once if needed) or install the Pulumi CLI"
        ) from None
    except auto.StackNotFoundError:
        raise EngineError(f"stack {stack_name!r} does not exist in {env.get('PULUMI_BACKEND_URL')}") from None
    except auto.CommandError as err:
        raise EngineError(command_error_message(err)) from None


# --------------------------------------------------------------------------- errors

_NO_CHANGES_EXPECTED = re.compile(r"no changes were expected (for \S+ )?but changes (occurred|were proposed)")


def expected_no_changes(err: Exception) -> bool:
    """Whether a CommandError is the engine's `--expect-no-changes` refusal."""
    return bool(_NO_CHANGES_EXPECTED.search(str(err)))


def command_error_message(err: Exception) -> str:
    """The distinct `error:` messages of a CommandError's output, else its last lines."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    messages: list[str] = []
    for line in lines:
        marker = line.lower().rfind("error: ")
        if marker < 0:
            continue
        text = line[marker + len("error: ") :].strip()
        if text and text not in messages:
            messages.append(text)
    if messages:
        return "\n".join(messages)
    return "\n".join(lines[-5:]) or type(err).__name__


# --------------------------------------------------------------------------- operations


class Op(StrEnum):
    """The engine commands of the pipeline."""

    PREVIEW = "preview"
    UP = "up"
    REFRESH = "refresh"
    DESTROY = "destroy"
    OUTPUTS = "outputs"


@dataclass
class Phase:
    """One engine run: what it changed and how long it took (engine's own duration)."""

    name: str
    changes: dict[str, int] = field(default_factory=dict)
    targets: int | None = None  # destroy phases: how many resources the phase was planned for
    duration_seconds: float | None = None


@dataclass
class Outcome:
    """What an engine command did: its phases, stack outputs (raw state values) and changes."""

    phases: list[Phase] = field(default_factory=list)
    outputs: dict[str, Any] | None = None
    changes_refused: bool = False  # the engine stopped on --expect-no-changes
    plan: DestroyPlan | None = None

    @property
    def changes(self) -> dict[str, int]:
        """Changes summed over the phases; `same` from the last phase only (earlier phases see the rest as same)."""
        total: dict[str, int] = {}
        for index, phase in enumerate(self.phases):
            for op, n in phase.changes.items():
                if op != "same" or index == len(self.phases) - 1:
                    total[op] = total.get(op, 0) + n
        return total


def op_counts(op_map: Mapping[Any, int] | None) -> dict[str, int]:
    """An engine OpMap (OpType or str keys) as {"create": 3, ...} without zero entries."""
    out: dict[str, int] = {}
    for op, n in (op_map or {}).items():
        key = op.value if isinstance(op, Enum) else str(op)
        if n:
            out[key] = out.get(key, 0) + int(n)
    return out


def apply_overrides(stack: StackOps, overrides: Sequence[Override]) -> None:
    """`pulumi config set --path` for every `--config` override, in order."""
    for override in overrides:
        _engine_call(lambda o=override: stack.set_config(o.key, ConfigValue(value=o.raw), path=True))


def deployment_resources(stack: StackOps) -> list[dict[str, Any]]:
    """The resources of the stack's state (secrets stay encrypted)."""
    deployment = stack.export_stack().deployment or {}
    return [dict(r) for r in deployment.get("resources") or []]


def state_resources(stack: StackOps) -> list[dict[str, Any]]:
    """`deployment_resources`, with engine failures as EngineError."""
    return _engine_call(lambda: deployment_resources(stack))


def state_outputs(resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The stack outputs as recorded in state: secrets keep their encrypted envelope at any depth.

    (`Stack.outputs()` only flags top-level secrets and decrypts nested ones; masking the
    state's envelopes instead never exposes a nested secret such as a kubeconfig map.)
    """
    for r in resources:
        if r.get("type") == "pulumi:pulumi:Stack":
            return dict(r.get("outputs") or {})
    return {}


@dataclass(frozen=True)
class RunOptions:
    """The engine-facing options of one command."""

    targets: tuple[str, ...] = ()
    policy_packs: tuple[str, ...] = ()
    expect_no_changes: bool = False
    refresh: bool = False  # preview: read the cloud's real state first (in memory), so drift shows as changes
    continue_on_error: bool = False  # up/destroy: Pulumi's --continue-on-error
    clear_pending_creates: bool = False  # refresh: drop pending creates from the state
    checkpoints: Checkpoints = Checkpoints.EVERY_STEP  # up/destroy/refresh: resolved (never AUTO here)


def _duration(summary: Any) -> float | None:
    start, end = getattr(summary, "start_time", None), getattr(summary, "end_time", None)
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _engine_call(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except auto.CommandError as err:
        if SUPERVISOR.interrupted:
            raise Interrupted(command_error_message(err)) from None
        if expected_no_changes(err):
            raise ChangesRefused(command_error_message(err)) from None
        if locks.is_locked_error(str(err)):
            raise StackLocked(command_error_message(err), locks.holders_in_error(str(err))) from None
        raise EngineError(command_error_message(err)) from None


def pending_operations(stack: StackOps) -> list[dict[str, str]]:
    """Operations the state records as started but not finished (`{"urn", "type"}`; type: creating, updating...).

    A run stopped at once (SIGKILL) leaves one per resource operation that was in flight.
    """
    deployment = _engine_call(lambda: stack.export_stack().deployment) or {}
    return [
        {"urn": str((op.get("resource") or {}).get("urn", "")), "type": str(op.get("type", ""))}
        for op in deployment.get("pending_operations") or []
    ]


def clear_pending_creates(stack: StackOps) -> list[str]:
    """Drop the pending *creates* from the state without a refresh (what `refresh --clear-pending-creates` does
    before it reads the resources back); returns their URNs. For stacks whose objects are only rendered to files:
    there is no cluster to read, and the next `up` writes the same files again."""
    exported = _engine_call(stack.export_stack)
    deployment = dict(exported.deployment or {})
    pending = list(deployment.get("pending_operations") or [])
    creates = [op for op in pending if op.get("type") == "creating"]
    if creates:
        deployment["pending_operations"] = [op for op in pending if op.get("type") != "creating"]
        _engine_call(lambda: stack.import_stack(Deployment(version=exported.version, deployment=deployment)))
    return [str((op.get("resource") or {}).get("urn", "")) for op in creates]


def cancel(stack: StackOps) -> None:
    """`pulumi cancel`: delete the stack's lock(s) (self-managed backends) or cancel its update (Pulumi Cloud)."""
    _engine_call(stack.cancel)


class ChangesRefused(Exception):
    """The engine refused an update/refresh under `--expect-no-changes` (exit 3)."""


def run(
    stack: StackOps, op: Op, options: RunOptions, on_event: OnEvent | None, plan: DestroyPlan | None = None
) -> Outcome:
    """Run one engine command (destroy: both phases, after `plan` or one computed now) and collect what it did.

    Raises EngineError (exit 1) on any engine failure.
    """
    targets = list(options.targets) or None
    outcome = Outcome(plan=plan)
    seen: list[Any] = []

    def collect(event: EngineEvent) -> None:
        if event.summary_event is not None:
            seen.append(event.summary_event)
        if on_event is not None:
            on_event(event)

    def refused(name: str) -> None:
        outcome.changes_refused = True
        last = seen[-1] if seen else None
        changes = op_counts(last.resource_changes) if last is not None else {}
        outcome.phases.append(Phase(name, changes, None, float(last.duration_seconds) if last is not None else None))

    use_checkpoints(stack, op, options.checkpoints)
    if op is Op.PREVIEW:
        preview = _engine_call(
            lambda: stack.preview(
                target=targets,
                policy_packs=list(options.policy_packs) or None,
                refresh=options.refresh or None,
                color="never",
                on_event=collect,
            )
        )
        outcome.phases.append(Phase("preview", op_counts(preview.change_summary)))
        return outcome
    if op is Op.UP:
        try:
            result = _engine_call(
                lambda: stack.up(
                    target=targets,
                    policy_packs=list(options.policy_packs) or None,
                    expect_no_changes=options.expect_no_changes or None,
                    continue_on_error=options.continue_on_error or None,
                    color="never",
                    on_event=collect,
                )
            )
            outcome.phases.append(
                Phase("up", op_counts(result.summary.resource_changes), None, _duration(result.summary))
            )
        except ChangesRefused:
            refused("up")
    elif op is Op.REFRESH:
        try:
            result = _engine_call(
                lambda: stack.refresh(
                    target=targets,
                    expect_no_changes=options.expect_no_changes or None,
                    clear_pending_creates=options.clear_pending_creates or None,
                    color="never",
                    on_event=collect,
                )
            )
            outcome.phases.append(
                Phase("refresh", op_counts(result.summary.resource_changes), None, _duration(result.summary))
            )
        except ChangesRefused:
            refused("refresh")
    elif op is Op.DESTROY:
        _destroy(stack, targets, outcome, collect, options.continue_on_error or None)
    outcome.outputs = state_outputs(state_resources(stack))
    return outcome


def plan_for(stack: StackOps) -> DestroyPlan:
    """The two-phase plan of the stack's current state."""
    return plan_destroy(state_resources(stack))


def _destroy(
    stack: StackOps, targets: list[str] | None, outcome: Outcome, on_event: OnEvent | None, keep_going: bool | None
) -> None:
    if targets:  # an explicit --target: exactly what was asked (and its dependents), one phase
        result = _engine_call(
            lambda: stack.destroy(
                target=targets, target_dependents=True, continue_on_error=keep_going, color="never", on_event=on_event
            )
        )
        outcome.phases.append(
            Phase(
                "destroy --target", op_counts(result.summary.resource_changes), len(targets), _duration(result.summary)
            )
        )
        return
    plan = outcome.plan or plan_for(stack)
    outcome.plan = plan
    if plan.first:
        first = list(plan.first)
        result = _engine_call(
            lambda: stack.destroy(
                target=first, target_dependents=True, continue_on_error=keep_going, color="never", on_event=on_event
            )
        )
        outcome.phases.append(
            Phase("gateway layer", op_counts(result.summary.resource_changes), len(first), _duration(result.summary))
        )
        left = leftovers(plan, state_resources(stack))
        if left:
            raise EngineError(
                f"phase 1 left {len(left)} gateway-layer resource(s) in the state "
                f"({', '.join(u.rsplit('::', 1)[-1] for u in left[:5])}); not destroying the network under them"
            )
    result = _engine_call(lambda: stack.destroy(continue_on_error=keep_going, color="never", on_event=on_event))
    outcome.phases.append(
        Phase("rest", op_counts(result.summary.resource_changes), len(plan.remaining), _duration(result.summary))
    )
