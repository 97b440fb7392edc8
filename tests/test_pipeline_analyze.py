"""`python -m stacks.pipeline analyze`: exit 0 clean, 1 on findings, 2 on usage, config or a missing istioctl."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from stacks import analyze
from stacks.pipeline.cli import main


def _run(argv: list[str], environ: dict[str, str]) -> tuple[int, dict[str, object]]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "--json"], environ=environ, stdout=out, stderr=err)
    return code, json.loads(out.getvalue())


def _fake_istioctl(tmp_path: Path, messages: list[dict[str, str]]) -> dict[str, str]:
    """An `istioctl` that prints `messages` as `analyze -o json` does (and records its arguments)."""
    script = tmp_path / "istioctl"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/argv\ncat <<'EOF'\n{json.dumps(messages)}\nEOF\nexit 79\n")
    script.chmod(0o755)
    return {**os.environ, "MESHGATE_ISTIOCTL": str(script)}


def test_a_message_not_suppressed_is_a_finding_and_exit_1(tmp_path: Path) -> None:
    finding = {"code": "IST0101", "level": "Error", "origin": "VirtualService shop/x", "message": "Referenced gateway"}
    code, doc = _run(["analyze", "--stack", "dev"], _fake_istioctl(tmp_path, [finding]))
    assert code == 1 and doc["exitCode"] == 1
    result = doc["analyze"]
    assert isinstance(result, dict)
    assert [(f["cluster"], f["code"]) for f in result["findings"]] == [("local", "IST0101")]
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:3] == ["analyze", "--use-kube=false", "--all-namespaces"] and "--meshConfigFile" in argv


def test_suppressed_messages_are_reported_but_exit_0(tmp_path: Path) -> None:
    (rule,) = analyze.load_suppressions()
    expected = {"code": rule.code, "level": "Warning", "origin": rule.origin, "message": rule.message.rstrip("*")}
    code, doc = _run(["analyze", "--stack", "dev"], _fake_istioctl(tmp_path, [expected]))
    assert code == 0
    result = doc["analyze"]
    assert isinstance(result, dict) and result["findings"] == []
    assert [s["reason"] for s in result["suppressed"]] == [rule.reason]


def test_without_istioctl_it_exits_2_with_the_command_to_build_it(tmp_path: Path) -> None:
    code, doc = _run(["analyze", "--stack", "dev"], {**os.environ, "MESHGATE_ISTIOCTL": str(tmp_path / "none")})
    assert code == 2
    assert doc["error"] == {
        "kind": "setup",
        "message": f"MESHGATE_ISTIOCTL={tmp_path / 'none'} is not an executable file",
    }


def test_bad_config_exits_2_before_anything_runs(tmp_path: Path) -> None:
    environ = _fake_istioctl(tmp_path, [])
    code, doc = _run(["analyze", "--stack", "dev", "-c", "meshgate:scenario=nope"], environ)
    assert code == 2 and not (tmp_path / "argv").exists()
    assert isinstance(doc["error"], dict) and doc["error"]["kind"] == "config"


@pytest.mark.istioctl
def test_the_shipped_dev_stack_is_clean_with_the_real_istioctl() -> None:
    try:
        environ = {**os.environ, "MESHGATE_ISTIOCTL": str(analyze.find_istioctl())}
    except analyze.IstioctlMissing as err:
        pytest.fail(str(err))
    code, doc = _run(["analyze", "--stack", "dev"], environ)
    assert code == 0, doc
    result = doc["analyze"]
    assert isinstance(result, dict) and list(result["clusters"]) == ["local"]
