"""The commands README and docs show work on the state the pipeline uses.

The pipeline keeps state in `.pulumi-state/` of the checkout; the plain `pulumi` CLI sees it only
after `eval "$(bash scripts/env.sh)"` (tests/test_deploy_script.py checks what that sets). So
every plain `pulumi ...` command in a code block must come after that line in its document.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from harness import ROOT

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
ENV_SETUP = 'eval "$(bash scripts/env.sh)"'


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) of every line inside a fenced code block."""
    found: list[tuple[int, str]] = []
    for block in re.finditer(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M):
        offset = block.start(1)
        for line in block.group(1).splitlines(keepends=True):
            found.append((offset, line.rstrip("\n")))
            offset += len(line)
    return found


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_plain_pulumi_commands_follow_the_shared_environment(doc: Path) -> None:
    text = doc.read_text()
    for offset, line in _code_lines(text):
        command = re.sub(r"^.*?&&\s*", "", line.strip()) if ENV_SETUP in line else line.strip()
        if re.match(r"pulumi\s+\w", command):
            setup = text.find(ENV_SETUP)
            assert 0 <= setup <= offset, f"{doc.name}: `{line.strip()}` without {ENV_SETUP} before it"


# --------------------------------------------------------------------------- the repository stands alone

FACTS = ROOT / "docs" / "upstream-facts.md"


def _tracked_text_files() -> list[Path]:
    import subprocess

    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.split()
    paths = [ROOT / p for p in listed] if listed else [p for p in ROOT.rglob("*") if ".venv" not in p.parts]
    return [p for p in paths if p.is_file() and p.suffix in {".py", ".md", ".sh", ".yaml", ".yml", ".txt", ".toml"}]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_no_reference_to_a_design_document_outside_the_repository() -> None:
    missing = "DESIGN" + ".md"
    offenders = [str(p.relative_to(ROOT)) for p in _tracked_text_files() if missing in p.read_text(errors="replace")]
    assert offenders == []


def test_every_upstream_facts_reference_names_an_existing_section() -> None:
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", FACTS.read_text(), re.M)}
    for path in _tracked_text_files():
        for anchor in re.findall(r"upstream-facts\.md#([a-z0-9_-]+)", path.read_text(errors="replace")):
            assert anchor in anchors, (str(path.relative_to(ROOT)), anchor)


@pytest.mark.parametrize(
    "doc", DOCS + [ROOT / "docs" / "ci-example.yml"], ids=[d.name for d in DOCS] + ["ci-example.yml"]
)
def test_a_drift_check_is_always_the_refresh_variant(doc: Path) -> None:
    """`--expect-no-changes` alone compares the program with the recorded state; only with
    `preview --refresh` does it see changes made outside Pulumi (drift)."""
    for line in doc.read_text().splitlines():
        if "--expect-no-changes" in line and "drift" in line.lower():
            assert "--refresh" in line, f"{doc.name}: {line.strip()}"


def test_the_cli_help_says_the_same() -> None:
    from stacks.pipeline.cli import build_parser

    text = build_parser().format_help()
    assert "drift only with preview --refresh" in text
