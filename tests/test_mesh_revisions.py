"""Revision-based canary upgrades as plain config changes (issue 11 item 13).

Several istiod revisions run side by side (`meshgate:istio.revisions`), namespaces point at a
revision tag (`istio.io/rev: stable`), and an upgrade is four config changes, one `up` each:
add the new revision -> move the tag -> restart workloads -> remove the old revision. The tests
run every step through the real program under mocks and check on the recorded graph that no
step deletes an istiod that a tag, namespace or gateway still uses.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from harness import Program, Resource, evaluate, evaluate_stack, stack_config
from mesh_helpers import mesh_k8s, mesh_resources, objects, release
from schemas import validate_object

from stacks.config import ConfigError, parse_raw

OLD, NEW = "1.30.3", "1.31.0"

# The upgrade of a stack that runs the old default install (unrevisioned `istiod`).
LEGACY = {"version": OLD}
ADOPT = {"version": OLD, "revisions": [{"name": "default"}], "tags": {"stable": "default"}}
ADD = {
    "version": OLD,
    "revisions": [{"name": "default"}, {"name": "1-31-0", "version": NEW}],
    "tags": {"stable": "default", "canary": "1-31-0"},
}
MOVE = {**ADD, "tags": {"stable": "1-31-0", "canary": "1-31-0"}}
REMOVE = {"version": NEW, "revisions": [{"name": "1-31-0"}], "tags": {"stable": "1-31-0", "canary": "1-31-0"}}
STEPS = [LEGACY, ADOPT, ADD, MOVE, REMOVE]


def dev_with(istio: dict[str, Any]) -> Program:
    base = {k: v for k, v in stack_config("dev")["meshgate:istio"].items() if k != "version"}
    return evaluate_stack("dev", {"istio": {**base, **istio}})


@pytest.fixture(scope="module")
def steps() -> list[Program]:
    return [dev_with(step) for step in STEPS]


# ------------------------------------------------------------------ what the graph says is in use


def istiods(program: Program) -> dict[str, Resource]:
    """istiod releases by name (= the name of their Service)."""
    return {r.get("name"): r for r in program.releases() if r.get("chart") == "istiod"}


def tag_targets(program: Program) -> dict[str, str]:
    """Revision tag -> the istiod Service its injection webhooks call."""
    targets = {}
    for webhook in program.k8s_objects("MutatingWebhookConfiguration"):
        tag = (webhook.get("metadata.labels") or {}).get("istio.io/tag")
        services = {w["clientConfig"]["service"]["name"] for w in webhook.get("webhooks")}
        assert len(services) == 1
        targets[tag] = services.pop()
    return targets


def references(program: Program) -> set[str]:
    """Every `istio.io/rev` value (tag or revision) and `istio-injection` the graph uses."""
    refs: set[str] = set()
    for ns in program.k8s_objects("Namespace"):
        labels = ns.get("metadata.labels") or {}
        if "istio.io/rev" in labels:
            refs.add(labels["istio.io/rev"])
        elif labels.get("istio-injection") == "enabled":
            refs.add("default")
    for r in program.releases():
        if r.get("chart") == "gateway":
            refs.add(r.get("values").get("revision") or "default")
    base = next(r for r in program.releases() if r.get("chart") == "base")
    refs.add(base.get("values")["defaultRevision"])  # the default validating webhook's istiod
    return refs


def in_use(program: Program) -> set[str]:
    """istiod Services the graph routes injection or validation to."""
    tags = tag_targets(program)
    return {tags.get(ref) or (f"istiod-{ref}" if ref != "default" else "istiod") for ref in references(program)}


def deleted_in_use(before: Program, after: Program) -> set[str]:
    """istiods an `up` from `before` to `after` deletes although one of the two still uses them."""
    deleted = set(istiods(before)) - set(istiods(after))
    return deleted & (in_use(before) | in_use(after))


# ------------------------------------------------------------------ the upgrade sequence


def test_no_step_of_the_upgrade_deletes_an_istiod_in_use(steps: list[Program]) -> None:
    for before, after in zip(steps, steps[1:], strict=False):
        assert deleted_in_use(before, after) == set()
        assert in_use(after) <= set(istiods(after)), "every reference resolves to an installed istiod"


def test_the_check_catches_a_single_revision_switch() -> None:
    # The single-revision key replaces the serving istiod in one `up` (why `revisions` exists).
    before, after = dev_with({"version": OLD}), dev_with({"version": NEW, "revision": "1-31-0"})
    assert deleted_in_use(before, after) == {"istiod"}


def test_adopting_the_running_install_as_revision_default_replaces_nothing(steps: list[Program]) -> None:
    legacy, adopt = steps[0], steps[1]
    assert {r.urn for r in mesh_resources(legacy) if "istiod" in r.name} == {
        r.urn for r in mesh_resources(adopt) if r.type == "kubernetes:helm.sh/v3:Release" and "istiod" in r.name
    }
    assert istiods(adopt)["istiod"].plain == istiods(legacy)["istiod"].plain
    assert tag_targets(adopt) == {"stable": "istiod"}
    for ns in adopt.k8s_objects("Namespace"):
        labels = ns.get("metadata.labels") or {}
        assert labels.get("istio-injection") != "enabled"
        if ns.get("metadata.name") in ("shop", "meshgate-gateway"):
            assert labels["istio.io/rev"] == "stable"


def test_adding_a_revision_leaves_the_serving_istiod_alone(steps: list[Program]) -> None:
    adopt, add = steps[1], steps[2]
    assert istiods(add)["istiod"].plain == istiods(adopt)["istiod"].plain
    new = istiods(add)["istiod-1-31-0"]
    assert new.get("version") == NEW and new.get("values")["revision"] == "1-31-0"
    assert tag_targets(add) == {"stable": "istiod", "canary": "istiod-1-31-0"}
    base = release(add, "local", "base")
    assert base.get("version") == NEW  # CRDs first, as Istio's canary upgrade requires
    assert base.get("values")["defaultRevision"] == "default"
    assert add.depends_on(new, base)


def test_moving_the_tag_updates_one_webhook_in_place(steps: list[Program]) -> None:
    add, move = steps[2], steps[3]
    (before,) = [
        w
        for w in add.k8s_objects("MutatingWebhookConfiguration")
        if w.get("metadata.name") == "istio-revision-tag-stable"
    ]
    (after,) = [
        w
        for w in move.k8s_objects("MutatingWebhookConfiguration")
        if w.get("metadata.name") == "istio-revision-tag-stable"
    ]
    assert before.urn == after.urn  # an update, never delete + create: no moment without the webhook
    assert tag_targets(move)["stable"] == "istiod-1-31-0"
    assert after.get("metadata.labels")["istio.io/rev"] == "1-31-0"  # the new istiod patches its caBundle
    assert move.depends_on(after, istiods(move)["istiod-1-31-0"])
    assert release(move, "local", "base").get("values")["defaultRevision"] == "1-31-0"
    assert set(istiods(move)) == {"istiod", "istiod-1-31-0"}  # the old one still serves unrestarted pods


def test_removing_the_old_revision_deletes_only_its_istiod(steps: list[Program]) -> None:
    move, remove = steps[3], steps[4]
    gone = {r.urn for r in mesh_resources(move)} - {r.urn for r in mesh_resources(remove)}
    assert {u.rsplit("::", 1)[-1] for u in gone} == {"local-istiod"}


def test_tag_webhook_matches_the_charts_revision_tag_selectors(steps: list[Program]) -> None:
    (webhook,) = [
        w
        for w in steps[2].k8s_objects("MutatingWebhookConfiguration")
        if w.get("metadata.name") == "istio-revision-tag-canary"
    ]
    assert webhook.get("metadata.labels")["istio.io/tag"] == "canary"
    by_name = {w["name"]: w for w in webhook.get("webhooks")}
    assert set(by_name) == {"rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io"}
    ns_rule = by_name["rev.namespace.sidecar-injector.istio.io"]["namespaceSelector"]["matchExpressions"]
    assert {"key": "istio.io/rev", "operator": "In", "values": ["canary"]} in ns_rule
    for w in by_name.values():
        assert w["clientConfig"]["service"] == {
            "name": "istiod-1-31-0",
            "namespace": "istio-system",
            "path": "/inject",
            "port": 443,
        }
        assert w["failurePolicy"] == "Fail" and w["sideEffects"] == "None"
        assert "caBundle" not in w["clientConfig"]  # istiod patches it; Pulumi never sets it


def test_every_mesh_object_of_every_step_is_schema_valid(steps: list[Program]) -> None:
    for program in steps:
        for r in mesh_k8s(program):
            if r.type != "kubernetes:helm.sh/v3:Release":
                validate_object(r.plain)


def test_namespace_tags_send_one_namespace_to_the_canary() -> None:
    program = dev_with({**ADD, "namespaceTags": {"shop": "canary"}})
    labels = {ns.get("metadata.name"): ns.get("metadata.labels") or {} for ns in program.k8s_objects("Namespace")}
    assert labels["shop"]["istio.io/rev"] == "canary"
    assert labels["meshgate-gateway"]["istio.io/rev"] == "stable"


def test_gateways_follow_the_stable_tag(steps: list[Program]) -> None:
    for program, version in ((steps[2], OLD), (steps[3], NEW)):
        for r in program.releases():
            if r.get("chart") == "gateway":
                assert r.get("values")["revision"] == "stable" and r.get("version") == version


def test_outputs_list_revisions_and_tags(steps: list[Program]) -> None:
    out = steps[2].plain_outputs["mesh"]["local"]
    assert out["revisions"] == ["default", "1-31-0"]
    assert out["tags"] == {"stable": "default", "canary": "1-31-0"}
    assert "revisions default, 1-31-0; tags stable -> default, canary -> 1-31-0" in out["summary"]


def test_multicluster_installs_every_revision_in_every_cluster() -> None:
    prod = stack_config("prod")
    program = evaluate({**prod, "meshgate:istio": {**prod["meshgate:istio"], **ADD}})
    for cluster in ("aws-east", "gcp-central"):
        names = {r.get("metadata.name") for r in objects(program, cluster, "MutatingWebhookConfiguration")}
        assert names == {"istio-revision-tag-stable", "istio-revision-tag-canary"}


# ------------------------------------------------------------------ refused configs


def _raw(istio: dict[str, Any]) -> dict[str, Any]:
    config = stack_config("dev")
    return {**config, "meshgate:istio": {**config["meshgate:istio"], **istio}}


def test_removing_a_revision_a_tag_still_uses_names_the_namespaces() -> None:
    # Step 4 before step 2: `stable` (every namespace) still points at the removed revision.
    early = {**REMOVE, "tags": {"stable": "default", "canary": "1-31-0"}}
    with pytest.raises(ConfigError) as caught:
        parse_raw(_raw(early))
    message = str(caught.value)
    assert message.startswith(
        "meshgate:istio.tags.stable points at revision 'default', which is not in meshgate:istio.revisions"
    )
    assert "namespaces meshgate-gateway, shop use tag 'stable'" in message


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("revision-and-revisions", {**ADD, "revision": "canary"}, "meshgate:istio.revision"),
    (
        "duplicate-revision",
        {**ADD, "revisions": [{"name": "default"}, {"name": "default"}]},
        "meshgate:istio.revisions[1].name",
    ),
    ("no-stable-tag", {**ADD, "tags": {"canary": "1-31-0"}}, "meshgate:istio.tags"),
    (
        "tag-to-missing-revision",
        {**ADD, "tags": {"stable": "default", "canary": "1-32-0"}},
        "meshgate:istio.tags.canary",
    ),
    ("namespace-tag-unknown", {**ADD, "namespaceTags": {"shop": "beta"}}, "meshgate:istio.namespaceTags.shop"),
    ("tags-without-revisions", {"tags": {"stable": "default"}}, "meshgate:istio.tags"),
    ("revisions-not-installed", {**ADD, "install": False}, "meshgate:istio.revisions"),
    ("tag-named-default", {**ADD, "tags": {"stable": "default", "default": "1-31-0"}}, "meshgate:istio.tags.default"),
    (
        "revision-bad-version",
        {**ADD, "revisions": [{"name": "default", "version": "1.31"}]},
        "meshgate:istio.revisions[0].version",
    ),
]


@pytest.mark.parametrize(("istio", "key"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_revision_config_fails_before_any_resource(istio: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_raw(_raw(istio))
    assert str(caught.value).startswith(f"{key} "), str(caught.value)
    registered: list[Resource] = []
    with pytest.raises(pulumi.RunError) as run_error:
        evaluate(_raw(istio), stack="dev", record=registered)
    assert str(run_error.value).startswith(f"{key} ")
    assert registered == [], [r.name for r in registered]
