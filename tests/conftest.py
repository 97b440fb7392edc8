"""Shared fixtures: the stack files evaluated once per session under mocks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import STACK_FILES, Program, evaluate_stack  # noqa: E402

_cache: dict[str, Program] = {}


def stack_program(stack: str) -> Program:
    """`Pulumi.<stack>.yaml` evaluated under mocks, once per test session."""
    if stack not in _cache:
        _cache[stack] = evaluate_stack(stack)
    return _cache[stack]


@pytest.fixture(params=sorted(STACK_FILES))
def any_stack(request: pytest.FixtureRequest) -> tuple[str, Program]:
    return request.param, stack_program(request.param)


@pytest.fixture
def dev() -> Program:
    return stack_program("dev")


@pytest.fixture
def staging() -> Program:
    return stack_program("staging")


@pytest.fixture
def prod() -> Program:
    return stack_program("prod")
