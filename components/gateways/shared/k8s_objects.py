"""Helpers shared by every gateway scenario: custom resources, namespaces, a Service's public address."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle

MANAGED_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "meshgate"}
AWS_NLB_ANNOTATIONS = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}


def load_balancer_annotations(cluster: ClusterHandle) -> dict[str, str]:
    """Annotations of a public gateway LoadBalancer Service: an NLB on AWS (the in-tree default is a Classic ELB)."""
    return dict(AWS_NLB_ANNOTATIONS) if cluster.cloud == "aws" else {}


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


@dataclass(frozen=True)
class GatewayNamespaceArgs:
    """Cluster, namespace name, and its labels (injection on, off, or none)."""

    cluster: ClusterHandle
    name: str
    labels: Mapping[str, str]


class GatewayNamespace(pulumi.ComponentResource):
    """The namespace a gateway runs in (never istio-system, never an app namespace).

    Every scenario that uses `meshgate:gateway.namespace` creates it through this component
    under the same resource name, so the Namespace keeps its URN when the scenario changes
    (only its injection labels are updated) instead of being created again and then deleted
    together with everything in it.
    """

    namespace: k8s.core.v1.Namespace

    def __init__(self, name: str, args: GatewayNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:GatewayNamespace", name, None, opts)
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.name, labels={**args.labels, **MANAGED_LABELS}),
            opts=args.cluster.opts(self),
        )
        self.register_outputs({"name": args.name})


def gateway_namespace(
    name: str, labels: Mapping[str, str], *, cluster: ClusterHandle, parent: pulumi.Resource
) -> k8s.core.v1.Namespace:
    """The gateway namespace `name` in `cluster` (stable URN `<cluster>-<name>` in every scenario)."""
    component = GatewayNamespace(
        f"{cluster.name}-{name}",
        GatewayNamespaceArgs(cluster=cluster, name=name, labels=labels),
        pulumi.ResourceOptions(parent=parent),
    )
    return component.namespace


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
    so `pulumi preview` of a new stack shows it as unknown instead of failing. A rendered
    cluster (`renderDirectory`) has no Service to read: the address is empty.
    """
    if cluster.rendered:
        return pulumi.Output.from_input("")
    service_id = pulumi.Output.all(after, namespace, service).apply(lambda v: f"{v[1]}/{v[2]}")
    read = k8s.core.v1.Service.get(
        resource_name, service_id, opts=pulumi.ResourceOptions(parent=parent, provider=cluster.provider)
    )

    def first(status: Any) -> str:
        ingress = (getattr(getattr(status, "load_balancer", None), "ingress", None) or []) if status else []
        for entry in ingress:
            value = getattr(entry, "hostname", None) or getattr(entry, "ip", None)
            if value:
                return str(value)
        return ""

    return read.status.apply(first)
