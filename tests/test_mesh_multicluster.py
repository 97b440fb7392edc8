"""One multi-cluster, multi-network mesh: shared CA, east-west gateways, remote secrets (issue 3)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from harness import Program, Resource, evaluate, secret_paths
from mesh_helpers import (
    CA_DATA,
    cluster_of,
    in_cluster,
    kubeconfig_config,
    mesh_k8s,
    mesh_resources,
    objects,
    one_object,
    release,
    write_kubeconfig,
)

CLUSTERS = ["one", "two", "three"]


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kubeconfig(tmp_path_factory.mktemp("kube"), CLUSTERS)


@pytest.fixture(scope="module")
def two(kubeconfig: Path) -> Program:
    return evaluate(kubeconfig_config(kubeconfig, CLUSTERS[:2], multicluster=True))


@pytest.fixture(scope="module")
def three(kubeconfig: Path) -> Program:
    return evaluate(kubeconfig_config(kubeconfig, CLUSTERS, multicluster=True))


def mesh_ca(program: Program, type_token: str) -> list[Resource]:
    """The mesh CA's TLS resources (the Kong admin API has a private CA of its own)."""
    return [r for r in program.of_type(type_token) if "meshgate:mesh:MeshCertificateAuthority$" in r.urn]


def remote_secrets(program: Program) -> list[Resource]:
    return [
        r for r in program.k8s_objects("Secret") if (r.get("metadata.labels") or {}).get("istio/multiCluster") == "true"
    ]


# ------------------------------------------------------------------ counts


@pytest.mark.parametrize("n", [2, 3])
def test_counts_grow_with_the_number_of_clusters(n: int, two: Program, three: Program) -> None:
    program = two if n == 2 else three
    assert len(remote_secrets(program)) == n * (n - 1)
    mesh = mesh_resources(program)
    assert len([r for r in mesh if r.type == "meshgate:mesh:IstioGateway"]) == n
    assert (
        len([r for r in mesh if r.kind == "Secret"]) == len(remote_secrets(program)) + 2 * n
    )  # + cacerts + reader token
    assert len([s for s in program.k8s_objects("Secret") if s.get("metadata.name") == "cacerts"]) == n
    assert len(mesh_ca(program, "tls:index/selfSignedCert:SelfSignedCert")) == 1
    assert len(mesh_ca(program, "tls:index/locallySignedCert:LocallySignedCert")) == n
    assert len([r for r in program.k8s_objects("Gateway") if r.get("metadata.name") == "cross-network-gateway"]) == n


def test_prod_federates_eks_and_gke(prod: Program) -> None:
    assert len(remote_secrets(prod)) == 2
    assert len([r for r in mesh_resources(prod) if r.type == "meshgate:mesh:IstioGateway"]) == 2
    assert len([s for s in prod.k8s_objects("Secret") if s.get("metadata.name") == "cacerts"]) == 2
    for cluster in ("aws-east", "gcp-central"):
        assert release(prod, cluster, "istiod").get("values")["global"]["multiCluster"]["clusterName"] == cluster


def test_staging_meshes_both_clusters_without_federation(staging: Program) -> None:
    for cluster in ("aws-east", "gcp-central"):
        release(staging, cluster, "base")
        release(staging, cluster, "istiod")
    assert not remote_secrets(staging)


# ------------------------------------------------------------------ networks


def test_istio_system_carries_the_network_label(three: Program) -> None:
    for cluster in CLUSTERS:
        ns = one_object(three, cluster, "Namespace", "istio-system")
        assert ns.get("metadata.labels")["topology.istio.io/network"] == f"{cluster}-net"
        assert release(three, cluster, "istiod").get("values")["global"]["network"] == f"{cluster}-net"


def test_istiod_waits_for_the_network_label_and_cacerts(three: Program) -> None:
    for cluster in CLUSTERS:
        istiod = release(three, cluster, "istiod")
        assert three.depends_on(istiod, one_object(three, cluster, "Namespace", "istio-system"))
        assert three.depends_on(istiod, one_object(three, cluster, "Secret", "cacerts"))
        assert three.depends_on(istiod, release(three, cluster, "base"))


def test_east_west_gateway(three: Program) -> None:
    for cluster in CLUSTERS:
        gw = release(three, cluster, "gateway")
        assert gw.get("name") == "istio-eastwestgateway"
        assert gw.get("namespace") == "istio-eastwest"
        assert gw.get("version") == "1.31.0"
        values = gw.get("values")
        # What the chart's networkGateway would set, without its 15012/15017 ports (and it would
        # replace service.ports): the network label and the requested network view.
        assert "networkGateway" not in values
        assert values["labels"] == {"topology.istio.io/network": f"{cluster}-net"}
        assert values["env"] == {"ISTIO_META_REQUESTED_NETWORK_VIEW": f"{cluster}-net"}
        assert values["service"]["type"] == "LoadBalancer"
        assert three.depends_on(gw, release(three, cluster, "istiod"))
        ns = one_object(three, cluster, "Namespace", "istio-eastwest")
        assert ns.get("metadata.labels")["istio-injection"] == "enabled"
        assert ns.get("metadata.labels")["topology.istio.io/network"] == f"{cluster}-net"
        assert three.depends_on(gw, ns)


def test_east_west_exposes_only_what_multi_primary_uses(three: Program, prod: Program) -> None:
    for program, clusters in ((three, CLUSTERS), (prod, ["aws-east", "gcp-central"])):
        for cluster in clusters:
            ports = release(program, cluster, "gateway").get("values")["service"]["ports"]
            assert {(p["name"], p["port"], p["targetPort"]) for p in ports} == {
                ("status-port", 15021, 15021),
                ("tls", 15443, 15443),
            }


def test_east_west_admits_only_the_peers_egress_addresses(prod: Program) -> None:
    from stacks.recording import fake_ip as _fake_ip

    eips = {f"{_fake_ip('52.0.0.0', r.name)}/32" for r in prod.of_type("aws:ec2/eip:Eip")}
    gcp = {f"{_fake_ip('34.0.0.0', r.name)}/32" for r in prod.of_type("gcp:compute/address:Address")}
    aws_ew = release(prod, "aws-east", "gateway")
    gcp_ew = release(prod, "gcp-central", "gateway")
    assert set(aws_ew.get("values")["service"]["loadBalancerSourceRanges"]) == gcp
    assert set(gcp_ew.get("values")["service"]["loadBalancerSourceRanges"]) == eips
    for gw, peers in ((aws_ew, prod.of_type("gcp:compute/address:Address")), (gcp_ew, prod.of_type("aws:ec2/eip:Eip"))):
        assert all(prod.depends_on(gw, p) for p in peers)


def test_adopted_clusters_restrict_east_west_by_their_declared_egress(kubeconfig: Path) -> None:
    config = kubeconfig_config(kubeconfig, CLUSTERS[:2], multicluster=True)
    program = evaluate(config)
    assert "loadBalancerSourceRanges" not in release(program, "one", "gateway").get("values")["service"]
    config["meshgate:clusters"][0]["egressCidrs"] = ["198.18.1.1/32"]
    config["meshgate:clusters"][1]["egressCidrs"] = ["198.18.2.0/29"]
    program = evaluate(config)
    assert release(program, "one", "gateway").get("values")["service"]["loadBalancerSourceRanges"] == ["198.18.2.0/29"]
    assert release(program, "two", "gateway").get("values")["service"]["loadBalancerSourceRanges"] == ["198.18.1.1/32"]


def test_east_west_uses_an_nlb_on_eks_and_the_default_lb_on_gke(prod: Program) -> None:
    annotations = release(prod, "aws-east", "gateway").get("values")["service"]["annotations"]
    assert annotations == {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    assert release(prod, "gcp-central", "gateway").get("values")["service"]["annotations"] == {}


def test_cross_network_gateway(three: Program) -> None:
    for cluster in CLUSTERS:
        gw = one_object(three, cluster, "Gateway", "cross-network-gateway")
        assert gw.get("apiVersion") == "networking.istio.io/v1"
        assert gw.get("metadata.namespace") == "istio-eastwest"
        assert gw.get("spec") == {
            "selector": {"app": "istio-eastwestgateway", "istio": "eastwestgateway"},
            "servers": [
                {
                    "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                    "tls": {"mode": "AUTO_PASSTHROUGH"},
                    "hosts": ["*.local"],
                }
            ],
        }
        assert three.depends_on(gw, release(three, cluster, "gateway"))
        assert three.depends_on(gw, release(three, cluster, "base"))


# ------------------------------------------------------------------ CA


def test_cacerts_holds_a_per_cluster_intermediate_chained_to_one_root(three: Program) -> None:
    (root,) = mesh_ca(three, "tls:index/selfSignedCert:SelfSignedCert")
    assert root.get("isCaCertificate") is True
    for cluster in CLUSTERS:
        secret = one_object(three, cluster, "Secret", "cacerts")
        assert secret.get("metadata.namespace") == "istio-system"
        data = secret.get("stringData")
        assert set(data) == {"ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"}
        assert data["root-cert.pem"] == f"-----MOCK CERT {root.name}-----"
        intermediate = f"-----MOCK CERT {'testmesh-ca'}-{cluster}-cert-----"
        assert data["ca-cert.pem"] == intermediate
        assert data["cert-chain.pem"] == f"{intermediate}\n{data['root-cert.pem']}\n"
        assert data["ca-key.pem"] == f"-----MOCK KEY testmesh-ca-{cluster}-key-----"


def test_ca_keys_are_secret(three: Program) -> None:
    for cluster in CLUSTERS:
        secret = one_object(three, cluster, "Secret", "cacerts")
        assert list(secret_paths(secret.inputs)) == ["stringData"]  # ca-key.pem makes the whole map secret


def test_intermediates_are_signing_cas(three: Program) -> None:
    for cert in mesh_ca(three, "tls:index/locallySignedCert:LocallySignedCert"):
        assert cert.get("isCaCertificate") is True
        assert set(cert.get("allowedUses")) == {"cert_signing", "crl_signing", "digital_signature", "key_encipherment"}
        assert cert.get("validityPeriodHours") < mesh_ca(three, "tls:index/selfSignedCert:SelfSignedCert")[0].get(
            "validityPeriodHours"
        )
    keys = mesh_ca(three, "tls:index/privateKey:PrivateKey")
    assert len(keys) == 4 and all(k.get("algorithm") == "RSA" and k.get("rsaBits") == 4096 for k in keys)


def test_single_cluster_needs_no_ca(staging: Program) -> None:
    assert not staging.of_type("meshgate:mesh:MeshCertificateAuthority")
    assert not [r for r in mesh_resources(staging) if r.type.startswith("tls:")]
    assert not [r for r in mesh_resources(staging) if r.get("metadata.name") == "cacerts"]


# ------------------------------------------------------------------ remote secrets


def test_reader_token_per_cluster(three: Program) -> None:
    for cluster in CLUSTERS:
        token = one_object(three, cluster, "Secret", "istio-reader-service-account-token")
        assert token.get("type") == "kubernetes.io/service-account-token"
        assert token.get("metadata.namespace") == "istio-system"
        assert token.get("metadata.annotations") == {
            "kubernetes.io/service-account.name": "istio-reader-service-account"
        }
        assert three.depends_on(token, release(three, cluster, "base"))
        assert three.depends_on(token, release(three, cluster, "istiod"))


def test_remote_secret_for_every_other_cluster(three: Program) -> None:
    for local in CLUSTERS:
        secrets = [r for r in remote_secrets(three) if cluster_of(three, r) == local]
        peers = sorted(r.get("metadata.annotations")["networking.istio.io/cluster"] for r in secrets)
        assert peers == sorted(c for c in CLUSTERS if c != local)
        for secret in secrets:
            peer = secret.get("metadata.annotations")["networking.istio.io/cluster"]
            assert secret.get("metadata.name") == f"istio-remote-secret-{peer}"
            assert secret.get("metadata.namespace") == "istio-system"
            assert list(secret.get("stringData")) == [peer]
            kubeconfig = yaml.safe_load(secret.get("stringData")[peer])
            assert kubeconfig["clusters"] == [
                {
                    "name": peer,
                    "cluster": {"server": f"https://{peer}.example.com:6443", "certificate-authority-data": CA_DATA},
                }
            ]
            expected_token = f"mock-token-{peer}-istio-reader-service-account-token"  # the mock token controller's
            assert kubeconfig["users"] == [{"name": peer, "user": {"token": expected_token}}]
            assert kubeconfig["current-context"] == peer
            assert "exec" not in kubeconfig["users"][0]["user"]
            assert list(secret_paths(secret.inputs)) == ["stringData"]
            assert three.depends_on(secret, one_object(three, peer, "Secret", "istio-reader-service-account-token"))
            assert three.depends_on(secret, release(three, local, "base"))


# ------------------------------------------------------------------ isolation between clusters


def test_nothing_crosses_clusters_except_remote_secrets_and_the_ca(three: Program) -> None:
    allowed = {r.urn for r in remote_secrets(three)}
    for r in mesh_resources(three):
        home = cluster_of(three, r)
        if home is None:
            assert r.type.startswith("tls:") or r.type.startswith("meshgate:mesh:"), r.name
            continue
        reached = {
            cluster_of(three, a) for a in (three.by_urn()[u] for u in three.ancestors(r.urn) if u in three.by_urn())
        }
        foreign = reached - {home, None}
        if foreign:
            assert r.urn in allowed, f"{r.name} in {home} waits on {foreign}"


def test_clusters_do_not_wait_on_each_others_control_plane(prod: Program) -> None:
    aws_istiod = release(prod, "aws-east", "istiod")
    gcp_istiod = release(prod, "gcp-central", "istiod")
    assert not prod.depends_on(aws_istiod, gcp_istiod) and not prod.depends_on(gcp_istiod, aws_istiod)
    for r in in_cluster(prod, "aws-east", mesh_k8s(prod)):
        assert not prod.depends_on(r, gcp_istiod) or r in remote_secrets(prod), r.name


def test_no_remote_secret_without_multicluster(kubeconfig: Path) -> None:
    program = evaluate(kubeconfig_config(kubeconfig, CLUSTERS[:2], multicluster=False))
    assert not remote_secrets(program)
    # no mesh Secret (cacerts, reader token, remote secrets); Kong's admin client certificate is the gateway's own
    assert [s.get("metadata.name") for s in objects(program, "one", "Secret")] in ([], ["kong-admin-api-client"])


# ------------------------------------------------------------------ CA changes roll istiod


def _cacerts_sha256(secret: Resource) -> str:
    data = secret.get("stringData")
    return hashlib.sha256(
        "".join(data[k] for k in ("root-cert.pem", "cert-chain.pem", "ca-cert.pem")).encode()
    ).hexdigest()


def test_istiod_pod_template_carries_the_hash_of_its_cacerts(three: Program) -> None:
    # The istiod chart copies `podAnnotations` into the Deployment's pod template, so a new
    # hash is a new template: Kubernetes rolls istiod, which reads `cacerts` only at start.
    hashes = set()
    for cluster in CLUSTERS:
        annotations = release(three, cluster, "istiod").get("values")["podAnnotations"]
        secret = one_object(three, cluster, "Secret", "cacerts")
        assert annotations == {"meshgate.io/cacerts-sha256": _cacerts_sha256(secret)}
        hashes.add(annotations["meshgate.io/cacerts-sha256"])
    assert len(hashes) == len(CLUSTERS)  # each cluster its own intermediate


def test_turning_multicluster_on_changes_the_istiod_pod_template(kubeconfig: Path, three: Program) -> None:
    single = evaluate(kubeconfig_config(kubeconfig, CLUSTERS, multicluster=False))
    for cluster in CLUSTERS:
        before = release(single, cluster, "istiod")
        after = release(three, cluster, "istiod")
        assert before.urn == after.urn  # the same release is upgraded, not replaced
        assert "meshgate.io/cacerts-sha256" not in (before.get("values").get("podAnnotations") or {})
        assert after.get("values")["podAnnotations"]["meshgate.io/cacerts-sha256"]
        assert three.depends_on(after, one_object(three, cluster, "Secret", "cacerts"))


def test_a_new_root_changes_every_hash(kubeconfig: Path, three: Program) -> None:
    other = evaluate(kubeconfig_config(kubeconfig, CLUSTERS, multicluster=True, meshId="othermesh"))
    for cluster in CLUSTERS:
        assert (
            release(other, cluster, "istiod").get("values")["podAnnotations"]
            != release(three, cluster, "istiod").get("values")["podAnnotations"]
        )
