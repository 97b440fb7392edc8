"""Two per-resource costs of the Pulumi Python SDK that a large catalogue pays and nobody reads.

Measured through the real engine on a 1,000-API render stack (2,537 resources, first preview,
docs/performance.md "Where a preview's time goes"):

- **Debug log round trips.** `register_resource` sends four `log.debug` messages per resource
  ("registering resource", "prepared", ...), each a *blocking* gRPC call to the engine's `Log`
  service (10,177 calls), which the engine then filters and drops unless the CLI runs with
  `--debug`/`-v`. Upstream trimmed these once (pulumi/pulumi#7295, "Reduce log.debug calls for
  improved performance"); the remaining four still cost the program's only thread the round trip.
- **Source positions.** For every resource the SDK walks the Python stack
  (`traceback.extract_stack`, reading source lines) to send the engine a stack trace and the
  position of the line that created the resource, which the engine stores in the state and uses
  to point at that line in diagnostics.

`reduce()` drops DEBUG-severity messages before they are sent (info, warnings and errors pass
unchanged) and sends an empty stack trace. Set `MESHGATE_SDK_DIAGNOSTICS=1` to keep both, e.g.
while debugging with `pulumi up --debug` or when a resource error should name its source line.
Both hooks are private SDK names, checked against the pinned SDK by tests/test_sdk_overhead.py;
if a future SDK renames them, `reduce()` leaves the SDK as it is and says so.
"""

from __future__ import annotations

import os
from typing import Any

import pulumi
from pulumi.runtime import settings as sdk_settings
from pulumi.runtime.proto import engine_pb2, source_pb2

KEEP = "MESHGATE_SDK_DIAGNOSTICS"


class _NoDebugEngine:
    """The engine stub with DEBUG-severity `Log` calls dropped; everything else is passed through."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def Log(self, request: engine_pb2.LogRequest, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (gRPC name)
        if request.severity == engine_pb2.DEBUG:
            return None
        return self._inner.Log(request, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _empty_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def reduce(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Drop the SDK's debug log round trips and stack walks for this program run; False when kept."""
    if environ.get(KEEP, "").lower() in ("1", "true", "yes"):
        return False
    from pulumi.runtime import resource as sdk_resource

    engine = sdk_settings.get_engine()
    if not hasattr(sdk_resource, "_get_stack_trace") or engine is None:
        pulumi.log.info(f"meshgate: the Pulumi SDK changed; its per-resource diagnostics are kept ({KEEP})")
        return False
    if not isinstance(engine, _NoDebugEngine):
        settings: Any = sdk_settings.SETTINGS  # a context property the SDK's stubs type loosely
        settings.engine = _NoDebugEngine(engine)
    sdk_resource._get_stack_trace = _empty_stack_trace  # pyright: ignore[reportPrivateUsage]
    return True
