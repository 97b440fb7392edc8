"""Customer-managed KMS keys of an EKS cluster with explicit key policies (no default root `kms:*`).

A key created without a policy gets AWS's default one: the account root may do `kms:*`, so
any IAM policy in the account can grant decryption. meshgate's keys instead give the root
(i.e. IAM policies of the account) only key administration, and name the principals that may
use the key in the key policy itself:

- the secrets key: the EKS cluster role (envelope encryption of Kubernetes secrets);
- the logs key: the CloudWatch Logs service of the region, only for this cluster's log
  groups (`kms:EncryptionContext:aws:logs:arn`), as the CloudWatch Logs guide prescribes.

Grants stay possible only when an AWS service creates them on a principal's behalf
(`kms:GrantIsForAWSResource`): EKS creates one for the cluster at creation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi

# Key administration without cryptographic use: what the AWS console's "key administrators"
# statement grants, minus kms:Create* (CreateGrant would let an administrator grant decrypt).
ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
    "kms:CreateAlias",
    "kms:DeleteAlias",
)
# What the EKS cluster role needs on the secrets key (EKS User Guide, "Encrypt Kubernetes secrets with KMS").
EKS_USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants")
# What CloudWatch Logs needs on a log group's key (CloudWatch Logs User Guide, "Encrypt log data with KMS").
LOGS_USE_ACTIONS = ("kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*")


def _admin_statements(partition: str, account: str) -> list[dict[str, Any]]:
    root = f"arn:{partition}:iam::{account}:root"
    return [
        {
            "Sid": "KeyAdministrationByAccountIam",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": sorted(ADMIN_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "GrantsOnlyForAwsServices",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def secrets_key_policy(
    partition: pulumi.Input[str], account: pulumi.Input[str], cluster_role_arn: pulumi.Input[str]
) -> pulumi.Output[str]:
    """Key policy of the EKS secrets key: account IAM administers it, only the cluster role uses it."""
    return pulumi.Output.all(partition, account, cluster_role_arn).apply(
        lambda v: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    *_admin_statements(v[0], v[1]),
                    {
                        "Sid": "EnvelopeEncryptionByTheClusterRole",
                        "Effect": "Allow",
                        "Principal": {"AWS": v[2]},
                        "Action": sorted(EKS_USE_ACTIONS),
                        "Resource": "*",
                    },
                ],
            },
            sort_keys=True,
        )
    )


def log_group_arn_patterns(partition: str, region: str, account: str, prefixes: Sequence[str]) -> list[str]:
    """ARNs (with wildcards) of the log groups under `prefixes` in this account and region."""
    return [f"arn:{partition}:logs:{region}:{account}:log-group:{p.rstrip('/')}/*" for p in prefixes]


def logs_key_policy(
    partition: pulumi.Input[str], account: pulumi.Input[str], region: str, log_group_prefixes: Sequence[str]
) -> pulumi.Output[str]:
    """Key policy of a log-group key: account IAM administers it, CloudWatch Logs uses it for the listed log
    groups only."""
    return pulumi.Output.all(partition, account).apply(
        lambda v: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    *_admin_statements(v[0], v[1]),
                    {
                        "Sid": "CloudWatchLogsForTheseLogGroups",
                        "Effect": "Allow",
                        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                        "Action": sorted(LOGS_USE_ACTIONS),
                        "Resource": "*",
                        "Condition": {
                            "ArnLike": {
                                "kms:EncryptionContext:aws:logs:arn": log_group_arn_patterns(
                                    v[0], region, v[1], log_group_prefixes
                                )
                            }
                        },
                    },
                ],
            },
            sort_keys=True,
        )
    )
