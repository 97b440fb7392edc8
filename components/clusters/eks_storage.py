"""EksDefaultStorage: the default StorageClass of an EKS cluster (encrypted gp3 through the EBS CSI driver).

EKS clusters from Kubernetes 1.30 on have no default StorageClass, and the in-tree `gp2` class
provisions nothing without the EBS CSI driver (the `aws-ebs-csi-driver` add-on EksCluster
installs). Without a default, a PersistentVolumeClaim that names no class — Prometheus' and
Tempo's in meshgate:observability — stays Pending and its Helm release times out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

STORAGE_CLASS = "gp3"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


@dataclass(frozen=True)
class EksDefaultStorageArgs:
    """The cluster's name (for resource names) and its Kubernetes provider."""

    cluster: str
    provider: k8s.Provider


class EksDefaultStorage(pulumi.ComponentResource):
    """StorageClass `gp3`, the cluster default: encrypted EBS gp3 volumes, created in the zone of the
    pod that first uses them (WaitForFirstConsumer), expandable, deleted with their claim."""

    def __init__(self, name: str, args: EksDefaultStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:clusters:EksDefaultStorage", name, None, opts)
        k8s.storage.v1.StorageClass(
            f"{args.cluster}-storage-class-{STORAGE_CLASS}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=STORAGE_CLASS,
                annotations={DEFAULT_CLASS_ANNOTATION: "true"},
                labels={"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "meshgate"},
            ),
            provisioner=EBS_CSI_PROVISIONER,
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.register_outputs({"storageClass": STORAGE_CLASS})
