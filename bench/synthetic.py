"""Synthetic stack configs for the scaling benchmark (kubeconfig or mixed eks/gke clusters)."""

from __future__ import annotations

from typing import Any


def cluster(i: int, kind: str) -> dict[str, Any]:
    name = f"c{i:02d}"
    if kind == "eks":
        return {
            "name": name,
            "kind": "eks",
            "region": "us-east-1",
            "vpcCidr": f"10.{i}.0.0/16",
            "network": f"{name}-net",
            "endpointPublicAccessCidrs": ["203.0.113.0/24"],
            "adminPrincipalArns": ["arn:aws:iam::123456789012:role/platform-admins"],
        }
    if kind == "gke":
        return {
            "name": name,
            "kind": "gke",
            "project": "acme-bench",
            "region": "us-central1",
            "vpcCidr": f"10.{i}.0.0/16",
            "network": f"{name}-net",
            "masterCidr": f"172.16.{i}.0/28",
            "masterAuthorizedNetworks": ["203.0.113.0/24"],
        }
    return {"name": name, "kind": "kubeconfig", "network": f"{name}-net"}


def config(clusters: int, apis: int, mix: str = "kubeconfig") -> dict[str, Any]:
    """Scenario in-cluster-gateway-mesh; APIs spread round-robin over the clusters, one service each.

    `mix`: "kubeconfig" (every cluster adopted) or "eks-gke" (alternating EKS and GKE).
    """
    kinds = [("eks" if i % 2 == 0 else "gke") if mix == "eks-gke" else "kubeconfig" for i in range(clusters)]
    cl = [cluster(i, k) for i, k in enumerate(kinds)]
    api_list: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for j in range(apis):
        where = cl[j % clusters]["name"]
        svc = {"name": f"svc-{j:04d}", "namespace": "shop", "port": 8080}
        api_list.append(
            {
                "name": f"api-{j:04d}",
                "path": f"/api-{j:04d}",
                "cluster": where,
                "service": svc,
                "auth": ("jwt", "key", "none")[j % 3],
                "rateLimitPerMinute": 600,
            }
        )
        services.append({**svc, "cluster": where, "replicas": 1})
    return {
        "meshgate:scenario": "in-cluster-gateway-mesh",
        "meshgate:clusters": cl,
        "meshgate:istio": {"version": "1.31.0", "meshId": "bench", "multicluster": clusters > 1},
        "meshgate:gateway": {"kind": "kong", "cluster": cl[0]["name"], "replicas": 2},
        "meshgate:jwt": {"issuer": "https://auth.example.com/", "jwksUri": "https://auth.example.com/jwks.json"},
        "meshgate:apis": api_list,
        "meshgate:services": services,
        "meshgate:protect": False,
        "meshgate:deployerCidrs": ["198.18.0.10/32"],  # ignored by kubeconfig-only configs
    }
