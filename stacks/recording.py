"""Run the real `__main__.py` under Pulumi mocks and record what it registers: no engine, no cluster.

`run_program(config)` returns a `Program`: every registered resource with its type, name,
URN, parent, provider, inputs (secrets still wrapped), dependency edges, options, plus the
stack outputs and each component's registered outputs. The tests assert on this record;
the `traffic` command evaluates the Istio policies in it. The mocks are a deterministic fake
cloud: ids from names, and the few outputs the program reads back.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import runpy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi.runtime.config as runtime_config
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "__main__.py"


# --------------------------------------------------------------------------- record


@dataclass
class Resource:
    """One registered resource as the engine would see it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def plain(self) -> dict[str, Any]:
        """Inputs with secret markers removed."""
        return unwrap(self.inputs)

    def get(self, path: str, default: Any = None) -> Any:
        """Dotted lookup into the plain inputs: ``r.get("metadata.labels")``."""
        node: Any = self.plain
        for part in path.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return default
        return node

    @property
    def kind(self) -> str | None:
        """For Kubernetes objects: `apiVersion/kind` style short kind, e.g. `Namespace`."""
        return self.plain.get("kind") if self.type.startswith("kubernetes:") else None


@dataclass
class Program:
    """The recorded outcome of one evaluation."""

    resources: list[Resource]
    outputs: dict[str, Any]  # secrets still wrapped; see plain_outputs
    component_outputs: dict[str, Any] = field(default_factory=dict)  # URN -> register_outputs, secrets wrapped

    @property
    def plain_outputs(self) -> dict[str, Any]:
        return unwrap(self.outputs)

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def one(self, type_: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def k8s_objects(self, kind: str | None = None) -> list[Resource]:
        """Kubernetes objects (not Helm releases, not providers), optionally of one kind."""
        objs = [
            r
            for r in self.resources
            if r.type.startswith("kubernetes:")
            and not r.type.startswith("pulumi:providers")
            and r.type not in ("kubernetes:helm.sh/v3:Release", "kubernetes:yaml/v2:ConfigFile")
        ]
        return [r for r in objs if kind is None or r.kind == kind]

    def releases(self) -> list[Resource]:
        return self.of_type("kubernetes:helm.sh/v3:Release")

    def ancestors(self, urn: str) -> set[str]:
        """Every URN `urn` depends on: explicit and property dependencies and its provider, transitively.

        Depending on a component means depending on all of its descendants, as in the engine.
        """
        index = self.by_urn()
        children: dict[str, list[str]] = {}
        for r in self.resources:
            children.setdefault(r.parent, []).append(r.urn)
        seen: set[str] = set()
        stack = [urn]
        while stack:
            current = index.get(stack.pop())
            if current is None:
                continue
            edges = list(current.dependencies)
            for deps in current.property_dependencies.values():
                edges.extend(deps)
            if current.provider:
                edges.append(current.provider)
            for edge in edges:
                family = [edge]
                for member in family:  # the edge and all its descendants
                    family.extend(children.get(member, []))
                for reached in family:
                    if reached and reached not in seen:
                        seen.add(reached)
                        stack.append(reached)
        return seen

    def depends_on(self, dependent: Resource, dependency: Resource) -> bool:
        return dependency.urn in self.ancestors(dependent.urn)


def _provider_urn(reference: str) -> str:
    """A provider reference is `<urn>::<id>`; return the URN part."""
    return reference.rsplit("::", 1)[0] if reference.count("::") > 3 else reference


def unwrap(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def secret_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Paths of the secret-wrapped values inside `value`."""
    if rpc.is_rpc_secret(value):
        yield prefix or "."
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from secret_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from secret_paths(v, f"{prefix}[{i}]")


# --------------------------------------------------------------------------- mocks


class MeshgateMocks(pulumi_mocks.Mocks):
    """Deterministic fake cloud: ids from names, and the few outputs the program reads back."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        state = dict(args.inputs)
        state.update(_fake_outputs(args.typ, args.name, args.inputs))
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return _fake_call(args.token, args.args), []  # MockMonitor.Invoke iterates the failures


def _fake_outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    arn = f"arn:aws:mock:us-east-1:123456789012:{name}"
    outputs: dict[str, Any] = {}
    if typ.startswith("aws:"):
        outputs.update({"arn": arn, "name": inputs.get("name", name)})
    if typ == "aws:eks/cluster:Cluster":
        outputs.update(
            {
                "endpoint": f"https://{name}.eks.example.com",
                "certificateAuthority": {"data": "Q0EtREFUQQ=="},
                "vpcConfig": {**dict(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"{name}-csg"},
                "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.example.com/id/{name}"}]}],
            }
        )
    if typ == "aws:eks/nodeGroup:NodeGroup":
        outputs["resources"] = [{"autoscalingGroups": [{"name": f"{name}-asg"}]}]
    if typ == "aws:ec2/launchTemplate:LaunchTemplate":
        outputs["latestVersion"] = 1
    if typ == "aws:ec2/eip:Eip":
        outputs.update({"allocationId": f"eipalloc-{name}", "publicIp": fake_ip("52.0.0.0", name)})
    if typ == "gcp:compute/address:Address":
        outputs["address"] = fake_ip("34.0.0.0", name)
    if typ == "aws:ec2/vpc:Vpc":
        outputs["id"] = f"{name}-id"
    if typ == "aws:lb/loadBalancer:LoadBalancer":
        outputs["dnsName"] = f"{name}.elb.example.com"
    if typ == "aws:apigatewayv2/api:Api":
        outputs["apiEndpoint"] = f"https://{name}.execute-api.example.com"
    if typ.startswith("gcp:"):
        outputs.update({"name": inputs.get("name", name), "selfLink": f"https://gcp.example.com/{name}"})
    if typ == "gcp:container/cluster:Cluster":
        outputs.update(
            {
                "endpoint": "203.0.113.10",
                "privateClusterConfig": {
                    **dict(inputs.get("privateClusterConfig") or {}),
                    "privateEndpoint": "172.16.0.2",
                },
                "masterAuth": {"clusterCaCertificate": "Q0EtREFUQQ=="},
            }
        )
    if typ == "gcp:serviceaccount/account:Account":
        outputs["email"] = f"{inputs.get('accountId', name)}@mock-project.iam.gserviceaccount.com"
    if typ == "gcp:serviceaccount/account:Account":
        outputs["uniqueId"] = f"mock-unique-id-{inputs.get('accountId', name)}"
    if typ == "random:index/randomPassword:RandomPassword":
        outputs["result"] = rpc.wrap_rpc_secret("mock-random-secret")
    if typ == "gcp:apigateway/gateway:Gateway":
        outputs["defaultHostname"] = f"{name}.gateway.example.dev"
    if typ.startswith("tls:"):
        outputs.update(
            {
                "privateKeyPem": rpc.wrap_rpc_secret(f"-----MOCK KEY {name}-----"),
                "certPem": f"-----MOCK CERT {name}-----",
                "certRequestPem": f"-----MOCK CSR {name}-----",
                "publicKeyPem": f"-----MOCK PUB {name}-----",
            }
        )
    if typ == "kubernetes:core/v1:Service":
        outputs["status"] = {"loadBalancer": {"ingress": [{"hostname": f"{name}.lb.example.com"}]}}
    if typ == "kubernetes:core/v1:Secret":
        # The token controller fills a service-account-token Secret with a token of its own.
        token = base64.b64encode(f"mock-token-{name}".encode()).decode()
        outputs.setdefault("data", {"token": rpc.wrap_rpc_secret(token), "ca.crt": "Q0E="})
    if typ == "kubernetes:helm.sh/v3:Release":
        outputs["status"] = {"namespace": inputs.get("namespace", ""), "name": inputs.get("name", name)}
    return outputs


def fake_ip(base: str, name: str) -> str:
    """A stable fake public address derived from a resource name."""
    import hashlib
    import ipaddress

    offset = int(hashlib.sha256(name.encode()).hexdigest()[:6], 16) % 65534 + 1
    return str(ipaddress.IPv4Address(base) + offset)


def _fake_call(token: str, args: Mapping[str, Any]) -> dict[str, Any]:
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {"names": ["us-east-1a", "us-east-1b", "us-east-1c"], "zoneIds": ["use1-az1", "use1-az2", "use1-az3"]}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/ci", "userId": "AIDMOCK"}
    if token == "aws:iam/getRole:getRole":
        # A role with a path, as SSO roles have: the ARN a session ARN cannot show.
        name = args.get("name", "role")
        return {"name": name, "path": "/mock-path/", "arn": f"arn:aws:iam::123456789012:role/mock-path/{name}"}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": "us-east-1", "region": "us-east-1"}
    if token == "aws:ssm/getParameter:getParameter":
        return {"value": "ami-0123456789abcdef0", "name": args.get("name")}
    if token.startswith("aws:iam/getPolicyDocument"):
        return {"json": json.dumps({"Version": "2012-10-17", "Statement": args.get("statements", [])})}
    if token == "gcp:organizations/getProject:getProject":
        return {"number": "123456789", "projectId": args.get("projectId", "mock-project")}
    if token == "gcp:compute/getZones:getZones":
        return {"names": ["us-central1-a", "us-central1-b", "us-central1-c"]}
    return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also keeps what the engine needs for the graph: deps, parent, provider, options."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []
        self.outputs_by_urn: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        self.recorded.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                provider=_provider_urn(request.provider) if request.provider else "",
                inputs=dict(inputs),
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                protect=bool(request.protect),
                options={
                    "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                    "ignoreChanges": list(request.ignoreChanges),
                    "customTimeouts": {
                        "create": request.customTimeouts.create,
                        "update": request.customTimeouts.update,
                        "delete": request.customTimeouts.delete,
                    },
                    "retainOnDelete": bool(request.retainOnDelete),
                    "deletedWith": request.deletedWith,
                    "aliases": len(request.aliases),
                },
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs_by_urn[request.urn] = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        return super().RegisterResourceOutputs(request)


# --------------------------------------------------------------------------- running


def as_pulumi_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Config values as the engine hands them to a program: strings, structured values as JSON."""
    out: dict[str, str] = {}
    for key, value in config.items():
        full = key if ":" in key else f"meshgate:{key}"
        out[full] = value if isinstance(value, str) else json.dumps(value)
    return out


def run_program(
    config: Mapping[str, Any],
    stack: str = "test",
    preview: bool = False,
    program: Callable[[], None] | None = None,
    record: list[Resource] | None = None,
) -> Program:
    """Evaluate the program (`__main__.py`, or `program`) with `config` under mocks; return the recorded graph.

    Raises whatever the program raises (e.g. pulumi.RunError for bad config). Pass a list
    as `record` to see what was registered even when the program fails.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = MeshgateMocks()
    monitor = RecordingMonitor(mocks)
    if record is not None:
        monitor.recorded = record
    settings.reset_options(project="meshgate", stack=stack, preview=preview)
    pulumi_mocks.set_mocks(mocks, project="meshgate", stack=stack, preview=preview, monitor=monitor)
    runtime_config.set_all_config(as_pulumi_config(config), [])

    def run() -> None:
        if program is not None:
            program()
        else:
            runpy.run_path(str(MAIN), run_name="__main__")

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        settings.SETTINGS.rpc_manager.clear()  # pyright: ignore[reportAttributeAccessIssue]  (set at runtime by the SDK)
        stack_outputs = loop.run_until_complete(_run_in_stack(run))
    finally:
        os.chdir(cwd)
        loop.close()
        asyncio.set_event_loop(None)
    return Program(resources=monitor.recorded, outputs=stack_outputs, component_outputs=dict(monitor.outputs_by_urn))


async def _run_in_stack(func: Callable[[], None]) -> dict[str, Any]:
    """Run `func` as the program; return the stack outputs (secrets still wrapped).

    `set_mocks` registers (and closes) its root Stack up front, so the exports are read
    back from the root resource and serialized the way the engine would receive them.
    """
    from pulumi.runtime.stack import run_pulumi_func

    await run_pulumi_func(func)
    root = settings.get_root_resource()
    exported = getattr(root, "outputs", {}) or {}
    struct = await rpc.serialize_properties(exported, {})
    return dict(rpc.deserialize_properties(struct, keep_unknowns=True))
