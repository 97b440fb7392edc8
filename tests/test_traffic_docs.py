"""docs/traffic.md and the README's per-scenario traffic lines are generated from the stacks: in sync."""

from __future__ import annotations

from harness import ROOT

from stacks.config import Scenario
from stacks.traffic import report


def test_traffic_matrix_docs_and_readme_lines_are_current() -> None:
    text, lines = report.render()
    assert (ROOT / "docs" / "traffic.md").read_text() == text, "run: python -m stacks.traffic.report"
    readme = (ROOT / "README.md").read_text()
    assert report.with_summaries(readme, lines) == readme, "run: python -m stacks.traffic.report"
    assert set(lines) == set(Scenario), "one summary line per scenario"
    for stack, _ in report.examples():
        assert f"## `{stack}`" in text


def test_summary_links_point_at_headings_of_the_doc() -> None:
    text, lines = report.render()
    anchors = {report.anchor(line[3:]) for line in text.splitlines() if line.startswith("## ")}
    for line in lines.values():
        target = line.split("(docs/traffic.md#", 1)[1].split(")", 1)[0]
        assert target in anchors, target
