"""Istio's view of the mesh for the hub: recording rules and the Istio dashboards shipped as files.

The dashboards live in `dashboards/` next to this module and are provisioned into Grafana from a
ConfigMap: nothing is downloaded at run time. They are written by this module
(``python -m components.observability.istio_views`` rewrites them; a test keeps them in sync).

The recording rules are the workload-level aggregations Istio recommends for production-scale
Prometheus (Istio docs, "Observability best practices"): per-pod series summed away so that
dashboards and Kiali query fewer series.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from components.observability.slo import timeseries_panel

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"

_ISTIO_METRICS = (
    "istio_requests_total",
    "istio_request_duration_milliseconds_count",
    "istio_request_duration_milliseconds_sum",
    "istio_request_duration_milliseconds_bucket",
    "istio_request_bytes_count",
    "istio_request_bytes_sum",
    "istio_request_bytes_bucket",
    "istio_response_bytes_count",
    "istio_response_bytes_sum",
    "istio_response_bytes_bucket",
    "istio_tcp_sent_bytes_total",
    "istio_tcp_received_bytes_total",
    "istio_tcp_connections_opened_total",
    "istio_tcp_connections_closed_total",
)


def istio_recording_rules() -> dict[str, Any]:
    """`workload:<metric>`: each Istio standard metric without its per-pod labels."""
    return {
        "groups": [
            {
                "name": "istio.workload",
                "interval": "10s",
                "rules": [
                    {"record": f"workload:{metric}", "expr": f"sum without(instance, pod) ({metric})"}
                    for metric in _ISTIO_METRICS
                ],
            }
        ]
    }


def _dashboard(uid: str, title: str, panels: list[tuple[str, list[tuple[str, str]], str]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["istio", "meshgate"],
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "panels": [
            timeseries_panel(t, exprs, unit, (i % 3) * 8, (i // 3) * 8, i + 1)
            for i, (t, exprs, unit) in enumerate(panels)
        ],
    }


def mesh_dashboard() -> dict[str, Any]:
    """Traffic of the whole mesh by cluster: volume, 5xx ratio, p99 latency, TCP bytes."""
    by = "destination_cluster"
    requests = 'rate(workload:istio_requests_total{reporter="destination"}[5m])'
    errors = 'rate(workload:istio_requests_total{reporter="destination",response_code=~"5.."}[5m])'
    outbound = 'rate(workload:istio_requests_total{reporter="source"}[5m])'
    tcp_sent = 'rate(workload:istio_tcp_sent_bytes_total{reporter="destination"}[5m])'
    return _dashboard(
        "istio-mesh",
        "Istio mesh (all clusters)",
        [
            (
                "requests/s by cluster",
                [
                    (
                        f'sum by ({by}) (rate(workload:istio_requests_total{{reporter="destination"}}[5m]))',
                        f"{{{{{by}}}}}",
                    )
                ],
                "reqps",
            ),
            (
                "5xx ratio by cluster",
                [
                    (
                        f"sum by ({by}) ({errors}) / sum by ({by}) ({requests})",
                        f"{{{{{by}}}}}",
                    )
                ],
                "percentunit",
            ),
            (
                "p99 latency by service",
                [
                    (
                        "histogram_quantile(0.99, sum by (le, destination_service) "
                        '(rate(workload:istio_request_duration_milliseconds_bucket{reporter="destination"}[5m])))',
                        "{{destination_service}}",
                    )
                ],
                "ms",
            ),
            (
                "cross-cluster requests/s",
                [
                    (
                        f"sum by (source_cluster, destination_cluster) ({outbound})",
                        "{{source_cluster}} -> {{destination_cluster}}",
                    )
                ],
                "reqps",
            ),
            (
                "TCP bytes/s by service",
                [
                    (
                        f"sum by (destination_service) ({tcp_sent})",
                        "{{destination_service}}",
                    )
                ],
                "Bps",
            ),
        ],
    )


def control_plane_dashboard() -> dict[str, Any]:
    """istiod in every cluster: connected proxies, config pushes, push errors."""
    cluster = "k8s_cluster_name"
    return _dashboard(
        "istio-control-plane",
        "Istio control plane (all clusters)",
        [
            ("connected proxies", [(f"sum by ({cluster}) (pilot_xds)", f"{{{{{cluster}}}}}")], "short"),
            (
                "xDS pushes/s",
                [(f"sum by ({cluster}, type) (rate(pilot_xds_pushes[5m]))", f"{{{{{cluster}}}}} {{{{type}}}}")],
                "ops",
            ),
            (
                "rejected configs",
                [(f"sum by ({cluster}) (pilot_total_xds_rejects)", f"{{{{{cluster}}}}}")],
                "short",
            ),
        ],
    )


DASHBOARDS = {"istio-mesh.json": mesh_dashboard, "istio-control-plane.json": control_plane_dashboard}


def render(name: str) -> str:
    """The text of dashboard file `name` as shipped."""
    return json.dumps(DASHBOARDS[name](), indent=2, sort_keys=True) + "\n"


def shipped() -> dict[str, str]:
    """The dashboard files as they are in the repository (what Grafana gets)."""
    return {name: (DASHBOARD_DIR / name).read_text() for name in DASHBOARDS}


def main() -> int:
    DASHBOARD_DIR.mkdir(exist_ok=True)
    for name in DASHBOARDS:
        (DASHBOARD_DIR / name).write_text(render(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
