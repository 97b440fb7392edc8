"""The pipeline driver: `python -m stacks.pipeline <command> --stack S` on the Pulumi Automation API.

Modules, one concern each:
`cli` (arguments, the command flow, exit codes), `overrides` (`--config key=value` paths),
`engine` (the automation calls, behind the small `StackOps` interface), `destroy_plan`
(which resources go first on destroy), `progress` (live display from engine events),
`report` (summary, JSON document, secret masking) and `diagram` (traffic paths as
Mermaid/Graphviz). See docs/pipeline.md.
"""

from stacks.pipeline.cli import main

__all__ = ["main"]
