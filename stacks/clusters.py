"""Cluster wiring: one component per `meshgate:clusters` entry, its cloud provider, its handle.

Cloud SDKs are imported only for the kinds a stack uses: a kubeconfig-only stack never
loads pulumi_aws or pulumi_gcp (they cost seconds of start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.egress import GKE_NAT_ADDRESSES, AllowedSource, EgressAddresses, EgressAddressesArgs
from components.clusters.handle import ClusterComponent, ClusterHandle
from stacks.config import EksClusterSpec, GkeClusterSpec, KubeconfigClusterSpec, Scenario, StackConfig

if TYPE_CHECKING:  # the cloud modules import their SDKs; a kubeconfig-only stack never loads them
    from components.clusters.eks import EksCluster
    from components.clusters.existing import KubeconfigCluster
    from components.clusters.gke import GkeCluster

CloudSpec = EksClusterSpec | GkeClusterSpec


@dataclass(frozen=True)
class BuiltCluster:
    """A cluster component (cloud-specific outputs), its cloud-neutral handle and its static egress addresses."""

    handle: ClusterHandle
    component: EksCluster | GkeCluster | KubeconfigCluster
    egress: EgressAddresses | None = None

    @property
    def eks(self) -> EksCluster:
        """The EKS component of an EKS entry."""
        if self.handle.cloud != "aws":
            raise TypeError(f"cluster {self.handle.name} is not an EKS cluster")
        return cast("EksCluster", self.component)

    @property
    def gke(self) -> GkeCluster:
        """The GKE component of a GKE entry."""
        if self.handle.cloud != "gcp":
            raise TypeError(f"cluster {self.handle.name} is not a GKE cluster")
        return cast("GkeCluster", self.component)


def _cloud_provider(spec: CloudSpec) -> pulumi.ProviderResource:
    """The explicit provider of a cloud cluster: region (and project) from its config entry."""
    if isinstance(spec, EksClusterSpec):
        import pulumi_aws as aws

        return aws.Provider(f"{spec.name}-aws", region=spec.region)
    import pulumi_gcp as gcp

    return gcp.Provider(f"{spec.name}-gcp", project=spec.project, region=spec.region)


def nat_address_count(spec: CloudSpec, config: StackConfig) -> int:
    """Static egress addresses of a cluster: one per NAT gateway on EKS (one, or one per AZ), a fixed number on GKE."""
    if isinstance(spec, EksClusterSpec):
        return spec.availability_zones if config.nat_gateways(spec) == "per-zone" else 1
    return GKE_NAT_ADDRESSES


def build_egress(config: StackConfig, providers: dict[str, pulumi.ProviderResource]) -> dict[str, EgressAddresses]:
    """Static egress addresses of every cloud cluster, registered before (and outside) the clusters."""
    egress: dict[str, EgressAddresses] = {}
    for spec in config.clusters:
        if isinstance(spec, (EksClusterSpec, GkeClusterSpec)):
            gke = isinstance(spec, GkeClusterSpec)
            egress[spec.name] = EgressAddresses(
                f"{spec.name}-egress",
                EgressAddressesArgs(
                    cluster=spec.name,
                    cloud="gcp" if gke else "aws",
                    count=nat_address_count(spec, config),
                    protect=config.protect,
                    region=spec.region if gke else None,
                    project=spec.project if isinstance(spec, GkeClusterSpec) else None,
                ),
                pulumi.ResourceOptions(providers=[providers[spec.name]]),
            )
    return egress


def api_allowlist(spec: CloudSpec, config: StackConfig, egress: dict[str, EgressAddresses]) -> list[AllowedSource]:
    """Who may reach a cluster's public API endpoint: its configured CIDRs, the deployer's
    (`meshgate:deployerCidrs`) and, in a multi-cluster mesh, every peer's egress addresses
    (each istiod reads its peers' API servers)."""
    configured = (
        spec.endpoint_public_access_cidrs if isinstance(spec, EksClusterSpec) else spec.master_authorized_networks
    )
    allowed = [AllowedSource(f"meshgate-authorized-{i}", cidr) for i, cidr in enumerate(configured)]
    allowed += [
        AllowedSource(f"deployer-{i}", cidr) for i, cidr in enumerate(config.deployer_cidrs) if cidr not in configured
    ]
    if config.istio.multicluster:
        for peer, addresses in egress.items():
            if peer != spec.name:
                allowed += [AllowedSource(f"peer-{peer}-nat-{i}", cidr) for i, cidr in enumerate(addresses.cidrs)]
    return allowed


def _eks(
    spec: EksClusterSpec, config: StackConfig, egress: dict[str, EgressAddresses], provider: pulumi.ProviderResource
) -> EksCluster:
    from components.clusters.eks import EksCluster, EksClusterArgs
    from components.clusters.eks_nodes import EksNodes

    return EksCluster(
        spec.name,
        EksClusterArgs(
            region=spec.region,
            vpc_cidr=spec.vpc_cidr,
            network=spec.network_name,
            kubernetes_version=spec.kubernetes_version,
            nodes=EksNodes(
                instance_type=spec.nodes.instance_type,
                min=spec.nodes.min,
                max=spec.nodes.max,
                disk_size_gb=spec.nodes.disk_size_gb,
            ),
            availability_zones=spec.availability_zones,
            admin_principal_arns=list(spec.admin_principal_arns),
            protect=config.protect,
            nat_allocation_ids=egress[spec.name].ids,
            api_allowlist=[a.cidr for a in api_allowlist(spec, config, egress)],
            defaults=config.defaults,
            deployer_inside_network=config.deployer_inside_network,
        ),
        pulumi.ResourceOptions(providers={"aws": provider}),
    )


def kong_webhook_ports(spec: GkeClusterSpec, config: StackConfig) -> list[int]:
    """Kong's admission webhook port when Kong (scenarios 2 and 3) runs in this cluster: GKE's control
    plane reaches private nodes only on 443 and 10250 unless a firewall rule opens more."""
    from components.gateways.kong.gateway import ADMISSION_WEBHOOK_PORT

    kong = config.scenario in (Scenario.IN_CLUSTER_GATEWAY, Scenario.IN_CLUSTER_GATEWAY_MESH)
    return [ADMISSION_WEBHOOK_PORT] if kong and config.gateway_cluster == spec.name else []


def _gke(
    spec: GkeClusterSpec, config: StackConfig, egress: dict[str, EgressAddresses], provider: pulumi.ProviderResource
) -> GkeCluster:
    from components.clusters.gke import GkeCluster, GkeClusterArgs, GkeNodes

    own = egress[spec.name]
    return GkeCluster(
        spec.name,
        GkeClusterArgs(
            project=spec.project,
            region=spec.region,
            vpc_cidr=spec.vpc_cidr,
            network=spec.network_name,
            nodes=GkeNodes(
                machine_type=spec.nodes.machine_type,
                min=spec.nodes.min,
                max=spec.nodes.max,
                disk_size_gb=spec.nodes.disk_size_gb,
            ),
            master_cidr=spec.master_cidr,
            release_channel=spec.release_channel,
            protect=config.protect,
            nat_addresses=own.ids,
            prerequisites=own.apis,
            authorized_networks=api_allowlist(spec, config, egress),
            defaults=config.defaults,
            # A deployer inside the network reaches the control plane on its private endpoint
            # (from the VPC, the public one would see the NAT address, which is not authorized).
            private_kubeconfig=config.deployer_inside_network and not config.deployer_cidrs,
            extra_webhook_ports=kong_webhook_ports(spec, config),
        ),
        pulumi.ResourceOptions(providers={"gcp": provider}),
    )


def _existing(spec: KubeconfigClusterSpec, protect: bool) -> KubeconfigCluster:
    from components.clusters.existing import KubeconfigCluster, KubeconfigClusterArgs

    return KubeconfigCluster(
        spec.name,
        KubeconfigClusterArgs(
            network=spec.network_name,
            kubeconfig=spec.kubeconfig,
            context=spec.context,
            render_directory=spec.render_directory,
        ),
    )


def k8s_provider_name(cluster: str) -> str:
    """The name of the Kubernetes provider every object of `cluster` is registered with."""
    return f"{cluster}-k8s"


def _provider(
    spec: EksClusterSpec | GkeClusterSpec | KubeconfigClusterSpec, component: ClusterComponent
) -> k8s.Provider:
    # A cluster component may narrow what the provider waits for (EKS: network + nodes, not CoreDNS).
    opts = pulumi.ResourceOptions(depends_on=component.provider_dependencies)
    if isinstance(spec, KubeconfigClusterSpec):
        from components.clusters.existing import KubeconfigCluster

        assert isinstance(component, KubeconfigCluster)
        return k8s.Provider(
            k8s_provider_name(spec.name),
            kubeconfig=component.kubeconfig_path,
            context=spec.context,
            render_yaml_to_directory=spec.render_directory,
            enable_server_side_apply=True,
            opts=opts,
        )
    return k8s.Provider(
        k8s_provider_name(spec.name),
        kubeconfig=component.kubeconfig,
        enable_server_side_apply=True,
        delete_unreachable=False,
        opts=opts,
    )


def _autoscaler(
    spec: EksClusterSpec, component: EksCluster, k8s_provider: k8s.Provider, aws_provider: pulumi.ProviderResource
) -> None:
    """cluster-autoscaler for the EKS node group (min < max means nothing scales without it)."""
    from components.clusters.eks_autoscaler import EksAutoscaler, EksAutoscalerArgs

    EksAutoscaler(
        f"{spec.name}-autoscaler",
        EksAutoscalerArgs(
            cluster=spec.name,
            region=spec.region,
            kubernetes_version=spec.kubernetes_version,
            cluster_name=component.cluster_name,
            provider=k8s_provider,
        ),
        pulumi.ResourceOptions(providers={"aws": aws_provider}),
    )


def _default_storage(spec: EksClusterSpec, k8s_provider: k8s.Provider) -> None:
    """The EBS gp3 default StorageClass (EKS 1.30+ has none; PersistentVolumeClaims would stay Pending)."""
    from components.clusters.eks_storage import EksDefaultStorage, EksDefaultStorageArgs

    EksDefaultStorage(f"{spec.name}-storage", EksDefaultStorageArgs(cluster=spec.name, provider=k8s_provider))


def build_clusters(config: StackConfig) -> dict[str, BuiltCluster]:
    """Create every configured cluster; clusters never depend on each other, only on egress addresses."""
    providers = {
        spec.name: _cloud_provider(spec)
        for spec in config.clusters
        if isinstance(spec, (EksClusterSpec, GkeClusterSpec))
    }
    egress = build_egress(config, providers)
    built: dict[str, BuiltCluster] = {}
    for spec in config.clusters:
        if isinstance(spec, EksClusterSpec):
            component = _eks(spec, config, egress, providers[spec.name])
        elif isinstance(spec, GkeClusterSpec):
            component = _gke(spec, config, egress, providers[spec.name])
        else:
            component = _existing(spec, config.protect)
        handle = ClusterHandle(
            name=spec.name,
            cloud=component.cloud,
            network=spec.network_name,
            kubeconfig=component.kubeconfig,
            api_server=component.api_server,
            ca_data=component.ca_data,
            provider=_provider(spec, component),
            rendered=isinstance(spec, KubeconfigClusterSpec) and spec.render_directory is not None,
            render_secrets=isinstance(spec, KubeconfigClusterSpec) and spec.render_secrets,
        )
        if isinstance(spec, EksClusterSpec):
            _autoscaler(spec, cast("EksCluster", component), handle.provider, providers[spec.name])
            _default_storage(spec, handle.provider)
        built[spec.name] = BuiltCluster(handle=handle, component=component, egress=egress.get(spec.name))
    return built
