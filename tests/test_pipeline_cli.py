"""The pipeline command end to end with a fake automation stack: parsing, exit codes, JSON shape, masking,
destroy phases."""

from __future__ import annotations

from pathlib import Path

import pytest
from deployment_fixtures import EW_RELEASE, KONG, NLB
from engine_events import NS_TYPE, NS_URN, SA_TYPE, SA_URN, Events
from fake_automation import (
    DEPLOYMENT,
    FakeStack,
    Run,
    command_error,
    envelope,
)
from pulumi.automation import (
    OutputValue,
)

from stacks.pipeline import engine
from stacks.pipeline.cli import build_parser
from stacks.pipeline.destroy_plan import plan_destroy
from stacks.pipeline.report import SECRET, ExitCode, has_changes, mask

# --------------------------------------------------------------------------- parsing and usage


def test_parser_collects_repeatable_options() -> None:
    args = build_parser().parse_args(
        ["preview", "--stack", "prod", "-c", "a=1", "--config", "b=2", "--json", "--expect-no-changes",
         "--policy-pack", "policy", "--target", "urn:a", "-t", "urn:b"]
    )  # fmt: skip
    assert (args.command, args.stack, args.config, args.json) == ("preview", "prod", ["a=1", "b=2"], True)
    assert (args.expect_no_changes, args.policy_pack, args.target) == (True, ["policy"], ["urn:a", "urn:b"])
    up = build_parser().parse_args(["up", "-s", "dev", "--yes"])
    assert up.yes and up.policy_pack == [] and up.target == []


def test_help_documents_exit_codes() -> None:
    text = build_parser().format_help()
    for line in (
        "0  success",
        "1  engine or deployment failure",
        "2  bad usage, bad stack config",
        "3  --expect-no-changes",
    ):
        assert line in text
    assert "3  --expect-no-changes" in build_parser()._subparsers._group_actions[0].choices["preview"].format_help()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["deploy", "--stack", "dev"],
        ["preview"],  # --stack is required
        ["destroy", "--stack", "dev", "--expect-no-changes"],  # not a destroy option
        ["refresh", "--stack", "dev", "--policy-pack", "policy"],  # refresh runs no policies
        ["preview", "--stack", "dev", "--yes"],
        ["outputs", "--stack", "dev", "--bogus"],
    ],
)
def test_usage_errors_exit_2_without_touching_the_engine(argv: list[str]) -> None:
    human = Run(argv)
    assert human.code == ExitCode.USAGE == 2
    assert human.stdout == "" and "usage: python -m stacks.pipeline" in human.stderr and "error:" in human.stderr
    machine = Run([*argv, "--json"])
    assert machine.code == 2 and machine.document["error"]["kind"] == "usage" and machine.document["exitCode"] == 2
    assert machine.stderr == ""
    assert human.opened == machine.opened == []


def test_bad_config_exits_2_with_one_line_naming_the_key() -> None:
    argv = ["preview", "--stack", "prod", "--config", "meshgate:clusters[1].vpcCidr=10.10.0.0/16"]
    run = Run(argv)
    assert run.code == 2 and run.opened == [] and run.stdout == ""
    assert run.stderr.splitlines() == [
        "error: meshgate:clusters[1].vpcCidr overlaps meshgate:clusters[0].vpcCidr (10.10.0.0/16)"
    ]
    machine = Run([*argv, "--json"])
    assert machine.code == 2 and machine.opened == [] and machine.stderr == ""
    doc = machine.document
    assert doc["ok"] is False and doc["exitCode"] == 2 and doc["command"] == "preview" and doc["stack"] == "prod"
    assert doc["error"] == {
        "kind": "config",
        "message": "meshgate:clusters[1].vpcCidr overlaps meshgate:clusters[0].vpcCidr (10.10.0.0/16)",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--stack", "staging", "--yes", "-c", "meshgate:scenario=9"], "meshgate:scenario must be one of"),
        (["preview", "--stack", "nope"], "Pulumi.nope.yaml not found"),
        (["preview", "--stack", "dev", "-c", "meshgate:apis[9].name=x"], "index 9 is out of range"),
        (["destroy", "--stack", "dev", "--yes", "-c", "istio.multicluster=true"], "needs at least two clusters"),
    ],
)
def test_config_problems_of_every_kind_exit_2(argv: list[str], message: str) -> None:
    run = Run([*argv, "--json"])
    assert run.code == 2 and run.opened == []
    assert run.document["error"]["kind"] == "config" and message in run.document["error"]["message"]


def test_missing_passphrase_exits_2_before_the_engine() -> None:
    run = Run(["preview", "--stack", "dev", "--json"], environ={})
    assert run.code == 2 and run.opened == []
    assert run.document["error"]["kind"] == "setup" and "PULUMI_CONFIG_PASSPHRASE" in run.document["error"]["message"]


def test_engine_environment() -> None:
    local = engine.engine_environment({"PULUMI_CONFIG_PASSPHRASE": ""})
    assert local == {
        "PULUMI_BACKEND_URL": f"file://{engine.DEFAULT_STATE_DIR}",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_CONFIG_PASSPHRASE": "",
    }
    assert Path(__file__).resolve().parent.parent / ".pulumi-state" == engine.DEFAULT_STATE_DIR
    s3 = engine.engine_environment(
        {"PULUMI_BACKEND_URL": "s3://bucket/state", "PULUMI_CONFIG_PASSPHRASE_FILE": "/run/pp"}
    )
    assert s3["PULUMI_BACKEND_URL"] == "s3://bucket/state" and s3["PULUMI_CONFIG_PASSPHRASE_FILE"] == "/run/pp"
    cloud = engine.engine_environment({"PULUMI_BACKEND_URL": "https://api.pulumi.com"})  # secrets by the service
    assert "PULUMI_CONFIG_PASSPHRASE" not in cloud
    for missing in ({}, {"PULUMI_BACKEND_URL": "file:///tmp/x"}, {"PULUMI_CONFIG_PASSPHRASE_FILE": ""}):
        with pytest.raises(engine.SetupError, match="PULUMI_CONFIG_PASSPHRASE"):
            engine.engine_environment(missing)


def test_missing_pulumi_cli_is_a_setup_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    state = tmp_path / "state"
    with pytest.raises(engine.SetupError, match="Pulumi CLI was not found"):
        engine.open_stack("dev", {"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": ""}, True)
    assert state.is_dir()  # the file backend's directory is created first


# --------------------------------------------------------------------------- preview / up / refresh


def test_preview_json_is_one_document_with_changes_outputs_and_diagnostics() -> None:
    e = Events()
    events = [
        e.pre("create", NS_URN, NS_TYPE),
        e.outputs("create", NS_URN, NS_TYPE),
        e.diagnostic("warning", "deprecated field"),
    ]
    stack = FakeStack(changes={"create": 3, "same": 40}, events=events)
    run = Run(
        ["preview", "--stack", "dev", "--json", "-c", "meshgate:istio.version=1.24.3", "--target", "urn:x"], stack
    )
    assert run.code == 0 and run.stderr == ""  # progress is suppressed in JSON mode
    doc = run.document
    assert set(doc) >= {
        "command",
        "stack",
        "ok",
        "exitCode",
        "error",
        "changes",
        "hasChanges",
        "phases",
        "outputs",
        "diagnostics",
    }
    assert (doc["command"], doc["stack"], doc["ok"], doc["exitCode"], doc["error"]) == ("preview", "dev", True, 0, None)
    assert doc["changes"] == {"create": 3, "same": 40} and doc["hasChanges"] is True
    assert doc["diagnostics"] == [{"severity": "warning", "message": "deprecated field"}]
    assert doc["outputs"] is None  # a preview changes no outputs; `outputs` shows the current ones
    assert run.opened == [("dev", run.opened[0][1], True)] and run.opened[0][1]["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert stack.config == [("meshgate:istio.version", "1.24.3", False, True)]  # set with path=True
    assert stack.calls == [("preview", {"target": ["urn:x"], "policy_packs": None, "refresh": None, "color": "never"})]


def test_drift_check_previews_with_refresh() -> None:
    stack = FakeStack(changes={"same": 30, "update": 1})
    run = Run(["preview", "--stack", "prod", "--refresh", "--expect-no-changes", "--json"], stack)
    assert run.code == 3 and stack.calls[0][1]["refresh"] is True


def test_policy_packs_are_passed_as_absolute_directories() -> None:
    stack = FakeStack()
    run = Run(["preview", "--stack", "dev", "--json", "--policy-pack", "policy"], stack)
    assert run.code == 0
    assert stack.calls[0][1]["policy_packs"] == [str(Path(__file__).resolve().parent.parent / "policy")]
    missing = Run(["preview", "--stack", "dev", "--json", "--policy-pack", "no-such-dir"])
    assert missing.code == 2 and "PulumiPolicy.yaml" in missing.document["error"]["message"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"same": 40}, 0),
        ({"same": 40, "read": 2}, 0),  # reads (Resource.get) are not changes, as for the engine
        ({"same": 40, "update": 1}, 3),
        ({"delete": 1}, 3),
        ({"same": 39, "replace": 1}, 3),
    ],
)
def test_preview_expect_no_changes_exit_codes(changes: dict[str, int], code: int) -> None:
    run = Run(["preview", "--stack", "dev", "--json", "--expect-no-changes"], FakeStack(changes=changes))
    assert run.code == code
    assert run.document["hasChanges"] is (code == 3)
    if code == 3:
        assert run.document["error"]["kind"] == "changes" and "--expect-no-changes" in run.document["error"]["message"]


def test_up_requires_yes_without_a_terminal_and_in_json_mode() -> None:
    for argv in (
        ["up", "--stack", "dev"],
        ["up", "--stack", "dev", "--json"],
        ["destroy", "--stack", "dev"],
        ["refresh", "--stack", "dev"],
    ):
        run = Run(argv)
        assert run.code == 2 and run.opened == []
        assert "--yes" in (run.document["error"]["message"] if "--json" in argv else run.stderr)


def test_up_human_mode_shows_progress_summary_and_masked_outputs_on_stderr_only() -> None:
    e = Events()
    events = [
        e.pre("create", NS_URN, NS_TYPE),
        e.outputs("create", NS_URN, NS_TYPE),
        e.summary({"create": 1, "same": 5}, 90),
    ]
    stack = FakeStack(changes={"create": 1, "same": 5}, events=events)
    run = Run(["up", "--stack", "dev", "--yes"], stack)
    assert run.code == 0 and run.stdout == ""
    assert "created kubernetes:core/v1:Namespace local-istio-system (1/1)" in run.stderr
    assert "Changes" in run.stderr and "create" in run.stderr and "Outputs" in run.stderr
    assert "[secret]" in run.stderr and "local-net" in run.stderr
    assert "s3cr3t" not in run.stderr and "v1:AAAA" not in run.stderr
    assert stack.calls == [("up", {"target": None, "policy_packs": None, "expect_no_changes": None, "color": "never"})]


def test_up_with_expect_no_changes_refused_by_the_engine_exits_3() -> None:
    e = Events()
    stack = FakeStack(
        events=[e.summary({"update": 2, "same": 9}, 4)],
        error=command_error("error: no changes were expected but changes occurred"),
    )
    run = Run(["up", "--stack", "dev", "--yes", "--json", "--expect-no-changes"], stack)
    assert run.code == 3
    assert stack.calls[0][1]["expect_no_changes"] is True
    assert run.document["changes"] == {"update": 2, "same": 9}
    assert run.document["error"]["kind"] == "changes"


def test_refresh_with_drift_exits_3() -> None:
    run = Run(
        ["refresh", "--stack", "dev", "--yes", "--json", "--expect-no-changes"],
        FakeStack(changes={"same": 8, "update": 1}),
    )
    assert run.code == 3 and run.document["phases"][0]["name"] == "refresh"
    clean = Run(["refresh", "--stack", "dev", "--yes", "--json", "--expect-no-changes"], FakeStack(changes={"same": 9}))
    assert clean.code == 0


def test_engine_failure_exits_1_with_the_error_and_the_diagnostics() -> None:
    e = Events()
    events = [
        e.pre("create", SA_URN, SA_TYPE),
        e.failed("create", SA_URN, SA_TYPE),
        e.diagnostic("error", "serviceaccounts is forbidden", SA_URN),
    ]
    error = command_error(
        "kubernetes:core/v1:ServiceAccount orders-sa  error: serviceaccounts is forbidden\n"
        "error: serviceaccounts is forbidden\nerror: update failed\n"
    )
    stack = FakeStack(events=events, error=error)
    run = Run(["up", "--stack", "dev", "--yes", "--json"], stack)
    assert run.code == ExitCode.FAILED == 1
    doc = run.document
    assert doc["error"] == {"kind": "engine", "message": "serviceaccounts is forbidden\nupdate failed"}
    assert doc["diagnostics"] == [{"severity": "error", "message": "serviceaccounts is forbidden", "urn": SA_URN}]
    human = Run(["up", "--stack", "dev", "--yes"], FakeStack(events=events, error=error))
    assert human.code == 1
    assert f"FAILED to create {SA_TYPE} orders-sa" in human.stderr
    assert "error: serviceaccounts is forbidden" in human.stderr


def test_interactive_up_previews_then_asks() -> None:
    questions: list[str] = []

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    stack = FakeStack(changes={"create": 2})
    run = Run(["up", "--stack", "dev"], stack, confirm=decline)
    assert run.code == 1 and "confirmation declined" in run.stderr
    assert [c for c, _ in stack.calls] == ["preview"] and questions == ["Do you want to perform this update?"]
    accepted = Run(["up", "--stack", "dev"], FakeStack(changes={"create": 2}), confirm=lambda _: True)
    assert accepted.code == 0 and accepted.commands == ["preview", "up"]


# --------------------------------------------------------------------------- outputs and masking


def test_outputs_masks_secrets_at_any_depth() -> None:
    run = Run(["outputs", "--stack", "dev", "--json"])
    assert run.code == 0 and run.opened[0][2] is False  # outputs never creates a stack
    assert run.document["outputs"] == {
        "scenario": "in-cluster-gateway-mesh",
        "clusters": {"local": {"cloud": "local", "network": "local-net"}},
        "kubeconfigs": {"local": SECRET},
        "adminToken": SECRET,
    }
    assert "v1:AAAA" not in run.stdout and run.stack.calls == [] and run.stack.config == []
    human = Run(["outputs", "--stack", "dev"])
    assert "adminToken" in human.stdout and "[secret]" in human.stdout and "v1:BBBB" not in human.stdout


def test_mask_handles_output_values_and_state_envelopes() -> None:
    value = {
        "a": OutputValue("visible", False),
        "b": OutputValue({"nested": "x"}, True),
        "c": [envelope("v1:x"), {"d": envelope("v1:y"), "e": 1}],
        "f": OutputValue({"g": envelope("v1:z")}, False),
    }
    assert mask(value) == {"a": "visible", "b": SECRET, "c": [SECRET, {"d": SECRET, "e": 1}], "f": {"g": SECRET}}


def test_has_changes() -> None:
    assert not has_changes({}) and not has_changes({"same": 3, "read": 1, "discard": 1, "read-replacement": 1})
    assert has_changes({"create-replacement": 1}) and has_changes({"refresh": 0, "update": 1})


# --------------------------------------------------------------------------- destroy


def test_destroy_runs_the_gateway_layer_first_then_the_rest() -> None:
    stack = FakeStack(resources=[dict(r) for r in DEPLOYMENT[1:]])
    plan = plan_destroy(DEPLOYMENT)
    run = Run(["destroy", "--stack", "dev", "--yes", "--json"], stack)
    assert run.code == 0, run.stdout
    assert run.opened[0][2] is False  # destroy never creates a stack
    (first_name, first), (second_name, second) = stack.calls
    assert first_name == second_name == "destroy"
    assert first["target"] == list(plan.first) and first["target_dependents"] is True
    assert {KONG["urn"], EW_RELEASE["urn"], NLB["urn"]} <= set(first["target"])
    assert second["target"] is None
    doc = run.document
    assert [p["name"] for p in doc["phases"]] == ["gateway layer", "rest"]
    assert doc["phases"][0]["targets"] == len(plan.first) and doc["phases"][1]["targets"] == len(plan.remaining)
    assert [f["urn"] for f in doc["destroyPlan"]["firstPhase"]] == list(plan.first)
    assert doc["destroyPlan"]["protected"] == doc["destroyPlan"]["blockers"] == []
    assert doc["changes"] == {"delete": len(DEPLOYMENT)}  # phase 1's "same" (the rest, still there) is not summed
    assert doc["outputs"] == {}


def test_destroy_stops_if_the_gateway_layer_is_still_there() -> None:
    stack = FakeStack(resources=[dict(r) for r in DEPLOYMENT[1:]], keep_on_destroy=(NLB["urn"],))
    run = Run(["destroy", "--stack", "dev", "--yes", "--json"], stack)
    assert run.code == 1 and len(stack.calls) == 1  # phase 2 never ran
    assert "ingress-nlb" in run.document["error"]["message"] and "network" in run.document["error"]["message"]


def test_destroy_with_targets_is_one_targeted_phase() -> None:
    stack = FakeStack(resources=[dict(r) for r in DEPLOYMENT[1:]])
    run = Run(["destroy", "--stack", "dev", "--yes", "--json", "--target", KONG["urn"]], stack)
    assert run.code == 0
    assert stack.calls == [("destroy", {"target": [KONG["urn"]], "target_dependents": True, "color": "never"})]
    assert "destroyPlan" not in run.document


def test_interactive_destroy_shows_the_plan_before_asking() -> None:
    stack = FakeStack(resources=[dict(r) for r in DEPLOYMENT[1:]])
    run = Run(["destroy", "--stack", "dev"], stack, confirm=lambda _: False)
    plan = plan_destroy(DEPLOYMENT)
    assert run.code == 1 and stack.calls == []
    assert f"phase 1 deletes {len(plan.first)} gateway-layer resource(s)" in run.stderr
    assert "protected" not in run.stderr


def test_interrupt_is_reported_not_a_traceback() -> None:
    run = Run(["up", "--stack", "dev", "--yes", "--json"], FakeStack(error=KeyboardInterrupt()))  # type: ignore[arg-type]
    assert run.code == 1 and run.document["error"]["kind"] == "interrupted"
    assert run.document["recovery"] == ["python -m stacks.pipeline up --stack dev --yes"]


# --------------------------------------------------------------------------- diagram through the command


def test_diagram_json_has_the_model_and_the_mermaid_text() -> None:
    run = Run(["diagram", "--stack", "dev", "--json"], environ={})  # no engine, no passphrase needed
    assert run.code == 0 and run.opened == []
    doc = run.document
    assert doc["diagram"]["scenario"] == "in-cluster-gateway-mesh"
    assert {n["id"] for n in doc["diagram"]["nodes"]} >= {"client", "kong", "kong_sidecar"}
    assert doc["mermaid"].startswith("flowchart LR\n")
    human = Run(["diagram", "--stack", "dev", "--format", "dot"], environ={})
    assert human.stdout.startswith("digraph ") and human.stderr == ""


def test_diagram_usage_and_setup_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Run(["diagram"]).code == 2
    assert Run(["diagram", "--stack", "dev", "--format", "png"]).code == 2  # binary needs --output
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = Run(["diagram", "--stack", "dev", "--format", "svg", "--output", str(tmp_path / "d.svg"), "--json"])
    assert missing.code == 2 and "Graphviz" in missing.document["error"]["message"]


def test_diagram_all_writes_the_four_docs_pages(tmp_path: Path) -> None:
    run = Run(["diagram", "--all", "--output", str(tmp_path), "--json"], environ={})
    assert run.code == 0
    written = sorted(Path(p).name for p in run.document["written"])
    assert written == ["external-gateway.md", "gateway-api.md", "in-cluster-gateway-mesh.md", "in-cluster-gateway.md"]
    assert "```mermaid\nflowchart LR" in (tmp_path / "gateway-api.md").read_text()
    assert Run(["diagram", "--all", "--stack", "dev"]).code == 2


# --------------------------------------------------------------------------- the documented command lines


def documented_command_lines() -> list[tuple[str, list[str]]]:
    """Every `stacks.pipeline` invocation in docs/pipeline.md and docs/ci-example.yml, as argv."""
    import re
    import shlex

    docs = Path(__file__).resolve().parent.parent / "docs"
    found: list[tuple[str, list[str]]] = []
    for name in ("pipeline.md", "ci-example.yml"):
        for line in (docs / name).read_text().splitlines():
            if "stacks.pipeline " not in line or line.lstrip().startswith("#") or "<command>" in line:
                continue
            line = re.sub(r"\$\{\{[^}]*\}\}|\"\$STACK\"|<stack>", "staging", line)
            words = shlex.split(line.split("stacks.pipeline ", 1)[1].split("|")[0].split(">")[0], comments=True)
            found.append((name, words))
    return found


def test_documented_command_lines_parse() -> None:
    lines = documented_command_lines()
    assert {words[0] for _, words in lines} >= {"preview", "up", "diagram", "outputs"}
    assert any(
        "--expect-no-changes" in words and "--refresh" in words for name, words in lines if name == "ci-example.yml"
    )
    for _, words in lines:
        build_parser().parse_args(words)  # raises UsageError on anything undocumented
