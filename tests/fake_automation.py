"""A fake Automation API stack and a captured `main` run for the pipeline command tests."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

from deployment_fixtures import DEPLOYMENT as PROTECTED_DEPLOYMENT
from pulumi.automation import (
    CommandError,
    ConfigValue,
    Deployment,
    DestroyResult,
    EngineEvent,
    OutputValue,
    PreviewResult,
    RefreshResult,
    UpdateSummary,
    UpResult,
)
from pulumi.automation._cmd import CommandResult

from stacks.pipeline.cli import main

DEPLOYMENT = [{k: v for k, v in r.items() if k != "protect"} for r in PROTECTED_DEPLOYMENT]
"""A two-phase deployment without protected resources (destroy refuses protected ones: test_pipeline_teardown_guard)."""

SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
KUBECONFIG_PLAINTEXT = "apiVersion: v1\nusers: [token: s3cr3t]"


def envelope(ciphertext: str) -> dict[str, str]:
    """A secret as `pulumi stack export` records it (encrypted; the plaintext is never in state exports)."""
    return {SIG: SECRET_SIG, "ciphertext": ciphertext}


STACK_OUTPUTS = {
    "scenario": "in-cluster-gateway-mesh",
    "clusters": {"local": {"cloud": "local", "network": "local-net"}},
    "kubeconfigs": {"local": envelope("v1:AAAA")},
    "adminToken": envelope("v1:BBBB"),
}
STACK_RESOURCE = {
    "urn": "urn:pulumi:dev::meshgate::pulumi:pulumi:Stack::meshgate-dev",
    "type": "pulumi:pulumi:Stack",
    "outputs": STACK_OUTPUTS,
}
PASSPHRASE = {"PULUMI_CONFIG_PASSPHRASE": "fake-automation-passphrase"}


def summary(changes: Mapping[str, int]) -> UpdateSummary:
    from datetime import datetime

    return UpdateSummary(
        kind="update",
        start_time=datetime(2025, 1, 1, 12, 0, 0),
        end_time=datetime(2025, 1, 1, 12, 1, 30),
        message="",
        environment={},
        config={},
        result="succeeded",
        resource_changes=dict(changes),  # type: ignore[arg-type]
    )


def command_error(stderr: str) -> CommandError:
    return CommandError(CommandResult(stdout="Updating (dev)\n", stderr=stderr, code=255))


class FakeStack:
    """Stands in for `pulumi.automation.Stack`: records calls, replays engine events, returns real result objects."""

    def __init__(
        self,
        resources: list[dict[str, Any]] | None = None,
        changes: Mapping[str, int] | None = None,
        events: list[EngineEvent] | None = None,
        error: BaseException | None = None,
        keep_on_destroy: tuple[str, ...] = (),
    ) -> None:
        self.resources = [STACK_RESOURCE, *(resources or [])]
        self.changes = dict(changes or {"same": 12})
        self.events = events or []
        self.error = error
        self.keep_on_destroy = keep_on_destroy
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.config: list[tuple[str, str, bool, bool]] = []
        self.pending: list[dict[str, Any]] = []

    @property
    def name(self) -> str:
        return "dev"

    def set_config(self, key: str, value: ConfigValue, *, path: bool = False) -> None:
        self.config.append((key, value.value, value.secret, path))

    def _run(self, command: str, on_event: Any, **kwargs: Any) -> None:
        self.calls.append((command, kwargs))
        for event in self.events:
            if on_event is not None:
                on_event(event)
        if self.error is not None:
            raise self.error

    def preview(self, *, target=None, policy_packs=None, refresh=None, color=None, on_event=None) -> PreviewResult:  # type: ignore[no-untyped-def]
        self._run("preview", on_event, target=target, policy_packs=policy_packs, refresh=refresh, color=color)
        return PreviewResult("", "", change_summary=dict(self.changes))  # type: ignore[arg-type]

    def up(
        self,
        *,
        target=None,
        policy_packs=None,
        expect_no_changes=None,
        continue_on_error=None,
        color=None,
        on_event=None,
    ) -> UpResult:  # type: ignore[no-untyped-def]
        self._run(
            "up",
            on_event,
            target=target,
            policy_packs=policy_packs,
            expect_no_changes=expect_no_changes,
            color=color,
            **({"continue_on_error": continue_on_error} if continue_on_error else {}),
        )
        return UpResult(
            "",
            "",
            summary=summary(self.changes),
            outputs={"kubeconfigs": OutputValue({"local": KUBECONFIG_PLAINTEXT}, False)},
        )

    def refresh(
        self, *, target=None, expect_no_changes=None, clear_pending_creates=None, color=None, on_event=None
    ) -> RefreshResult:  # type: ignore[no-untyped-def]
        self._run(
            "refresh",
            on_event,
            target=target,
            expect_no_changes=expect_no_changes,
            color=color,
            **({"clear_pending_creates": clear_pending_creates} if clear_pending_creates else {}),
        )
        return RefreshResult("", "", summary=summary(self.changes))

    def destroy(
        self, *, target=None, target_dependents=None, continue_on_error=None, color=None, on_event=None
    ) -> DestroyResult:  # type: ignore[no-untyped-def]
        self._run(
            "destroy",
            on_event,
            target=target,
            target_dependents=target_dependents,
            color=color,
            **({"continue_on_error": continue_on_error} if continue_on_error else {}),
        )
        doomed = set(target) if target else {r["urn"] for r in self.resources}
        doomed -= set(self.keep_on_destroy)
        self.resources = [r for r in self.resources if r["urn"] not in doomed]
        return DestroyResult("", "", summary=summary({"delete": len(doomed), "same": len(self.resources)}))

    def export_stack(self) -> Deployment:
        return Deployment(
            version=3,
            deployment={"resources": [dict(r) for r in self.resources], "pending_operations": list(self.pending)},
        )

    def import_stack(self, state: Deployment) -> None:
        self.calls.append(("import_stack", {}))
        self.resources = list((state.deployment or {}).get("resources") or [])
        self.pending = list((state.deployment or {}).get("pending_operations") or [])

    def cancel(self) -> None:
        self.calls.append(("cancel", {}))


class Run:
    """One invocation of `main` with captured streams and the stacks it opened."""

    def __init__(
        self,
        argv: list[str],
        stack: FakeStack | None = None,
        environ: Mapping[str, str] | None = None,
        confirm: Any = None,
    ) -> None:
        self.stack = stack or FakeStack()
        self.opened: list[tuple[str, dict[str, str], bool]] = []
        out, err = io.StringIO(), io.StringIO()

        def open_stack(name: str, env: Mapping[str, str], create: bool) -> FakeStack:
            self.opened.append((name, dict(env), create))
            return self.stack

        self.code = main(
            argv,
            open_stack=open_stack,
            environ=PASSPHRASE if environ is None else environ,
            stdout=out,
            stderr=err,
            confirm=confirm,
        )
        self.stdout, self.stderr = out.getvalue(), err.getvalue()

    @property
    def document(self) -> dict[str, Any]:
        """stdout must be exactly one JSON document."""
        doc = json.loads(self.stdout)
        assert self.stdout.strip().startswith("{") and self.stdout.endswith("}\n")
        return doc

    @property
    def commands(self) -> list[str]:
        return [c for c, _ in self.stack.calls]
