"""Builders for Istio security and telemetry custom resources (PeerAuthentication, AuthorizationPolicy, ...)."""
