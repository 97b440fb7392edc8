"""Costs of the Pulumi Python SDK that grow with the catalogue: the garbage collector's scans, and a
per-resource stack walk nobody reads.

**Garbage collection.** The SDK keeps every resource's outputs, futures and callbacks alive to the
end of the run (tens of objects per resource), and CPython's cyclic collector, at its default
thresholds (700, 10, 10), scans the young objects every 700 allocations and the older generations
every 10 of those, so the work per collection grows with the heap. `relax_gc()` raises the
thresholds to `GC_THRESHOLDS`; measured through the real engine (1,000 APIs, 2,042 resources,
first preview, `pulumi` CLI, alternating runs): program CPU 15.6-16.1 s with the defaults,
10.0-13.5 s with these thresholds, preview 24.8-25.1 s -> 18.6-23.3 s. Cycles are still collected,
only less often.

**Stack walk.**
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

import gc
import os
from collections.abc import Callable, Mapping

import pulumi
from pulumi.runtime.proto import source_pb2

KEEP = "MESHGATE_SDK_DIAGNOSTICS"
GC_THRESHOLDS = (50_000, 50, 1_000)
"""Collect the youngest generation every 50,000 net allocations, the middle one every 50 of those, the
oldest every 1,000 of those (CPython also skips a full collection while few long-lived objects are new)."""
_sdk_stack_trace: Callable[[], source_pb2.StackTrace] | None = None


def relax_gc() -> None:
    """Run the cyclic garbage collector less often for this program run (`GC_THRESHOLDS`)."""
    gc.set_threshold(*GC_THRESHOLDS)


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
