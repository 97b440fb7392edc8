"""Scenario 1, `external-gateway`: a cloud API gateway in front of Istio ingress gateways.

- `scenario.py`         ExternalGateway, the entry point: an IstioIngress per entry cluster, then
                        the cloud gateway; the scenario's hop list.
- `istio_ingress.py`    IstioIngress: an Istio ingress gateway in one cluster, its `Gateway` and one
                        `VirtualService` per API routing to the backends over mTLS.
- `aws_http_api.py`     AwsHttpApi: Amazon API Gateway (HTTP API), VPC link, JWT authorizer, stage.
- `aws_ingress_nlb.py`  IngressNlb: the internal NLB (TLS passthrough) the VPC link reaches the
                        EKS ingress through.
- `gcp_api_gateway.py`  GcpApiGateway: Google Cloud API Gateway (one OpenAPI 2.0 config: JWT or API
                        keys, per-minute quotas for API-key routes).
"""
