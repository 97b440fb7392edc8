"""Progress rendering from a recorded sequence of real `pulumi.automation.events` objects."""

from __future__ import annotations

import io

from engine_events import (
    MESH_TYPE,
    MESH_URN,
    NS_TYPE,
    NS_URN,
    RELEASE_TYPE,
    RELEASE_URN,
    SA_TYPE,
    SA_URN,
    STACK_URN,
    Events,
)
from pulumi.automation import (
    EngineEvent,
)
from rich.console import Console

from stacks.pipeline.progress import ProgressDisplay, ProgressState, render


def update_sequence() -> list[EngineEvent]:
    """An `up`: stack, a namespace created, a component registered twice, istiod updating, a failure."""
    e = Events()
    return [
        e.pre("same", STACK_URN, "pulumi:pulumi:Stack"),
        e.pre("create", NS_URN, NS_TYPE),
        e.pre("same", MESH_URN, MESH_TYPE),
        e.outputs("same", MESH_URN, MESH_TYPE),
        e.outputs("create", NS_URN, NS_TYPE),
        e.pre("update", RELEASE_URN, RELEASE_TYPE),
        e.diagnostic("debug", "RegisterResource RPC prepared", RELEASE_URN),
        e.diagnostic("info#err", "Traceback (most recent call last):"),
        e.diagnostic("warning", "helm: chart deprecated", RELEASE_URN),
        e.diagnostic("info", "still waiting", RELEASE_URN, ephemeral=True),
        e.pre("create", SA_URN, SA_TYPE),
        e.outputs("same", MESH_URN, MESH_TYPE),  # register_outputs of the component: not a second completion
        e.failed("create", SA_URN, SA_TYPE),
        e.diagnostic("error", "serviceaccounts is forbidden", SA_URN),
        e.policy("mandatory", "endpoint open to the world", RELEASE_URN),
    ]


def test_counts_each_resource_once_and_ignores_the_stack() -> None:
    state = ProgressState(total_hint=5)
    for event in update_sequence():
        state.handle(event)
    assert state.done == 3  # namespace, component (once), failed service account
    assert state.total == 5  # the hint from the state is larger than what has been seen
    assert STACK_URN not in state.seen
    assert list(state.in_flight) == [RELEASE_URN]
    assert state.in_flight[RELEASE_URN].op == "update"
    assert state.failed == [SA_URN]
    assert state.completed == {"same": 1, "create": 1}


def test_total_grows_with_resources_beyond_the_hint() -> None:
    state = ProgressState(total_hint=1)
    for event in update_sequence():
        state.handle(event)
    assert state.total == len({NS_URN, MESH_URN, RELEASE_URN, SA_URN}) == 4


def test_keeps_warnings_errors_and_policy_findings_but_not_debug_stderr_or_ephemeral() -> None:
    state = ProgressState()
    for event in update_sequence():
        state.handle(event)
    found = [(d.severity, d.message, d.urn, d.policy) for d in state.diagnostics]
    assert found == [
        ("warning", "helm: chart deprecated", RELEASE_URN, None),
        ("error", "serviceaccounts is forbidden", SA_URN, None),
        ("mandatory", "endpoint open to the world", RELEASE_URN, "meshgate/no-public-endpoint"),
    ]
    assert [d.message for d in state.errors] == ["serviceaccounts is forbidden", "endpoint open to the world"]


def test_summary_event_is_recorded() -> None:
    state = ProgressState()
    e = Events()
    state.handle(e.summary({"create": 2, "same": 40, "update": 0}, 93))
    assert state.summary_changes == {"create": 2, "same": 40}
    assert state.summary_seconds == 93


def _text(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_live_panel_shows_done_total_operations_in_flight_and_elapsed() -> None:
    state = ProgressState(total_hint=5)
    for event in update_sequence():
        state.handle(event)
    text = _text(render(state, "up dev", elapsed=83.4))
    header = text.splitlines()[0]
    assert "up dev" in header and "3/5 resources" in header and "01:23" in header
    assert "1 failed" in header and "1 warning" in header
    assert "updating" in text and RELEASE_TYPE in text and "local-istiod" in text


def test_live_panel_truncates_many_operations() -> None:
    state = ProgressState()
    e = Events()
    for i in range(12):
        state.handle(e.pre("create", f"urn:pulumi:dev::meshgate::{NS_TYPE}::ns-{i}", NS_TYPE))
    text = _text(render(state, "up dev", elapsed=0))
    assert "0/12 resources" in text
    assert text.count("creating") == 8
    assert "... and 4 more" in text


def test_log_mode_prints_one_line_per_finished_change_without_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    clock = iter([100.0, 101.0, 102.0, 103.0])
    with ProgressDisplay(console, "up dev", total_hint=5, clock=lambda: next(clock)) as display:
        for event in update_sequence():
            display.on_event(event)
    lines = out.getvalue().splitlines()
    assert lines[0] == "up dev ..."
    assert f"created {NS_TYPE} local-istio-system (2/5)" in lines
    assert f"FAILED to create {SA_TYPE} orders-sa (3/5)" in lines
    assert not any("IstioMesh" in line for line in lines)  # `same` steps are not news
    assert len(lines) == 3


def test_preview_says_what_would_happen() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    e = Events()
    with ProgressDisplay(console, "preview dev", dry_run=True) as display:
        display.on_event(e.pre("create", NS_URN, NS_TYPE, planning=True))
        display.on_event(e.outputs("create", NS_URN, NS_TYPE, planning=True))
    assert f"would create {NS_TYPE} local-istio-system (1/1)" in out.getvalue().splitlines()


def test_terminal_mode_uses_a_live_panel_instead_of_log_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system=None)
    e = Events()
    with ProgressDisplay(console, "up dev", total_hint=1) as display:
        display.on_event(e.pre("create", NS_URN, NS_TYPE))
        display.on_event(e.outputs("create", NS_URN, NS_TYPE))
        assert "1/1 resources" in _text(display)
    assert "created kubernetes" not in out.getvalue()
