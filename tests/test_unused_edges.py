"""No load-balancer listener or target group that nothing uses (each one costs and widens the attack surface).

On the recorded graph of every stack with an external AWS gateway: each target group is the
forward target of a listener, and each listener is the target of an API Gateway integration.
"""

from __future__ import annotations

import json

from harness import stack_program


def test_every_listener_and_target_group_is_used() -> None:
    program = stack_program("staging")
    groups = program.of_type("aws:lb/targetGroup:TargetGroup")
    listeners = program.of_type("aws:lb/listener:Listener")
    integrations = program.of_type("aws:apigatewayv2/integration:Integration")
    assert groups and listeners and integrations
    forwarded = json.dumps([x.get("defaultActions") for x in listeners])
    for group in groups:
        assert f':{group.name}"' in forwarded, f"target group {group.name} is no listener's target"
    uris = {i.get("integrationUri") for i in integrations}
    for listener in listeners:
        assert any(uri and uri.endswith(f":{listener.name}") for uri in uris), f"listener {listener.name} is unused"
