"""GkeCluster: a regional, private GKE Standard cluster hardened along CIS GKE, in its own VPC."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.clusters.cost_defaults import LOW_COST, EnvironmentDefaults
from components.clusters.egress import DEPLOYER_LABEL, INSIDE_NETWORK, AllowedSource
from components.clusters.gcp_network import PODS_RANGE, SERVICES_RANGE, create_network
from components.clusters.handle import Cloud
from components.clusters.kubeconfig import ExecAuth, exec_kubeconfig

# APIs the cluster needs besides the Compute Engine API (enabled with its egress addresses,
# components/clusters/egress.py); left enabled on destroy (other workloads in the project may use them).
REQUIRED_APIS = ("container.googleapis.com", "iam.googleapis.com", "cloudkms.googleapis.com")

# GKE's service agent must use the key that encrypts Secrets in etcd (application-layer secrets encryption).
KMS_ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
KEY_ROTATION_PERIOD = "7776000s"  # 90 days
# A regional pool's initial_node_count is per zone; GKE spreads a regional pool over three zones by default.
DEFAULT_ZONES = 3

# The minimal roles of a GKE node service account (Google's "least privilege" guidance).
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)

# Istio's sidecar-injection/validation webhooks listen on 15017; GKE's own rules only open
# 443 and 10250 from the control plane to private nodes (istio#37189).
WEBHOOK_PORTS = ("15017",)

GKE_AUTH = ExecAuth(
    command="gke-gcloud-auth-plugin",
    install_hint=(
        "gke-gcloud-auth-plugin is required to reach GKE clusters: install it with "
        "`gcloud components install gke-gcloud-auth-plugin` "
        "(https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl)"
    ),
)


@dataclass(frozen=True)
class GkeNodes:
    """Size and shape of a GKE node pool (regional: the totals span the region's zones)."""

    machine_type: str
    """Compute Engine machine type, e.g. e2-standard-4."""
    min: int
    """Fewest nodes in total."""
    max: int
    """Most nodes in total (the cluster autoscaler's ceiling)."""
    disk_size_gb: int = 50
    """Boot disk size per node."""


@dataclass(frozen=True)
class GkeClusterArgs:
    """What a GkeCluster is built from: where, how big, what its control plane admits, whether to protect it.

    `nat_addresses`: self links of the static egress addresses Cloud NAT uses
    (`EgressAddresses`); `prerequisites`: what the network waits for (the Compute Engine API
    enabled with them); `authorized_networks`: everything the control plane's public
    endpoint admits (configured CIDRs, the deployer's, peers' egress addresses);
    `private_kubeconfig`: the kubeconfig targets the control plane's private endpoint (the
    deployer runs inside the network); peers always use the public one.
    `extra_webhook_ports`: more node ports the control plane must reach (Kong's admission
    webhook when Kong runs in this cluster).
    """

    project: str
    """GCP project id the cluster, its network and its service accounts live in."""
    region: str
    """GCP region of the regional cluster and its subnetwork, e.g. us-central1."""
    vpc_cidr: str
    """The subnetwork's primary range; pod and service ranges are carved from it."""
    network: str
    """Istio network name of the cluster (`topology.istio.io/network`)."""
    nodes: GkeNodes
    """The node pool's machine type and size."""
    nat_addresses: Sequence[pulumi.Input[str]]
    """Self links of the static egress addresses Cloud NAT uses (`EgressAddresses`)."""
    protect: bool = False
    """Protect the long-lived resources (network, cluster, KMS key) from `pulumi destroy`."""
    master_cidr: str = "172.16.0.0/28"
    """The private control plane's /28."""
    release_channel: str = "REGULAR"
    """GKE release channel: RAPID, REGULAR or STABLE."""
    prerequisites: Sequence[pulumi.Resource] = ()
    authorized_networks: Sequence[AllowedSource] = field(default_factory=list)
    defaults: EnvironmentDefaults = LOW_COST
    """Cost defaults: key destruction delay, flow-log sampling and interval."""
    private_kubeconfig: bool = False
    extra_webhook_ports: Sequence[int] = ()


def node_account_id(name: str) -> str:
    """A service account id (6–30 chars) for the nodes of cluster `name`, stable across runs."""
    candidate = f"{name}-nodes"
    if len(candidate) <= 30:
        return candidate
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[:21].rstrip('-')}-n-{digest}"


class GkeCluster(pulumi.ComponentResource):
    """A regional, private, VPC-native GKE Standard cluster with one autoscaled node pool.

    Private nodes behind Cloud NAT, master authorized networks, Workload Identity
    (GKE_METADATA), shielded nodes with secure boot, a release channel, Dataplane V2,
    legacy ABAC off, a dedicated least-privilege node service account, and a firewall rule
    that lets the control plane reach Istio's webhook port. The gcp provider (project,
    region) comes from `opts.providers`; the kubeconfig authenticates with
    gke-gcloud-auth-plugin, never an embedded token.
    """

    cloud: Cloud = "gcp"
    network: str
    kubeconfig: pulumi.Output[str]
    api_server: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    network_self_link: pulumi.Output[str]
    subnetwork_self_link: pulumi.Output[str]
    node_service_account_email: pulumi.Output[str]
    cluster: gcp.container.Cluster
    node_pool: gcp.container.NodePool

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:clusters:GkeCluster", name, None, opts)
        self.network = args.network

        apis = [
            gcp.projects.Service(
                f"{name}-api-{api.split('.')[0]}",
                project=args.project,
                service=api,
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in REQUIRED_APIS
        ]
        net = create_network(
            name,
            args.region,
            args.vpc_cidr,
            parent=self,
            protect=args.protect,
            nat_addresses=args.nat_addresses,
            depends_on=[*args.prerequisites, *apis],
            flow_sampling=args.defaults.gcp_flow_sampling,
            flow_interval=args.defaults.gcp_flow_interval,
        )

        # Application-layer secrets encryption (CIS GKE 5.3.1): a Cloud KMS key in the cluster's
        # region, usable by GKE's service agent only. Key rings and keys cannot be deleted in
        # Cloud KMS: destroy schedules the key versions' destruction and forgets the ring.
        ring = gcp.kms.KeyRing(
            f"{name}-keyring",
            name=f"{name}-gke",
            project=args.project,
            location=args.region,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=apis),
        )
        secrets_key = gcp.kms.CryptoKey(
            f"{name}-secrets-key",
            name="etcd-secrets",
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=KEY_ROTATION_PERIOD,
            destroy_scheduled_duration=f"{args.defaults.kms_deletion_window_days * 86400}s",
            labels={"managed-by": "meshgate", "meshgate-cluster": name},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        project_number = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        key_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secrets-key-gke-agent",
            crypto_key_id=secrets_key.id,
            role=KMS_ENCRYPTER,
            member=project_number.apply(
                lambda number: f"serviceAccount:service-{number}@container-engine-robot.iam.gserviceaccount.com"
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            project=args.project,
            account_id=node_account_id(name),
            display_name=f"GKE nodes of meshgate cluster {name}",
            description="meshgate: least-privilege identity of the cluster's nodes (not the default compute SA)",
            opts=pulumi.ResourceOptions(parent=self, depends_on=apis),
        )
        member = account.email.apply(lambda email: f"serviceAccount:{email}")
        grants = [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.removeprefix('roles/').replace('.', '-')}",
                project=args.project,
                role=role,
                member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role in NODE_ROLES
        ]

        webhooks = gcp.compute.Firewall(
            f"{name}-master-webhooks",
            name=f"{name}-master-webhooks",
            description="meshgate: GKE control plane -> nodes on the webhook ports of Istio (istio#37189) and Kong",
            network=net.network.self_link,
            direction="INGRESS",
            priority=1000,
            source_ranges=[args.master_cidr],
            target_service_accounts=[account.email],
            allows=[
                gcp.compute.FirewallAllowArgs(
                    protocol="tcp", ports=[*WEBHOOK_PORTS, *(str(p) for p in args.extra_webhook_ports)]
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.cluster = gcp.container.Cluster(
            name,
            name=name,
            description=f"meshgate cluster {name} (Istio network {args.network})",
            location=args.region,
            network=net.network.self_link,
            subnetwork=net.subnetwork.self_link,
            remove_default_node_pool=True,
            initial_node_count=1,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=PODS_RANGE,
                services_secondary_range_name=SERVICES_RANGE,
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=False,
                master_ipv4_cidr_block=args.master_cidr,
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                        cidr_block=network.cidr, display_name=network.name
                    )
                    for network in args.authorized_networks
                ],
                gcp_public_cidrs_access_enabled=False,
            ),
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                    issue_client_certificate=False
                ),
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{args.project}.svc.id.goog"
            ),
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel),
            datapath_provider="ADVANCED_DATAPATH",
            enable_legacy_abac=False,
            enable_shielded_nodes=True,
            logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=["SYSTEM_COMPONENTS", "WORKLOADS"]),
            # Workload metrics come from Managed Service for Prometheus (monitoring's
            # WORKLOADS component is deprecated); Istio's metrics are scraped the same way.
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=["SYSTEM_COMPONENTS"],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True),
            ),
            resource_labels={
                "managed-by": "meshgate",
                "meshgate-cluster": name,
                **({DEPLOYER_LABEL: INSIDE_NETWORK} if args.private_kubeconfig else {}),
            },
            deletion_protection=args.protect,
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=secrets_key.id),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[*apis, key_grant]),
        )

        self.node_pool = gcp.container.NodePool(
            f"{name}-pool",
            name="primary",
            cluster=self.cluster.id,
            location=args.region,
            # nodes.min/max count the whole regional pool (total_*), not each zone; the initial
            # count is per zone, so the pool starts at about nodes.min and the autoscaler keeps the total.
            initial_node_count=math.ceil(args.nodes.min / DEFAULT_ZONES),
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=args.nodes.min,
                total_max_node_count=args.nodes.max,
                location_policy="BALANCED",
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                strategy="SURGE", max_surge=1, max_unavailable=0
            ),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=args.nodes.machine_type,
                disk_size_gb=args.nodes.disk_size_gb,
                disk_type="pd-balanced",
                image_type="COS_CONTAINERD",
                service_account=account.email,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                metadata={"disable-legacy-endpoints": "true"},
                labels={"meshgate-cluster": name, "meshgate-network": args.network},
                resource_labels={"managed-by": "meshgate", "meshgate-cluster": name},
            ),
            # Nodes need their roles (logging), egress (NAT) and the webhook rule before Istio lands.
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=[*grants, net.nat, webhooks],
                # Only the creation uses it (changing it would replace the pool); the autoscaler owns the size.
                ignore_changes=["initialNodeCount"],
            ),
        )

        self.network_self_link = net.network.self_link
        self.subnetwork_self_link = net.subnetwork.self_link
        self.node_service_account_email = account.email
        self.api_server = self.cluster.endpoint.apply(lambda endpoint: f"https://{endpoint}")
        self.ca_data = self.cluster.master_auth.apply(lambda auth: auth.cluster_ca_certificate or "")
        deployer_endpoint = (
            self.cluster.private_cluster_config.apply(lambda p: f"https://{(p.private_endpoint if p else '') or ''}")
            if args.private_kubeconfig
            else self.api_server
        )
        self.kubeconfig = exec_kubeconfig(name, deployer_endpoint, self.ca_data, GKE_AUTH)
        self.provider_dependencies: list[pulumi.Resource] = [self]  # a provider waits for the whole cluster
        self.register_outputs(
            {
                "apiServer": self.api_server,
                "network": self.network,
                "networkSelfLink": self.network_self_link,
                "subnetworkSelfLink": self.subnetwork_self_link,
                "nodeServiceAccount": self.node_service_account_email,
                "kubeconfig": self.kubeconfig,
            }
        )
