"""Gateway layer wiring: the chosen scenario's edge path, built from the one API catalogue.

This is the only layer that reads `meshgate:scenario`; each scenario lives in one module of
components/gateways/. Stack outputs: `endpoints`, `curl` (one line per API) and `hops`
(which hops of a request are mTLS-protected, from stacks/traffic/model.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.gateways.external.scenario import CloudApiGateway, IngressEndpoint
from components.gateways.shared.catalogue import Jwt, Route
from components.gateways.shared.in_cluster_gateway_args import CertManagerKeys, GatewaySettings, InClusterEdgeArgs
from components.gateways.shared.scenario_outputs import Edge, curl_lines
from components.mesh.handle import MeshHandle
from components.workloads.cluster_apps import ClusterApps
from stacks.clusters import BuiltCluster
from stacks.config import GatewaySpec, JwtSpec, Scenario, StackConfig
from stacks.traffic import model as traffic


def _jwt(spec: JwtSpec | None) -> Jwt | None:
    return None if spec is None else Jwt(issuer=spec.issuer, jwks_uri=spec.jwks_uri, audiences=list(spec.audiences))


def routes(config: StackConfig) -> list[Route]:
    """The catalogue in config order; `auth: jwt` routes carry their issuer (API's or meshgate:jwt)."""
    demo = {(s.cluster, s.namespace, s.name) for s in config.services}
    return [
        Route(
            name=api.name,
            path=api.path,
            cluster=api.cluster,
            service=api.service.name,
            namespace=api.service.namespace,
            port=api.service.port,
            target_port=config.target_port(api),
            auth=api.auth,
            rate_limit_per_minute=api.rate_limit_per_minute,
            jwt=_jwt(config.jwt_for(api)) if api.auth == "jwt" else None,
            demo=(api.cluster, api.service.namespace, api.service.name) in demo,
        )
        for api in config.apis
    ]


def gateway_settings(gateway: GatewaySpec) -> GatewaySettings:
    """`meshgate:gateway` as the in-cluster gateways' settings."""
    return GatewaySettings(
        kong_chart_version=gateway.kong_chart_version,
        gateway_api_version=gateway.gateway_api_version,
        namespace=gateway.namespace,
        replicas=gateway.replicas,
        install_gateway_api_crds=gateway.install_gateway_api_crds,
    )


def _namespaces(workloads: dict[str, ClusterApps]) -> Mapping[tuple[str, str], pulumi.Resource]:
    """(cluster, namespace) -> the app Namespace resource, in every cluster."""
    return {(cluster, ns): resource for cluster, apps in workloads.items() for ns, resource in apps.namespaces.items()}


def _external(
    config: StackConfig,
    clusters: dict[str, BuiltCluster],
    meshes: dict[str, MeshHandle],
    workloads: dict[str, ClusterApps],
) -> Edge:
    from components.gateways.external.scenario import ExternalGateway, ExternalGatewayArgs

    ext = config.external_gateway
    assert ext is not None, "validated by config_rules"
    name = f"{config.istio.mesh_id}-api"
    vpc_link_cluster: str | None = None
    providers: dict[str, pulumi.ProviderResource] = {}
    if ext.kind == "aws-http-api":
        import pulumi_aws as aws

        vpc_link_cluster = traffic.vpc_link_cluster(config)
        assert vpc_link_cluster is not None
        # The VPC link, NLB and API live in the EKS cluster's account and region: use its provider.
        eks = clusters[vpc_link_cluster].eks
        providers["aws"] = eks.get_provider("aws:apigatewayv2/api:Api") or aws.Provider(
            f"{name}-aws", region=ext.region
        )
    else:
        import pulumi_gcp as gcp

        providers["gcp"] = gcp.Provider(f"{name}-gcp", project=ext.project, region=ext.region)
    component = ExternalGateway(
        "external-gateway",
        ExternalGatewayArgs(
            name=name,
            routes=routes(config),
            meshes=meshes,
            external=CloudApiGateway(kind=ext.kind, region=ext.region, project=ext.project),
            entry={api.name: config.ingress_cluster(api) for api in config.apis},
            ingresses={
                c.name: IngressEndpoint(hostname=c.ingress.hostname, tls_secret=c.ingress.tls_secret)
                for c in config.clusters
                if c.ingress is not None
            },
            namespaces=_namespaces(workloads),
            ingress_replicas=config.gateway.replicas,
            vpc_link_cluster=vpc_link_cluster,
            vpc_link_eks=clusters[vpc_link_cluster].eks if vpc_link_cluster else None,
        ),
        pulumi.ResourceOptions(providers=providers),
    )
    return component.edge


def kong_admin_keys(
    config: StackConfig, clusters: Mapping[str, BuiltCluster], cert_manager: Mapping[str, pulumi.Resource]
) -> CertManagerKeys | None:
    """Where Kong's admin-API keys come from. cert-manager in the gateway cluster when the stack installs it
    there (a managed mesh CA: no key may enter the state), or when that cluster is rendered without
    `renderSecrets` (no key may enter the files; the cluster the YAML is applied to runs cert-manager);
    otherwise pulumi-tls (keys in the encrypted state)."""
    home = config.gateway_cluster
    if home in cert_manager:
        return CertManagerKeys(after=(cert_manager[home],))
    if not clusters[home].handle.holds_private_keys:
        return CertManagerKeys()
    return None


def _in_cluster_edge(
    config: StackConfig,
    clusters: Mapping[str, BuiltCluster],
    meshes: dict[str, MeshHandle],
    workloads: dict[str, ClusterApps],
    cert_manager: Mapping[str, pulumi.Resource],
) -> Edge:
    """Scenarios 2, 3 and 4: a gateway inside the gateway cluster, one component per scenario."""
    from components.gateways.gateway_api.scenario import GatewayApiGateway
    from components.gateways.kong.scenario_in_cluster import InClusterGateway
    from components.gateways.kong.scenario_in_cluster_mesh import InClusterMeshGateway

    component = {
        Scenario.IN_CLUSTER_GATEWAY: InClusterGateway,
        Scenario.IN_CLUSTER_GATEWAY_MESH: InClusterMeshGateway,
        Scenario.GATEWAY_API: GatewayApiGateway,
    }[config.scenario]
    home = config.gateway_cluster
    apps = workloads.get(home)
    args = InClusterEdgeArgs(
        routes=routes(config),
        meshes=meshes,
        cluster=home,
        namespaces=_namespaces(workloads),
        gateway=gateway_settings(config.gateway),
        services=apps.services if apps is not None else {},
        admin_keys=kong_admin_keys(config, clusters, cert_manager),
    )
    return component(config.scenario.value, args).edge


def build_gateway_layer(
    config: StackConfig,
    clusters: dict[str, BuiltCluster],
    meshes: dict[str, MeshHandle],
    workloads: dict[str, Any],
    cert_manager: Mapping[str, pulumi.Resource] | None = None,
) -> Edge:
    """Build the scenario's gateway resources and export `endpoints`, `curl` and `hops`.

    `cert_manager`: the cert-manager release of each cluster that has one installed by the stack."""
    scenario = config.scenario
    if scenario is Scenario.EXTERNAL_GATEWAY:
        edge = _external(config, clusters, meshes, workloads)
    else:
        edge = _in_cluster_edge(config, clusters, meshes, workloads, cert_manager or {})
    pulumi.export("endpoints", edge.endpoints)
    pulumi.export("curl", curl_lines(routes(config), edge))
    pulumi.export("hops", traffic.hops_output(traffic.hops(config)))
    return edge
