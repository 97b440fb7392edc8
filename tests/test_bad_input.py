"""Bad stack config is rejected before any resource registers, with one message naming the key.

Extends the corpus of tests/test_config.py (which checks `parse_raw` directly) with further
kinds of mistakes, each run through the real program (`harness.evaluate`): the program
fails with `pulumi.RunError` whose message starts with the key, and the monitor recorded
no resource at all. A hypothesis property test then mutates the stack files at random:
parsing yields a StackConfig or a ConfigError, never another exception, and a sample of
the configs that parse evaluates.
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from harness import STACK_FILES, Resource, evaluate, stack_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.config import ConfigError, StackConfig, parse_raw

DELETE = object()

Change = tuple[list[Any], Any]  # path into the stack's config mapping, new value (or DELETE)

KUBECONFIG_CLUSTER = {"name": "edge", "kind": "kubeconfig"}
THIRD_EKS = {
    "name": "aws-west",
    "kind": "eks",
    "region": "us-west-2",
    "vpcCidr": "10.20.128.0/20",
    "adminPrincipalArns": ["arn:aws:iam::123456789012:role/platform-admins"],
}

# (case id, stack file, changes, key the message must start with). None of these kinds
# is in tests/test_config.py's BAD list.
CASES: list[tuple[str, str, list[Change], str]] = [
    ("scenario-list", "dev", [(["meshgate:scenario"], [3])], "meshgate:scenario"),
    ("scenario-bool", "dev", [(["meshgate:scenario"], True)], "meshgate:scenario"),
    ("scenario-missing", "dev", [(["meshgate:scenario"], DELETE)], "meshgate:scenario"),
    (
        "clusters-mapping",
        "dev",
        [(["meshgate:clusters"], {"name": "local", "kind": "kubeconfig"})],
        "meshgate:clusters",
    ),
    ("clusters-missing", "dev", [(["meshgate:clusters"], DELETE)], "meshgate:clusters"),
    ("cluster-null", "dev", [(["meshgate:clusters", 0], None)], "meshgate:clusters[0]"),
    ("cluster-kind-missing", "dev", [(["meshgate:clusters", 0, "kind"], DELETE)], "meshgate:clusters[0]"),
    ("cluster-name-too-long", "dev", [(["meshgate:clusters", 0, "name"], "a" * 41)], "meshgate:clusters[0].name"),
    ("cluster-name-leading-digit", "dev", [(["meshgate:clusters", 0, "name"], "1local")], "meshgate:clusters[0].name"),
    (
        "kubeconfig-with-vpc",
        "dev",
        [(["meshgate:clusters", 0, "vpcCidr"], "10.0.0.0/16")],
        "meshgate:clusters[0].vpcCidr",
    ),
    ("eks-region-malformed", "prod", [(["meshgate:clusters", 0, "region"], "useast1")], "meshgate:clusters[0].region"),
    (
        "eks-vpc-public-range",
        "prod",
        [(["meshgate:clusters", 0, "vpcCidr"], "8.8.0.0/16")],
        "meshgate:clusters[0].vpcCidr",
    ),
    (
        "eks-vpc-too-small",
        "prod",
        [(["meshgate:clusters", 0, "vpcCidr"], "10.10.0.0/24")],
        "meshgate:clusters[0].vpcCidr",
    ),
    (
        "eks-vpc-too-large",
        "prod",
        [(["meshgate:clusters", 0, "vpcCidr"], "10.0.0.0/8")],
        "meshgate:clusters[0].vpcCidr",
    ),
    (
        "eks-vpc-not-a-string",
        "prod",
        [(["meshgate:clusters", 0, "vpcCidr"], 167772160)],
        "meshgate:clusters[0].vpcCidr",
    ),
    (
        "eks-one-az",
        "prod",
        [(["meshgate:clusters", 0, "availabilityZones"], 1)],
        "meshgate:clusters[0].availabilityZones",
    ),
    (
        "eks-az-word",
        "prod",
        [(["meshgate:clusters", 0, "availabilityZones"], "two")],
        "meshgate:clusters[0].availabilityZones",
    ),
    (
        "eks-k8s-version",
        "prod",
        [(["meshgate:clusters", 0, "kubernetesVersion"], "1.9")],
        "meshgate:clusters[0].kubernetesVersion",
    ),
    (
        "eks-disk-too-small",
        "prod",
        [(["meshgate:clusters", 0, "nodes", "diskSizeGb"], 10)],
        "meshgate:clusters[0].nodes.diskSizeGb",
    ),
    ("eks-nodes-too-many", "prod", [(["meshgate:clusters", 0, "nodes", "max"], 101)], "meshgate:clusters[0].nodes.max"),
    (
        "eks-nodes-gke-field",
        "prod",
        [(["meshgate:clusters", 0, "nodes", "machineType"], "e2-standard-4")],
        "meshgate:clusters[0].nodes.machineType",
    ),
    (
        "eks-no-admins",
        "prod",
        [(["meshgate:clusters", 0, "adminPrincipalArns"], DELETE)],
        "meshgate:clusters[0].adminPrincipalArns",
    ),
    (
        "eks-admins-empty",
        "prod",
        [(["meshgate:clusters", 0, "adminPrincipalArns"], [])],
        "meshgate:clusters[0].adminPrincipalArns",
    ),
    (
        "eks-admin-twice-via-session",
        "prod",
        [
            (
                ["meshgate:clusters", 0, "adminPrincipalArns"],
                ["arn:aws:iam::123456789012:role/team/ci", "arn:aws:sts::123456789012:assumed-role/ci/run-1"],
            )
        ],
        "meshgate:clusters[0].adminPrincipalArns[1]",
    ),
    (
        "eks-admin-session-without-session",
        "prod",
        [(["meshgate:clusters", 0, "adminPrincipalArns"], ["arn:aws:sts::123456789012:assumed-role/ci"])],
        "meshgate:clusters[0].adminPrincipalArns[0]",
    ),
    (
        "eks-admin-arn",
        "prod",
        [(["meshgate:clusters", 0, "adminPrincipalArns"], ["arn:aws:iam::12:role/x"])],
        "meshgate:clusters[0].adminPrincipalArns[0]",
    ),
    (
        "eks-endpoint-cidr-garbage",
        "prod",
        [(["meshgate:clusters", 0, "endpointPublicAccessCidrs"], ["office"])],
        "meshgate:clusters[0].endpointPublicAccessCidrs[0]",
    ),
    (
        "eks-endpoint-cidrs-string",
        "prod",
        [(["meshgate:clusters", 0, "endpointPublicAccessCidrs"], "203.0.113.0/24")],
        "meshgate:clusters[0].endpointPublicAccessCidrs",
    ),
    (
        "gke-project-uppercase",
        "prod",
        [(["meshgate:clusters", 1, "project"], "ACME-PROD")],
        "meshgate:clusters[1].project",
    ),
    (
        "gke-region-malformed",
        "prod",
        [(["meshgate:clusters", 1, "region"], "us-central")],
        "meshgate:clusters[1].region",
    ),
    (
        "gke-master-in-own-vpc",
        "prod",
        [(["meshgate:clusters", 1, "masterCidr"], "10.20.0.0/28")],
        "meshgate:clusters[1].masterCidr",
    ),
    (
        "gke-master-in-other-vpc",
        "prod",
        [(["meshgate:clusters", 1, "masterCidr"], "10.10.0.0/28")],
        "meshgate:clusters[1].masterCidr",
    ),
    (
        "gke-authorized-world",
        "prod",
        [(["meshgate:clusters", 1, "masterAuthorizedNetworks"], ["0.0.0.0/0"])],
        "meshgate:clusters[1].masterAuthorizedNetworks[0]",
    ),
    (
        "gke-release-channel",
        "prod",
        [(["meshgate:clusters", 1, "releaseChannel"], "NIGHTLY")],
        "meshgate:clusters[1].releaseChannel",
    ),
    ("third-cluster-overlaps-second", "prod", [(["meshgate:clusters", 2], THIRD_EKS)], "meshgate:clusters[2].vpcCidr"),
    (
        "istio-sampling-over-100",
        "dev",
        [(["meshgate:istio", "tracing", "samplingPercent"], 150)],
        "meshgate:istio.tracing.samplingPercent",
    ),
    ("istio-mesh-id", "dev", [(["meshgate:istio", "meshId"], "Acme_Mesh")], "meshgate:istio.meshId"),
    (
        "istio-trust-domain",
        "dev",
        [(["meshgate:istio", "trustDomain"], "Cluster.Local!")],
        "meshgate:istio.trustDomain",
    ),
    ("istio-revision", "dev", [(["meshgate:istio", "revision"], "Canary_1")], "meshgate:istio.revision"),
    ("istio-unknown-key", "dev", [(["meshgate:istio", "mtls"], "STRICT")], "meshgate:istio.mtls"),
    ("istio-version-no-patch", "dev", [(["meshgate:istio", "version"], "1.24")], "meshgate:istio.version"),
    (
        "istio-multicluster-word",
        "dev",
        [(["meshgate:istio", "multicluster"], "sometimes")],
        "meshgate:istio.multicluster",
    ),
    ("gateway-zero-replicas", "dev", [(["meshgate:gateway", "replicas"], 0)], "meshgate:gateway.replicas"),
    ("gateway-kind", "dev", [(["meshgate:gateway", "kind"], "nginx")], "meshgate:gateway.kind"),
    (
        "gateway-api-version",
        "dev",
        [(["meshgate:gateway", "gatewayApiVersion"], "1.2.1")],
        "meshgate:gateway.gatewayApiVersion",
    ),
    (
        "external-gcp-no-project",
        "staging",
        [(["meshgate:externalGateway"], {"kind": "gcp-api-gateway", "region": "us-central1"})],
        "meshgate:externalGateway.project",
    ),
    (
        "external-aws-on-gke",
        "staging",
        [(["meshgate:externalGateway", "cluster"], "gcp-central")],
        "meshgate:externalGateway.cluster",
    ),
    (
        "external-aws-without-eks",
        "staging",
        [
            (["meshgate:clusters", 0], DELETE),
            (["meshgate:externalGateway", "cluster"], DELETE),
            (["meshgate:apis"], []),
            (["meshgate:services"], []),
        ],
        "meshgate:externalGateway.kind",
    ),
    (
        "external-unknown-cluster",
        "staging",
        [(["meshgate:externalGateway", "cluster"], "aws-west")],
        "meshgate:externalGateway.cluster",
    ),
    (
        "external-cross-cloud-self-signed",
        "staging",
        [(["meshgate:clusters", 1, "ingress"], DELETE)],
        "meshgate:apis[1].cluster",
    ),
    (
        "external-vpc-link-no-hostname",
        "staging",
        [(["meshgate:clusters", 0, "ingress"], DELETE)],
        "meshgate:clusters[0].ingress",
    ),
    (
        "ingress-hostname-url",
        "staging",
        [(["meshgate:clusters", 0, "ingress", "hostname"], "https://api.example.com")],
        "meshgate:clusters[0].ingress.hostname",
    ),
    ("api-path-trailing-slash", "dev", [(["meshgate:apis", 0, "path"], "/orders/")], "meshgate:apis[0].path"),
    ("api-path-wildcard", "dev", [(["meshgate:apis", 0, "path"], "/orders/*")], "meshgate:apis[0].path"),
    # would be the same object as the namespace's https-redirect HTTPRoute (gateway-api scenario)
    (
        "api-name-reserved",
        "dev",
        [(["meshgate:apis", 0, "name"], "meshgate-https-redirect")],
        "meshgate:apis[0].name",
    ),
    ("api-service-missing", "dev", [(["meshgate:apis", 0, "service"], DELETE)], "meshgate:apis[0].service"),
    (
        "api-service-name-case",
        "dev",
        [(["meshgate:apis", 0, "service", "name"], "Orders")],
        "meshgate:apis[0].service.name",
    ),
    ("api-port-zero", "dev", [(["meshgate:apis", 0, "service", "port"], 0)], "meshgate:apis[0].service.port"),
    (
        "api-jwt-nowhere",
        "dev",
        [(["meshgate:jwt"], DELETE), (["meshgate:apis", 0, "auth"], "jwt")],
        "meshgate:apis[0].jwt",
    ),
    (
        "api-jwks-plain-http",
        "dev",
        [(["meshgate:apis", 0, "jwt"], {"issuer": "x", "jwksUri": "http://auth/jwks"})],
        "meshgate:apis[0].jwt.jwksUri",
    ),
    ("jwt-empty-issuer", "dev", [(["meshgate:jwt", "issuer"], "")], "meshgate:jwt.issuer"),
    (
        "api-rate-limit-huge",
        "dev",
        [(["meshgate:apis", 0, "rateLimitPerMinute"], 2_000_000)],
        "meshgate:apis[0].rateLimitPerMinute",
    ),
    ("api-cluster-uppercase", "prod", [(["meshgate:apis", 0, "cluster"], "AWS-EAST")], "meshgate:apis[0].cluster"),
    ("apis-mapping", "dev", [(["meshgate:apis"], {"orders": "/orders"})], "meshgate:apis"),
    (
        "service-image-latest",
        "dev",
        [(["meshgate:services", 0, "image"], "nginx:latest")],
        "meshgate:services[0].image",
    ),
    ("service-image-untagged", "dev", [(["meshgate:services", 0, "image"], "nginx")], "meshgate:services[0].image"),
    ("service-duplicate", "dev", [(["meshgate:services", 1, "name"], "orders")], "meshgate:services[1].name"),
    ("service-zero-replicas", "dev", [(["meshgate:services", 0, "replicas"], 0)], "meshgate:services[0].replicas"),
    ("protect-word", "dev", [(["meshgate:protect"], "maybe")], "meshgate:protect"),
    (
        "gcp-rate-limit-without-key",
        "staging",
        [
            (
                ["meshgate:externalGateway"],
                {"kind": "gcp-api-gateway", "region": "us-central1", "project": "acme-staging"},
            )
        ],
        "meshgate:apis[0].rateLimitPerMinute",
    ),
    (
        "aws-jwt-issuer-not-a-url",
        "staging",
        [(["meshgate:jwt", "issuer"], "auth.staging.example.com")],
        "meshgate:jwt.issuer",
    ),
    (
        "gateway-api-api-on-other-cluster",
        "dev",
        [
            (["meshgate:scenario"], "gateway-api"),
            (["meshgate:clusters", 1], KUBECONFIG_CLUSTER),
            (["meshgate:apis", 1, "cluster"], "edge"),
        ],
        "meshgate:apis[1].cluster",
    ),
]


def apply(stack: str, changes: list[Change]) -> dict[str, Any]:
    config = copy.deepcopy(stack_config(stack))
    for path, value in changes:
        node: Any = config
        for part in path[:-1]:
            node = node[part]
        last = path[-1]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(value)
        else:
            node[last] = value
    return config


def test_corpus_is_large_and_distinct() -> None:
    from config_cases import BAD

    assert len({case[0] for case in CASES}) == len(CASES) >= 30
    theirs = {(stack, tuple(path), repr(value)) for stack, path, value, _ in BAD}
    ours = {(stack, tuple(path), repr(value)) for _, stack, changes, _ in CASES for path, value in changes}
    assert not theirs & ours


@pytest.mark.parametrize(("stack", "changes", "key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_fails_before_any_resource(stack: str, changes: list[Change], key: str) -> None:
    registered: list[Resource] = []
    with pytest.raises(pulumi.RunError) as caught:
        evaluate(apply(stack, changes), stack=stack, record=registered)
    message = str(caught.value)
    assert message.startswith(f"{key} "), message
    assert "\n" not in message and "Traceback" not in message
    assert registered == [], [r.name for r in registered]


def test_record_hook_sees_resources_of_a_good_config() -> None:
    """The zero-resources assertion above can fail: the same hook records a valid stack's resources."""
    registered: list[Resource] = []
    evaluate(stack_config("dev"), stack="dev", record=registered)
    assert registered


# --------------------------------------------------------------------------- property test

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "0.0.0.0/0",
            "10.10.0.0/16",
            "aws-east",
            "gcp-central",
            "local",
            "eks",
            "gke",
            "kubeconfig",
            "latest",
            "1",
            "4",
            "/x",
            "true",
            "null",
            "[1]",
            "{}",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    config = copy.deepcopy(stack_config(draw(st.sampled_from(sorted(STACK_FILES)))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(config)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = config
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        clusters = config.get("meshgate:clusters")
        names = [c.get("name") for c in clusters if isinstance(c, dict)] if isinstance(clusters, list) else []
        action = draw(st.sampled_from(["delete", "replace", "swap-cluster", "add-key", "duplicate"]))
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(VALUES)
        elif action == "swap-cluster" and last == "cluster":
            parent[last] = draw(st.sampled_from([*names, "nowhere"]))
        elif action == "add-key" and isinstance(parent[last], dict):
            parent[last][draw(st.text(min_size=1, max_size=10))] = draw(VALUES)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        else:
            parent[last] = draw(VALUES)
    return config


_evaluated: list[str] = []
EVALUATE_AT_MOST = 6  # full program runs (cloud stacks take ~1 s each); parsing covers the rest


@settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated_configs())
def test_random_mutations_parse_or_name_a_key(config: dict[str, Any]) -> None:
    try:
        parsed = parse_raw(config)
    except ConfigError as err:
        message = str(err)
        assert message.startswith("meshgate:") and "\n" not in message, message
        return
    assert isinstance(parsed, StackConfig)
    if len(_evaluated) < EVALUATE_AT_MOST:
        _evaluated.append(parsed.scenario.value)
        program = evaluate(config, stack="mutated")
        assert program.resources
