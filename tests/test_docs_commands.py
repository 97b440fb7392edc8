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
