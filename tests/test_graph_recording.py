"""The resource graph of every shipped stack (and of every valid scenario switch of it) equals its recording.

A refactor must leave URNs, inputs, parents, providers, dependency edges and options alone: any
difference here is a change `pulumi up` would act on (a replace when a URN moves). When the graph
is meant to change, regenerate the recordings (see tests/graph_recording.py) and say why in the commit.
"""

from __future__ import annotations

import copy
import json
import os

import pytest
from graph_recording import (
    REGENERATE,
    SECRET_MARKER,
    cases,
    differences,
    dumps,
    path_for,
    program_for,
    record_of,
    write,
)
from harness import STACK_FILES, Program, Resource, secret_paths, stack_program, unwrap

NAMES = sorted(cases())


@pytest.mark.parametrize("name", NAMES)
def test_graph_equals_its_recording(name: str) -> None:
    if os.environ.get("MESHGATE_RECORD") == "1":
        write([name])
    path = path_for(name)
    assert path.exists(), f"no recording {path.name}: run {REGENERATE}"
    recorded = json.loads(path.read_text())
    current = json.loads(dumps(record_of(program_for(name))))
    if current != recorded:
        lines = differences(recorded, current)
        pytest.fail(
            f"the resource graph of {name} differs from tests/recordings/{path.name} "
            f"({len(lines)} differences):\n  " + "\n  ".join(lines[:40]) + "\n"
            f"If the change is intended, regenerate with: {REGENERATE}  (and say why in the commit)",
            pytrace=False,
        )


def test_every_recording_belongs_to_a_case() -> None:
    """A stale recording (a stack or switch that no longer exists) is removed, not kept silently."""
    files = {p.stem for p in path_for("x").parent.glob("*.json")}
    assert files == set(NAMES), f"recordings without a case: {sorted(files - set(NAMES))}"


def test_every_shipped_stack_and_scenario_is_recorded() -> None:
    assert set(STACK_FILES) <= set(NAMES)
    scenarios = {json.loads(path_for(n).read_text())["outputs"].get("scenario") for n in NAMES}
    assert {"external-gateway", "in-cluster-gateway", "in-cluster-gateway-mesh", "gateway-api"} <= scenarios


def _strings(value: object, inside_secret: bool, secret: set[str], public: set[str]) -> None:
    """Sort every string leaf of `value` into those held inside a secret and those outside one."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        _strings(unwrap(value), True, secret, public)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, inside_secret, secret, public)
    elif isinstance(value, list):
        for v in value:
            _strings(v, inside_secret, secret, public)
    elif isinstance(value, str):
        (secret if inside_secret else public).add(value)


def _secret_only_values(program: Program) -> set[str]:
    """Strings the program holds only inside secrets (a CA certificate is also public elsewhere: not counted)."""
    secret: set[str] = set()
    public: set[str] = set()
    for r in program.resources:
        _strings(r.inputs, False, secret, public)
    _strings(program.outputs, False, secret, public)
    return {s for s in secret - public if len(s) >= 8}


@pytest.mark.parametrize("stack", sorted(STACK_FILES))
def test_recordings_hold_no_secret_in_plaintext(stack: str) -> None:
    program = stack_program(stack)
    text = path_for(stack).read_text()
    secrets = _secret_only_values(program)
    # render keeps private keys out of its files (renderSecrets off): it registers no secret input at all
    assert bool(secrets) is (stack != "render"), f"{stack}: secret-only values {sorted(secrets)[:3]}"
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, f"{stack}: secret values in plaintext in the recording: {leaked[:3]}"
    # every secret input is still marked as one in the recording
    wanted = sum(len(list(secret_paths(r.inputs))) for r in program.resources)
    assert text.count(f'"{SECRET_MARKER}"') >= wanted


def test_mock_secrets_are_masked() -> None:
    """The mocks' fixed secret values (random passwords, TLS keys, service-account tokens) never appear."""
    texts = "".join(path_for(n).read_text() for n in NAMES)
    for plaintext in ("mock-random-secret", "MOCK KEY", "bW9jay10b2tlbi1", "mock-token-"):
        assert plaintext not in texts
    assert SECRET_MARKER in texts  # the stacks do carry secrets: the check above is not vacuous


def _mutated(program: Program, index: int, **changes: object) -> Program:
    resources = list(program.resources)
    first = resources[index]
    resources[index] = Resource(**{**copy.deepcopy(first.__dict__), **changes})
    return Program(resources=resources, outputs=program.outputs)


def test_a_changed_input_or_urn_is_reported_by_urn() -> None:
    program = stack_program("dev")
    recorded = json.loads(dumps(record_of(program)))
    assert differences(recorded, json.loads(dumps(record_of(program)))) == []

    target = program.resources[3]
    changed_input = _mutated(program, 3, inputs={**target.inputs, "extra": 1})
    assert differences(recorded, json.loads(dumps(record_of(changed_input)))) == [
        f"changed: {target.urn}: inputs.extra"
    ]

    moved_urn = target.urn.rsplit("::", 1)[0] + "::renamed"
    renamed = _mutated(program, 3, urn=moved_urn)
    assert differences(recorded, json.loads(dumps(record_of(renamed)))) == [
        f"added:   {moved_urn}",
        f"removed: {target.urn}",
    ]


def test_a_changed_secret_is_noticed_without_showing_it() -> None:
    from pulumi.runtime import rpc

    program = stack_program("staging")
    index, resource = next((i, r) for i, r in enumerate(program.resources) if list(secret_paths(r.inputs)))
    recorded = json.loads(dumps(record_of(program)))
    key = next(iter(secret_paths(resource.inputs))).split(".")[0].split("[")[0]
    changed = _mutated(program, index, inputs={**resource.inputs, key: rpc.wrap_rpc_secret("another-secret-value")})
    lines = differences(recorded, json.loads(dumps(record_of(changed))))
    assert len(lines) == 1 and lines[0].startswith(f"changed: {resource.urn}: inputs.{key}")
    assert "another-secret-value" not in dumps(record_of(changed))
