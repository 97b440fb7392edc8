"""meshgate: read and validate the stack config, then build the platform it describes."""

import pulumi

from stacks.config import ConfigError, load
from stacks.config_rules import warnings
from stacks.platform import build
from stacks.sdk_overhead import reduce as reduce_sdk_overhead
from stacks.sdk_overhead import relax_gc

relax_gc()
reduce_sdk_overhead()

try:
    config = load()
except ConfigError as err:
    raise pulumi.RunError(str(err)) from None

for warning in warnings(config):
    pulumi.log.warn(warning)
build(config)
