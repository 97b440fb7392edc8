"""The real program evaluates for every stack file; basic graph invariants hold."""

from __future__ import annotations

import subprocess
import sys

import pytest
from harness import ROOT, Program, evaluate


def test_every_stack_evaluates(any_stack: tuple[str, Program]) -> None:
    name, program = any_stack
    assert program.resources, name
    assert program.outputs["scenario"]


def test_every_k8s_resource_uses_an_explicit_provider(any_stack: tuple[str, Program]) -> None:
    _, program = any_stack
    for r in program.resources:
        if (
            r.custom
            and r.type.startswith(("kubernetes:", "aws:", "gcp:"))
            and not r.type.startswith("pulumi:providers:")
        ):
            assert r.provider and "default" not in r.provider.rsplit("::", 1)[-1], (
                f"{r.type} {r.name} uses a default provider"
            )


def test_kubeconfigs_output_is_secret(any_stack: tuple[str, Program]) -> None:
    from pulumi.runtime import rpc

    _, program = any_stack
    assert rpc.is_rpc_secret(program.outputs["kubeconfigs"])


def test_bad_config_fails_with_one_line_and_no_resources() -> None:
    import pulumi

    with pytest.raises(pulumi.RunError) as caught:
        evaluate({"meshgate:scenario": "nine", "meshgate:clusters": [{"name": "a", "kind": "kubeconfig"}]})
    assert str(caught.value).startswith("meshgate:scenario ")


def test_kubeconfig_only_stack_loads_no_cloud_sdk() -> None:
    code = (
        "import sys; sys.path[:0] = ['tests', '.'];"
        "from harness import evaluate_stack; evaluate_stack('dev');"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi_aws', 'pulumi_gcp'));"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
