"""Observability in one pane: collectors in every cluster, backends and Kiali in the hub.

- `charts.py`: the pinned upstream charts and the Helm release helper.
- `collector.py`: the collector configurations (agent, hub) and `OtelCollector`.
- `agent.py`: `TelemetryAgent`, the per-cluster namespace, agent and (remote hub) stub Service.
- `hub.py`: `ObservabilityHub`, Prometheus, Tempo, Grafana, Kiali and the hub collector.
- `kiali.py`: Kiali's values, `KialiRemoteAccess` in remote clusters, the hub's remote Secrets.
- `slo.py`: SLO recording and burn-rate alert rules and the API dashboard from the catalogue.
- `istio_views.py`: Istio recording rules and the dashboards shipped in `dashboards/`.
"""
