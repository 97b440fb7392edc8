"""meshgate: read and validate the stack config, then build the platform it describes."""

import pulumi

from stacks.config import ConfigError, load
from stacks.platform import build

try:
    config = load()
except ConfigError as err:
    raise pulumi.RunError(str(err)) from None

build(config)
