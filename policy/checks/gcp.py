"""GCP checks: the GKE control plane, node pools and firewall rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Check, Level, get, is_false, is_true, items, mapping, number, of_types, open_to_world

GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
FIREWALL = "gcp:compute/firewall:Firewall"

RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")


def _node_config(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The node config a resource declares: a node pool's, or a cluster's default pool's if it keeps one."""
    if resource_type == GKE_NODE_POOL:
        return mapping(props.get("nodeConfig"))
    if is_true(props.get("removeDefaultNodePool")) or props.get("enableAutopilot"):
        return None
    return mapping(props.get("nodeConfig"))


def _secrets_encryption(_: str, props: Mapping[str, Any]) -> list[str]:
    if get(props, "databaseEncryption.state") == "ENCRYPTED" and get(props, "databaseEncryption.keyName"):
        return []
    return ["Kubernetes Secrets are not encrypted with a Cloud KMS key (databaseEncryption state ENCRYPTED, keyName)"]


def _private_nodes(_: str, props: Mapping[str, Any]) -> list[str]:
    if is_true(get(props, "privateClusterConfig.enablePrivateNodes")):
        return []
    return ["nodes get public IPs (privateClusterConfig.enablePrivateNodes is not true)"]


def _master_authorized_networks(_: str, props: Mapping[str, Any]) -> list[str]:
    config = props.get("masterAuthorizedNetworksConfig")
    if not isinstance(config, Mapping):
        return ["master authorized networks are not configured: the control plane accepts any source"]
    out: list[str] = []
    cidrs = [get(block, "cidrBlock") for block in items(config.get("cidrBlocks"))]
    if open_to_world(cidrs):
        out.append("master authorized networks include 0.0.0.0/0")
    if is_true(config.get("gcpPublicCidrsAccessEnabled")):
        out.append("gcpPublicCidrsAccessEnabled lets every Google Cloud public IP reach the control plane")
    return out


def _workload_identity(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    if resource_type == GKE_CLUSTER:
        if get(props, "workloadIdentityConfig.workloadPool"):
            return []
        return [
            "Workload Identity is off (workloadIdentityConfig.workloadPool unset): pods would use the node's identity"
        ]
    config = _node_config(resource_type, props)
    if config is not None and get(config, "workloadMetadataConfig.mode") != "GKE_METADATA":
        return ["node pool does not run the GKE metadata server (workloadMetadataConfig.mode GKE_METADATA)"]
    return []


def _shielded_nodes(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    if resource_type == GKE_CLUSTER:
        # Shielded nodes default to on since GKE 1.18; only an explicit false is a violation.
        return (
            ["shielded GKE nodes are disabled (enableShieldedNodes: false)"]
            if is_false(props.get("enableShieldedNodes"))
            else []
        )
    config = _node_config(resource_type, props)
    if config is None:
        return []
    out: list[str] = []
    if not is_true(get(config, "shieldedInstanceConfig.enableSecureBoot")):
        out.append("nodes boot without Secure Boot (shieldedInstanceConfig.enableSecureBoot)")
    if is_false(get(config, "shieldedInstanceConfig.enableIntegrityMonitoring")):
        out.append("node integrity monitoring is disabled")
    return out


def _network_policy(_: str, props: Mapping[str, Any]) -> list[str]:
    if props.get("datapathProvider") == "ADVANCED_DATAPATH" or is_true(get(props, "networkPolicy.enabled")):
        return []
    return ["NetworkPolicy is not enforced: enable Dataplane V2 (datapathProvider ADVANCED_DATAPATH) or networkPolicy"]


def _legacy_abac(_: str, props: Mapping[str, Any]) -> list[str]:
    return ["legacy ABAC authorization is enabled (enableLegacyAbac)"] if is_true(props.get("enableLegacyAbac")) else []


def _client_certificate(_: str, props: Mapping[str, Any]) -> list[str]:
    if is_true(get(props, "masterAuth.clientCertificateConfig.issueClientCertificate")):
        return ["the cluster issues a client certificate (a static, non-revocable admin credential)"]
    return []


def _node_service_account(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    config = _node_config(resource_type, props)
    if config is None:
        return []
    account = config.get("serviceAccount")
    if not isinstance(account, str) or not account or account == "default":
        return ["nodes run as the Compute Engine default service account (nodeConfig.serviceAccount unset)"]
    if account.endswith("-compute@developer.gserviceaccount.com"):
        return [f"nodes run as the Compute Engine default service account {account}"]
    return []


def _release_channel(_: str, props: Mapping[str, Any]) -> list[str]:
    channel = get(props, "releaseChannel.channel")
    if channel in RELEASE_CHANNELS:
        return []
    return [f"no release channel (releaseChannel.channel is {channel or 'unset'}): GKE versions are not managed"]


def _legacy_metadata(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    config = _node_config(resource_type, props)
    if config is None:
        return []
    if is_false(get(config, "metadata.disable-legacy-endpoints")):
        return ["legacy (v0.1/v1beta1) metadata endpoints are enabled on the nodes"]
    return []


def _node_auto_repair_upgrade(_: str, props: Mapping[str, Any]) -> list[str]:
    management = mapping(props.get("management"))
    out: list[str] = []
    if is_false(management.get("autoRepair")):
        out.append("node auto-repair is off")
    if is_false(management.get("autoUpgrade")):
        out.append("node auto-upgrade is off")
    return out


def _firewall_admin_from_world(_: str, props: Mapping[str, Any]) -> list[str]:
    if str(props.get("direction", "INGRESS")).upper() != "INGRESS" or not open_to_world(props.get("sourceRanges")):
        return []
    out: list[str] = []
    for allow in items(props.get("allows")):
        protocol = str(get(allow, "protocol", "")).lower()
        if protocol not in ("tcp", "all"):
            continue
        ports = [str(p) for p in items(get(allow, "ports"))] or ["0-65535"]
        for admin, name in ((22, "SSH"), (3389, "RDP")):
            if any(_in_range(admin, p) for p in ports):
                out.append(f"ingress from 0.0.0.0/0 allows {name} ({admin})")
    return out


def _in_range(port: int, spec: str) -> bool:
    low, _, high = spec.partition("-")
    lo, hi = number(low), number(high or low)
    return lo is not None and hi is not None and lo <= port <= hi


CHECKS: tuple[Check, ...] = (
    Check(
        "gke-secrets-encryption",
        "GKE encrypts Kubernetes Secrets at the application layer with a Cloud KMS key.",
        Level.MANDATORY,
        "CIS GKE 5.3.1 (application-layer secrets encryption)",
        of_types(GKE_CLUSTER),
        _secrets_encryption,
    ),
    Check(
        "gke-private-nodes",
        "GKE nodes have only private IPs.",
        Level.MANDATORY,
        "CIS GKE 5.6.5; Checkov CKV_GCP_64",
        of_types(GKE_CLUSTER),
        _private_nodes,
    ),
    Check(
        "gke-master-authorized-networks",
        "The GKE control plane accepts only master authorized networks, never 0.0.0.0/0.",
        Level.MANDATORY,
        "CIS GKE 5.6.3; Checkov CKV_GCP_20",
        of_types(GKE_CLUSTER),
        _master_authorized_networks,
    ),
    Check(
        "gke-workload-identity",
        "Workload Identity is on and node pools run the GKE metadata server, so pods never see the node's credentials.",
        Level.MANDATORY,
        "CIS GKE 5.2.2, 5.4.2; Checkov CKV_GCP_69",
        of_types(GKE_CLUSTER, GKE_NODE_POOL),
        _workload_identity,
    ),
    Check(
        "gke-shielded-nodes",
        "Shielded GKE nodes with Secure Boot (and integrity monitoring not disabled).",
        Level.MANDATORY,
        "CIS GKE 5.5.5, 5.5.6, 5.5.7; Checkov CKV_GCP_71, CKV_GCP_68, CKV_GCP_72",
        of_types(GKE_CLUSTER, GKE_NODE_POOL),
        _shielded_nodes,
    ),
    Check(
        "gke-network-policy",
        "NetworkPolicy is enforced (Dataplane V2 or the network policy add-on).",
        Level.MANDATORY,
        "CIS GKE 5.6.7; Checkov CKV_GCP_12",
        of_types(GKE_CLUSTER),
        _network_policy,
    ),
    Check(
        "gke-legacy-abac-off",
        "Legacy ABAC is disabled; RBAC alone authorizes.",
        Level.MANDATORY,
        "CIS GKE 5.8.3; Checkov CKV_GCP_7",
        of_types(GKE_CLUSTER),
        _legacy_abac,
    ),
    Check(
        "gke-no-client-certificate",
        "The cluster issues no client certificate (a static credential that cannot be revoked).",
        Level.MANDATORY,
        "CIS GKE 5.8.2; Checkov CKV_GCP_13",
        of_types(GKE_CLUSTER),
        _client_certificate,
    ),
    Check(
        "gke-dedicated-node-service-account",
        "Nodes run as a dedicated least-privilege service account, not the Compute Engine default one.",
        Level.MANDATORY,
        "CIS GKE 5.2.1; Checkov CKV_GCP_30 (instances)",
        of_types(GKE_CLUSTER, GKE_NODE_POOL),
        _node_service_account,
    ),
    Check(
        "gke-release-channel",
        "The cluster is enrolled in a release channel so GKE patches it.",
        Level.MANDATORY,
        "CIS GKE 5.5.4; Checkov CKV_GCP_70",
        of_types(GKE_CLUSTER),
        _release_channel,
    ),
    Check(
        "gke-legacy-metadata-disabled",
        "Nodes do not serve the legacy metadata endpoints.",
        Level.MANDATORY,
        "CIS GKE 5.4.1",
        of_types(GKE_CLUSTER, GKE_NODE_POOL),
        _legacy_metadata,
    ),
    Check(
        "gke-node-auto-repair-upgrade",
        "Node pools repair and upgrade themselves.",
        Level.ADVISORY,
        "CIS GKE 5.5.2, 5.5.3; Checkov CKV_GCP_9, CKV_GCP_10",
        of_types(GKE_NODE_POOL),
        _node_auto_repair_upgrade,
    ),
    Check(
        "gcp-firewall-no-admin-ports-from-world",
        "No firewall rule admits SSH (22) or RDP (3389) from 0.0.0.0/0.",
        Level.MANDATORY,
        "CIS GCP Foundations 3.6, 3.7; Checkov CKV_GCP_2, CKV_GCP_3",
        of_types(FIREWALL),
        _firewall_admin_from_world,
    ),
)
