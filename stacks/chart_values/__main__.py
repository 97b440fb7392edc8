"""`python -m stacks.chart_values record CHART VERSION VALUES_YAML --source URL ...`: write
stacks/chart_values/<chart>-<version>.json from a chart's values.yaml (see the package docstring)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from stacks.chart_values import record


def _pairs(items: Sequence[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise SystemExit(f"{option} takes KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.chart_values", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="record the value paths of one chart version")
    rec.add_argument("chart")
    rec.add_argument("version")
    rec.add_argument("values_yaml", type=Path, help="the chart's values.yaml at exactly that version")
    rec.add_argument("--source", required=True, help="URL of that values.yaml (tag or commit)")
    rec.add_argument("--strip", action="append", default=[], help="wrapper key set at the top level")
    rec.add_argument("--open", action="append", default=[], help="PATH=REASON: free-form below PATH")
    rec.add_argument("--path", action="append", default=[], help="PATH=REASON: read by a template only")
    rec.add_argument("--subchart", action="append", default=[], help="KEY=CHART-VERSION (dependency alias)")
    args = parser.parse_args(argv)
    values = yaml.safe_load(args.values_yaml.read_text()) or {}
    chart = record(
        args.chart,
        args.version,
        values,
        args.source,
        tuple(args.strip),
        _pairs(args.open, "--open"),
        _pairs(args.subchart, "--subchart"),
        _pairs(args.path, "--path"),
    )
    chart.file.write_text(json.dumps(chart.as_json(), indent=1) + "\n")
    print(f"{chart.file}: {len(chart.paths)} paths, {len(chart.open)} open", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
