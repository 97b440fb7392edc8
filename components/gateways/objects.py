"""Helpers shared by every gateway scenario: custom resources, namespaces, a Service's public address."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle

MANAGED_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "meshgate"}


def custom_resource(
    api_version: str,
    kind: str,
    name: str,
    namespace: str,
    spec: dict[str, Any],
    *,
    cluster: ClusterHandle,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
    annotations: Mapping[str, str] | None = None,
    extra_labels: Mapping[str, str] | None = None,
    timeout_seconds: int | None = None,
) -> k8s.apiextensions.CustomResource:
    """A non-Istio custom resource (Kong, Gateway API) `namespace/name` in `cluster`.

    `depends_on` must include whatever installs its CRD. Resource name `<cluster>-<namespace>-<name>`.
    `timeout_seconds` bounds the create/update wait (with a `pulumi.com/waitFor` annotation).
    """
    opts = cluster.opts(parent, list(depends_on))
    if timeout_seconds is not None:
        limit = f"{timeout_seconds}s"
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=limit, update=limit))
        )
    return k8s.apiextensions.CustomResource(
        f"{cluster.name}-{namespace}-{name}",
        api_version=api_version,
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name,
            namespace=namespace,
            labels={**MANAGED_LABELS, **(extra_labels or {})},
            annotations=dict(annotations or {}) or None,
        ),
        spec=spec,
        opts=opts,
    )


def gateway_namespace(
    resource_name: str, name: str, labels: Mapping[str, str], *, cluster: ClusterHandle, parent: pulumi.Resource
) -> k8s.core.v1.Namespace:
    """The namespace a gateway runs in (never istio-system, never an app namespace)."""
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={**labels, **MANAGED_LABELS}),
        opts=cluster.opts(parent),
    )


def load_balancer_address(
    resource_name: str,
    namespace: str,
    service: str,
    *,
    cluster: ClusterHandle,
    parent: pulumi.Resource,
    after: pulumi.Output[Any],
) -> pulumi.Output[str]:
    """Hostname or IP of a chart-created LoadBalancer Service, read once `after` has resolved.

    The read waits for `after` (a Helm release's status: the release awaits the load balancer),
    so `pulumi preview` of a new stack shows it as unknown instead of failing.
    """
    service_id = pulumi.Output.all(after, namespace, service).apply(lambda v: f"{v[1]}/{v[2]}")
    read = k8s.core.v1.Service.get(resource_name, service_id, opts=pulumi.ResourceOptions(parent=parent, provider=cluster.provider))

    def first(status: Any) -> str:
        ingress = (getattr(getattr(status, "load_balancer", None), "ingress", None) or []) if status else []
        for entry in ingress:
            value = getattr(entry, "hostname", None) or getattr(entry, "ip", None)
            if value:
                return str(value)
        return ""

    return read.status.apply(first)
