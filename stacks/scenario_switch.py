"""What switching `meshgate:scenario` needs, per shipped stack: computed by trying it.

For every shipped stack and every scenario, the stack's config is validated with only the
scenario changed; each rule it then breaks is answered with the smallest change that rule
asks for, and validation runs again, until the config is valid or a rule cannot be met
without redesigning the stack. `python -m stacks.scenario_switch` prints the table embedded
in README.md (a test keeps the two in sync and re-validates every cell's config).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from stacks.config import ConfigError, Scenario, parse_raw
from stacks.pipeline.stackfile import known_stacks, raw_config

MAX_STEPS = 6
GCP_PROJECT_PLACEHOLDER = "my-gcp-project"
AUDIENCE_PLACEHOLDER = "https://api.example.com"
INGRESS_HOST_PLACEHOLDER = "{cluster}.api.example.com"
INGRESS_SECRET_PLACEHOLDER = "ingress-tls"


@dataclass
class Switch:
    """One stack x scenario: the changes that make it valid, or why it cannot be."""

    stack: str
    scenario: Scenario
    changes: list[str] = field(default_factory=list)
    impossible: str | None = None
    istio_changes: bool = False  # the change reinstalls/extends Istio (multi-cluster), not only the gateway layer
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def shipped(self) -> bool:
        return (
            not self.changes and self.impossible is None and self.config.get("meshgate:scenario") == self.scenario.value
        )

    def cell(self) -> str:
        if self.impossible is not None:
            return f"not without redesign: {self.impossible}"
        if not self.changes:
            return "nothing else"
        text = "; ".join(self.changes)
        return text + (
            " — **changes the Istio install** (shared CA, east-west gateways, remote secrets)"
            if self.istio_changes
            else ""
        )


def _index(key: str) -> int:
    return int(key.split("[", 1)[1].split("]", 1)[0])


def _fix(switch: Switch, err: ConfigError) -> bool:
    """Apply the change `err` asks for; False when none exists (switch.impossible is set)."""
    config = switch.config
    key, reason = err.key, err.reason
    if key == "meshgate:externalGateway" and "is required" in reason:
        clusters = config["meshgate:clusters"]
        eks = next((c for c in clusters if c.get("kind") == "eks"), None)
        if eks is not None:
            config[key] = {"kind": "aws-http-api", "region": eks["region"], "cluster": eks["name"]}
            switch.changes.append(
                f"`externalGateway: {{kind: aws-http-api, region: {eks['region']}, cluster: {eks['name']}}}`"
            )
        else:
            config[key] = {"kind": "gcp-api-gateway", "region": "us-central1", "project": GCP_PROJECT_PLACEHOLDER}
            switch.changes.append(
                "`externalGateway: {kind: gcp-api-gateway, project, region}` (no EKS cluster for a VPC link)"
            )
        return True
    if key.startswith("meshgate:apis[") and key.endswith("].auth") and reason.startswith("key is not supported"):
        api = config["meshgate:apis"][_index(key)]
        api["auth"] = "jwt"
        switch.changes.append(f"`apis[{_index(key)}].auth: jwt` ({api['name']}: no API keys there)")
        return True
    if key.endswith("jwt.audiences") and "is required" in reason:
        if key.startswith("meshgate:apis["):
            config["meshgate:apis"][_index(key)]["jwt"]["audiences"] = [AUDIENCE_PLACEHOLDER]
        else:
            config["meshgate:jwt"] = {**config["meshgate:jwt"], "audiences": [AUDIENCE_PLACEHOLDER]}
        switch.changes.append(f"`{key.removeprefix('meshgate:')}` (the AWS JWT authorizer checks `aud`)")
        return True
    if key.startswith("meshgate:apis[") and key.endswith("].cluster") and "multicluster" in reason:
        if switch.scenario is Scenario.IN_CLUSTER_GATEWAY:
            break_reason = "a gateway outside the mesh reaches only its own cluster; move the APIs there"
            switch.impossible = f"APIs in another cluster than the gateway's ({break_reason})"
            return False
        config["meshgate:istio"] = {**config.get("meshgate:istio", {}), "multicluster": True}
        switch.changes.append("`istio.multicluster: true` (APIs in two clusters)")
        switch.istio_changes = True
        return True
    if key.startswith("meshgate:clusters[") and key.endswith("].ingress") and "is required" in reason:
        cluster = config["meshgate:clusters"][_index(key)]
        host = INGRESS_HOST_PLACEHOLDER.format(cluster=cluster["name"])
        cluster["ingress"] = {"hostname": host, "tlsSecret": INGRESS_SECRET_PLACEHOLDER}
        switch.changes.append(
            f"`clusters[{_index(key)}].ingress: {{hostname, tlsSecret}}` ({cluster['name']}: a publicly trusted "
            "certificate for the ingress the external gateway calls)"
        )
        return True
    switch.impossible = f"{err} (no automatic answer)"
    return False


def try_switch(stack: str, scenario: Scenario) -> Switch:
    """Validate `stack` switched to `scenario`, answering each broken rule in turn."""
    original = raw_config(stack)
    switch = Switch(stack, scenario, config=copy.deepcopy(original))
    switch.config["meshgate:scenario"] = scenario.value
    for _ in range(MAX_STEPS):
        try:
            parse_raw(switch.config)
            return switch
        except ConfigError as err:
            if not _fix(switch, err):
                return switch
    switch.impossible = "too many changes"
    return switch


def matrix() -> list[list[Switch]]:
    return [[try_switch(stack, scenario) for scenario in Scenario] for stack in known_stacks()]


def render() -> str:
    """The table as Markdown: one row per shipped stack, one column per scenario."""
    header = "| stack (ships as) | " + " | ".join(f"→ `{s.value}` ({s.number})" for s in Scenario) + " |"
    lines = [header, "|" + "---|" * (len(Scenario) + 1)]
    for row in matrix():
        own = parse_raw(raw_config(row[0].stack)).scenario
        cells = ["(as shipped)" if s.scenario is own else s.cell() for s in row]
        lines.append(f"| `{row[0].stack}` ({own.number}) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
