"""Helpers shared by the mesh tests: synthetic multi-cluster configs and graph queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from harness import Program, Resource

from components.clusters.handle import ClusterHandle
from components.istio_security.authorization import allow_from, allow_nothing
from components.istio_security.peer_authentication import peer_authentication
from components.istio_security.request_authentication import request_authentication
from components.mesh.istio import IstioMesh, IstioMeshArgs
from stacks.config import IstioSpec
from stacks.mesh import istio_settings

MESH_COMPONENTS = ("meshgate:mesh:IstioMesh", "meshgate:mesh:MeshFederation", "meshgate:mesh:MeshCertificateAuthority")
CA_DATA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="


def write_kubeconfig(directory: Path, clusters: list[str]) -> Path:
    """A kubeconfig with one context per cluster (server https://<name>.example.com:6443)."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": c, "cluster": {"server": f"https://{c}.example.com:6443", "certificate-authority-data": CA_DATA}}
            for c in clusters
        ],
        "users": [{"name": c, "user": {"token": f"admin-{c}"}} for c in clusters],
        "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in clusters],
        "current-context": clusters[0],
    }
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return path


def kubeconfig_config(kubeconfig: Path, clusters: list[str], **istio: Any) -> dict[str, Any]:
    """A scenario-3 stack of `kind: kubeconfig` clusters with `meshgate:istio` = `istio`."""
    return {
        "meshgate:scenario": "in-cluster-gateway-mesh",
        "meshgate:clusters": [
            {"name": c, "kind": "kubeconfig", "kubeconfig": str(kubeconfig), "context": c, "network": f"{c}-net"}
            for c in clusters
        ],
        "meshgate:istio": {"version": "1.31.0", "meshId": "testmesh", **istio},
    }


def parent_chain(program: Program, resource: Resource) -> list[Resource]:
    index = program.by_urn()
    chain: list[Resource] = []
    current = index.get(resource.parent)
    while current is not None:
        chain.append(current)
        current = index.get(current.parent)
    return chain


def mesh_resources(program: Program) -> list[Resource]:
    """Every resource registered by the mesh layer (descendants of the mesh components)."""
    return [r for r in program.resources if any(p.type in MESH_COMPONENTS for p in parent_chain(program, r))]


def mesh_k8s(program: Program) -> list[Resource]:
    """The Kubernetes objects and Helm releases of the mesh layer."""
    return [r for r in mesh_resources(program) if r.type.startswith("kubernetes:")]


def cluster_of(program: Program, resource: Resource) -> str | None:
    """The cluster a resource belongs to (None: shared, e.g. the CA)."""
    for parent in [resource, *parent_chain(program, resource)]:
        if parent.type.startswith("meshgate:clusters:") or parent.type == "meshgate:mesh:IstioMesh":
            return parent.name
    names = [resource.provider.rsplit("::", 1)[-1]] if resource.provider else []
    if resource.type.startswith("pulumi:providers:"):
        names.append(resource.name)
    for name in names:
        for suffix in ("-k8s", "-aws", "-gcp"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
    return None


def in_cluster(program: Program, cluster: str, resources: list[Resource]) -> list[Resource]:
    return [r for r in resources if cluster_of(program, r) == cluster]


def release(program: Program, cluster: str, chart: str) -> Resource:
    found = [r for r in in_cluster(program, cluster, program.releases()) if r.get("chart") == chart]
    assert len(found) == 1, f"expected one {chart} release in {cluster}, found {[r.name for r in found]}"
    return found[0]


def objects(program: Program, cluster: str, kind: str, name: str | None = None) -> list[Resource]:
    return [
        r
        for r in in_cluster(program, cluster, program.k8s_objects(kind))
        if name is None or r.get("metadata.name") == name
    ]


def one_object(program: Program, cluster: str, kind: str, name: str) -> Resource:
    found = objects(program, cluster, kind, name)
    assert len(found) == 1, f"expected one {kind} {name} in {cluster}, found {len(found)}"
    return found[0]


def small_mesh(revision: str | None = None) -> IstioMesh:
    """A one-cluster mesh (cluster `c1`) for component-level programs."""
    cluster = ClusterHandle(
        name="c1",
        cloud="local",
        network="c1-net",
        kubeconfig=pulumi.Output.secret(""),
        api_server=pulumi.Output.from_input("https://c1.example.com"),
        ca_data=pulumi.Output.from_input(""),
        provider=k8s.Provider("c1-k8s"),
    )
    return IstioMesh(
        "c1", IstioMeshArgs(cluster=cluster, istio=istio_settings(IstioSpec(revision=revision)), multicluster=False)
    )


def policy_program() -> None:
    """A program registering one resource of every policy builder."""
    mesh = small_mesh()
    h = mesh.handle
    allow_nothing("shop", mesh=h, parent=mesh)
    allow_from(
        "allow-gateway",
        "shop",
        mesh=h,
        parent=mesh,
        principals=[h.principal("kong", "kong-gateway")],
        selector={"app": "orders"},
        paths=["/orders", "/orders/*"],
        ports=[8080],
    )
    allow_from("require-jwt", "kong", mesh=h, parent=mesh, request_principals=["*"])
    peer_authentication(
        "orders-plaintext",
        "shop",
        mesh=h,
        parent=mesh,
        selector={"app": "orders"},
        port_level_mtls={8080: "PERMISSIVE"},
    )
    peer_authentication("shop", "shop", mesh=h, parent=mesh, mode="STRICT")
    request_authentication(
        "jwt",
        "kong",
        issuer="https://auth.example.com/",
        jwks_uri="https://auth.example.com/jwks.json",
        audiences=["orders"],
        mesh=h,
        parent=mesh,
        selector={"app": "kong"},
    )
