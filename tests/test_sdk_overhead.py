"""stacks/sdk_overhead.py: debug log round trips and stack walks dropped, everything else kept.

The hooks are private names of the pinned Pulumi SDK (requirements.txt); these tests fail when an
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
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", sdk_resource._get_stack_trace)
    return fake


def test_the_pinned_sdk_has_both_hooks() -> None:
    assert callable(sdk_resource._get_stack_trace)
    assert callable(sdk_settings.get_engine)
    # register_resource still logs at DEBUG through pulumi.log (the cost this module removes)
    import inspect

    assert "log.debug(" in inspect.getsource(sdk_resource.register_resource)


def test_debug_messages_are_dropped_and_the_rest_reach_the_engine(engine: RecordingEngine) -> None:
    assert sdk_overhead.reduce({}) is True
    pulumi.log.debug("registering resource: ty=x")
    pulumi.log.info("hello")
    pulumi.log.warn("careful")
    pulumi.log.error("broken")
    assert engine.logged == [(engine_pb2.INFO, "hello"), (engine_pb2.WARNING, "careful"), (engine_pb2.ERROR, "broken")]
    # other engine calls pass through unchanged
    assert sdk_settings.get_engine().GetRootResource(None) == "root"  # type: ignore[union-attr]


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
    pulumi.log.debug("kept")
    assert engine.logged == [(engine_pb2.DEBUG, "kept")]
    assert sdk_resource._get_stack_trace is before


def test_reducing_twice_wraps_the_engine_once(engine: RecordingEngine) -> None:
    sdk_overhead.reduce({})
    first = sdk_settings.get_engine()
    sdk_overhead.reduce({})
    assert sdk_settings.get_engine() is first
