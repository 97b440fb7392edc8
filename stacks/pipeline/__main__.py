"""`python -m stacks.pipeline ...`: see `stacks.pipeline.cli`."""

from stacks.pipeline.cli import main

raise SystemExit(main())
