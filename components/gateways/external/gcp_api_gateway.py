"""GcpApiGateway: Google Cloud API Gateway in front of the Istio ingress gateways (scenario 1).

The catalogue becomes one OpenAPI 2.0 document: per API the prefix and its sub-paths, an
`x-google-backend` pointing at the HTTPS hostname of the ingress the API enters, JWT
(`x-google-issuer`/`x-google-jwks_uri`) or API-key security, and a per-minute quota for
API-key routes (API Gateway quotas are per consumer project, identified by the key).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.gateways.shared.catalogue import Route
from components.naming import bounded_name

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
REQUIRED_SERVICES = ("apigateway.googleapis.com", "servicemanagement.googleapis.com", "servicecontrol.googleapis.com")
BACKEND_DEADLINE_SECONDS = 30.0
API_KEY_HEADER = "apikey"


def _operation(route: Route, suffix: str, method: str, wildcard: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{route.name.replace('-', '_')}_{suffix}_{method}",
        "summary": f"{route.name}: {method.upper()} {route.path}{'/**' if wildcard else ''}",
        "responses": {"default": {"description": "the backend's response"}},
    }
    if wildcard:
        operation["parameters"] = [{"name": "rest", "in": "path", "required": True, "type": "string"}]
    if route.auth == "jwt":
        operation["security"] = [{_jwt_scheme(route): []}]
    if route.auth == "key":
        operation["security"] = [{"api_key": []}]
        if route.rate_limit_per_minute is not None:
            operation["x-google-quota"] = {"metricCosts": {_metric(route): 1}}
    return operation


def _jwt_scheme(route: Route) -> str:
    return f"{route.name.replace('-', '_')}_jwt"


def _metric(route: Route) -> str:
    return f"{route.name}-requests"


def openapi_document(title: str, routes: list[Route], hostnames: dict[str, str]) -> dict[str, Any]:
    """The OpenAPI 2.0 document for `routes`; `hostnames` maps each route to the hostname of the ingress it enters."""
    paths: dict[str, Any] = {}
    security: dict[str, Any] = {}
    metrics: list[dict[str, Any]] = []
    limits: list[dict[str, Any]] = []
    for route in routes:
        prefix = route.path.rstrip("/")
        backend = {
            "address": f"https://{hostnames[route.name]}",
            "path_translation": "APPEND_PATH_TO_ADDRESS",
            "deadline": BACKEND_DEADLINE_SECONDS,
            # API Gateway signs each request with a Google ID token of its backend service account
            # for this audience; the ingress admits only that identity (the client's own
            # Authorization header arrives as X-Forwarded-Authorization).
            "jwt_audience": f"https://{hostnames[route.name]}",
        }
        for suffix, template, wildcard in (("prefix", prefix or "/", False), ("rest", f"{prefix}/{{rest=**}}", True)):
            paths[template] = {
                "x-google-backend": backend,
                **{m: _operation(route, suffix, m, wildcard) for m in METHODS},
            }
        if route.auth == "jwt":
            assert route.jwt is not None
            scheme: dict[str, Any] = {
                "type": "oauth2",
                "flow": "implicit",
                "authorizationUrl": "",
                "x-google-issuer": route.jwt.issuer,
                "x-google-jwks_uri": route.jwt.jwks_uri,
            }
            if route.jwt.audiences:
                scheme["x-google-audiences"] = ",".join(route.jwt.audiences)
            security[_jwt_scheme(route)] = scheme
        if route.auth == "key":
            security["api_key"] = {"type": "apiKey", "name": API_KEY_HEADER, "in": "header"}
            if route.rate_limit_per_minute is not None:
                metrics.append(
                    {
                        "name": _metric(route),
                        "displayName": f"{route.name} requests",
                        "valueType": "INT64",
                        "metricKind": "DELTA",
                    }
                )
                limits.append(
                    {
                        "name": f"{route.name}-per-minute",
                        "metric": _metric(route),
                        "unit": "1/min/{project}",
                        "values": {"STANDARD": route.rate_limit_per_minute},
                    }
                )
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": title, "version": "1.0.0", "description": "meshgate API catalogue"},
        "schemes": ["https"],
        "produces": ["application/json"],
        "paths": paths,
    }
    if security:
        document["securityDefinitions"] = security
    if metrics:
        document["x-google-management"] = {"metrics": metrics, "quota": {"limits": limits}}
    return document


def encoded_document(title: str, routes: list[Route], hostnames: dict[str, str]) -> str:
    """Deterministic JSON (sorted keys), base64-encoded as ApiConfig expects."""
    text = json.dumps(openapi_document(title, routes, hostnames), sort_keys=True, indent=2)
    return base64.b64encode(text.encode()).decode()


@dataclass(frozen=True)
class GcpApiGatewayArgs:
    """The routes, the hostname of the ingress each route enters, the project and region."""

    routes: list[Route]
    hostnames: dict[str, str]
    project: str
    region: str
    backend_service_account: pulumi.Input[str]
    """Email of the service account whose ID token API Gateway sends to the backends."""


class GcpApiGateway(pulumi.ComponentResource):
    """API Gateway `Api`, an `ApiConfig` from the catalogue's OpenAPI document, and a regional `Gateway`.

    Also enables the services API Gateway needs and the API's own managed service (required
    before API keys can be used with it). A changed catalogue creates a new ApiConfig
    (`api_config_id_prefix`) before the Gateway switches to it.
    """

    endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: GcpApiGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:GcpApiGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        services = [
            gcp.projects.Service(
                f"{name}-{service.split('.')[0]}",
                project=args.project,
                service=service,
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=child,
            )
            for service in REQUIRED_SERVICES
        ]
        api = gcp.apigateway.Api(
            f"{name}-api",
            api_id=name,
            project=args.project,
            display_name=f"meshgate {name}",
            opts=pulumi.ResourceOptions(parent=self, depends_on=services),
        )
        gcp.projects.Service(
            f"{name}-managed-service",
            project=args.project,
            service=api.managed_service,
            disable_on_destroy=False,
            opts=child,
        )
        document = encoded_document(name, args.routes, args.hostnames)
        config = gcp.apigateway.ApiConfig(
            f"{name}-config",
            api=api.api_id,
            # The provider appends a 26-character unique id; config ids are at most 63 characters.
            gateway_config=gcp.apigateway.ApiConfigGatewayConfigArgs(
                backend_config=gcp.apigateway.ApiConfigGatewayConfigBackendConfigArgs(
                    google_service_account=args.backend_service_account
                )
            ),
            api_config_id_prefix=f"{bounded_name(name, limit=63 - 26 - 1)}-",
            project=args.project,
            openapi_documents=[
                gcp.apigateway.ApiConfigOpenapiDocumentArgs(
                    document=gcp.apigateway.ApiConfigOpenapiDocumentDocumentArgs(path="openapi.json", contents=document)
                )
            ],
            opts=child,
        )
        gateway = gcp.apigateway.Gateway(
            f"{name}-gateway",
            gateway_id=name,
            api_config=config.id,
            project=args.project,
            region=args.region,
            display_name=f"meshgate {name}",
            opts=child,
        )
        self.endpoint = gateway.default_hostname.apply(lambda host: f"https://{host}")
        self.register_outputs({"endpoint": self.endpoint})
