"""What the gateway scenarios share.

- `catalogue.py`                `Route`: the scenario-neutral model of one API every scenario renders.
- `scenario_outputs.py`         `Edge` and `Hop`: what a scenario hands back to the stack (endpoints,
                                curl lines, the hop list).
- `backend_policies.py`         BackendPolicies: Istio policies on the backends (scenarios 2, 3, 4).
- `in_cluster_gateway_args.py`  InClusterEdgeArgs: the Args of the in-cluster gateways (2, 3, 4).
- `k8s_objects.py`              the gateway namespace, custom resources, labels, load-balancer address.
- `serving_certificate.py`      GatewayCertificate: a self-signed TLS Secret for a gateway's HTTPS listener.
"""
