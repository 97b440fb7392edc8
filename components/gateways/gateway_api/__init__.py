"""Scenario 4, `gateway-api`: Istio's own Kubernetes Gateway API gateway, no separate API gateway.

- `scenario.py`  GatewayApiGateway: the Gateway API CRDs (optional), the `Gateway`, one `HTTPRoute`
                 per API, JWT, path authorization and local rate limits at the gateway; its hop list.
"""
