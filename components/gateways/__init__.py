"""API gateways: one package per scenario, plus what the scenarios share.

- `external/`     scenario 1, `external-gateway`: a cloud API gateway (AWS HTTP API or GCP API
                  Gateway) in front of Istio ingress gateways.
- `kong/`         scenarios 2 and 3, `in-cluster-gateway` and `in-cluster-gateway-mesh`: Kong in
                  the gateway cluster, outside the mesh (2) or with an Envoy sidecar (3).
- `gateway_api/`  scenario 4, `gateway-api`: Istio's Kubernetes Gateway API gateway.
- `shared/`       the route catalogue, the scenario outputs (endpoints, curl lines, hops), the
                  backend policies and Args of the in-cluster scenarios, Kubernetes helpers.

Each scenario's entry point is the package's `scenario*.py` module (a `ComponentResource` and its
`hops()`); the stack picks one in stacks/gateway_layer.py.
"""
