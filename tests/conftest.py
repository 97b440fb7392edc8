"""Shared fixtures: the stack files evaluated once per session under mocks."""

from __future__ import annotations

import pytest
from harness import STACK_FILES, Program, stack_program


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
