"""Kubernetes checks: pod security of the workloads Pulumi registers, Services, Helm releases, credentials.

Scope of the container checks: the pod templates of objects the program registers itself
(Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). Containers rendered
inside a Helm chart (istiod, Istio gateways, Kong) are not visible to a policy: the
Release resource carries only chart coordinates and values. For releases the pack checks
what the inputs do show: the chart version is pinned, the release is awaited, and the
values carry no credentials and no `latest` image tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .model import (
    HELM_RELEASE,
    Check,
    Level,
    get,
    is_false,
    is_true,
    items,
    kubernetes_kind,
    mapping,
    number,
    of_kinds,
    of_types,
    walk_strings,
)

WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
PROVIDER = "pulumi:providers:kubernetes"
SKIP_AWAIT = "pulumi.com/skipAwait"


# --------------------------------------------------------------------------- pod templates


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod spec inside a workload object."""
    kind = kubernetes_kind(resource_type)
    if kind == "Pod":
        return mapping(props.get("spec"))
    if kind == "CronJob":
        return mapping(get(props, "spec.jobTemplate.spec.template.spec"))
    return mapping(get(props, "spec.template.spec"))


def containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Init and app containers (ephemeral containers are debug-only and not declared by programs)."""
    for key in ("initContainers", "containers"):
        for container in items(spec.get(key)):
            yield mapping(container)


def _name(container: Mapping[str, Any]) -> str:
    return str(container.get("name", "?"))


def _non_root(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    pod = mapping(spec.get("securityContext"))
    out: list[str] = []
    for c in containers(spec):
        ctx = mapping(c.get("securityContext"))
        non_root = ctx.get("runAsNonRoot", pod.get("runAsNonRoot"))
        uid = number(ctx.get("runAsUser", pod.get("runAsUser")))
        if uid == 0 or (not is_true(non_root) and not (uid is not None and uid > 0)):
            out.append(f"container {_name(c)} may run as root (set runAsNonRoot: true or a non-zero runAsUser)")
    return out


def _no_privilege_escalation(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    return [
        f"container {_name(c)} allows privilege escalation (securityContext.allowPrivilegeEscalation must be false)"
        for c in containers(spec)
        if not is_false(get(c, "securityContext.allowPrivilegeEscalation"))
    ]


def _not_privileged(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    out = [
        f"container {_name(c)} is privileged" for c in containers(spec) if is_true(get(c, "securityContext.privileged"))
    ]
    out += [
        f"pod shares the host's {ns[4:]} namespace ({ns})"
        for ns in ("hostNetwork", "hostPID", "hostIPC")
        if is_true(spec.get(ns))
    ]
    return out


def _resources(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    out: list[str] = []
    for c in containers(spec):
        resources = mapping(c.get("resources"))
        missing = [
            f"{section}.{key}"
            for section, key in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
            if not get(resources, f"{section}.{key}")
        ]
        if missing:
            out.append(f"container {_name(c)} has no {', '.join(missing)}")
    return out


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_problem(image: Any) -> str | None:
    """Why an image reference is mutable, or None when it is pinned by a tag (not latest) or digest."""
    if not isinstance(image, str) or not image.strip():
        return "has no image"
    if _DIGEST.search(image):
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image} has no tag (resolves to latest)"
    if last.rsplit(":", 1)[-1] == "latest":
        return f"image {image} uses the mutable tag latest"
    return None


def _pinned_images(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    out: list[str] = []
    for c in containers(spec):
        problem = image_problem(c.get("image"))
        if problem:
            out.append(f"container {_name(c)} {problem}")
    return out


# --------------------------------------------------------------------------- services and releases


def _load_balancer_awaited(_: str, props: Mapping[str, Any]) -> list[str]:
    if get(props, "spec.type") != "LoadBalancer":
        return []
    if is_true(mapping(get(props, "metadata.annotations")).get(SKIP_AWAIT)):
        return [
            f"LoadBalancer Service has {SKIP_AWAIT}: Pulumi would not wait for its cloud load balancer, "
            "and destroy could reach the network while the load balancer still holds it"
        ]
    return []


def _chart_pinned(_: str, props: Mapping[str, Any]) -> list[str]:
    version = props.get("version")
    if not isinstance(version, str) or not version.strip():
        return [f"chart {props.get('chart')} has no version: every run may install a different chart"]
    if re.search(r"[\^~*xX><=| ]", version):
        return [f"chart {props.get('chart')} version {version!r} is a range; pin an exact version"]
    return []


def _release_awaited(_: str, props: Mapping[str, Any]) -> list[str]:
    if is_true(props.get("skipAwait")):
        return [
            f"release {props.get('name') or props.get('chart')} sets skipAwait: dependents would not wait for it to be "
            "ready, and on destroy its LoadBalancer Services would not be waited for"
        ]
    return []


def _release_images(_: str, props: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for path, value in walk_strings(props.get("values")):
        leaf = path.rsplit(".", 1)[-1]
        if leaf == "tag" and value.strip() == "latest":
            out.append(f"values.{path} is latest; pin the image")
        elif leaf == "image" and ("/" in value or ":" in value):
            problem = image_problem(value)
            if problem:
                out.append(f"values.{path}: {problem}")
    return out


# --------------------------------------------------------------------------- credentials

_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_KUBECONFIG_STATIC = re.compile(r"""["']?(token|client-key-data|password)["']?\s*:\s*["']?[^\s"',}]{8,}""")


def credential_in(text: str) -> str | None:
    """What kind of credential a string holds, if any: a PEM private key or static kubeconfig credentials."""
    if _PRIVATE_KEY.search(text):
        return "a PEM private key"
    if ("clusters" in text or "users" in text) and _KUBECONFIG_STATIC.search(text):
        return "a kubeconfig with static credentials"
    return None


def _no_plaintext_credentials(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Fields that are never secret in Pulumi state: ConfigMap data, container env values, Helm values, annotations."""
    places: list[tuple[str, Any]] = []
    kind = kubernetes_kind(resource_type)
    if resource_type == HELM_RELEASE:
        places.append(("values", props.get("values")))
    elif kind == "ConfigMap":
        places.append(("data", props.get("data")))
    elif kind in WORKLOAD_KINDS:
        spec = pod_spec(resource_type, props)
        for c in containers(spec):
            for var in items(c.get("env")):
                places.append((f"container {_name(c)} env {get(var, 'name')}", get(var, "value")))
    places.append(("metadata.annotations", get(props, "metadata.annotations")))
    out: list[str] = []
    for where, value in places:
        for path, text in walk_strings(value):
            found = credential_in(text)
            if found:
                out.append(f"{where} ({path}) holds {found}; put it in a Kubernetes Secret")
    return out


def _provider_exec_auth(_: str, props: Mapping[str, Any]) -> list[str]:
    kubeconfig = props.get("kubeconfig")
    if not isinstance(kubeconfig, str):
        return []
    found = credential_in(kubeconfig)
    if found:
        return [
            f"the provider's kubeconfig holds {found}; use exec auth (aws eks get-token, gke-gcloud-auth-plugin) "
            "so no credential is stored and short-lived tokens do not replace the provider every run"
        ]
    return []


def _provider_waits_for_deletes(_: str, props: Mapping[str, Any]) -> list[str]:
    if is_true(props.get("deleteUnreachable")):
        return [
            "deleteUnreachable drops objects from state when the API server cannot be reached; "
            "LoadBalancer Services would be forgotten, not deleted, and their cloud load balancers leak"
        ]
    return []


CHECKS: tuple[Check, ...] = (
    Check(
        "k8s-run-as-non-root",
        "Containers the program declares run as a non-root user.",
        Level.MANDATORY,
        "CIS EKS/GKE 4.2.6; Checkov CKV_K8S_23",
        of_kinds(*WORKLOAD_KINDS),
        _non_root,
    ),
    Check(
        "k8s-no-privilege-escalation",
        "Containers set allowPrivilegeEscalation: false.",
        Level.MANDATORY,
        "CIS EKS/GKE 4.2.5; Checkov CKV_K8S_20",
        of_kinds(*WORKLOAD_KINDS),
        _no_privilege_escalation,
    ),
    Check(
        "k8s-no-privileged-or-host-namespaces",
        "No privileged containers, no hostNetwork/hostPID/hostIPC.",
        Level.MANDATORY,
        "CIS EKS/GKE 4.2.1-4.2.4; Checkov CKV_K8S_16, CKV_K8S_17, CKV_K8S_18, CKV_K8S_19",
        of_kinds(*WORKLOAD_KINDS),
        _not_privileged,
    ),
    Check(
        "k8s-resources-set",
        "Containers request CPU and memory and cap memory, so one pod cannot starve a node.",
        Level.MANDATORY,
        "Checkov CKV_K8S_10, CKV_K8S_12, CKV_K8S_13",
        of_kinds(*WORKLOAD_KINDS),
        _resources,
    ),
    Check(
        "k8s-image-pinned",
        "Container images are pinned by a tag other than latest, or by digest.",
        Level.MANDATORY,
        "Checkov CKV_K8S_14",
        of_kinds(*WORKLOAD_KINDS),
        _pinned_images,
    ),
    Check(
        "k8s-load-balancer-awaited",
        "LoadBalancer Services are awaited (no pulumi.com/skipAwait), so destroy waits for their cloud load balancer.",
        Level.MANDATORY,
        "meshgate safe teardown (docs/security.md); pulumi-eks #194/#382",
        of_kinds("Service"),
        _load_balancer_awaited,
    ),
    Check(
        "helm-chart-pinned",
        "Helm releases pin an exact chart version.",
        Level.MANDATORY,
        "docs/upstream-facts.md#istio-installation (pin the chart version); Istio install with Helm",
        of_types(HELM_RELEASE),
        _chart_pinned,
    ),
    Check(
        "helm-release-awaited",
        "Helm releases are awaited (no skipAwait): ordering istiod "
        "before gateways and LB cleanup on destroy depend on it.",
        Level.MANDATORY,
        "docs/upstream-facts.md#istio-installation (gateways after istiod, istio#35789); safe teardown",
        of_types(HELM_RELEASE),
        _release_awaited,
    ),
    Check(
        "helm-values-images-pinned",
        "Image references visible in Helm values are not latest or untagged.",
        Level.MANDATORY,
        "Checkov CKV_K8S_14 applied to chart values",
        of_types(HELM_RELEASE),
        _release_images,
    ),
    Check(
        "no-plaintext-credentials",
        "Private keys and kubeconfig credentials never sit in ConfigMaps, env "
        "values, annotations or Helm values (fields Pulumi never encrypts).",
        Level.MANDATORY,
        "CIS EKS/GKE 4.4.1 (secrets as files, not env); Checkov CKV_K8S_35",
        lambda t: t == HELM_RELEASE or of_kinds("ConfigMap", *WORKLOAD_KINDS)(t),
        _no_plaintext_credentials,
    ),
    Check(
        "k8s-provider-exec-auth",
        "Kubernetes providers authenticate with exec plugins; their kubeconfig holds no token, password or client key.",
        Level.MANDATORY,
        "docs/upstream-facts.md#teardown-and-state (exec auth, no perpetual diffs); "
        "EKS/GKE cluster access guides (aws eks get-token, gke-gcloud-auth-plugin)",
        of_types(PROVIDER),
        _provider_exec_auth,
    ),
    Check(
        "k8s-provider-no-delete-unreachable",
        "Kubernetes providers never drop unreachable objects from state "
        "(deleteUnreachable), so destroy deletes every load balancer.",
        Level.MANDATORY,
        "meshgate safe teardown (docs/security.md); pulumi-kubernetes provider deleteUnreachable",
        of_types(PROVIDER),
        _provider_waits_for_deletes,
    ),
)
