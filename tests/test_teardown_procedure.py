"""The documented teardown of a protected stack works on both clouds, in the documented order.

A protected stack has two guards: Pulumi's `protect` resource option (clusters, networks) and
GKE's own `deletion_protection` field on the cluster, which the GKE API enforces on delete.
`pulumi state unprotect --all` clears only the first. The documented procedure — `up` with
`meshgate:protect=false`, then `destroy` — relies on:

1. `protect: true` sets both guards (so a plain destroy fails, on EKS and GKE alike);
2. `protect: false` sets neither, so the `up` writes unprotected resources and
   `deletion_protection: false` into state and the cloud before `destroy` runs;
3. the docs offer exactly that order, and not `state unprotect` as a way to tear down.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness import Program, evaluate_stack

ROOT = Path(__file__).resolve().parent.parent
GKE_CLUSTER = "gcp:container/cluster:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"


def _guards(program: Program) -> tuple[set[str], list[Any]]:
    protected = {f"{r.type}::{r.name}" for r in program.resources if r.protect}
    gke = [r.inputs.get("deletionProtection") for r in program.of_type(GKE_CLUSTER)]
    return protected, gke


def test_protect_true_sets_both_guards_on_both_clouds() -> None:
    protected, gke = _guards(evaluate_stack("prod"))
    assert any(p.startswith(f"{EKS_CLUSTER}::") for p in protected)
    assert any(p.startswith(f"{GKE_CLUSTER}::") for p in protected)
    assert gke == [True]  # survives `pulumi state unprotect --all`: destroy would still fail on GKE


def test_the_documented_first_step_clears_both_guards() -> None:
    protected, gke = _guards(evaluate_stack("prod", {"protect": False}))
    assert protected == set()
    assert gke == [False]  # explicit: the provider's default is true


def test_the_docs_give_one_procedure_in_this_order() -> None:
    up = "python -m stacks.pipeline up --stack prod -c meshgate:protect=false --yes"
    destroy = "python -m stacks.pipeline destroy --stack prod --yes"
    for doc in ("README.md", "docs/clusters-eks.md", "docs/clusters-gke.md"):
        text = (ROOT / doc).read_text()
        assert up in text and destroy in text, doc
        assert text.index(up) < text.index(destroy), doc
        assert not re.search(r"state unprotect --all`?\)? first|or `pulumi state unprotect --all`", text), doc
