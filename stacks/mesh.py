"""Mesh layer wiring: Istio in every cluster, the shared CA and federation when multi-cluster,
and the scenario-independent mesh policy (STRICT mTLS, `mesh-default` telemetry).

Nothing here reads `meshgate:scenario`: switching scenario never touches the mesh. The
scenario-specific policies (PERMISSIVE exceptions, allow rules) belong to the gateway layer.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.istio_security.peer_authentication import mesh_wide_strict
from components.istio_security.telemetry import mesh_default_telemetry
from components.mesh.ca import MeshCertificateAuthority, MeshCertificateAuthorityArgs
from components.mesh.handle import MeshHandle
from components.mesh.istio import IstioMesh, IstioMeshArgs
from components.mesh.managed_ca import (
    ClusterCaIssuer,
    ClusterCaIssuerArgs,
    ManagedRootCa,
    ManagedRootCaArgs,
    gke_oidc_issuer,
)
from components.mesh.multicluster import MeshFederation, MeshFederationArgs
from components.mesh.settings import IstioRevision, IstioSettings
from stacks.clusters import BuiltCluster
from stacks.config import EksClusterSpec, GkeClusterSpec, IstioSpec, KubeconfigClusterSpec, StackConfig
from stacks.observability import telemetry_providers


def istio_settings(istio: IstioSpec) -> IstioSettings:
    """`meshgate:istio` as the mesh component's settings."""
    return IstioSettings(
        version=istio.version,
        chart_repo=istio.chart_repo,
        mesh_id=istio.mesh_id,
        trust_domain=istio.trust_domain,
        revision=istio.revision,
        revisions=tuple(IstioRevision(r.name, r.version) for r in istio.revisions),
        tags=dict(istio.tags),
        namespace_tags=dict(istio.namespace_tags),
        access_logs=istio.access_logs,
        tracing_sampling_percent=istio.tracing.sampling_percent,
        install=istio.install,
    )


def summary(handle: MeshHandle, istio: IstioSpec, clusters: int, traced: bool = False) -> str:
    """One line describing the mesh of one cluster."""
    revision = f"revision {handle.revision}" if handle.revision else "default revision"
    if istio.revisions:
        tags = ", ".join(f"{tag} -> {target}" for tag, target in istio.tags.items())
        revision = f"revisions {', '.join(handle.revisions)}; tags {tags}"
    scope = (
        f"multi-cluster ({clusters} clusters, network {handle.network})" if handle.multicluster else "single-cluster"
    )
    installed = "installed by meshgate" if istio.install else "preinstalled"
    logs = "on" if istio.access_logs else "off"
    tracing = f"{istio.tracing.sampling_percent:g}%" if traced else "off (meshgate:observability)"
    return (
        f"Istio {handle.version} ({revision}, {installed}), mesh {handle.mesh_id}, {scope}, "
        f"mTLS STRICT, tracing {tracing}, access logs {logs}"
    )


def peer_egress_cidrs(config: StackConfig, clusters: dict[str, BuiltCluster], name: str) -> list[pulumi.Input[str]]:
    """The egress CIDRs of every cluster but `name`: static NAT addresses of eks/gke clusters,
    `egressCidrs` of adopted ones. Empty when a peer's egress is unknown (nothing to restrict to)."""
    cidrs: list[pulumi.Input[str]] = []
    for spec in config.clusters:
        if spec.name == name:
            continue
        built = clusters[spec.name]
        known: list[pulumi.Input[str]] = (
            list(built.egress.cidrs)
            if built.egress
            else list(spec.egress_cidrs)
            if isinstance(spec, KubeconfigClusterSpec)
            else []
        )
        if not known:
            return []
        cidrs += known
    return cidrs


def managed_issuers(config: StackConfig, clusters: dict[str, BuiltCluster]) -> dict[str, ClusterCaIssuer]:
    """With a managed CA (`meshgate:istio.ca`): the root, and per cluster cert-manager and the issuer of its
    intermediate (by cluster name; empty otherwise)."""
    istio, ca = config.istio, config.istio.ca
    if not (ca.managed and istio.install) or ca.kind == "self-managed" or ca.region is None:
        return {}
    root = ManagedRootCa(
        f"{istio.mesh_id}-root-ca",
        ManagedRootCaArgs(mesh_id=istio.mesh_id, kind=ca.kind, region=ca.region, project=ca.project),
    )
    issuers: dict[str, ClusterCaIssuer] = {}
    for spec in config.clusters:
        built = clusters[spec.name]
        args = ClusterCaIssuerArgs(
            cluster=built.handle,
            root=root,
            eks_cluster_name=built.eks.cluster_name if isinstance(spec, EksClusterSpec) else None,
            workload_pool=f"{spec.project}.svc.id.goog" if isinstance(spec, GkeClusterSpec) else None,
            oidc_issuer=gke_oidc_issuer(spec.project, spec.region, built.gke.cluster.name)
            if isinstance(spec, GkeClusterSpec) and ca.kind == "aws-private-ca"
            else None,
        )
        issuers[spec.name] = ClusterCaIssuer(f"{spec.name}-mesh-ca", args)
    return issuers


def build_meshes(
    config: StackConfig, clusters: dict[str, BuiltCluster], issuers: Mapping[str, ClusterCaIssuer]
) -> dict[str, MeshHandle]:
    """One IstioMesh per cluster (named after it), with the managed CA's `issuers` (`managed_issuers`) if
    any; returns the handles by cluster name."""
    istio = config.istio
    multicluster = istio.multicluster
    ca = (
        MeshCertificateAuthority(
            f"{istio.mesh_id}-ca", MeshCertificateAuthorityArgs(mesh_id=istio.mesh_id, clusters=list(clusters))
        )
        if multicluster and istio.install and not issuers
        else None
    )
    meshes: dict[str, IstioMesh] = {}
    providers = telemetry_providers(config)
    for name, built in clusters.items():
        mesh = IstioMesh(
            name,
            IstioMeshArgs(
                cluster=built.handle,
                istio=istio_settings(istio),
                multicluster=multicluster,
                ca=issuers[name].issuer if name in issuers else (ca.intermediates[name] if ca else None),
                peer_egress_cidrs=peer_egress_cidrs(config, clusters, name) if multicluster else (),
                telemetry=providers,
            ),
        )
        mesh_wide_strict(mesh=mesh.handle, parent=mesh)
        mesh_default_telemetry(
            mesh=mesh.handle,
            parent=mesh,
            sampling_percent=istio.tracing.sampling_percent,
            access_logs=istio.access_logs,
            providers=providers,
        )
        meshes[name] = mesh
    if multicluster:
        MeshFederation(
            f"{istio.mesh_id}-federation",
            MeshFederationArgs(
                meshes=[m.handle for m in meshes.values()], token_generation=istio.reader_token_generation
            ),
        )
    pulumi.export(
        "mesh",
        {
            name: {
                "version": m.handle.version,
                "revision": m.handle.revision or "default",
                "revisions": list(m.handle.revisions),
                "tags": dict(istio.tags),
                "network": m.handle.network,
                "eastWestGateway": m.east_west.address if m.east_west else None,
                "summary": summary(m.handle, istio, len(clusters), providers is not None),
            }
            for name, m in meshes.items()
        },
    )
    return {name: m.handle for name, m in meshes.items()}
