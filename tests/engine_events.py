"""Engine events as the Automation API delivers them, built in tests (real `pulumi.automation.events` classes)."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi.automation import (
    DiagnosticEvent,
    EngineEvent,
    OpType,
    PolicyEvent,
    ResOpFailedEvent,
    ResourcePreEvent,
    ResOutputsEvent,
    StepEventMetadata,
    SummaryEvent,
)

STACK_URN = "urn:pulumi:dev::meshgate::pulumi:pulumi:Stack::meshgate-dev"
NS_URN = "urn:pulumi:dev::meshgate::kubernetes:core/v1:Namespace::local-istio-system"
NS_TYPE = "kubernetes:core/v1:Namespace"
RELEASE_URN = "urn:pulumi:dev::meshgate::meshgate:mesh:IstioMesh$kubernetes:helm.sh/v3:Release::local-istiod"
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
MESH_URN = "urn:pulumi:dev::meshgate::meshgate:mesh:IstioMesh::local"
MESH_TYPE = "meshgate:mesh:IstioMesh"
SA_URN = "urn:pulumi:dev::meshgate::kubernetes:core/v1:ServiceAccount::orders-sa"
SA_TYPE = "kubernetes:core/v1:ServiceAccount"


class Events:
    """Builds a numbered sequence of engine events, as the automation API delivers them."""

    def __init__(self) -> None:
        self.sequence = 0

    def _event(self, **kind: object) -> EngineEvent:
        self.sequence += 1
        return EngineEvent(sequence=self.sequence, timestamp=1_700_000_000 + self.sequence, **kind)  # type: ignore[arg-type]

    @staticmethod
    def _meta(op: str, urn: str, type_: str) -> StepEventMetadata:
        return StepEventMetadata(op=OpType(op), urn=urn, type=type_, provider="")

    def pre(self, op: str, urn: str, type_: str, planning: bool | None = None) -> EngineEvent:
        return self._event(resource_pre_event=ResourcePreEvent(self._meta(op, urn, type_), planning))

    def outputs(self, op: str, urn: str, type_: str, planning: bool | None = None) -> EngineEvent:
        return self._event(res_outputs_event=ResOutputsEvent(self._meta(op, urn, type_), planning))

    def failed(self, op: str, urn: str, type_: str) -> EngineEvent:
        return self._event(res_op_failed_event=ResOpFailedEvent(self._meta(op, urn, type_), status=1, steps=0))

    def diagnostic(
        self, severity: str, message: str, urn: str | None = None, ephemeral: bool | None = None
    ) -> EngineEvent:
        return self._event(
            diagnostic_event=DiagnosticEvent(
                message=message, color="never", severity=severity, urn=urn, ephemeral=ephemeral
            )
        )

    def policy(self, level: str, message: str, urn: str) -> EngineEvent:
        return self._event(
            policy_event=PolicyEvent(
                message=message,
                color="never",
                policy_name="no-public-endpoint",
                policy_pack_name="meshgate",
                policy_pack_version="0.1.0",
                policy_pack_version_tag="v0.1.0",
                enforcement_level=level,
                resource_urn=urn,
            )
        )

    def summary(self, changes: Mapping[str, int], seconds: int) -> EngineEvent:
        return self._event(
            summary_event=SummaryEvent(
                maybe_corrupt=False,
                duration_seconds=seconds,
                resource_changes=dict(changes),
                policy_packs={},  # type: ignore[arg-type]
            )
        )
