"""Rotating the remote-secret reader tokens: one config change (`meshgate:istio.readerTokenGeneration`)
and one `up`, checked against prod's recorded graph (tests/recordings/prod.json).

The `up` the difference implies: create the new token Secrets, update the remote secrets that read
them (they depend on the new tokens, so the engine orders them after), and delete the old token
Secrets, which are no longer in the program; Pulumi deletes such resources after every create and
update of the deployment, so old and new tokens coexist while istiod switches, and deleting a
`kubernetes.io/service-account-token` Secret revokes its token.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from graph_recording import path_for
from harness import Program, evaluate_stack, stack_config, unwrap

from components.mesh.multicluster import reader_token_name
from stacks.config import ConfigError, parse_raw

CLUSTERS = ("aws-east", "gcp-central")
FEDERATION = "urn:pulumi:prod::meshgate::meshgate:mesh:MeshFederation$kubernetes:core/v1:Secret::"


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return json.loads(path_for("prod").read_text())["resources"]


@pytest.fixture(scope="module")
def rotated() -> Program:
    istio = {**stack_config("prod")["meshgate:istio"], "readerTokenGeneration": 1}
    return evaluate_stack("prod", {"istio": istio})


def _token(cluster: str, generation: int) -> str:
    return f"{FEDERATION}{cluster}-{reader_token_name(generation)}"


def _remote(local: str, peer: str) -> str:
    return f"{FEDERATION}{local}-istio-remote-secret-{peer}"


def test_one_up_creates_new_tokens_updates_remote_secrets_and_deletes_the_old_tokens(
    recorded: dict[str, Any], rotated: Program
) -> None:
    from graph_recording import record_of

    now = record_of(rotated)["resources"]
    created = sorted(set(now) - set(recorded))
    deleted = sorted(set(recorded) - set(now))
    updated = sorted(u for u in set(now) & set(recorded) if now[u]["inputs"] != recorded[u]["inputs"])
    assert created == sorted(_token(c, 1) for c in CLUSTERS)
    assert deleted == sorted(_token(c, 0) for c in CLUSTERS)
    assert updated == sorted([_remote("aws-east", "gcp-central"), _remote("gcp-central", "aws-east")])
    for local, peer in (("aws-east", "gcp-central"), ("gcp-central", "aws-east")):
        remote = now[_remote(local, peer)]
        # ordered after the new token it reads, no longer tied to the old one (which may go last)
        assert _token(peer, 1) in remote["propertyDependencies"]["stringData"]
        assert _token(peer, 0) not in remote["dependencies"]
        assert recorded[_remote(local, peer)]["inputs"]["metadata"] == remote["inputs"]["metadata"]  # in place


def test_new_tokens_are_new_objects_for_the_same_service_account(rotated: Program) -> None:
    """A new object name: created next to the old Secret (the same name would collide until the delete)."""
    for cluster in CLUSTERS:
        token = rotated.by_urn()[_token(cluster, 1)]
        assert token.get("metadata.name") == "istio-reader-service-account-token-1"
        assert token.get("type") == "kubernetes.io/service-account-token"
        assert token.get("metadata.annotations") == {
            "kubernetes.io/service-account.name": "istio-reader-service-account"
        }


def test_remote_secrets_carry_the_new_token(rotated: Program) -> None:
    for local, peer in (("aws-east", "gcp-central"), ("gcp-central", "aws-east")):
        secret = rotated.by_urn()[_remote(local, peer)]
        kubeconfig = yaml.safe_load(unwrap(secret.inputs["stringData"])[peer])
        # the token controller's value for the new Secret (the mocks give every token Secret its own)
        assert kubeconfig["users"][0]["user"]["token"] == f"mock-token-{peer}-istio-reader-service-account-token-1"


def test_generation_is_validated() -> None:
    raw = {**stack_config("prod"), "meshgate:istio": {**stack_config("prod")["meshgate:istio"]}}
    raw["meshgate:istio"]["readerTokenGeneration"] = -1
    with pytest.raises(ConfigError, match=r"^meshgate:istio\.readerTokenGeneration "):
        parse_raw(raw)
