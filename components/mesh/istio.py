"""IstioMesh: Istio in one cluster from the official charts, in the order Istio requires.

istio-system namespace (network label) -> `cacerts` (multi-cluster) -> `base` (CRDs) ->
`istiod` (one release per installed revision) -> revision tags -> east-west gateway +
`cross-network-gateway` (multi-cluster).

Fields istiod mutates at runtime (the validating webhook's `failurePolicy` and `caBundle`)
belong to objects rendered by the `base`/`istiod` charts; Pulumi tracks the releases, not
those live fields, so they never show up as a diff. The one webhook object managed directly is
a revision tag's MutatingWebhookConfiguration (below): meshgate sets its selectors and target
service, istiod patches its `caBundle`, and Pulumi never sets that field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.clusters.handle import ClusterHandle
from components.istio_security.istio_resource import NETWORKING_API, istio_resource
from components.istio_security.telemetry import TelemetryProviders
from components.mesh.ca import CaMaterial
from components.mesh.gateway import NETWORK_LABEL, IstioGateway, IstioGatewayArgs
from components.mesh.handle import ISTIO_NAMESPACE, MeshHandle
from components.mesh.helm import istio_release
from components.mesh.managed_ca import CACERTS, READY, IssuerRef, intermediate_certificate
from components.mesh.settings import DEFAULT_REVISION, STABLE_TAG, IstioSettings

BASE_TIMEOUT_SECONDS = 300
ISTIOD_TIMEOUT_SECONDS = 600

EASTWEST_NAMESPACE = "istio-eastwest"
EASTWEST_RELEASE = "istio-eastwestgateway"
CROSS_NETWORK_PORT = 15443

PILOT_RESOURCES = {"requests": {"cpu": "500m", "memory": "2048Mi"}}

CACERTS_HASH_ANNOTATION = "meshgate.io/cacerts-sha256"
"""istiod pod-template annotation: the hash of its `cacerts`. istiod reads the CA only at start, so a
new hash (multi-cluster turned on, a re-issued intermediate) rolls istiod through the chart's
`podAnnotations`."""

_EASTWEST_SERVICE_ANNOTATIONS: dict[str, dict[str, str]] = {
    # A Network Load Balancer passes mTLS through untouched (the in-tree default is a Classic ELB).
    "aws": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
}


@dataclass(frozen=True)
class IstioMeshArgs:
    """`ca` is this cluster's `cacerts` material (self-managed CA, multi-cluster), the issuer of a managed
    CA (cert-manager writes `cacerts`), or None to let istiod self-sign.

    `peer_egress_cidrs`: the other clusters' egress addresses, the only sources the east-west
    gateway's load balancer admits (empty: unrestricted).

    `telemetry`: the collector istiod points the tracing and OTel access-log providers at.
    """

    cluster: ClusterHandle
    istio: IstioSettings
    multicluster: bool
    ca: CaMaterial | IssuerRef | None = None
    peer_egress_cidrs: Sequence[pulumi.Input[str]] = ()
    telemetry: TelemetryProviders | None = None


def istiod_release_name(revision: str | None) -> str:
    """Release (and Service) name of an istiod: `istiod-<revision>`, `istiod` unrevisioned."""
    return f"istiod-{revision}" if revision and revision != DEFAULT_REVISION else "istiod"


@dataclass(frozen=True)
class InstalledRevision:
    """One istiod release: `name` as tags and namespaces see it (`default`: unrevisioned)."""

    name: str
    version: str

    @property
    def chart_revision(self) -> str | None:
        """The chart's `revision` value (none for the default revision)."""
        return None if self.name == DEFAULT_REVISION else self.name


def installed_revisions(istio: IstioSettings) -> list[InstalledRevision]:
    """Every istiod to install: `istio.revisions`, or the single `istio.revision`/default one."""
    if istio.revisions:
        return [InstalledRevision(r.name, istio.revision_version(r)) for r in istio.revisions]
    return [InstalledRevision(istio.revision or DEFAULT_REVISION, istio.version)]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def base_version(istio: IstioSettings) -> str:
    """The `base` chart (CRDs) follows the newest installed istiod: CRDs are upgraded first."""
    return max((r.version for r in installed_revisions(istio)), key=_version_key)


def revision_tag_webhooks(tag: str, revision: str) -> list[k8s.admissionregistration.v1.MutatingWebhookArgs]:
    """The injection webhooks of revision tag `tag` -> `revision`, as the istiod chart's
    `revisionTags` render them (templates/revision-tags-mwc.yaml): pods in namespaces labelled
    `istio.io/rev: <tag>`, or pods labelled so in unlabelled namespaces, are injected by `revision`."""
    meta = k8s.meta.v1
    not_disabled = meta.LabelSelectorRequirementArgs(key="sidecar.istio.io/inject", operator="NotIn", values=["false"])
    no_injection_label = meta.LabelSelectorRequirementArgs(key="istio-injection", operator="DoesNotExist")
    tagged = meta.LabelSelectorRequirementArgs(key="istio.io/rev", operator="In", values=[tag])

    def webhook(
        prefix: str, namespace: list[meta.LabelSelectorRequirementArgs], pod: list[meta.LabelSelectorRequirementArgs]
    ) -> k8s.admissionregistration.v1.MutatingWebhookArgs:
        return k8s.admissionregistration.v1.MutatingWebhookArgs(
            name=f"{prefix}.sidecar-injector.istio.io",
            client_config=k8s.admissionregistration.v1.WebhookClientConfigArgs(
                service=k8s.admissionregistration.v1.ServiceReferenceArgs(
                    name=istiod_release_name(revision), namespace=ISTIO_NAMESPACE, path="/inject", port=443
                )
            ),
            side_effects="None",
            rules=[
                k8s.admissionregistration.v1.RuleWithOperationsArgs(
                    operations=["CREATE"], api_groups=[""], api_versions=["v1"], resources=["pods"]
                )
            ],
            failure_policy="Fail",
            reinvocation_policy="Never",
            admission_review_versions=["v1"],
            namespace_selector=meta.LabelSelectorArgs(match_expressions=namespace),
            object_selector=meta.LabelSelectorArgs(match_expressions=pod),
        )

    return [
        webhook("rev.namespace", [tagged, no_injection_label], [not_disabled]),
        webhook(
            "rev.object",
            [meta.LabelSelectorRequirementArgs(key="istio.io/rev", operator="DoesNotExist"), no_injection_label],
            [not_disabled, tagged],
        ),
    ]


def revision_tag_labels(tag: str, revision: str) -> dict[str, str]:
    """`istio.io/rev` makes that revision's istiod patch the webhooks' caBundle (and ignore them
    otherwise); `istio.io/tag` is how istiod maps tags to revisions."""
    return {
        "istio.io/tag": tag,
        "istio.io/rev": revision,
        "app": "sidecar-injector",
        "app.kubernetes.io/part-of": "meshgate",
    }


def istiod_values(
    istio: IstioSettings,
    cluster: str,
    network: str,
    ca_fingerprint: pulumi.Input[str] | None = None,
    revision: str | None = None,
    telemetry: TelemetryProviders | None = None,
) -> dict[str, Any]:
    """Values of the `istiod` chart; `ca_fingerprint` (of the plugged-in `cacerts`) goes into the pod
    template; `telemetry`: the collector proxies send spans and access logs to (none: no tracing)."""
    values: dict[str, Any] = {
        "global": {
            "istioNamespace": ISTIO_NAMESPACE,
            "meshID": istio.mesh_id,
            "multiCluster": {"clusterName": cluster},
            "network": network,
        },
        "meshConfig": {
            "trustDomain": istio.trust_domain,
            "accessLogFile": "/dev/stdout" if istio.access_logs else "",
            "enableTracing": telemetry is not None and istio.tracing_sampling_percent > 0,
            "defaultConfig": {"holdApplicationUntilProxyStarts": True},
        },
        # The istiod chart's values are flat since 1.24 (`resources`, not `pilot.resources`).
        "resources": PILOT_RESOURCES,
    }
    if telemetry is not None:
        values["meshConfig"]["extensionProviders"] = telemetry.extension_providers()
        values["meshConfig"]["serviceSettings"] = telemetry.service_settings()
    if revision:
        values["revision"] = revision
    if ca_fingerprint is not None:
        values["podAnnotations"] = {CACERTS_HASH_ANNOTATION: ca_fingerprint}
    return values


def base_values(istio: IstioSettings) -> dict[str, Any]:
    """Values of the `base` chart: the default validating webhook targets this mesh's istiod (with
    revisions: the one `stable` points at, so it moves with the tag and never at a removed one)."""
    stable = istio.stable_revision
    default = stable.name if stable else (istio.revision or DEFAULT_REVISION)
    return {"defaultRevision": default, "global": {"istioNamespace": ISTIO_NAMESPACE}}


class IstioMesh(pulumi.ComponentResource):
    """Istio control plane of one cluster; `handle` is what upper layers use.

    With `istio.install: false` (managed or preinstalled Istio) nothing is installed and the
    handle has no `crds`/`ready` dependencies.
    """

    handle: MeshHandle
    east_west: IstioGateway | None

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:mesh:IstioMesh", name, None, opts)
        cluster, istio = args.cluster, args.istio
        stable = istio.stable_revision
        handle = MeshHandle(
            cluster=cluster,
            # Gateways follow the revision namespaces use: with revisions, the tag `stable`.
            version=istio.revision_version(stable) if stable else istio.version,
            chart_repo=istio.chart_repo,
            revision=STABLE_TAG if stable else istio.revision,
            namespace_tags=dict(istio.namespace_tags),
            revisions=tuple(r.name for r in installed_revisions(istio)) if istio.install else (),
            trust_domain=istio.trust_domain,
            mesh_id=istio.mesh_id,
            network=cluster.network,
            multicluster=args.multicluster,
        )
        self.east_west = None
        if istio.install:
            handle = self._install(name, args, handle)
        self.handle = handle
        self.register_outputs(
            {
                "version": handle.version,
                "revision": handle.revision,
                "network": handle.network,
                "eastWestGateway": self.east_west.address if self.east_west else None,
            }
        )

    def _install(self, name: str, args: IstioMeshArgs, handle: MeshHandle) -> MeshHandle:
        cluster, istio = args.cluster, args.istio
        labels = {"app.kubernetes.io/part-of": "meshgate"}
        if args.multicluster:
            labels[NETWORK_LABEL] = cluster.network
        namespace = k8s.core.v1.Namespace(
            f"{name}-istio-system",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ISTIO_NAMESPACE, labels=labels),
            opts=cluster.opts(self),
        )
        before_istiod: list[pulumi.Resource] = [namespace]
        if isinstance(args.ca, IssuerRef):
            # The key is generated in the cluster; istiod starts once the intermediate is issued.
            before_istiod.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-cacerts-certificate",
                    api_version="cert-manager.io/v1",
                    kind="Certificate",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=CACERTS,
                        namespace=ISTIO_NAMESPACE,
                        labels={"app.kubernetes.io/part-of": "meshgate"},
                        annotations=dict(READY),
                    ),
                    spec=intermediate_certificate(istio.mesh_id, cluster.name, args.ca),
                    opts=cluster.opts(self, depends_on=[namespace, *args.ca.ready]),
                )
            )
        elif args.ca is not None:
            before_istiod.append(
                k8s.core.v1.Secret(
                    f"{name}-cacerts",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name="cacerts", namespace=ISTIO_NAMESPACE, labels={"app.kubernetes.io/part-of": "meshgate"}
                    ),
                    type="Opaque",
                    string_data=args.ca.secret_data(),
                    opts=cluster.opts(self, depends_on=[namespace]),
                )
            )
        base = istio_release(
            f"{name}-istio-base",
            mesh=handle,
            chart="base",
            release_name="istio-base",
            namespace=ISTIO_NAMESPACE,
            values=base_values(istio),
            timeout_seconds=BASE_TIMEOUT_SECONDS,
            opts=cluster.opts(self, depends_on=[namespace]),
            version=base_version(istio),
        )
        fingerprint = args.ca.fingerprint() if isinstance(args.ca, CaMaterial) else None
        istiods: dict[str, pulumi.Resource] = {}
        for revision in installed_revisions(istio):
            release = istiod_release_name(revision.name)
            istiods[revision.name] = istio_release(
                f"{name}-{release}",
                mesh=handle,
                chart="istiod",
                release_name=release,
                namespace=ISTIO_NAMESPACE,
                values=istiod_values(
                    istio, cluster.name, cluster.network, fingerprint, revision.chart_revision, args.telemetry
                ),
                timeout_seconds=ISTIOD_TIMEOUT_SECONDS,
                opts=cluster.opts(self, depends_on=[*before_istiod, base]),
                version=revision.version,
            )
        # A tag is one object updated in place when it moves: no moment without a webhook for
        # `istio.io/rev: <tag>` (two Helm releases would hand it over by delete + create).
        tags = [
            k8s.admissionregistration.v1.MutatingWebhookConfiguration(
                f"{name}-revision-tag-{tag}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"istio-revision-tag-{tag}", labels=revision_tag_labels(tag, revision)
                ),
                webhooks=revision_tag_webhooks(tag, revision),
                opts=cluster.opts(self, depends_on=[istiods[revision]]),
            )
            for tag, revision in istio.tags.items()
        ]
        handle = replace(handle, crds=[base], ready=[*istiods.values(), *tags])
        if args.multicluster:
            self.east_west = IstioGateway(
                f"{name}-eastwestgateway",
                IstioGatewayArgs(
                    mesh=handle,
                    namespace=EASTWEST_NAMESPACE,
                    release_name=EASTWEST_RELEASE,
                    kind="eastwest",
                    service_annotations=dict(_EASTWEST_SERVICE_ANNOTATIONS.get(cluster.cloud, {})),
                    source_ranges=args.peer_egress_cidrs,
                ),
                pulumi.ResourceOptions(parent=self),
            )
            istio_resource(
                NETWORKING_API,
                "Gateway",
                "cross-network-gateway",
                EASTWEST_NAMESPACE,
                {
                    "selector": dict(self.east_west.selector_labels),
                    "servers": [
                        {
                            "port": {"number": CROSS_NETWORK_PORT, "name": "tls", "protocol": "TLS"},
                            "tls": {"mode": "AUTO_PASSTHROUGH"},
                            "hosts": ["*.local"],
                        }
                    ],
                },
                mesh=handle,
                parent=self,
                depends_on=[self.east_west],
            )
        return handle
