"""Layering: components stand on their own; each is built here alone, under mocks, from its own Args.

Nothing under components/ imports `stacks` (checked on the syntax tree of every module, so a
function-local or `TYPE_CHECKING` import counts too); importing the components built below
loads no `stacks` module; and a GKE cluster, an Istio mesh and a Gateway API gateway are
registered from their Args alone (no stack file, no stack config), with what upstream documents
for each.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pulumi
import pulumi_kubernetes as k8s
from harness import ROOT, Program, evaluate

from components.clusters.gke import GkeCluster, GkeClusterArgs, GkeNodes
from components.clusters.handle import ClusterHandle
from components.gateways.gateway_api.scenario import GatewayApiGateway
from components.gateways.shared.catalogue import Jwt, Route
from components.gateways.shared.in_cluster_gateway_args import GatewaySettings, InClusterEdgeArgs
from components.mesh.istio import IstioMesh, IstioMeshArgs
from components.mesh.settings import IstioSettings

STANDALONE = ("components.clusters.gke", "components.mesh.istio", "components.gateways.gateway_api.scenario")


def _imports(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def test_no_component_imports_stacks() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "components").rglob("*.py"))
        for module in _imports(ast.parse(path.read_text(), str(path)))
        if module == "stacks" or module.startswith("stacks.")
    ]
    assert not offenders, "components must not import stacks (map the stack config in stacks/):\n" + "\n".join(
        offenders
    )


def test_the_import_check_sees_local_and_type_checking_imports() -> None:
    source = "if TYPE_CHECKING:\n    from stacks.config import X\ndef f():\n    import stacks.mesh\n"
    assert _imports(ast.parse(source)) == ["stacks.config", "stacks.mesh"]


def test_standalone_components_load_no_stacks_module() -> None:
    code = (
        f"import importlib, json, sys\nfor m in {STANDALONE!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'stacks' or m.startswith('stacks.'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []


# --------------------------------------------------------------------------- built alone

ISTIO = IstioSettings(version="1.31.0", chart_repo="https://istio-release.storage.googleapis.com/charts", mesh_id="m1")


def _cluster(name: str) -> ClusterHandle:
    return ClusterHandle(
        name=name,
        cloud="local",
        network=f"{name}-net",
        kubeconfig=pulumi.Output.secret(""),
        api_server=pulumi.Output.from_input(f"https://{name}.example.com"),
        ca_data=pulumi.Output.from_input(""),
        provider=k8s.Provider(f"{name}-k8s"),
    )


def _run(build: object) -> Program:
    return evaluate({}, program=build, deployer_default=False)  # type: ignore[arg-type]


def test_gke_cluster_alone() -> None:
    def build() -> None:
        GkeCluster(
            "g1",
            GkeClusterArgs(
                project="p1",
                region="europe-west1",
                vpc_cidr="10.30.0.0/16",
                network="g1-net",
                nodes=GkeNodes(machine_type="e2-standard-4", min=3, max=6),
                nat_addresses=["https://gcp.example.com/nat-0"],
                authorized_networks=[],
            ),
        )

    program = _run(build)
    cluster = program.one("gcp:container/cluster:Cluster")
    # Workload Identity: the pool is `<project>.svc.id.goog`
    # (cloud.google.com/kubernetes-engine/docs/how-to/workload-identity)
    assert cluster.get("workloadIdentityConfig.workloadPool") == "p1.svc.id.goog"
    # Private nodes: no public node addresses; the control plane gets the configured /28
    assert cluster.get("privateClusterConfig.enablePrivateNodes") is True
    assert cluster.get("privateClusterConfig.masterIpv4CidrBlock") == "172.16.0.0/28"
    assert cluster.get("location") == "europe-west1"
    # the nodes run as their own least-privilege service account in the project, not the default compute one
    account = program.one("gcp:serviceaccount/account:Account")
    assert account.get("project") == "p1"
    assert cluster.get("nodeConfig.serviceAccount") or program.one("gcp:container/nodePool:NodePool").get(
        "nodeConfig.serviceAccount"
    )
    # A regional pool's total_* limits count nodes across all zones
    # (cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler)
    pool = program.one("gcp:container/nodePool:NodePool")
    assert pool.get("autoscaling.totalMinNodeCount") == 3 and pool.get("autoscaling.totalMaxNodeCount") == 6
    assert pool.get("nodeConfig.machineType") == "e2-standard-4"
    subnet = program.one("gcp:compute/subnetwork:Subnetwork")
    assert subnet.get("region") == "europe-west1" and subnet.get("ipCidrRange", "").startswith("10.30.")
    assert {r.parent for r in program.resources if r.type.startswith("gcp:")} <= {
        r.urn for r in program.resources if r.type.startswith("meshgate:")
    }


def test_istio_mesh_alone() -> None:
    def build() -> None:
        IstioMesh("c1", IstioMeshArgs(cluster=_cluster("c1"), istio=ISTIO, multicluster=False))

    program = _run(build)
    releases = {r.get("chart"): r for r in program.releases()}
    assert {"base", "istiod"} <= set(releases)
    base, istiod = releases["base"], releases["istiod"]
    for release in (base, istiod):
        assert release.get("version") == "1.31.0"
        assert release.get("repositoryOpts.repo") == ISTIO.chart_repo
        assert release.get("namespace") == "istio-system"
    # istiod's mesh identity and network (istio.io multi-cluster install: global.meshID, global.network)
    assert istiod.get("values.global.meshID") == "m1"
    assert istiod.get("values.global.network") == "c1-net"
    assert istiod.get("values.meshConfig.trustDomain") == "cluster.local"
    # The CRDs of the base chart exist before istiod's validating webhook and config (helm install order in istio.io)
    assert program.depends_on(istiod, base)
    namespace = program.one("kubernetes:core/v1:Namespace")
    assert namespace.get("metadata.name") == "istio-system" and program.depends_on(base, namespace)


def test_gateway_api_gateway_alone() -> None:
    jwt = Jwt(issuer="https://auth.example.com/", jwks_uri="https://auth.example.com/jwks.json", audiences=["a1"])
    routes = [
        Route("orders", "/orders", "c1", "orders", "shop", 8080, 8080, "jwt", 600, jwt, True),
        Route("catalog", "/catalog", "c1", "catalog", "shop", 80, 8080, "none", None, None, False),
    ]

    def build() -> None:
        cluster = _cluster("c1")
        mesh = IstioMesh("c1", IstioMeshArgs(cluster=cluster, istio=ISTIO, multicluster=False))
        shop = k8s.core.v1.Namespace(
            "shop", metadata={"name": "shop"}, opts=pulumi.ResourceOptions(provider=cluster.provider)
        )
        GatewayApiGateway(
            "gateway-api",
            InClusterEdgeArgs(
                routes=routes,
                meshes={"c1": mesh.handle},
                cluster="c1",
                namespaces={("c1", "shop"): shop},
                gateway=GatewaySettings(kong_chart_version="0.24.0", gateway_api_version="v1.3.0"),
            ),
        )

    program = _run(build)
    gateway = next(
        r
        for r in program.k8s_objects()
        if r.kind == "Gateway" and "gateway.networking.k8s.io" in r.get("apiVersion", "")
    )
    # Istio's Gateway API implementation serves Gateways of class `istio`
    # (istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/)
    assert gateway.get("spec.gatewayClassName") == "istio"
    listeners = {lst["name"]: lst for lst in gateway.get("spec.listeners")}
    https = next(lst for lst in listeners.values() if lst["protocol"] == "HTTPS")
    assert https["port"] == 443 and https["tls"]["mode"] == "Terminate"
    http_routes = {r.get("metadata.name"): r for r in program.k8s_objects("HTTPRoute")}
    assert set(http_routes) >= {"orders", "catalog"}
    orders = http_routes["orders"]
    assert orders.get("metadata.namespace") == "shop"
    rule = orders.get("spec.rules")[0]
    assert rule["matches"][0]["path"] == {"type": "PathPrefix", "value": "/orders"}
    rewrite = next(f for f in rule["filters"] if f["type"] == "URLRewrite")
    assert rewrite["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
    assert rule["backendRefs"][0]["name"] == "orders" and rule["backendRefs"][0]["port"] == 8080
    # JWT checked at the gateway: a RequestAuthentication with the route's issuer and JWKS
    issuers = [
        rule
        for r in program.k8s_objects("RequestAuthentication")
        for rule in r.get("spec.jwtRules", [])
        if rule.get("issuer") == jwt.issuer
    ]
    assert issuers and issuers[0]["jwksUri"] == jwt.jwks_uri and issuers[0]["audiences"] == ["a1"]
    # the Gateway API CRDs come from the pinned release's standard-install.yaml
    crds = program.one("kubernetes:yaml/v2:ConfigFile")
    assert crds.get("file", "").endswith("/v1.3.0/standard-install.yaml")
