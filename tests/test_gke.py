"""GkeCluster: CIS GKE hardening, address plan, NAT, webhook firewall, protection, kubeconfig."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pulumi
import pytest
from harness import Program, Resource, evaluate, secret_paths, stack_config
from hypothesis import given
from hypothesis import strategies as st

from components.clusters.gcp_network import carve_ranges
from components.clusters.gke import node_account_id

CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"

# Google's least-privilege node service account roles (GKE hardening guide).
MINIMAL_NODE_ROLES = {
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
}


def gke_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "gke-one",
        "kind": "gke",
        "project": "acme-test",
        "region": "europe-west1",
        "vpcCidr": "10.30.0.0/16",
    }
    spec.update(overrides)
    return spec


def gke_only(protect: bool = False, **overrides: Any) -> Program:
    """A stack with one GKE cluster and nothing else that needs a second cloud."""
    return evaluate(
        {
            "meshgate:scenario": "gateway-api",
            "meshgate:clusters": [gke_spec(**overrides)],
            "meshgate:protect": protect,
        }
    )


@pytest.fixture(scope="module")
def synthetic() -> Program:
    return gke_only()


def gke_entry(stack: str) -> dict[str, Any]:
    return next(c for c in stack_config(stack)["meshgate:clusters"] if c["kind"] == "gke")


# ------------------------------------------------------------------ control plane


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_private_nodes_with_public_endpoint_and_configured_master_cidr(
    stack: str, request: pytest.FixtureRequest
) -> None:
    program: Program = request.getfixturevalue(stack)
    private = program.one(CLUSTER).get("privateClusterConfig")
    assert private == {
        "enablePrivateNodes": True,
        "enablePrivateEndpoint": False,
        "masterIpv4CidrBlock": gke_entry(stack)["masterCidr"],
    }


def test_master_authorized_networks_are_the_configured_ones_and_the_peers(prod: Program, synthetic: Program) -> None:
    man = prod.one(CLUSTER).get("masterAuthorizedNetworksConfig")
    configured = [b["cidrBlock"] for b in man["cidrBlocks"] if b["displayName"].startswith("meshgate-authorized-")]
    assert configured == gke_entry("prod").get("masterAuthorizedNetworks", [])
    deployer = [b["cidrBlock"] for b in man["cidrBlocks"] if b["displayName"].startswith("deployer-")]
    assert deployer == stack_config("prod")["meshgate:deployerCidrs"]
    others = {b["displayName"] for b in man["cidrBlocks"]} - {
        f"meshgate-authorized-{i}" for i in range(len(configured))
    }
    others -= {f"deployer-{i}" for i in range(len(deployer))}
    assert others == {f"peer-aws-east-nat-{i}" for i in range(3)}  # multi-cluster: the EKS peer's NAT EIPs
    assert man["gcpPublicCidrsAccessEnabled"] is False
    # None configured: the block is still set, with no CIDR (public endpoint closed to everyone).
    empty = synthetic.one(CLUSTER).get("masterAuthorizedNetworksConfig")
    assert empty == {"cidrBlocks": [], "gcpPublicCidrsAccessEnabled": False}


def test_master_authorized_network_open_to_the_internet_is_rejected() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        gke_only(masterAuthorizedNetworks=["203.0.113.0/24", "0.0.0.0/0"])
    assert str(caught.value).startswith("meshgate:clusters[0].masterAuthorizedNetworks[1] ")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_cis_cluster_settings(stack: str, request: pytest.FixtureRequest) -> None:
    program: Program = request.getfixturevalue(stack)
    entry = gke_entry(stack)
    cluster = program.one(CLUSTER)
    assert cluster.get("location") == entry["region"]  # regional control plane
    assert cluster.get("workloadIdentityConfig") == {"workloadPool": f"{entry['project']}.svc.id.goog"}
    assert cluster.get("releaseChannel") == {"channel": entry.get("releaseChannel", "REGULAR")}
    assert cluster.get("datapathProvider") == "ADVANCED_DATAPATH"
    assert cluster.get("networkPolicy") is None  # Dataplane V2 enforces NetworkPolicy itself
    assert cluster.get("enableLegacyAbac") is False
    assert cluster.get("enableShieldedNodes") is True
    assert cluster.get("masterAuth.clientCertificateConfig.issueClientCertificate") is False
    assert cluster.get("removeDefaultNodePool") is True and cluster.get("nodeConfig") is None
    assert cluster.get("networkingMode") == "VPC_NATIVE"
    assert cluster.get("ipAllocationPolicy") == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }
    assert cluster.get("loggingConfig.enableComponents") == ["SYSTEM_COMPONENTS", "WORKLOADS"]
    assert cluster.get("monitoringConfig.managedPrometheus.enabled") is True


def test_release_channel_follows_config(prod: Program, staging: Program) -> None:
    assert prod.one(CLUSTER).get("releaseChannel.channel") == "STABLE"
    assert staging.one(CLUSTER).get("releaseChannel.channel") == "REGULAR"  # the default


# ------------------------------------------------------------------ nodes


def test_node_pool_is_shielded_metadata_protected_and_sized_from_config(prod: Program) -> None:
    nodes = gke_entry("prod")["nodes"]
    pool = prod.one(POOL)
    config = pool.get("nodeConfig")
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert config["metadata"] == {"disable-legacy-endpoints": "true"}
    assert config["imageType"] == "COS_CONTAINERD" and config["diskType"] == "pd-balanced"
    assert config["machineType"] == nodes["machineType"]
    assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    # {min: 1, max: 3} means 1-3 nodes in the regional pool, not 1-3 in each of its zones
    assert pool.get("autoscaling") == {
        "totalMinNodeCount": nodes["min"],
        "totalMaxNodeCount": nodes["max"],
        "locationPolicy": "BALANCED",
    }
    assert pool.get("initialNodeCount") == 1 and "initialNodeCount" in pool.options["ignoreChanges"]
    assert pool.get("management") == {"autoRepair": True, "autoUpgrade": True}
    assert pool.get("upgradeSettings.maxSurge") == 1 and pool.get("upgradeSettings.maxUnavailable") == 0
    assert pool.get("location") == gke_entry("prod")["region"]


def test_nodes_run_as_a_dedicated_service_account_with_exactly_the_minimal_roles(prod: Program) -> None:
    project = gke_entry("prod")["project"]
    account = prod.one("gcp:serviceaccount/account:Account")
    email = f"{account.get('accountId')}@mock-project.iam.gserviceaccount.com"  # the mock's email
    service_account = prod.one(POOL).get("nodeConfig.serviceAccount")
    assert service_account == email and not service_account.endswith("-compute@developer.gserviceaccount.com")
    members = prod.of_type("gcp:projects/iAMMember:IAMMember")
    assert sorted(m.get("role") for m in members) == sorted(MINIMAL_NODE_ROLES)
    assert {m.get("member") for m in members} == {f"serviceAccount:{email}"}
    assert {m.get("project") for m in members} == {project}
    assert all(prod.depends_on(m, account) for m in members)


@pytest.mark.parametrize("name", ["ab", "gke-one", "cluster-name-of-exactly-twenty-nine", "x" * 40])
def test_node_service_account_id_is_valid_stable_and_distinct(name: str) -> None:
    account_id = node_account_id(name)
    assert re.fullmatch(r"[a-z][-a-z0-9]{4,28}[a-z0-9]", account_id), account_id
    assert account_id == node_account_id(name)
    assert node_account_id(name) != node_account_id(name[:-1] + "q")  # long names stay unique


# ------------------------------------------------------------------ network


def test_cloud_nat_gives_private_nodes_egress_in_the_cluster_region(staging: Program) -> None:
    region = gke_entry("staging")["region"]
    network = staging.one("gcp:compute/network:Network")
    router = staging.one("gcp:compute/router:Router")
    nat = staging.one("gcp:compute/routerNat:RouterNat")
    assert network.get("autoCreateSubnetworks") is False and network.get("routingMode") == "REGIONAL"
    assert router.get("region") == region and router.get("network") == f"{network.name}-id"
    assert nat.get("router") == router.get("name") and nat.get("region") == region
    assert nat.get("natIpAllocateOption") == "MANUAL_ONLY"  # static addresses peers can allow
    assert nat.get("sourceSubnetworkIpRangesToNat") == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert nat.get("logConfig") == {"enable": True, "filter": "ERRORS_ONLY"}
    subnet = staging.one(SUBNET)
    assert subnet.get("region") == region and subnet.get("privateIpGoogleAccess") is True
    assert subnet.get("logConfig.metadata") == "INCLUDE_ALL_METADATA"  # flow logs on


def test_only_firewall_opens_istio_webhook_port_from_the_control_plane(prod: Program) -> None:
    rule = prod.one(FIREWALL)
    assert rule.get("direction") == "INGRESS"
    assert rule.get("sourceRanges") == [gke_entry("prod")["masterCidr"]]
    assert rule.get("allows") == [{"protocol": "tcp", "ports": ["15017"]}]
    assert rule.get("targetServiceAccounts") == [prod.one(POOL).get("nodeConfig.serviceAccount")]
    assert rule.get("network") == prod.one(CLUSTER).get("network")
    assert not any("0.0.0.0/0" in (r.get("sourceRanges") or []) for r in prod.of_type(FIREWALL))


def test_control_plane_reaches_kongs_admission_webhook_when_kong_runs_on_gke() -> None:
    config = dict(stack_config("prod"))
    config["meshgate:gateway"] = {**config["meshgate:gateway"], "cluster": "gcp-central"}
    config["meshgate:apis"] = [{**a, "cluster": "gcp-central"} for a in config["meshgate:apis"]]
    program = evaluate(config, stack="prod")
    # kong/ingress 0.24.0 -> kong/kong 3.2.0: ingressController.admissionWebhook.port 8080
    assert program.one(FIREWALL).get("allows") == [{"protocol": "tcp", "ports": ["15017", "8080"]}]


def _subnet_ranges(subnet: Resource) -> dict[str, ipaddress.IPv4Network]:
    ranges = {"nodes": ipaddress.IPv4Network(subnet.get("ipCidrRange"))}
    for secondary in subnet.get("secondaryIpRanges"):
        ranges[secondary["rangeName"]] = ipaddress.IPv4Network(secondary["ipCidrRange"])
    return ranges


@pytest.mark.parametrize(
    ("vpc_cidr", "expected"),
    [
        ("10.30.0.0/16", {"nodes": "10.30.0.0/18", "services": "10.30.64.0/18", "pods": "10.30.128.0/17"}),
        ("10.40.64.0/18", {"nodes": "10.40.64.0/20", "services": "10.40.80.0/20", "pods": "10.40.96.0/19"}),
        ("192.168.16.0/20", {"nodes": "192.168.16.0/22", "services": "192.168.20.0/22", "pods": "192.168.24.0/21"}),
    ],
)
def test_subnetwork_ranges_are_carved_from_the_vpc_cidr(vpc_cidr: str, expected: dict[str, str]) -> None:
    program = gke_only(vpcCidr=vpc_cidr)
    ranges = _subnet_ranges(program.one(SUBNET))
    assert {k: str(v) for k, v in ranges.items()} == expected
    cluster = program.one(CLUSTER)
    assert set(ranges) >= {cluster.get("ipAllocationPolicy.clusterSecondaryRangeName"), "services"}


@given(
    base=st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]),
    prefix=st.integers(min_value=16, max_value=20),
    index=st.integers(min_value=0, max_value=4095),
)
def test_carved_ranges_tile_the_vpc_without_overlap(base: str, prefix: int, index: int) -> None:
    candidates = list(ipaddress.IPv4Network(base).subnets(new_prefix=prefix))
    vpc = candidates[index % len(candidates)]
    ranges = carve_ranges(str(vpc))
    nets = [ipaddress.IPv4Network(r) for r in (ranges.nodes, ranges.services, ranges.pods)]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert sum(n.num_addresses for n in nets) == vpc.num_addresses
    assert ipaddress.IPv4Network(ranges.pods).prefixlen == prefix + 1  # pods get half the VPC


# ------------------------------------------------------------------ lifecycle


def test_secrets_encrypted_with_a_cloud_kms_key_the_gke_agent_may_use(staging: Program, prod: Program) -> None:
    for program, stack_name, days in ((staging, "staging", 7), (prod, "prod", 30)):
        entry = gke_entry(stack_name)
        cluster = program.one(CLUSTER)
        key = program.one("gcp:kms/cryptoKey:CryptoKey")
        ring = program.one("gcp:kms/keyRing:KeyRing")
        assert ring.get("location") == entry["region"] and ring.get("project") == entry["project"]
        assert key.get("keyRing") == f"{ring.name}-id" and key.get("purpose") == "ENCRYPT_DECRYPT"
        assert key.get("rotationPeriod") == "7776000s"
        assert key.get("destroyScheduledDuration") == f"{days * 86400}s"
        assert cluster.get("databaseEncryption") == {"state": "ENCRYPTED", "keyName": f"{key.name}-id"}
        grant = program.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
        assert grant.get("role") == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        # the mocked project number is 123456789: GKE's service agent of that project
        assert grant.get("member") == "serviceAccount:service-123456789@container-engine-robot.iam.gserviceaccount.com"
        assert grant.get("cryptoKeyId") == f"{key.name}-id"
        assert program.depends_on(cluster, grant), "GKE checks it can use the key when the cluster is created"
        apis = {a.get("service") for a in program.of_type("gcp:projects/service:Service")}
        assert "cloudkms.googleapis.com" in apis


def test_subnetwork_flow_logs_sampled_per_environment(staging: Program, prod: Program) -> None:
    assert staging.one(SUBNET).get("logConfig") == {
        "aggregationInterval": "INTERVAL_5_MIN",
        "flowSampling": 0.1,
        "metadata": "INCLUDE_ALL_METADATA",
    }
    assert prod.one(SUBNET).get("logConfig") == {
        "aggregationInterval": "INTERVAL_1_MIN",
        "flowSampling": 0.5,
        "metadata": "INCLUDE_ALL_METADATA",
    }


def test_protect_true_protects_network_cluster_and_pool(prod: Program) -> None:
    for type_ in (
        "gcp:compute/network:Network",
        SUBNET,
        CLUSTER,
        POOL,
        "gcp:kms/keyRing:KeyRing",
        "gcp:kms/cryptoKey:CryptoKey",
    ):
        assert prod.one(type_).protect, type_
    assert prod.one(CLUSTER).get("deletionProtection") is True


def test_protect_false_leaves_everything_destroyable(staging: Program) -> None:
    assert not any(r.protect for r in staging.resources if r.type.startswith("gcp:"))
    # The provider defaults deletion_protection to true: it must be set to false explicitly.
    assert staging.one(CLUSTER).get("deletionProtection") is False


def test_node_pool_waits_for_cluster_roles_nat_and_webhook_rule(synthetic: Program) -> None:
    pool = synthetic.one(POOL)
    cluster = synthetic.one(CLUSTER)
    assert cluster.urn in pool.property_dependencies.get("cluster", [])
    for dependency in [
        cluster,
        synthetic.one("gcp:compute/routerNat:RouterNat"),
        synthetic.one(FIREWALL),
        *synthetic.of_type("gcp:projects/iAMMember:IAMMember"),
    ]:
        assert synthetic.depends_on(pool, dependency), dependency.name
    apis = {s.get("service"): s for s in synthetic.of_type("gcp:projects/service:Service")}
    assert set(apis) == {
        "compute.googleapis.com",
        "container.googleapis.com",
        "iam.googleapis.com",
        "cloudkms.googleapis.com",
    }
    assert all(s.get("disableOnDestroy") is False for s in apis.values())
    assert synthetic.depends_on(cluster, apis["container.googleapis.com"])
    assert synthetic.depends_on(synthetic.one("gcp:compute/network:Network"), apis["compute.googleapis.com"])


def test_every_gcp_resource_is_a_child_using_the_clusters_provider(synthetic: Program) -> None:
    component = synthetic.one("meshgate:clusters:GkeCluster")
    provider = synthetic.one("pulumi:providers:gcp")
    assert provider.get("project") == "acme-test" and provider.get("region") == "europe-west1"
    gcp = [r for r in synthetic.resources if r.type.startswith("gcp:")]
    assert len(gcp) >= 15
    assert {r.provider for r in gcp} == {provider.urn}
    egress = synthetic.one("meshgate:clusters:EgressAddresses")
    assert {r.parent for r in gcp} == {component.urn, egress.urn}
    assert {r.type for r in gcp if r.parent == egress.urn} == {
        "gcp:compute/address:Address",
        "gcp:projects/service:Service",
    }
    assert not [r for r in synthetic.resources if r.type.startswith("aws:")]


def test_kubeconfig_is_secret_exec_based_and_targets_the_endpoint(synthetic: Program, prod: Program) -> None:
    # prod's deployer comes from meshgate:deployerCidrs: the public endpoint.
    public = json.loads(prod.one("pulumi:providers:kubernetes", "gcp-central-k8s").plain["kubeconfig"])
    assert public["clusters"][0]["cluster"]["server"] == "https://203.0.113.10"
    # The synthetic stack's deployer runs inside the network: the private endpoint.
    provider = synthetic.one("pulumi:providers:kubernetes", "gke-one-k8s")
    assert "kubeconfig" in list(secret_paths(provider.inputs))
    document = json.loads(provider.plain["kubeconfig"])
    cluster = document["clusters"][0]["cluster"]
    assert cluster == {"server": "https://172.16.0.2", "certificate-authority-data": "Q0EtREFUQQ=="}
    user = document["users"][0]["user"]
    assert set(user) == {"exec"}  # no token, no client certificate, no password
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert "gcloud components install gke-gcloud-auth-plugin" in user["exec"]["installHint"]
    assert list(secret_paths(synthetic.outputs["kubeconfigs"])) == ["."]
