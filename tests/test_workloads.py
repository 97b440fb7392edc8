"""Demo workloads and app namespaces: hardened, in the mesh, scenario-independent, remote backends declared."""

from __future__ import annotations

import pytest
from gateway_helpers import cloud, cluster_of, run, single
from harness import Program, Resource
from schemas import validate_k8s

from components.workloads.demo_service import image_version


def by_name(resources: list[Resource]) -> dict[str, Resource]:
    return {f"{cluster_of(r)}/{r.get('metadata.namespace', '')}/{r.get('metadata.name')}": r for r in resources}


def test_app_namespaces_are_labelled_for_injection(dev: Program) -> None:
    namespaces = by_name([r for r in dev.k8s_objects("Namespace") if r.name == "local-apps-shop"])
    assert list(namespaces) == ["local//shop"]
    assert namespaces["local//shop"].get("metadata.labels")["istio-injection"] == "enabled"


def test_revision_label_replaces_istio_injection() -> None:
    config = single("in-cluster-gateway-mesh")
    config["meshgate:istio"] = {**config["meshgate:istio"], "revision": "1-24-2"}
    program = run(config)
    labels = program.named("local-apps-shop").get("metadata.labels")
    assert labels["istio.io/rev"] == "1-24-2"
    assert "istio-injection" not in labels


def test_every_demo_service_has_account_deployment_and_service(dev: Program) -> None:
    for svc in ("orders", "payments"):
        account = dev.named(f"local-apps-shop-{svc}-sa")
        deployment = dev.named(f"local-apps-shop-{svc}-deployment")
        service = dev.named(f"local-apps-shop-{svc}-service")
        assert account.get("automountServiceAccountToken") is False
        assert deployment.get("spec.template.spec.serviceAccountName") == svc
        assert service.get("spec.selector") == {"app": svc}
        assert service.get("spec.ports") == [
            {"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP", "appProtocol": "http"}
        ]


def test_deployments_are_hardened(dev: Program) -> None:
    deployments = [dev.named(f"local-apps-shop-{s}-deployment") for s in ("orders", "payments")]
    for deployment in deployments:
        pod = deployment.get("spec.template.spec")
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["containers"]
        ctx = container["securityContext"]
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 65532
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        assert set(container["resources"]) == {"requests", "limits"}
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}
        assert container["image"] == "ghcr.io/mccutchen/go-httpbin:2.15.0"
        assert container["env"] == [{"name": "PORT", "value": "8080"}]
        assert container["ports"][0]["containerPort"] == 8080
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] == "http"
        labels = deployment.get("spec.template.metadata.labels")
        assert labels["app"] in ("orders", "payments") and labels["version"] == "2.15.0"


def test_deployments_wait_for_istiod_and_their_namespace(dev: Program) -> None:
    istiod = dev.named("local-istiod")
    namespace = dev.named("local-apps-shop")
    for svc in ("orders", "payments"):
        deployment = dev.named(f"local-apps-shop-{svc}-deployment")
        assert dev.depends_on(deployment, istiod)
        assert dev.depends_on(deployment, namespace)
        assert dev.depends_on(dev.named(f"local-apps-shop-{svc}-service"), namespace)


def test_replicas_and_image_follow_the_config() -> None:
    config = single("in-cluster-gateway-mesh")
    config["meshgate:services"] = [
        {
            "name": "orders",
            "namespace": "shop",
            "cluster": "local",
            "port": 9090,
            "replicas": 3,
            "image": "ghcr.io/mccutchen/go-httpbin@sha256:" + "a" * 64,
        },
        {"name": "payments", "namespace": "pay", "cluster": "local"},
    ]
    config["meshgate:apis"][0]["service"] = {
        **config["meshgate:apis"][0]["service"],
        "port": 9090,
    }  # the API calls that port
    program = run(config)
    orders = program.named("local-apps-shop-orders-deployment")
    assert orders.get("spec.replicas") == 3
    assert orders.get("spec.template.metadata.labels.version") == "a" * 12
    assert program.named("local-apps-shop-orders-service").get("spec.ports.0.port") == 9090
    assert {r.get("metadata.name") for r in program.k8s_objects("Namespace") if r.name.startswith("local-apps-")} == {
        "shop",
        "pay",
    }


def test_multicluster_declares_remote_backends_in_the_gateway_cluster() -> None:
    program = run(cloud("in-cluster-gateway-mesh"))
    stub = program.named("aws-east-apps-shop-catalog-remote")
    assert cluster_of(stub) == "aws-east"
    assert stub.get("metadata.labels")["meshgate.io/backend"] == "remote"
    assert stub.get("spec.ports.0.name") == "http" and stub.get("spec.ports.0.port") == 8080
    # the backend itself runs only in gcp-central; nothing is declared twice
    catalog = [r for r in program.k8s_objects("Deployment") if r.get("metadata.name") == "catalog"]
    assert [cluster_of(r) for r in catalog] == ["gcp-central"]
    assert not [r for r in program.resources if r.name.startswith("gcp-central-apps-") and r.name.endswith("-remote")]


def test_single_cluster_mesh_declares_no_remote_backends(staging: Program) -> None:
    assert not [r for r in staging.resources if r.name.endswith("-remote")]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_workload_objects_validate(stack: str, request: pytest.FixtureRequest) -> None:
    program: Program = request.getfixturevalue(stack)
    objects = [
        r
        for r in program.resources
        if r.type.startswith("kubernetes:") and "meshgate:workloads:" in r.urn.split("::")[2] and r.kind
    ]
    assert objects
    for obj in objects:
        validate_k8s(obj.plain)


def test_image_version_label() -> None:
    assert image_version("ghcr.io/mccutchen/go-httpbin:2.15.0") == "2.15.0"
    assert image_version("localhost:5000/app:1.0") == "1.0"
    assert image_version("ghcr.io/x/y@sha256:" + "b" * 64) == "b" * 12
