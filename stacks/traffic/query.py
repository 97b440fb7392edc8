"""The traffic query: who may call which Service port, decided from the policies a stack registers.

A source is `gateway` (the scenario's gateway: the Istio ingress of the entry cluster, Kong with
or without its sidecar, or the Gateway API gateway), `mesh:NAMESPACE/SERVICEACCOUNT` (a workload
with a sidecar) or `outside-mesh` (a pod without a sidecar: plaintext, no identity). A target is
`SERVICE.NAMESPACE:PORT`, a Service port; Istio's policies see the container port it forwards
to. Whether the gateway reaches a backend over mTLS comes from the traffic model's hop list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stacks.config import ApiSpec, Scenario, StackConfig
from stacks.traffic import model
from stacks.traffic.objects import ClusterObjects, Service, StackObjects, read, record
from stacks.traffic.policy import Caller, Decision, Pod, Request, decide

GATEWAY = "gateway"
OUTSIDE_MESH = "outside-mesh"
MESH_PREFIX = "mesh:"
_MESH = re.compile(r"mesh:([a-z0-9]([-a-z0-9]*[a-z0-9])?)/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)")
_TARGET = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?):([0-9]{1,5})")
GATEWAY_COMPONENTS = {
    Scenario.IN_CLUSTER_GATEWAY: "meshgate:gateways:InClusterGateway",
    Scenario.IN_CLUSTER_GATEWAY_MESH: "meshgate:gateways:InClusterMeshGateway",
    Scenario.GATEWAY_API: "meshgate:gateways:GatewayApiGateway",
}
INGRESS_COMPONENT = "meshgate:gateways:IstioIngress"


class QueryError(ValueError):
    """A source or target the stack does not have, or a malformed one (exit 2)."""


@dataclass(frozen=True)
class Target:
    """`SERVICE.NAMESPACE:PORT`."""

    service: str
    namespace: str
    port: int

    def __str__(self) -> str:
        return f"{self.service}.{self.namespace}:{self.port}"


def parse_target(text: str) -> Target:
    match = _TARGET.fullmatch(text)
    if match is None:
        raise QueryError(f"--to {text!r}: expected SERVICE.NAMESPACE:PORT (the Service port), e.g. orders.shop:8080")
    return Target(match.group(1), match.group(3), int(match.group(5)))


def check_source(text: str) -> str:
    if text in (GATEWAY, OUTSIDE_MESH) or _MESH.fullmatch(text):
        return text
    raise QueryError(f"--from {text!r}: expected `gateway`, `outside-mesh` or `mesh:NAMESPACE/SERVICEACCOUNT`")


@dataclass(frozen=True)
class Verdict:
    """One answer: a source calling a target port in one cluster."""

    source: str
    target: Target
    cluster: str
    target_port: int
    path: str
    method: str
    jwt: bool
    decision: Decision
    route: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": str(self.target),
            "route": self.route,
            "cluster": self.cluster,
            "targetPort": self.target_port,
            "path": self.path,
            "method": self.method,
            "jwt": self.jwt,
            "connection": "mTLS" if self.decision.mtls else "plaintext",
            "mtlsMode": self.decision.mode,
            "mtlsModeSetBy": self.decision.mode_set_by,
            "verdict": self.decision.verdict,
            "decidedBy": self.decision.decided_by,
            "reason": self.decision.reason,
            "notes": list(self.decision.notes),
        }


class StackTraffic:
    """The traffic query over one stack: its config (the model) and what it registers (the policies)."""

    def __init__(self, config: StackConfig, objects: StackObjects) -> None:
        self.config = config
        self.objects = objects

    @classmethod
    def of(cls, config: StackConfig, raw_config: Mapping[str, Any], stack: str) -> StackTraffic:
        """`config` (validated) and what the program registers for it (`raw_config`, under mocks)."""
        return cls(config, read(config, record(raw_config, stack)))

    # ------------------------------------------------------------------ sources

    def _gateway_outputs(self, cluster: str) -> Mapping[str, Any]:
        if self.config.scenario is Scenario.EXTERNAL_GATEWAY:
            found = [o for t, o in self.objects.gateways if t == INGRESS_COMPONENT and o.get("cluster") == cluster]
        else:
            found = [o for t, o in self.objects.gateways if t == GATEWAY_COMPONENTS[self.config.scenario]]
        if not found:
            raise QueryError(f"the stack registers no gateway that enters cluster {cluster}")
        return found[0]

    def _api_for(self, service: Service) -> ApiSpec | None:
        return next(
            (
                a
                for a in self.config.apis
                if (a.cluster, a.service.namespace, a.service.name)
                == (service.cluster, service.namespace, service.name)
            ),
            None,
        )

    def caller(self, source: str, service: Service) -> Caller:
        """The caller `source` names, as `service`'s sidecar sees it."""
        if source == OUTSIDE_MESH:
            return Caller(None)  # a pod of unknown namespace and labels
        home = self.objects.clusters[service.cluster]
        if source.startswith(MESH_PREFIX):
            namespace, account = source[len(MESH_PREFIX) :].split("/", 1)
            # its pod labels if the stack runs a workload with that service account, else none known
            labels = next(
                (
                    dict(s.workload.labels)
                    for s in home.services
                    if s.namespace == namespace and s.service_account == account and s.workload is not None
                ),
                {},
            )
            return Caller(home.principal(namespace, account), Pod(namespace, labels))
        api = self._api_for(service)
        if api is not None:
            hop, entry = model.backend_hop(self.config, api), model.entry_cluster(self.config, api)
        else:  # not an API backend: what the gateway would use from its (first) entry cluster
            entry = model.entry_clusters(self.config)[0] if self.config.apis else self.config.gateway_cluster
            hop = next(h for h in model.hops(self.config) if h.target == model.BACKENDS)
        outputs = self._gateway_outputs(entry)
        pod = None
        if outputs.get("namespace") and outputs.get("podLabels") is not None:
            pod = Pod(str(outputs["namespace"]), dict(outputs["podLabels"]))
        return Caller(str(outputs["principal"]) if hop.mtls else None, pod)

    def _issuer(self, service: Service) -> str:
        """The issuer of a valid token: the API's own `jwt`, else `meshgate:jwt`."""
        api = self._api_for(service)
        spec = (api.jwt if api is not None else None) or self.config.jwt
        if spec is None:
            raise QueryError("--jwt: the stack configures no JWT issuer (meshgate:jwt)")
        return spec.issuer

    # ------------------------------------------------------------------ queries

    def services(self, target: Target) -> list[Service]:
        """The Service in every cluster that runs its workload (a multi-cluster Service may exist without one)."""
        found = [
            s
            for s in self.objects.services()
            if (s.name, s.namespace) == (target.service, target.namespace) and s.workload is not None
        ]
        if not found:
            known = ", ".join(sorted({s.address for s in self.objects.services() if s.workload is not None}))
            raise QueryError(
                f"--to {target}: the stack registers no workload behind a Service {target.service}.{target.namespace} "
                f"(known: {known or 'none'})"
            )
        return found

    def ask(
        self,
        source: str,
        target: Target,
        *,
        jwt: bool = False,
        path: str = "/",
        method: str = "GET",
        route: str | None = None,
    ) -> list[Verdict]:
        """The verdict in every cluster that has the target Service."""
        verdicts: list[Verdict] = []
        for service in self.services(target):
            port = next((p for p in service.ports if p.port == target.port), None)
            if port is None:
                ports = ", ".join(str(p.port) for p in service.ports)
                raise QueryError(f"--to {target}: Service {service.address} has no port {target.port} (ports: {ports})")
            issuer = self._issuer(service) if jwt else None
            assert service.workload is not None, "services() keeps only Services with a workload"
            cluster: ClusterObjects = self.objects.clusters[service.cluster]
            request = Request(
                self.caller(source, service), service.workload, port.target_port, path, method.upper(), issuer
            )
            decision = decide(cluster.policies, request)
            verdicts.append(
                Verdict(source, target, service.cluster, port.target_port, path, method.upper(), jwt, decision, route)
            )
        return verdicts

    def matrix(self) -> list[Verdict]:
        """Every gateway route (with and, for JWT routes, without a token), every ordered pair of demo
        services in one mesh (across clusters only with a multi-cluster mesh), and the outside-mesh
        caller to every demo service."""
        rows: list[Verdict] = []
        for api in self.config.apis:
            target = Target(api.service.name, api.service.namespace, api.service.port)
            for jwt in (True, False) if api.auth == "jwt" else (False,):
                rows += self.ask(GATEWAY, target, jwt=jwt, path=api.path, route=api.name)
        demo = [(s, Target(s.name, s.namespace, s.port)) for s in self.config.services]
        one_mesh = self.config.istio.multicluster  # without it, each cluster is a mesh of its own
        for caller, _ in demo:
            account = self._account(caller.cluster, caller.namespace, caller.name)
            for callee, target in demo:
                if callee is not caller and (one_mesh or callee.cluster == caller.cluster):
                    rows += [
                        v
                        for v in self.ask(f"{MESH_PREFIX}{caller.namespace}/{account}", target)
                        if v.cluster == callee.cluster
                    ]
        for callee, target in demo:
            rows += [v for v in self.ask(OUTSIDE_MESH, target) if v.cluster == callee.cluster]
        return rows

    def _account(self, cluster: str, namespace: str, name: str) -> str:
        service = next(s for s in self.objects.clusters[cluster].services if (s.namespace, s.name) == (namespace, name))
        return service.service_account or "default"
