"""Checkpoint mode of the pipeline: `preview` never saves checkpoints, `up`/`destroy`/`refresh` take
`--checkpoints auto|every-step|end`.

The engine (pulumi v3.274.1, `pkg/backend/diy/backend.go`) gives a preview a snapshot manager with a
discarding persister, yet it still re-serialises and verifies the whole deployment after every step
unless `PULUMI_SKIP_CHECKPOINTS=true`; for `up` that setting means the state is written once, at the
end. The Automation API reads its workspace's `env_vars` at every command, so the mode is set per
command on the workspace: a preview on a stack opened for `up` (the confirmation preview) skips
checkpoints even when the `up` keeps them.
"""

from __future__ import annotations

from typing import Any

import pytest
from fake_automation import FakeStack, Run

from stacks.pipeline import engine
from stacks.pipeline.engine import AUTO_END_AT_RESOURCES, SKIP_CHECKPOINTS, Checkpoints, Op


class Workspace:
    def __init__(self) -> None:
        self.env_vars: dict[str, str] = {"PULUMI_BACKEND_URL": "file:///tmp/state"}


class EnvRecordingStack(FakeStack):
    """A FakeStack with a workspace, recording the workspace env each command ran with."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workspace = Workspace()
        self.env_at_call: list[tuple[str, str | None]] = []

    def _run(self, command: str, on_event: Any, **kwargs: Any) -> None:
        self.env_at_call.append((command, self.workspace.env_vars.get(SKIP_CHECKPOINTS)))
        super()._run(command, on_event, **kwargs)


def _resources(n: int) -> list[dict[str, Any]]:
    return [
        {
            "urn": f"urn:pulumi:dev::meshgate::kubernetes:core/v1:ConfigMap::cm{i}",
            "type": "kubernetes:core/v1:ConfigMap",
        }
        for i in range(n)
    ]


def test_preview_always_skips_checkpoints() -> None:
    stack = EnvRecordingStack()
    run = Run(["preview", "--stack", "dev", "--json"], stack=stack)
    assert run.code == 0, run.stdout
    assert run.opened[0][1][SKIP_CHECKPOINTS] == "true"
    assert stack.env_at_call == [("preview", "true")]


def test_pulumis_own_skip_checkpoints_is_honoured_under_auto_but_not_against_an_explicit_mode() -> None:
    environ = {"PULUMI_CONFIG_PASSPHRASE": "checkpoints-test", SKIP_CHECKPOINTS: "true"}
    stack = EnvRecordingStack()
    run = Run(["up", "--stack", "staging", "--yes", "--json"], stack=stack, environ=environ)
    assert run.document["checkpoints"] == "end" and stack.env_at_call == [("up", "true")]
    stack = EnvRecordingStack()
    run = Run(
        ["up", "--stack", "staging", "--yes", "--json", "--checkpoints", "every-step"], stack=stack, environ=environ
    )
    assert SKIP_CHECKPOINTS not in run.opened[0][1]
    assert run.document["checkpoints"] == "every-step" and stack.env_at_call == [("up", None)]


@pytest.mark.parametrize(
    ("argv", "state", "expected", "skip"),
    [
        # dev: one kubeconfig cluster, a small state -> every step (the engine's default)
        (["up", "--stack", "dev", "--yes"], 10, "every-step", None),
        # large kubeconfig-only stack -> end
        (["up", "--stack", "dev", "--yes"], AUTO_END_AT_RESOURCES, "end", "true"),
        (["destroy", "--stack", "render", "--yes"], AUTO_END_AT_RESOURCES + 5, "end", "true"),
        # cloud clusters keep every-step checkpoints whatever the size (a lost EKS/GKE cluster costs money)
        (["up", "--stack", "staging", "--yes"], 5000, "every-step", None),
        # explicit choices win
        (["up", "--stack", "staging", "--yes", "--checkpoints", "end"], 10, "end", "true"),
        (["refresh", "--stack", "dev", "--yes", "--checkpoints", "end"], 10, "end", "true"),
        (["up", "--stack", "dev", "--yes", "--checkpoints", "every-step"], 5000, "every-step", None),
    ],
)
def test_checkpoint_mode_of_state_changing_commands(
    argv: list[str], state: int, expected: str, skip: str | None
) -> None:
    stack = EnvRecordingStack(resources=_resources(state))
    run = Run([*argv, "--json"], stack=stack)
    assert run.code == 0, run.stdout
    assert run.document["checkpoints"] == expected
    assert stack.env_at_call and all(value == skip for _, value in stack.env_at_call), stack.env_at_call


def test_auto_counts_a_large_catalogue_before_the_first_up(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = EnvRecordingStack()
    apis = [
        {
            "name": f"a{i}",
            "path": f"/a{i}",
            "cluster": "local",
            "service": {"name": "orders", "namespace": "shop", "port": 8080},
        }
        for i in range(AUTO_END_AT_RESOURCES)
    ]
    import json

    run = Run(["up", "--stack", "dev", "--yes", "--json", "-c", f"meshgate:apis={json.dumps(apis)}"], stack=stack)
    assert run.code == 0, run.stdout
    assert run.document["checkpoints"] == "end"


def test_confirmation_preview_skips_checkpoints_while_the_up_keeps_them() -> None:
    stack = EnvRecordingStack(resources=_resources(3))
    run = Run(["up", "--stack", "dev", "--checkpoints", "every-step"], stack=stack, confirm=lambda question: True)
    assert run.code == 0, run.stderr
    assert stack.env_at_call == [("preview", "true"), ("up", None)]


def test_checkpoint_environment_per_command() -> None:
    assert engine.checkpoint_environment(Op.PREVIEW, Checkpoints.EVERY_STEP) == {SKIP_CHECKPOINTS: "true"}
    assert engine.checkpoint_environment(Op.UP, Checkpoints.EVERY_STEP) == {}
    assert engine.checkpoint_environment(Op.DESTROY, Checkpoints.END) == {SKIP_CHECKPOINTS: "true"}
    assert engine.checkpoint_environment(Op.OUTPUTS, Checkpoints.END) == {}
    assert engine.resolve_checkpoints(Checkpoints.AUTO, True, AUTO_END_AT_RESOURCES - 1) is Checkpoints.EVERY_STEP
