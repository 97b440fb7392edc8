"""`destroy` refuses a stack it cannot finish before it deletes anything.

Without the guard, phase 1 deletes the gateway layer (the load balancers: the stack's traffic)
and phase 2 then stops at the first protected resource: a prod stack half torn down. Two things
block a delete: Pulumi's `protect` (the engine refuses) and a GKE cluster's own
`deletionProtection` (the GKE API refuses). The documented procedure clears both first.
"""

from __future__ import annotations

from deployment_fixtures import STACK, VPC, P, res
from fake_automation import DEPLOYMENT, FakeStack, Run

from stacks.pipeline.destroy_plan import delete_blockers

GKE = res("gcp:container/cluster:Cluster", "gcp-central", STACK["urn"], outputs={"deletionProtection": True})
GKE_OFF = {**GKE, "outputs": {"deletionProtection": False}}


def _destroy(resources: list[dict[str, object]], *extra: str) -> tuple[Run, FakeStack]:
    stack = FakeStack(resources=[dict(r) for r in resources])
    return Run(["destroy", "--stack", "prod", "--yes", "--json", *extra], stack), stack


def test_pulumi_protect_refuses_before_phase_1() -> None:
    run, stack = _destroy([*DEPLOYMENT[1:], {**VPC, "protect": True}])
    assert run.code == 2 and stack.calls == []  # nothing deleted, not even the gateway layer
    message = run.document["error"]["message"]
    assert "aws-east-vpc" in message
    assert "python -m stacks.pipeline up --stack prod -c meshgate:protect=false --yes" in message
    assert run.document["destroyPlan"]["blockers"] == [VPC["urn"]]


def test_gke_deletion_protection_refuses_too() -> None:
    """`pulumi state unprotect --all` would leave this one: the cloud refuses the delete."""
    run, stack = _destroy([*DEPLOYMENT[1:], GKE])
    assert run.code == 2 and stack.calls == []
    assert "gcp-central" in run.document["error"]["message"]


def test_after_the_documented_up_destroy_runs_both_phases() -> None:
    run, stack = _destroy([*DEPLOYMENT[1:], GKE_OFF])
    assert run.code == 0, run.document
    assert [name for name, _ in stack.calls] == ["destroy", "destroy"]


def test_blockers_in_state_order() -> None:
    assert delete_blockers([STACK, {**VPC, "protect": True}, GKE, GKE_OFF]) == (VPC["urn"], GKE["urn"])
    assert delete_blockers([{**GKE, "outputs": {}, "inputs": {"deletionProtection": True}}]) == (GKE["urn"],)
    assert P in GKE["urn"]
