"""Istio per cluster: the MeshHandle seam, IstioMesh (base, istiod), gateways, shared CA, federation."""
