"""Who talks to whom, over which protocol, and what the planned policies let through.

- `model.py`: the hop list of a stack's scenario, derived from its config; the `hops` stack
  output, the diagrams (stacks/pipeline/diagram.py) and the traffic query all read it.
- `objects.py`: the Kubernetes and Istio objects a stack registers, from a run of the
  program under Pulumi mocks (no engine, no cluster).
- `policy.py`: Istio's documented PeerAuthentication / RequestAuthentication /
  AuthorizationPolicy semantics, evaluated over those objects for one request.
- `query.py`: sources and targets of the `traffic` command, and the whole-stack matrix.
- `report.py`: the generated docs/traffic.md (`python -m stacks.traffic.report`).
"""
