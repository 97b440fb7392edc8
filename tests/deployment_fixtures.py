"""A recorded prod deployment (as `pulumi stack export` writes it) for the destroy-plan and pipeline tests."""

from __future__ import annotations

from typing import Any

P = "urn:pulumi:prod::meshgate::"


def res(type_: str, name: str, parent: str = "", **extra: Any) -> dict[str, Any]:
    """A deployment resource dict as `pulumi stack export` records it."""
    chain = f"{parent.split('::')[2]}$" if parent and "pulumi:pulumi:Stack" not in parent else ""
    return {"urn": f"{P}{chain}{type_}::{name}", "type": type_, "parent": parent, "custom": True, **extra}


STACK = res("pulumi:pulumi:Stack", "meshgate-prod")
AWS = res("pulumi:providers:aws", "aws-east-aws", STACK["urn"])
VPC = res("aws:ec2/vpc:Vpc", "aws-east-vpc", STACK["urn"], protect=True, provider=f"{AWS['urn']}::id1")
SUBNET = res("aws:ec2/subnet:Subnet", "aws-east-private-a", STACK["urn"], dependencies=[VPC["urn"]])
K8S = res("pulumi:providers:kubernetes", "aws-east-k8s", STACK["urn"], dependencies=[SUBNET["urn"]])
MESH = res("meshgate:mesh:IstioMesh", "aws-east", STACK["urn"], custom=False)
ISTIOD = res(
    "kubernetes:helm.sh/v3:Release",
    "aws-east-istiod",
    MESH["urn"],
    inputs={"chart": "istiod", "repositoryOpts": {"repo": "https://blob.istio.io/istio-release/charts"}},
    provider=f"{K8S['urn']}::id2",
)
EASTWEST = res("meshgate:mesh:IstioGateway", "aws-east-eastwest", MESH["urn"], custom=False)
EW_NS = res("kubernetes:core/v1:Namespace", "aws-east-eastwest-ns", EASTWEST["urn"], provider=f"{K8S['urn']}::id2")
EW_RELEASE = res(
    "kubernetes:helm.sh/v3:Release",
    "aws-east-eastwest",
    EASTWEST["urn"],
    inputs={"chart": "gateway", "repositoryOpts": {"repo": "https://blob.istio.io/istio-release/charts"}},
    dependencies=[EW_NS["urn"], ISTIOD["urn"]],
)
CROSS_NETWORK = res(
    "kubernetes:networking.istio.io/v1:Gateway",
    "aws-east-cross-network-gateway",
    MESH["urn"],
    propertyDependencies={"spec": [EW_RELEASE["urn"]]},
)
KONG = res("meshgate:gateways:KongGateway", "kong", STACK["urn"], custom=False)
KONG_RELEASE = res(
    "kubernetes:helm.sh/v3:Release",
    "kong-release",
    KONG["urn"],
    inputs={"chart": "ingress", "repositoryOpts": {"repo": "https://charts.konghq.com"}, "values": {}},
)
APP_LB = res(
    "kubernetes:core/v1:Service", "legacy-lb", STACK["urn"], inputs={"spec": {"type": "LoadBalancer"}}, protect=True
)
APP_SVC = res("kubernetes:core/v1:Service", "orders", STACK["urn"], inputs={"spec": {"type": "ClusterIP"}})
NLB = res("aws:lb/loadBalancer:LoadBalancer", "ingress-nlb", STACK["urn"], dependencies=[SUBNET["urn"]])
LISTENER = res("aws:lb/listener:Listener", "ingress-nlb-443", STACK["urn"], dependencies=[NLB["urn"]])
DEPLOYMENT = [
    STACK, AWS, VPC, SUBNET, K8S, MESH, ISTIOD, EASTWEST, EW_NS, EW_RELEASE, CROSS_NETWORK,
    KONG, KONG_RELEASE, APP_LB, APP_SVC, NLB, LISTENER,
]  # fmt: skip
