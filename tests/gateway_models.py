"""Schemas for the kinds without a maintained Python model: Gateway API v1 (Gateway, HTTPRoute; the v1.2.1
standard-channel CRDs) and Kong's `configuration.konghq.com/v1` KongPlugin, transcribed with their fields, enums,
patterns and limits, unknown fields forbidden at every level; `validate` dispatches any registered object.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator
from schemas import SchemaError, is_istio, validate_istio, validate_k8s

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
GROUP = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KIND = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
PortNumber = Annotated[int, Field(ge=1, le=65535)]
Name = Annotated[str, Field(min_length=1, max_length=253)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ObjectMeta(BaseModel):
    model_config = ConfigDict(extra="allow")  # metadata is validated by Kubernetes itself
    name: Annotated[str, Field(pattern=DNS_SUBDOMAIN, max_length=253)]
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]


# ---------------------------------------------------------------- Gateway API v1 (v1.2.1 standard)


class LabelSelectorRequirement(Strict):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None


class LabelSelector(Strict):
    matchLabels: dict[str, str] | None = None
    matchExpressions: list[LabelSelectorRequirement] | None = None


class RouteNamespaces(Strict):
    from_: Literal["All", "Selector", "Same"] = Field(default="Same", alias="from")
    selector: LabelSelector | None = None

    @model_validator(mode="after")
    def selector_when_selector(self) -> RouteNamespaces:
        if self.from_ == "Selector" and self.selector is None:
            raise ValueError("from: Selector needs a selector")
        return self


class RouteGroupKind(Strict):
    group: Annotated[str, Field(pattern=GROUP, max_length=253)] = "gateway.networking.k8s.io"
    kind: Annotated[str, Field(pattern=KIND, min_length=1, max_length=63)]


class AllowedRoutes(Strict):
    namespaces: RouteNamespaces | None = None
    kinds: Annotated[list[RouteGroupKind], Field(max_length=8)] | None = None


class SecretObjectReference(Strict):
    group: Annotated[str, Field(pattern=GROUP, max_length=253)] = ""
    kind: Annotated[str, Field(pattern=KIND, min_length=1, max_length=63)] = "Secret"
    name: Name
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)] | None = None


class GatewayTLSConfig(Strict):
    mode: Literal["Terminate", "Passthrough"] = "Terminate"
    certificateRefs: Annotated[list[SecretObjectReference], Field(max_length=64)] | None = None
    options: dict[str, str] | None = None


class Listener(Strict):
    name: Annotated[str, Field(pattern=DNS_SUBDOMAIN, min_length=1, max_length=253)]
    hostname: (
        Annotated[str, Field(pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
        | None
    ) = None
    port: PortNumber
    protocol: Annotated[str, Field(min_length=1, max_length=255)]
    tls: GatewayTLSConfig | None = None
    allowedRoutes: AllowedRoutes | None = None

    @model_validator(mode="after")
    def tls_for_https(self) -> Listener:
        if self.protocol == "HTTPS" and (self.tls is None or not self.tls.certificateRefs):
            raise ValueError("an HTTPS listener in Terminate mode needs certificateRefs")
        if self.protocol == "HTTP" and self.tls is not None:
            raise ValueError("tls must not be set for protocol HTTP")
        return self


class ParametersReference(Strict):
    group: Annotated[str, Field(pattern=GROUP, max_length=253)]
    kind: Annotated[str, Field(pattern=KIND, min_length=1, max_length=63)]
    name: Name


class GatewayInfrastructure(Strict):
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    parametersRef: ParametersReference | None = None


class GatewayAddress(Strict):
    type: str = "IPAddress"
    value: Annotated[str, Field(min_length=1, max_length=253)]


class GatewaySpec(Strict):
    gatewayClassName: Name
    listeners: Annotated[list[Listener], Field(min_length=1, max_length=64)]
    addresses: Annotated[list[GatewayAddress], Field(max_length=16)] | None = None
    infrastructure: GatewayInfrastructure | None = None

    @model_validator(mode="after")
    def unique_listener_names(self) -> GatewaySpec:
        names = [listener.name for listener in self.listeners]
        if len(names) != len(set(names)):
            raise ValueError("listener names must be unique")
        return self


class Gateway(Strict):
    apiVersion: Literal["gateway.networking.k8s.io/v1"]
    kind: Literal["Gateway"]
    metadata: ObjectMeta
    spec: GatewaySpec


class ParentReference(Strict):
    group: Annotated[str, Field(pattern=GROUP, max_length=253)] = "gateway.networking.k8s.io"
    kind: Annotated[str, Field(pattern=KIND, min_length=1, max_length=63)] = "Gateway"
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)] | None = None
    name: Name
    sectionName: Annotated[str, Field(pattern=DNS_SUBDOMAIN)] | None = None
    port: PortNumber | None = None


class PathMatch(Strict):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] = "PathPrefix"
    value: Annotated[str, Field(max_length=1024)] = "/"

    @model_validator(mode="after")
    def absolute(self) -> PathMatch:
        if self.type != "RegularExpression" and not self.value.startswith("/"):
            raise ValueError("value must be an absolute path")
        return self


class RouteMatch(Strict):
    path: PathMatch | None = None
    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] | None = None


class PathModifier(Strict):
    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    replaceFullPath: Annotated[str, Field(max_length=1024)] | None = None
    replacePrefixMatch: Annotated[str, Field(max_length=1024)] | None = None

    @model_validator(mode="after")
    def field_matches_type(self) -> PathModifier:
        if (self.type == "ReplacePrefixMatch") != (self.replacePrefixMatch is not None):
            raise ValueError("replacePrefixMatch must be set exactly when type is ReplacePrefixMatch")
        if (self.type == "ReplaceFullPath") != (self.replaceFullPath is not None):
            raise ValueError("replaceFullPath must be set exactly when type is ReplaceFullPath")
        return self


class URLRewrite(Strict):
    hostname: Annotated[str, Field(pattern=DNS_SUBDOMAIN)] | None = None
    path: PathModifier | None = None


class RequestRedirect(Strict):
    scheme: Literal["http", "https"] | None = None
    hostname: Annotated[str, Field(pattern=DNS_SUBDOMAIN)] | None = None
    path: PathModifier | None = None
    port: PortNumber | None = None
    statusCode: Literal[301, 302] = 302


class RouteFilter(Strict):
    type: Literal[
        "RequestHeaderModifier",
        "ResponseHeaderModifier",
        "RequestMirror",
        "RequestRedirect",
        "URLRewrite",
        "ExtensionRef",
    ]
    urlRewrite: URLRewrite | None = None
    requestRedirect: RequestRedirect | None = None

    @model_validator(mode="after")
    def config_matches_type(self) -> RouteFilter:
        if (self.type == "URLRewrite") != (self.urlRewrite is not None):
            raise ValueError("urlRewrite must be set exactly when type is URLRewrite")
        if (self.type == "RequestRedirect") != (self.requestRedirect is not None):
            raise ValueError("requestRedirect must be set exactly when type is RequestRedirect")
        return self


class BackendRef(Strict):
    group: Annotated[str, Field(pattern=GROUP, max_length=253)] = ""
    kind: Annotated[str, Field(pattern=KIND, min_length=1, max_length=63)] = "Service"
    name: Name
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)] | None = None
    port: PortNumber | None = None
    weight: Annotated[int, Field(ge=0, le=1_000_000)] = 1

    @model_validator(mode="after")
    def port_for_services(self) -> BackendRef:
        if self.kind == "Service" and self.group == "" and self.port is None:
            raise ValueError("port is required when referring to a Service")
        return self


class RouteRule(Strict):
    matches: Annotated[list[RouteMatch], Field(max_length=64)] | None = None
    filters: Annotated[list[RouteFilter], Field(max_length=16)] | None = None
    backendRefs: Annotated[list[BackendRef], Field(max_length=16)] | None = None

    @model_validator(mode="after")
    def redirect_or_forward(self) -> RouteRule:
        kinds = [f.type for f in self.filters or []]
        if "RequestRedirect" in kinds and "URLRewrite" in kinds:
            raise ValueError("may specify either a RequestRedirect or a URLRewrite filter, not both")
        if "RequestRedirect" in kinds and self.backendRefs:
            raise ValueError("RequestRedirect filter must not be used together with backendRefs")
        return self


class HTTPRouteSpec(Strict):
    parentRefs: Annotated[list[ParentReference], Field(max_length=32)] | None = None
    hostnames: Annotated[list[str], Field(max_length=16)] | None = None
    rules: Annotated[list[RouteRule], Field(max_length=16)] | None = None


class HTTPRoute(Strict):
    apiVersion: Literal["gateway.networking.k8s.io/v1"]
    kind: Literal["HTTPRoute"]
    metadata: ObjectMeta
    spec: HTTPRouteSpec


# ---------------------------------------------------------------- Kong


class KongPlugin(Strict):
    apiVersion: Literal["configuration.konghq.com/v1"]
    kind: Literal["KongPlugin"]
    metadata: ObjectMeta
    plugin: Annotated[str, Field(min_length=1)]
    config: dict[str, Any] | None = None
    configFrom: dict[str, Any] | None = None
    configPatches: list[dict[str, Any]] | None = None
    consumerRef: str | None = None
    disabled: bool | None = None
    instance_name: str | None = None
    ordering: dict[str, Any] | None = None
    protocols: list[Literal["http", "https", "grpc", "grpcs", "tcp", "tls", "udp"]] | None = None
    run_on: Literal["first", "second", "all"] | None = None

    @model_validator(mode="after")
    def config_xor_config_from(self) -> KongPlugin:
        if self.config is not None and self.configFrom is not None:
            raise ValueError("Using both config and configFrom fields is not allowed.")
        return self


MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("gateway.networking.k8s.io/v1", "Gateway"): Gateway,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): HTTPRoute,
    ("configuration.konghq.com/v1", "KongPlugin"): KongPlugin,
}


def validate(obj: dict[str, Any]) -> None:
    """Validate one registered object with the schema for its apiVersion/kind."""
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    if key in MODELS:
        try:
            MODELS[key].model_validate(obj)
        except pydantic.ValidationError as err:
            raise SchemaError(f"{key}: {err}") from None
    elif is_istio(obj):
        validate_istio(obj)
    else:
        validate_k8s(obj)
