"""Scenarios 2 and 3: Kong inside the gateway cluster, outside the mesh (2) or with an Envoy sidecar (3).

- `scenario_in_cluster.py`       InClusterGateway, scenario 2 `in-cluster-gateway`: Kong outside the
                                 mesh, backends admit it in plaintext (PERMISSIVE exception).
- `scenario_in_cluster_mesh.py`  InClusterMeshGateway, scenario 3 `in-cluster-gateway-mesh`: Kong with
                                 a sidecar, STRICT mTLS to every backend.
- `gateway.py`                   KongGateway: the `kong/ingress` chart (controller + gateway, DB-less).
- `routes.py`                    KongRoutes: the catalogue as `Ingress`es and `KongPlugin`s.
- `admin_access.py`              KongAdminAccess: client certificates for the admin API (pulumi-tls,
                                 or cert-manager in the cluster) and a NetworkPolicy limiting who
                                 reaches it.
"""
