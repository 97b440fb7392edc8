"""Subprocess worker: evaluate one stack or synthetic point under mocks and print JSON timings.

`python bench/worker.py stack <name> [repeats]` or `python bench/worker.py synthetic <clusters> <apis> <mix> [repeats]`.
"""

from __future__ import annotations

import contextlib
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import config  # noqa: E402
from tests.harness import evaluate, evaluate_stack  # noqa: E402


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) so the peak covers evaluation, not the import spike."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def main(argv: list[str]) -> None:
    from stacks.sdk_overhead import relax_gc

    relax_gc()  # as the program's __main__ does
    _reset_peak()
    base_rss_kb = _status_kb("VmRSS")
    if argv[0] == "stack":
        repeats = int(argv[2]) if len(argv) > 2 else 1
        run = lambda: evaluate_stack(argv[1])  # noqa: E731
    else:
        clusters, apis, mix = int(argv[1]), int(argv[2]), argv[3]
        repeats = int(argv[4]) if len(argv) > 4 else 1
        cfg = config(clusters, apis, mix)
        run = lambda: evaluate(cfg)  # noqa: E731
    times: list[float] = []
    count = 0
    for _ in range(repeats):
        start = time.perf_counter()
        program = run()
        times.append(time.perf_counter() - start)
        count = len(program.resources)
    peak_kb = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "times_s": times,
                "median_s": statistics.median(times),
                "resources": count,
                "peak_rss_mb": peak_kb / 1024,
                "base_rss_mb": base_rss_kb / 1024,
                "eval_rss_mb": (peak_kb - base_rss_kb) / 1024,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
