"""stacks/sdk_overhead.py: the per-resource stack walk skipped, debug messages kept.

The hook is a private name of the pinned Pulumi SDK (requirements.txt); these tests fail when an
SDK upgrade moves them, instead of letting the program silently pay the cost again.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import settings as sdk_settings
from pulumi.runtime.proto import engine_pb2

from stacks import sdk_overhead


class RecordingEngine:
    """Stands in for the engine's gRPC stub: records every Log request."""

    def __init__(self) -> None:
        self.logged: list[tuple[int, str]] = []

    def Log(self, request: engine_pb2.LogRequest) -> None:  # noqa: N802
        self.logged.append((request.severity, request.message))

    def GetRootResource(self, request: Any) -> str:  # noqa: N802
        return "root"


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> RecordingEngine:
    fake = RecordingEngine()
    settings: Any = sdk_settings.SETTINGS
    monkeypatch.setattr(settings, "engine", fake)
    # the SDK's own walk (another test may have run the program, which calls reduce())
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", sdk_overhead.sdk_stack_trace())
    return fake


def test_the_pinned_sdk_has_both_hooks() -> None:
    assert callable(sdk_resource._get_stack_trace)


class _Resource:
    """The constructor chain the SDK walks past (Resource <- CustomResource <- a concrete resource)."""

    def __init__(self) -> None:
        self.trace = sdk_resource._get_stack_trace()


class _CustomResource(_Resource):
    def __init__(self) -> None:
        super().__init__()


class _ConfigMap(_CustomResource):
    def __init__(self) -> None:
        super().__init__()


def test_no_stack_is_walked_for_a_resource(engine: RecordingEngine) -> None:
    assert len(_ConfigMap().trace.frames) > 0  # the SDK's own: the frames of the code creating it
    sdk_overhead.reduce({})
    assert len(_ConfigMap().trace.frames) == 0


def test_the_environment_variable_keeps_the_sdk_as_it_is(engine: RecordingEngine) -> None:
    before = sdk_resource._get_stack_trace
    assert sdk_overhead.reduce({sdk_overhead.KEEP: "1"}) is False
    assert sdk_resource._get_stack_trace is before
    assert len(_ConfigMap().trace.frames) > 0


def test_debug_messages_still_reach_the_engine(engine: RecordingEngine) -> None:
    """Kept on purpose: they pace the SDK's event loop (see the module docstring)."""
    sdk_overhead.reduce({})
    pulumi.log.debug("registering resource: ty=x")
    assert engine.logged == [(engine_pb2.DEBUG, "registering resource: ty=x")]


def test_relax_gc_raises_every_threshold_of_the_collector() -> None:
    import gc

    before = gc.get_threshold()
    try:
        sdk_overhead.relax_gc()
        assert all(new > old for new, old in zip(gc.get_threshold(), (700, 10, 10), strict=True))
        assert gc.isenabled()  # less often, never off: cycles are still collected
    finally:
        gc.set_threshold(*before)
