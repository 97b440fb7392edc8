"""The README's generated parts (config reference, traffic diagrams) match the code."""

from __future__ import annotations

import re

from harness import ROOT

from stacks.config_reference import render

README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None
    lines = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert lines[:2] == ["scripts/deploy.sh dev", "scripts/test.sh"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci


def test_config_reference_is_current() -> None:
    section = README.split("<!-- config-reference:start -->\n", 1)[1].split("<!-- config-reference:end -->", 1)[0]
    assert section == render(), "run: python -m stacks.config_reference and paste into README.md"


def test_readme_embeds_the_generated_diagrams() -> None:
    for name in ("external-gateway", "in-cluster-gateway", "in-cluster-gateway-mesh", "gateway-api"):
        generated = (ROOT / "docs" / "diagrams" / f"{name}.md").read_text()
        block = re.search(r"```mermaid\n.*?```\n", generated, re.S)
        assert block is not None and block.group(0) in README, name
