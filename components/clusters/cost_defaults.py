"""EnvironmentDefaults: the cost-relevant settings a cluster component applies (NAT, KMS, flow logs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class EnvironmentDefaults:
    """Cost-relevant defaults of one environment (monthly estimates in docs/clusters-eks.md and
    docs/clusters-gke.md)."""

    nat_gateways: Literal["single", "per-zone"]
    """AWS NAT gateways: one in total or one per availability zone."""
    kms_deletion_window_days: int
    """AWS KMS keys and Cloud KMS key versions: 7-30 days before a deleted key is gone."""
    flow_log_traffic: Literal["ALL", "REJECT"]
    """AWS VPC flow logs: every flow or only rejected ones."""
    flow_log_aggregation_seconds: Literal[60, 600]
    """AWS: 60 or 600 (fewer, larger records)."""
    gcp_flow_sampling: float
    """Share of GCP subnetwork flows logged."""
    gcp_flow_interval: str
    """GCP flow-log aggregation interval."""


LOW_COST = EnvironmentDefaults("single", 7, "REJECT", 600, 0.1, "INTERVAL_5_MIN")
"""The cheapest settings (meshgate's `dev` and `staging`): a component's default."""
