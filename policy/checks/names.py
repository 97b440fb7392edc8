"""Cloud name limits: the name a resource gets must fit its provider's length and character rules.

The rules below are the clouds' own (AWS Elastic Load Balancing, IAM, EKS, API Gateway and
CloudWatch quotas; GCP resource naming, RFC 1035 labels). A provider refuses a longer name
at create time, after other resources of the update already exist. Without an explicit
name, Pulumi's bridged providers use `<resource name>-<7 random characters>`; with a
`namePrefix`-style field, the Terraform provider appends a 26-character unique suffix.
`final_name` computes the name the provider would send, `tests/test_names.py` applies it to
every resource of the longest configuration the config accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import Check, Level

AUTONAME_SUFFIX = 8  # "-" + 7 random characters (pulumi-terraform-bridge auto-naming)
PREFIX_SUFFIX = 26  # terraform-plugin-sdk id.PrefixedUniqueId: timestamp (18) + counter (8)

AWS_LB = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
AWS_IAM = re.compile(r"^[\w+=,.@-]+$")
AWS_ANY = re.compile(r"^\S(.*\S)?$")
RFC1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
GCP_KMS = re.compile(r"^[a-zA-Z0-9_-]+$")


@dataclass(frozen=True)
class NameRule:
    """Where a type keeps its name, the longest name its cloud accepts, and which characters."""

    field: str
    limit: int
    pattern: re.Pattern[str]
    prefix_field: str | None = None
    autonamed: bool = True  # False: the field is required, the provider never invents it


NAME_RULES: dict[str, NameRule] = {
    # AWS
    "aws:lb/loadBalancer:LoadBalancer": NameRule("name", 32, AWS_LB, "namePrefix"),
    "aws:alb/loadBalancer:LoadBalancer": NameRule("name", 32, AWS_LB, "namePrefix"),
    "aws:lb/targetGroup:TargetGroup": NameRule("name", 32, AWS_LB, "namePrefix"),
    "aws:alb/targetGroup:TargetGroup": NameRule("name", 32, AWS_LB, "namePrefix"),
    "aws:iam/role:Role": NameRule("name", 64, AWS_IAM, "namePrefix"),
    "aws:iam/policy:Policy": NameRule("name", 128, AWS_IAM, "namePrefix"),
    "aws:iam/rolePolicy:RolePolicy": NameRule("name", 128, AWS_IAM, "namePrefix"),
    "aws:ec2/securityGroup:SecurityGroup": NameRule("name", 255, AWS_ANY, "namePrefix"),
    "aws:ec2/launchTemplate:LaunchTemplate": NameRule("name", 128, AWS_ANY, "namePrefix"),
    "aws:eks/cluster:Cluster": NameRule("name", 100, re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")),
    "aws:eks/nodeGroup:NodeGroup": NameRule(
        "nodeGroupName", 63, re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$"), "nodeGroupNamePrefix"
    ),
    "aws:cloudwatch/logGroup:LogGroup": NameRule("name", 512, re.compile(r"^[\w\-/.#]+$"), "namePrefix"),
    "aws:kms/alias:Alias": NameRule("name", 256, re.compile(r"^alias/[\w/\-]+$"), "namePrefix"),
    "aws:apigatewayv2/api:Api": NameRule("name", 128, AWS_ANY),
    "aws:apigatewayv2/vpcLink:VpcLink": NameRule("name", 128, AWS_ANY),
    "aws:apigatewayv2/authorizer:Authorizer": NameRule("name", 128, AWS_ANY),
    # GCP: RFC 1035 labels, 63 characters, unless the API says otherwise
    "gcp:compute/network:Network": NameRule("name", 63, RFC1035),
    "gcp:compute/subnetwork:Subnetwork": NameRule("name", 63, RFC1035),
    "gcp:compute/router:Router": NameRule("name", 63, RFC1035),
    "gcp:compute/routerNat:RouterNat": NameRule("name", 63, RFC1035),
    "gcp:compute/firewall:Firewall": NameRule("name", 63, RFC1035),
    "gcp:compute/address:Address": NameRule("name", 63, RFC1035),
    "gcp:container/cluster:Cluster": NameRule("name", 40, RFC1035),
    "gcp:container/nodePool:NodePool": NameRule("name", 40, RFC1035, "namePrefix"),
    "gcp:serviceaccount/account:Account": NameRule("accountId", 30, RFC1035, autonamed=False),
    "gcp:kms/keyRing:KeyRing": NameRule("name", 63, GCP_KMS),
    "gcp:kms/cryptoKey:CryptoKey": NameRule("name", 63, GCP_KMS),
    "gcp:apigateway/api:Api": NameRule("apiId", 63, RFC1035, autonamed=False),
    "gcp:apigateway/apiConfig:ApiConfig": NameRule("apiConfigId", 63, RFC1035, "apiConfigIdPrefix"),
    "gcp:apigateway/gateway:Gateway": NameRule("gatewayId", 63, RFC1035, autonamed=False),
}


def final_name(resource_type: str, resource_name: str, props: Mapping[str, Any]) -> str | None:
    """The name the provider sends to the cloud, random parts as 'x'; None for types without a rule.

    An explicit name wins; else a name prefix plus the Terraform provider's unique suffix;
    else Pulumi's auto-name from the resource name.
    """
    rule = NAME_RULES.get(resource_type)
    if rule is None:
        return None
    explicit = props.get(rule.field)
    if isinstance(explicit, str):
        return explicit
    prefix = props.get(rule.prefix_field) if rule.prefix_field else None
    if isinstance(prefix, str):
        return prefix + "x" * PREFIX_SUFFIX
    if not rule.autonamed:
        return ""
    return f"{resource_name}-{'x' * (AUTONAME_SUFFIX - 1)}"


def name_problems(resource_type: str, name: str) -> list[str]:
    """Why the cloud would refuse `name` for `resource_type` ([] when it fits)."""
    rule = NAME_RULES[resource_type]
    out: list[str] = []
    if not name:
        return [f"{rule.field} is required"]
    if len(name) > rule.limit:
        out.append(f"{rule.field} {name!r} is {len(name)} characters; the cloud accepts at most {rule.limit}")
    if not rule.pattern.match(name):
        out.append(f"{rule.field} {name!r} has characters the cloud refuses (must match {rule.pattern.pattern})")
    if resource_type.endswith("loadBalancer:LoadBalancer") and name.startswith("internal-"):
        out.append(f"{rule.field} {name!r} must not start with 'internal-'")
    return out


def _names_within_limits(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    rule = NAME_RULES[resource_type]
    name = props.get(rule.field)
    if isinstance(name, str):
        return name_problems(resource_type, name)
    prefix = props.get(rule.prefix_field) if rule.prefix_field else None
    if isinstance(prefix, str) and len(prefix) + PREFIX_SUFFIX > rule.limit:
        return [
            f"{rule.prefix_field} {prefix!r} plus the provider's {PREFIX_SUFFIX}-character suffix exceeds "
            f"the cloud's {rule.limit}-character limit"
        ]
    return []


CHECKS: tuple[Check, ...] = (
    Check(
        "cloud-names-within-limits",
        "Cloud resource names (explicit, prefixed or auto-named) fit the provider's length and character limits.",
        Level.MANDATORY,
        "AWS ELB/IAM/EKS quotas (load balancers and target groups "
        "32, IAM roles 64); GCP RFC 1035 names (63); meshgate naming",
        lambda resource_type: resource_type in NAME_RULES,
        _names_within_limits,
    ),
)
