"""Determinism: the same stack evaluates to byte-identical resource inputs, run after run.

This is the precondition for "a second `pulumi up` with no change shows no changes": no
random names, no timestamps, no iteration over unordered sets or dicts leaking into
inputs. Compared per stack file: the session's evaluation, a second in-process
evaluation, and one in a fresh interpreter with a different PYTHONHASHSEED (which
reorders set iteration over strings).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest
from harness import ROOT, STACK_FILES, Program, evaluate_stack, snapshot, stack_program


@pytest.mark.parametrize("stack", sorted(STACK_FILES))
def test_two_evaluations_in_one_process_are_identical(stack: str) -> None:
    assert snapshot(evaluate_stack(stack)) == snapshot(stack_program(stack))


def test_a_fresh_interpreter_with_another_hash_seed_agrees() -> None:
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    code = (
        "import json, sys; sys.path[:0] = ['tests', '.'];"
        "from harness import STACK_FILES, evaluate_stack, snapshot;"
        "print('SNAPSHOTS ' + json.dumps({s: snapshot(evaluate_stack(s)) for s in sorted(STACK_FILES)}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(text for text in reversed(done.stdout.splitlines()) if text.startswith("SNAPSHOTS "))
    theirs = json.loads(line[len("SNAPSHOTS ") :])
    assert sorted(theirs) == sorted(STACK_FILES)
    for stack, text in theirs.items():
        assert text == snapshot(stack_program(stack)), f"{stack} differs under PYTHONHASHSEED={seed}"


@pytest.mark.parametrize("stack", sorted(STACK_FILES))
def test_no_input_carries_todays_date(stack: str) -> None:
    today = datetime.date.today()
    stamps = (today.isoformat(), today.strftime("%Y%m%d"))
    text = snapshot(stack_program(stack))
    assert not any(s in text for s in stamps)


def test_snapshot_notices_a_change() -> None:
    program = stack_program("dev")
    before = snapshot(program)
    first = program.resources[0]
    mutated = Program(
        resources=[type(first)(**{**first.__dict__, "inputs": {**first.inputs, "extra": 1}}), *program.resources[1:]],
        outputs=program.outputs,
    )
    assert snapshot(mutated) != before
