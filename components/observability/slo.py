"""API SLOs from Istio's standard metrics: Prometheus recording and burn-rate alert rules, and one
Grafana dashboard, generated from the API catalogue.

Each API is measured where its backend answers (`reporter="destination"`, by the API's Service),
so the same rules hold in every scenario — also scenario 2, where the gateway has no proxy — and
across clusters (`destination_cluster`). Alerts follow the multi-window, multi-burn-rate pattern of
the Google SRE workbook: page when 2 % of a 30-day budget burns in an hour (14.4×, 1 h and 5 m
windows) or 5 % in six hours (6×, 6 h and 30 m windows); a ticket when p99 latency stays above
its objective for 15 minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DASHBOARD_UID = "meshgate-api-slos"
ERROR_WINDOWS = ("5m", "30m", "1h", "6h")
BURN_RATES: tuple[tuple[str, float, str, str], ...] = (("fast", 14.4, "1h", "5m"), ("slow", 6.0, "6h", "30m"))
"""(name, burn rate, long window, short window)."""
QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class ApiObjective:
    """One API as the SLO rules see it: its backend Service and its objectives."""

    api: str
    service: str
    namespace: str
    availability: float
    """Percent of requests answered without a 5xx."""
    latency_p99_ms: int


def _selector(o: ApiObjective, extra: str = "") -> str:
    base = (
        f'reporter="destination",destination_service_name="{o.service}",destination_service_namespace="{o.namespace}"'
    )
    return "{" + base + extra + "}"


def _error_ratio(o: ApiObjective, window: str) -> str:
    total = f"sum by (destination_cluster) (rate(istio_requests_total{_selector(o)}[{window}]))"
    five_xx = _selector(o, ',response_code=~"5.."')
    errors = f"sum by (destination_cluster) (rate(istio_requests_total{five_xx}[{window}]))"
    return f"({errors} or {total} * 0) / {total}"


def recording_rules(objectives: Sequence[ApiObjective]) -> dict[str, Any]:
    """`recording_rules.yml` group per API: request rate, error ratio per window, latency quantiles;
    every series carries `api` and `destination_cluster`."""
    groups = []
    for o in objectives:
        labels = {"api": o.api}
        rules: list[dict[str, Any]] = [
            {
                "record": "meshgate:api_requests:rate5m",
                "expr": f"sum by (destination_cluster) (rate(istio_requests_total{_selector(o)}[5m]))",
                "labels": labels,
            }
        ]
        rules += [
            {"record": f"meshgate:api_error_ratio:rate{w}", "expr": _error_ratio(o, w), "labels": labels}
            for w in ERROR_WINDOWS
        ]
        rules += [
            {
                "record": f"meshgate:api_latency_ms:p{int(q * 100)}",
                "expr": f"histogram_quantile({q}, sum by (le, destination_cluster) "
                f"(rate(istio_request_duration_milliseconds_bucket{_selector(o)}[5m])))",
                "labels": labels,
            }
            for q in QUANTILES
        ]
        groups.append({"name": f"meshgate-api-{o.api}", "interval": "30s", "rules": rules})
    return {"groups": groups}


def alerting_rules(objectives: Sequence[ApiObjective]) -> dict[str, Any]:
    """`alerting_rules.yml`: two burn-rate alerts and one latency alert per API."""
    groups = []
    for o in objectives:
        budget = round(1 - o.availability / 100, 6)
        rules: list[dict[str, Any]] = []
        for name, rate, long, short in BURN_RATES:
            threshold = round(rate * budget, 6)
            rules.append(
                {
                    "alert": f"ApiErrorBudgetBurn{name.capitalize()}",
                    "expr": f'meshgate:api_error_ratio:rate{long}{{api="{o.api}"}} > {threshold} and '
                    f'meshgate:api_error_ratio:rate{short}{{api="{o.api}"}} > {threshold}',
                    "for": "2m",
                    "labels": {"severity": "page", "api": o.api},
                    "annotations": {
                        "summary": f"{o.api}: error budget of {o.availability}% burning {rate}x "
                        f"({long}/{short} windows)"
                    },
                }
            )
        rules.append(
            {
                "alert": "ApiLatencyP99AboveObjective",
                "expr": f'meshgate:api_latency_ms:p99{{api="{o.api}"}} > {o.latency_p99_ms}',
                "for": "15m",
                "labels": {"severity": "ticket", "api": o.api},
                "annotations": {"summary": f"{o.api}: p99 latency above {o.latency_p99_ms} ms for 15 minutes"},
            }
        )
        groups.append({"name": f"meshgate-api-{o.api}-slo", "rules": rules})
    return {"groups": groups}


def timeseries_panel(
    title: str, exprs: Sequence[tuple[str, str]], unit: str, x: int, y: int, pid: int
) -> dict[str, Any]:
    """A Grafana time-series panel over the `prometheus` data source, 8 columns wide."""
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": 8, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend} for i, (expr, legend) in enumerate(exprs)
        ],
    }


def dashboard(objectives: Sequence[ApiObjective]) -> dict[str, Any]:
    """One Grafana dashboard: a row per API with request rate, error ratio against the objective,
    and latency quantiles against the p99 objective, each by cluster."""
    panels: list[dict[str, Any]] = []
    for row, o in enumerate(objectives):
        y = row * 9
        sel = f'{{api="{o.api}"}}'
        panels.append(
            {"id": len(panels) + 1, "type": "row", "title": f"{o.api}", "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}}
        )
        panels.append(
            timeseries_panel(
                f"{o.api}: requests/s",
                [(f"meshgate:api_requests:rate5m{sel}", "{{destination_cluster}}")],
                "reqps",
                0,
                y + 1,
                len(panels) + 1,
            )
        )
        panels.append(
            timeseries_panel(
                f"{o.api}: error ratio (objective {o.availability}%)",
                [
                    (f"meshgate:api_error_ratio:rate5m{sel}", "{{destination_cluster}}"),
                    (f"vector({round(1 - o.availability / 100, 6)})", "error budget"),
                ],
                "percentunit",
                8,
                y + 1,
                len(panels) + 1,
            )
        )
        panels.append(
            timeseries_panel(
                f"{o.api}: latency (p99 objective {o.latency_p99_ms} ms)",
                [
                    *(
                        (
                            f"meshgate:api_latency_ms:p{int(q * 100)}{sel}",
                            f"p{int(q * 100)} {{{{destination_cluster}}}}",
                        )
                        for q in QUANTILES
                    ),
                    (f"vector({o.latency_p99_ms})", "p99 objective"),
                ],
                "ms",
                16,
                y + 1,
                len(panels) + 1,
            )
        )
    return {
        "uid": DASHBOARD_UID,
        "title": "meshgate API SLOs",
        "tags": ["meshgate", "slo"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "panels": panels,
    }
