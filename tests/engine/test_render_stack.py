"""The offline `render` stack through the real Pulumi engine (CLI, language host, Kubernetes and
TLS providers, policy pack), driven by the pipeline command and the Automation API.

`lifecycle` runs the whole sequence once, in order, on a throw-away copy of the project and
backend (tests/engine/engine_project.py) and records what every step returned; each test asserts on
its steps. The expected values come from the same program evaluated under mocks
(`harness.evaluate_stack("render")`), so the engine and the unit tier must agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pytest
import yaml
from gateway_models import validate
from harness import Program, evaluate_stack, secret_paths
from pulumi import automation as auto
from pulumi.runtime import rpc
from schemas import SchemaError

if TYPE_CHECKING:
    from engine_project import Project

pytestmark = pytest.mark.engine
# the `engine` and `render_project` fixtures
pytest_plugins = ["engine_project"]

STACK = "render"
RENDER_DIR = "rendered"  # renderDirectory of Pulumi.render.yaml, relative to the project
CHANGE = "meshgate:apis[0].rateLimitPerMinute=601"  # Pulumi.render.yaml has 600
# Config accepts a gateway namespace of istio-system; the pack's mandatory check refuses it.
VIOLATION = "meshgate:gateway.namespace=istio-system"
VIOLATED_POLICY = "meshgate/istio-gateway-own-namespace"
POLICY_PACK = "meshgate@v0.1.0"
TLS_SECRET = ("v1", "Secret", "meshgate-gateway", "meshgate-gateway-tls")

T = TypeVar("T")
ObjectKey = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


@dataclass
class Outcome(Generic[T]):
    """What one step returned, or the exception it raised (re-raised by `value`)."""

    result: T | None = None
    error: BaseException | None = None

    @property
    def value(self) -> T:
        if self.error is not None:
            raise AssertionError(f"this step failed: {self.error!r}") from self.error
        assert self.result is not None
        return self.result


def attempt(step: Callable[[], T]) -> Outcome[T]:
    try:
        return Outcome(result=step())
    except Exception as err:  # recorded; the tests of this step report it
        return Outcome(error=err)


Pipeline = tuple[int, dict[str, Any]]


@dataclass
class Lifecycle:
    """Every step of the sequence, in the order it ran."""

    preview: Outcome[Pipeline]
    up: Outcome[Pipeline]
    manifests: Outcome[dict[ObjectKey, dict[str, Any]]]
    urns: Outcome[dict[str, str]]  # URN -> parent URN ("" for the stack), from the state after `up`
    outputs: Outcome[auto.OutputMap]
    masked_outputs: Outcome[Pipeline]
    unchanged: Outcome[Pipeline]
    changed: Outcome[Pipeline]
    policy: Outcome[auto.PreviewResult]
    violation: Outcome[Pipeline]
    destroy: Outcome[Pipeline]
    after_destroy: Outcome[tuple[list[Path], dict[str, str]]]
    removed: Outcome[list[str]]
    stack_file_kept: bool = field(default=False)


def read_manifests(directory: Path) -> dict[ObjectKey, dict[str, Any]]:
    """Every object rendered under `directory`, by (apiVersion, kind, namespace, name); duplicates fail."""
    found: dict[ObjectKey, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            meta = doc.get("metadata") or {}
            key = (doc["apiVersion"], doc["kind"], meta.get("namespace", ""), meta["name"])
            assert key not in found, f"{key} rendered twice"
            found[key] = doc
    return found


def with_override(project: Project, args: tuple[str, ...]) -> Pipeline:
    """Run the pipeline with a `--config` override, then put the stack file back (`--config` persists)."""
    stack_file = project.stack_file(STACK)
    original = stack_file.read_text()
    try:
        return project.pipeline(*args)
    finally:
        stack_file.write_text(original)


@pytest.fixture(scope="module")
def lifecycle(render_project: Project) -> Lifecycle:
    project = render_project
    rendered = project.dir / RENDER_DIR

    def state_urns() -> dict[str, str]:
        deployment = project.stack(STACK).export_stack().deployment or {}
        return {r["urn"]: r.get("parent", "") for r in deployment.get("resources") or []}

    preview = attempt(lambda: project.pipeline("preview", "--stack", STACK))
    up = attempt(lambda: project.pipeline("up", "--stack", STACK, "--yes"))
    manifests = attempt(lambda: read_manifests(rendered))
    urns = attempt(state_urns)
    outputs = attempt(lambda: project.stack(STACK).outputs())
    masked_outputs = attempt(lambda: project.pipeline("outputs", "--stack", STACK))
    unchanged = attempt(lambda: project.pipeline("preview", "--stack", STACK, "--expect-no-changes"))
    stack_file = project.stack_file(STACK).read_text()  # now with the stack's encryptionsalt
    changed = attempt(
        lambda: with_override(project, ("preview", "--stack", STACK, "--expect-no-changes", "--config", CHANGE))
    )
    policy = attempt(lambda: project.stack(STACK).preview(policy_packs=[str(project.dir / "policy")]))
    violation = attempt(
        lambda: with_override(project, ("preview", "--stack", STACK, "--policy-pack", "policy", "--config", VIOLATION))
    )
    stack_file_kept = project.stack_file(STACK).read_text() == stack_file
    destroy = attempt(lambda: project.pipeline("destroy", "--stack", STACK, "--yes"))
    after_destroy = attempt(lambda: (sorted(rendered.rglob("*.yaml")), state_urns()))

    def remove() -> list[str]:  # `stack rm` also deletes Pulumi.render.yaml (of the copy)
        workspace = project.workspace()
        workspace.remove_stack(STACK)
        return [s.name for s in workspace.list_stacks()]

    removed = attempt(remove)
    return Lifecycle(
        preview=preview,
        up=up,
        manifests=manifests,
        urns=urns,
        outputs=outputs,
        masked_outputs=masked_outputs,
        unchanged=unchanged,
        changed=changed,
        policy=policy,
        violation=violation,
        destroy=destroy,
        after_destroy=after_destroy,
        removed=removed,
        stack_file_kept=stack_file_kept,
    )


@pytest.fixture(scope="module")
def mocked() -> Program:
    """The same stack under mocks (the unit tier's view)."""
    return evaluate_stack(STACK)


def expected_objects(mocked: Program) -> dict[ObjectKey, dict[str, Any]]:
    found: dict[ObjectKey, dict[str, Any]] = {}
    for r in mocked.k8s_objects():
        obj = r.plain
        meta = obj.get("metadata") or {}
        found[(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])] = obj
    return found


def is_default_provider(urn: str) -> bool:
    _, _, type_, name = urn.split("::", 3)
    return type_.startswith("pulumi:providers:") and name.startswith("default")


def registered_by_the_engine(urn: str) -> bool:
    """The stack resource and default providers: the engine's, not the program's registrations."""
    return urn.split("::")[2] == "pulumi:pulumi:Stack" or is_default_provider(urn)


def identity(urn: str) -> tuple[str, str]:
    """(type, name) of a URN. Mock URNs carry only the parent's type, the engine's the whole chain."""
    _, _, types, name = urn.split("::", 3)
    return types.rsplit("$", 1)[-1], name


def without_nulls(value: Any) -> Any:
    """The harness's serialization round trip drops null-valued keys; the engine keeps them."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def masked(value: Any) -> Any:
    """Harness outputs as the pipeline prints them: every secret, at any depth, as "[secret]"."""
    if rpc.is_rpc_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def ok(outcome: Outcome[Pipeline], expected_exit: int = 0) -> dict[str, Any]:
    code, document = outcome.value
    assert code == expected_exit, f"exit {code}, expected {expected_exit}: {document.get('error')}"
    return document


# ------------------------------------------------------------------------------ preview + up


def counted(urns: dict[str, str]) -> int:
    """Resources the engine counts in its change summaries: all but its default providers."""
    return sum(1 for u in urns if not is_default_provider(u))


def test_preview_plans_every_resource_for_creation(lifecycle: Lifecycle) -> None:
    document = ok(lifecycle.preview)
    assert document["hasChanges"] is True
    assert document["changes"] == {"create": counted(lifecycle.urns.value)}


def test_up_registers_exactly_the_resources_the_mocks_record(lifecycle: Lifecycle, mocked: Program) -> None:
    document = ok(lifecycle.up)
    urns = lifecycle.urns.value
    assert document["changes"] == {"create": counted(urns)}
    engine_only = {u for u in urns if registered_by_the_engine(u)}
    assert {identity(u)[0] for u in engine_only} == {"pulumi:pulumi:Stack"}  # no tls provider: no key generated
    tree = {(identity(u), identity(parent)) for u, parent in urns.items() if u not in engine_only}
    assert len(tree) == len(urns) - len(engine_only)
    assert tree == {(identity(r.urn), identity(r.parent)) for r in mocked.resources}


def test_up_renders_every_kubernetes_object_as_the_mocks_record_it(lifecycle: Lifecycle, mocked: Program) -> None:
    ok(lifecycle.up)
    rendered = lifecycle.manifests.value
    expected = expected_objects(mocked)
    assert set(rendered) == set(expected)
    kinds = {key[1] for key in rendered}
    assert {
        "Deployment",
        "Service",
        "Gateway",
        "HTTPRoute",
        "AuthorizationPolicy",
        "RequestAuthentication",
        "PeerAuthentication",
        "Telemetry",
        "EnvoyFilter",
    } <= kinds
    for key, obj in rendered.items():
        if key != TLS_SECRET:  # its content comes from the TLS provider, below
            assert obj == expected[key], key


def test_rendered_manifests_pass_the_unit_tier_schema_checks(lifecycle: Lifecycle) -> None:
    rendered = lifecycle.manifests.value
    assert rendered
    failures: list[str] = []
    for obj in rendered.values():
        try:
            validate(obj)
        except SchemaError as err:
            failures.append(str(err))
    assert not failures


def test_no_private_key_is_written_to_the_rendered_files(lifecycle: Lifecycle) -> None:
    """`renderSecrets` is off: the gateway's TLS Secret is referenced by name, left to the user's tooling."""
    ok(lifecycle.up)
    assert TLS_SECRET not in lifecycle.manifests.value
    assert "Secret" not in {key[1] for key in lifecycle.manifests.value}
    texts = [json.dumps(obj) for obj in lifecycle.manifests.value.values()]  # every rendered file, as read
    assert texts and not [t for t in texts if "PRIVATE KEY" in t]
    gateway = next(obj for key, obj in lifecycle.manifests.value.items() if key[1] == "Gateway")
    refs = [
        c["name"]
        for listener in gateway["spec"]["listeners"]
        for c in listener.get("tls", {}).get("certificateRefs", [])
    ]
    assert refs == [TLS_SECRET[3]]


# ------------------------------------------------------------------------------ outputs


def test_stack_outputs_match_the_mocks(lifecycle: Lifecycle, mocked: Program) -> None:
    outputs = lifecycle.outputs.value  # Automation API: values, secrets decrypted
    assert without_nulls({name: o.value for name, o in outputs.items()}) == mocked.plain_outputs
    assert outputs["mesh"].value["render"]["eastWestGateway"] is None  # single cluster: no east-west gateway
    assert outputs["endpoints"].value == {"gateway-api": ""}  # rendered: no load balancer to read


def test_stack_outputs_keep_the_secrets_the_mocks_see(lifecycle: Lifecycle, mocked: Program) -> None:
    document = ok(lifecycle.masked_outputs)  # the pipeline reads state: nested secrets stay encrypted
    engine, expected = document["outputs"], masked(mocked.outputs)
    secret = {name for name, value in mocked.outputs.items() if list(secret_paths(value))}
    assert secret == {"kubeconfigs"}
    assert set(engine) == set(expected)
    for name in secret:  # the mocks lift the secret to the whole map, the engine keeps it per cluster
        assert set(leaves(engine[name])) == {"[secret]"}, name
        assert set(engine[name]) == set(mocked.plain_outputs[name]), name
    assert without_nulls({k: v for k, v in engine.items() if k not in secret}) == {
        k: v for k, v in expected.items() if k not in secret
    }


# ------------------------------------------------------------------------------ drift checks


def test_second_preview_reports_no_changes(lifecycle: Lifecycle) -> None:
    document = ok(lifecycle.unchanged)
    assert document["hasChanges"] is False
    assert set(document["changes"]) == {"same"}


def test_a_config_change_is_reported_as_changes(lifecycle: Lifecycle) -> None:
    document = ok(lifecycle.changed, expected_exit=3)
    assert document["hasChanges"] is True
    assert document["changes"].get("update") == 1  # only the EnvoyFilter's token bucket
    assert lifecycle.stack_file_kept


# ------------------------------------------------------------------------------ policy pack


def test_policy_pack_runs_and_passes_on_the_render_stack(lifecycle: Lifecycle) -> None:
    result = lifecycle.policy.value
    assert POLICY_PACK in result.stdout
    assert "mandatory" not in result.stdout.lower()


def test_policy_pack_rejects_a_gateway_in_istio_system(lifecycle: Lifecycle) -> None:
    document = ok(lifecycle.violation, expected_exit=1)
    violations = [d for d in document["diagnostics"] if d.get("policy") == VIOLATED_POLICY]
    assert violations, document["diagnostics"]
    assert {d["severity"] for d in violations} == {"mandatory"}
    assert all(
        d["urn"].endswith("gateway.networking.k8s.io/v1:Gateway::render-istio-system-meshgate") for d in violations
    )


# ------------------------------------------------------------------------------ teardown


def test_destroy_removes_every_resource_and_rendered_file(lifecycle: Lifecycle) -> None:
    document = ok(lifecycle.destroy)
    assert document["changes"] == {"delete": counted(lifecycle.urns.value)}
    files, urns = lifecycle.after_destroy.value
    assert files == []
    assert urns == {}


def test_the_destroyed_stack_can_be_removed(lifecycle: Lifecycle) -> None:
    assert STACK not in lifecycle.removed.value
