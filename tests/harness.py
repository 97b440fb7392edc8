"""Run the real `__main__.py` under Pulumi mocks and record the resource graph.

`evaluate(config)` returns a `Program` (stacks/recording.py): every registered resource with
its type, name, URN, parent, provider, inputs (secrets still wrapped), dependency edges,
options, plus the stack outputs. Tests assert on this record, never on Python objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

from stacks.recording import MAIN as MAIN
from stacks.recording import ROOT as ROOT
from stacks.recording import MeshgateMocks as MeshgateMocks
from stacks.recording import Program as Program
from stacks.recording import RecordingMonitor as RecordingMonitor
from stacks.recording import Resource as Resource
from stacks.recording import run_program
from stacks.recording import secret_paths as secret_paths
from stacks.recording import unwrap as unwrap

STACK_FILES = {p.name[len("Pulumi.") : -len(".yaml")]: p for p in sorted(ROOT.glob("Pulumi.*.yaml"))}


# --------------------------------------------------------------------------- running


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` mapping of `Pulumi.<stack>.yaml`."""
    document = yaml.safe_load(STACK_FILES[stack].read_text()) or {}
    return dict(document.get("config") or {})


DEPLOYER_KEYS = ("meshgate:deployerCidrs", "meshgate:deployerInsideNetwork")


def with_deployer_default(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` plus `meshgate:deployerInsideNetwork: true` when it has an eks/gke cluster and says
    nothing about the deployer (which the program refuses): most synthetic test configs are
    about something else. The stack files state it themselves; tests of the rule pass
    `deployer_default=False`.
    """
    out = dict(config)
    clusters = out.get("meshgate:clusters", out.get("clusters"))
    cloud = isinstance(clusters, list) and any(
        isinstance(c, Mapping) and c.get("kind") in ("eks", "gke") for c in clusters
    )
    if cloud and not any(k in out or k.split(":", 1)[1] in out for k in DEPLOYER_KEYS):
        out["meshgate:deployerInsideNetwork"] = True
    return out


def evaluate(
    config: Mapping[str, Any],
    stack: str = "test",
    preview: bool = False,
    program: Callable[[], None] | None = None,
    record: list[Resource] | None = None,
    deployer_default: bool = True,
) -> Program:
    """`stacks.recording.run_program`, with `with_deployer_default` applied unless `deployer_default` is False.

    Raises whatever the program raises (e.g. pulumi.RunError for bad config). Pass a list
    as `record` to see what was registered even when the program fails.
    """
    if deployer_default:
        config = with_deployer_default(config)
    return run_program(config, stack, preview, program, record)


def evaluate_stack(stack: str, overrides: Mapping[str, Any] | None = None) -> Program:
    """Evaluate `Pulumi.<stack>.yaml`, optionally overriding top-level keys."""
    config = stack_config(stack)
    for key, value in (overrides or {}).items():
        config[key if ":" in key else f"meshgate:{key}"] = value
    return evaluate(config, stack=stack)


_programs: dict[str, Program] = {}


def stack_program(stack: str) -> Program:
    """`Pulumi.<stack>.yaml` evaluated under mocks, once per test session."""
    if stack not in _programs:
        _programs[stack] = evaluate_stack(stack)
    return _programs[stack]


def snapshot(program: Program) -> str:
    """URN -> what the engine diffs (inputs, secrets still wrapped) and the graph it orders by, as canonical JSON."""
    record: dict[str, Any] = {
        r.urn: {
            "inputs": r.inputs,
            "parent": r.parent,
            "provider": r.provider,
            "dependencies": sorted(r.dependencies),
            "propertyDependencies": {k: sorted(v) for k, v in r.property_dependencies.items()},
            "protect": r.protect,
            "options": r.options,
        }
        for r in program.resources
    }
    assert len(record) == len(program.resources), "duplicate URNs"
    return json.dumps({"resources": record, "outputs": program.outputs}, sort_keys=True)


def types(program: Program) -> set[str]:
    return {r.type for r in program.resources}


def names(resources: Iterable[Resource]) -> list[str]:
    return sorted(r.name for r in resources)
