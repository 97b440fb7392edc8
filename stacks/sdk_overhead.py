"""One per-resource cost of the Pulumi Python SDK that a large catalogue pays and nobody reads.

For every resource the SDK walks the Python stack (`traceback.extract_stack`, which reads the
source line of every frame and turns every file name into a URI) to send the engine a stack
trace and the position of the line that created the resource; the engine keeps the position in
the state (`sourcePosition`) to point at that line in diagnostics. Profiled under the real engine
on a 1,000-API render stack (2,042 resources, first preview), the walk is ~8 % of the program's
CPU time (docs/performance.md, "Where a preview's time goes").

`reduce()` sends an empty stack trace instead. Set `MESHGATE_SDK_DIAGNOSTICS=1` to keep the
SDK's behaviour, e.g. when a resource error should name the line that created the resource.
The hook is a private SDK name, checked against the pinned SDK by tests/test_sdk_overhead.py;
if a future SDK renames it, `reduce()` leaves the SDK as it is and says so.

The SDK's other per-resource cost, four DEBUG `log.debug` messages per registration (each a
blocking round trip to the engine's `Log` service), is deliberately left alone: dropping them
was measured to make the preview *slower* (program CPU 13 s -> 35-39 s): without the round
trips pacing the event loop, the SDK's `wait_for_rpcs` re-waits on every pending output after
each completion (`asyncio.wait(..., FIRST_COMPLETED)`), which grows with the square of the
outputs in flight.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import pulumi
from pulumi.runtime.proto import source_pb2

KEEP = "MESHGATE_SDK_DIAGNOSTICS"
_sdk_stack_trace: Callable[[], source_pb2.StackTrace] | None = None


def _empty_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def reduce(environ: Mapping[str, str] = os.environ) -> bool:
    """Skip the SDK's per-resource stack walk for this program run; False when it is kept."""
    if environ.get(KEEP, "").lower() in ("1", "true", "yes"):
        return False
    from pulumi.runtime import resource as sdk_resource

    if not callable(getattr(sdk_resource, "_get_stack_trace", None)):
        pulumi.log.info(f"meshgate: the Pulumi SDK changed; its per-resource stack walk is kept ({KEEP})")
        return False
    global _sdk_stack_trace
    if _sdk_stack_trace is None:
        _sdk_stack_trace = sdk_resource._get_stack_trace  # pyright: ignore[reportPrivateUsage]
    sdk_resource._get_stack_trace = _empty_stack_trace  # pyright: ignore[reportPrivateUsage]
    return True


def sdk_stack_trace() -> Callable[[], source_pb2.StackTrace]:
    """The SDK's own stack walk, also after `reduce()` replaced it in this process."""
    from pulumi.runtime import resource as sdk_resource

    return _sdk_stack_trace or sdk_resource._get_stack_trace  # pyright: ignore[reportPrivateUsage]
