"""The recorded resource graph of every shipped stack, and of every valid scenario switch of it.

A recording is what `harness.snapshot` compares (per URN: type, inputs, parent, provider,
dependencies, property dependencies, protect, options; plus the stack outputs), written as
pretty-printed, key-sorted JSON under tests/recordings/ so a diff reads like a change list.
Secret-wrapped values are replaced by a marker carrying a digest of the value: the recording
notices a changed secret input without holding the plaintext.

Besides the four stack files, each stack switched to another scenario (the configs of README's
scenario-switch table, `stacks.scenario_switch`) is recorded too, so every scenario module and
external gateway kind that some switch reaches is covered, not only the ones the stack files ship.

Regenerate after an intended graph change (and say why in the commit):

    MESHGATE_RECORD=1 .venv/bin/python -m pytest tests/test_graph_recording.py
    .venv/bin/python tests/graph_recording.py            # same, without pytest
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: make the project and tests/ importable
    sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from harness import ROOT, STACK_FILES, Program, evaluate, stack_config, stack_program
from pulumi.runtime import rpc

RECORDINGS = ROOT / "tests" / "recordings"
REGENERATE = "MESHGATE_RECORD=1 .venv/bin/python -m pytest tests/test_graph_recording.py"
SECRET_MARKER = "<secret>"


def mask_secrets(value: Any) -> Any:
    """`value` with every secret-wrapped leaf replaced by `{"<secret>": "sha256:<16 hex>"}`."""
    if rpc.is_rpc_secret(value):
        plain = json.dumps(_unwrap_all(rpc.unwrap_rpc_secret(value)), sort_keys=True)
        return {SECRET_MARKER: "sha256:" + hashlib.sha256(plain.encode()).hexdigest()[:16]}
    if isinstance(value, Mapping):
        return {str(k): mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(v) for v in value]
    return value


def _unwrap_all(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _unwrap_all(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {str(k): _unwrap_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_unwrap_all(v) for v in value]
    return value


def record_of(program: Program) -> dict[str, Any]:
    """The graph of `program` as a JSON-ready mapping (secrets masked)."""
    resources: dict[str, Any] = {}
    for r in program.resources:
        assert r.urn not in resources, f"duplicate URN {r.urn}"
        resources[r.urn] = mask_secrets(
            {
                "type": r.type,
                "custom": r.custom,
                "inputs": r.inputs,
                "parent": r.parent,
                "provider": r.provider,
                "dependencies": sorted(r.dependencies),
                "propertyDependencies": {k: sorted(v) for k, v in r.property_dependencies.items()},
                "protect": r.protect,
                "options": r.options,
            }
        )
    return {"resources": resources, "outputs": mask_secrets(program.outputs)}


def dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def cases() -> dict[str, tuple[str, dict[str, Any] | None]]:
    """Recording name -> (stack, config or None for the stack file as shipped)."""
    from stacks.scenario_switch import matrix

    out: dict[str, tuple[str, dict[str, Any] | None]] = {stack: (stack, None) for stack in sorted(STACK_FILES)}
    for row in matrix():
        for switch in row:
            own = stack_config(switch.stack).get("meshgate:scenario")
            if switch.impossible is None and switch.stack in STACK_FILES and switch.scenario.value != own:
                out[f"{switch.stack}@{switch.scenario.value}"] = (switch.stack, switch.config)
    # the other external gateway kind: staging's APIs behind GCP API Gateway instead of the AWS HTTP API
    staging = stack_config("staging")
    staging["meshgate:externalGateway"] = {
        "kind": "gcp-api-gateway",
        "region": "us-central1",
        "project": "acme-staging",
        "cluster": "gcp-central",
    }
    # API Gateway quotas count per API key: an API without key auth carries no rate limit there
    staging["meshgate:apis"] = [
        {k: v for k, v in api.items() if not (k == "rateLimitPerMinute" and api.get("auth") != "key")}
        for api in staging["meshgate:apis"]
    ]
    out["staging@gcp-api-gateway"] = ("staging", staging)
    return out


_programs: dict[str, Program] = {}


def program_for(name: str) -> Program:
    """The evaluated program of recording `name` (the stack file's is shared with the other tests)."""
    stack, config = cases()[name]
    if config is None:
        return stack_program(stack)
    if name not in _programs:
        _programs[name] = evaluate(config, stack=stack, deployer_default=False)
    return _programs[name]


def path_for(name: str) -> Path:
    return RECORDINGS / f"{name}.json"


def write(names: list[str] | None = None) -> list[Path]:
    RECORDINGS.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or sorted(cases()):
        path = path_for(name)
        path.write_text(dumps(record_of(program_for(name))))
        written.append(path)
    return written


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any], limit: int = 5) -> list[str]:
    """Human-readable lines: URNs added, removed, and changed (with the first changed paths of each)."""
    before, after = recorded["resources"], current["resources"]
    lines = [f"added:   {urn}" for urn in sorted(set(after) - set(before))]
    lines += [f"removed: {urn}" for urn in sorted(set(before) - set(after))]
    for urn in sorted(set(before) & set(after)):
        paths = list(_changed_paths(before[urn], after[urn]))
        if paths:
            shown = ", ".join(paths[:limit]) + (f", ... ({len(paths)} paths)" if len(paths) > limit else "")
            lines.append(f"changed: {urn}: {shown}")
    out_paths = list(_changed_paths(recorded["outputs"], current["outputs"]))
    if out_paths:
        lines.append("changed: stack outputs: " + ", ".join(out_paths[:limit]))
    return lines


def _changed_paths(a: Any, b: Any, prefix: str = "") -> Any:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b)):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                yield where
            else:
                yield from _changed_paths(a[key], b[key], where)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _changed_paths(x, y, f"{prefix}[{i}]")
    elif a != b:
        yield prefix or "."


if __name__ == "__main__":
    for written in write(sys.argv[1:] or None):
        print(written.relative_to(ROOT))
