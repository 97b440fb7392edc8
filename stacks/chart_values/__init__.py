"""The value paths each pinned Helm chart accepts, recorded from the chart's own values.yaml.

Helm ignores a value the chart does not read, so a misspelled key fails silently. Each chart
version meshgate installs has a data file here, `<chart>-<version>.json`, recorded from that
version's values.yaml (and, where values.yaml is not exhaustive, its templates) with the source
it came from. `tests/test_chart_values.py` fails when the program sets a value path the pinned
chart does not have, and when a Release pins a chart version that has no file here.

Add or refresh a file (docs/versions.md, "Chart values"):

    python -m stacks.chart_values record CHART VERSION path/to/values.yaml --source URL \\
        [--strip _internal_defaults_do_not_set] [--open PATH=REASON]... [--path PATH=REASON]... \\
        [--subchart KEY=CHART-VERSION]...

A path is accepted when the chart lists it, or when it lies under an *open* path: a map that is
empty or null in values.yaml (a free-form map such as `podAnnotations: {}`), or one named with
`--open` because its template renders it whole (e.g. istiod's `meshConfig`). A list is a leaf.
`--path` adds a path a template reads that values.yaml only mentions in a comment (e.g. Kong's
`podDisruptionBudget.maxUnavailable`); name the template in the reason.
`--subchart gateway=kong-3.2.0` says that everything under `gateway.` is checked against the
file of that subchart (a dependency with `alias: gateway`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DIRECTORY = Path(__file__).resolve().parent


def _segment(key: str) -> str:
    """One path segment; keys with a dot (annotation names) are quoted."""
    return json.dumps(key) if "." in key or '"' in key else key


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{_segment(key)}" if prefix else _segment(key)


def leaf_paths(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) for every leaf of a values mapping: scalars, lists, empty or null maps."""
    for key, value in values.items():
        path = _join(prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from leaf_paths(value, path)
        else:
            yield path, value


@dataclass(frozen=True)
class ChartValues:
    """The value paths one chart version accepts, and where they were read."""

    chart: str
    version: str
    source: str
    paths: frozenset[str]
    open: Mapping[str, str] = field(default_factory=dict)
    """Path -> why anything below it is accepted (free-form map)."""
    subcharts: Mapping[str, str] = field(default_factory=dict)
    """Top-level key -> `<chart>-<version>` of the subchart that receives it."""
    from_templates: Mapping[str, str] = field(default_factory=dict)
    """Paths read by templates but not in values.yaml -> the template that reads them."""

    @property
    def file(self) -> Path:
        return chart_file(self.chart, self.version)

    def accepts(self, path: str) -> bool:
        """True when the chart reads `path` (a dotted path from `leaf_paths`)."""
        if (
            path in self.paths
            or path in self.from_templates
            or any(path == p or path.startswith(p + ".") for p in self.open)
        ):
            return True
        head, _, rest = path.partition(".")
        if head in self.subcharts and rest:
            return load_file(DIRECTORY / f"{self.subcharts[head]}.json").accepts(rest)
        # A map the program sets where the chart has a deeper structure is checked leaf by leaf.
        return False

    def unknown(self, values: Mapping[str, Any]) -> list[str]:
        """The paths set in `values` that this chart does not accept."""
        unknown: list[str] = []
        for path, value in leaf_paths(values):
            if self.accepts(path):
                continue
            # An empty map the program passes (`{}`) is fine where the chart has keys below it.
            if isinstance(value, Mapping) and any(p.startswith(path + ".") for p in self.paths):
                continue
            unknown.append(path)
        return unknown

    def as_json(self) -> dict[str, Any]:
        return {
            "chart": self.chart,
            "version": self.version,
            "source": self.source,
            "recordedWith": "python -m stacks.chart_values record (docs/versions.md, 'Chart values')",
            "subcharts": dict(sorted(self.subcharts.items())),
            "open": dict(sorted(self.open.items())),
            "fromTemplates": dict(sorted(self.from_templates.items())),
            "paths": sorted(self.paths),
        }


def chart_file(chart: str, version: str) -> Path:
    """Where the file for `chart` at `version` lives (`chart` may be an OCI reference)."""
    return DIRECTORY / f"{chart.rstrip('/').rsplit('/', 1)[-1]}-{version}.json"


def load_file(path: Path) -> ChartValues:
    data = json.loads(path.read_text())
    return ChartValues(
        chart=data["chart"],
        version=data["version"],
        source=data["source"],
        paths=frozenset(data["paths"]),
        open=dict(data.get("open") or {}),
        subcharts=dict(data.get("subcharts") or {}),
        from_templates=dict(data.get("fromTemplates") or {}),
    )


def load(chart: str, version: str) -> ChartValues:
    """The recorded file for `chart` at `version`; FileNotFoundError names the command to record it."""
    path = chart_file(chart, version)
    if not path.exists():
        raise FileNotFoundError(
            f"no recorded value paths for chart {chart} {version} ({path.relative_to(DIRECTORY.parent.parent)}): "
            "record them from that version's values.yaml with `python -m stacks.chart_values record` "
            "(docs/versions.md, 'Chart values')"
        )
    return load_file(path)


def record(
    chart: str,
    version: str,
    values: Mapping[str, Any],
    source: str,
    strip: tuple[str, ...] = (),
    open_paths: Mapping[str, str] | None = None,
    subcharts: Mapping[str, str] | None = None,
    template_paths: Mapping[str, str] | None = None,
) -> ChartValues:
    """A ChartValues from a chart's parsed values.yaml; `strip` names wrapper keys whose children are
    set at the top level (Istio's `_internal_defaults_do_not_set`)."""
    merged: dict[str, Any] = {}
    for key, value in values.items():
        if key in strip and isinstance(value, Mapping):
            merged.update(value)
        else:
            merged[key] = value
    paths: set[str] = set()
    opened = dict(open_paths or {})
    for path, value in leaf_paths(merged):
        paths.add(path)
        if value is None or (isinstance(value, Mapping) and not value):
            opened.setdefault(
                path,
                "no default in values.yaml (null): any value" if value is None else "free-form map (values.yaml: {})",
            )
    return ChartValues(
        chart, version, source, frozenset(paths), opened, dict(subcharts or {}), dict(template_paths or {})
    )
