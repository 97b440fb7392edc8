"""AwsHttpApi: Amazon API Gateway (HTTP API) in front of the Istio ingress gateways (scenario 1).

APIs that enter at the VPC-link EKS cluster's ingress are reached privately: VPC link -> the
internal NLB's TLS listener (IngressNlb, passthrough) -> Istio ingress, with TLS verified against
the ingress hostname (`tlsConfig.serverNameToVerify`). APIs that enter at another cluster's
ingress are reached over HTTPS on its hostname. Either way the hop into the cluster is outside
the mesh: Istio's mTLS starts at the ingress gateway.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.clusters.aws_tags import aws_tags
from components.gateways.external.aws_ingress_nlb import TLS_PORT
from components.gateways.external.istio_ingress import GATEWAY_HEADER
from components.gateways.shared.catalogue import Route

LOG_RETENTION_DAYS = 90
INTEGRATION_TIMEOUT_MS = 29_000
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationStatus": "$context.integrationStatus",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    },
    sort_keys=True,
)


def route_keys(route: Route) -> list[str]:
    """`ANY /orders` and `ANY /orders/{proxy+}`: the prefix itself and everything below it."""
    prefix = route.path.rstrip("/") or ""
    return [f"ANY {prefix or '/'}", f"ANY {prefix}/{{proxy+}}"]


@dataclass(frozen=True)
class AwsHttpApiArgs:
    """The routes, the cluster whose ingress each enters (`entry`) and that ingress's hostname
    (`hostnames`, by route name), and the VPC-link cluster's network and NLB TLS listener."""

    routes: list[Route]
    vpc_link_cluster: str
    entry: dict[str, str]
    hostnames: dict[str, str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    private_subnet_cidrs: Sequence[str]
    listener_arn: pulumi.Input[str]
    gateway_secret: pulumi.Output[str]
    """Written into header GATEWAY_HEADER of every request; the ingress admits only requests carrying it."""
    logs_kms_key_arn: pulumi.Input[str] | None = (
        None  # KMS key of the access-log group (the VPC-link cluster's logs key)
    )


class AwsHttpApi(pulumi.ComponentResource):
    """HTTP API + VPC link + one HTTP_PROXY integration and two routes per API, JWT authorizers,
    and a `$default` stage with JSON access logs to CloudWatch and per-route throttling
    (rate = rateLimitPerMinute / 60 per second, burst = one second's worth)."""

    api: aws.apigatewayv2.Api
    endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: AwsHttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meshgate:gateways:AwsHttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        owner = args.vpc_link_cluster
        link_sg = aws.ec2.SecurityGroup(
            f"{name}-vpc-link-sg",
            description=f"meshgate: API Gateway VPC link into {owner} (egress to the internal ingress NLB only)",
            vpc_id=args.vpc_id,
            revoke_rules_on_delete=True,
            tags=aws_tags(owner, f"{name}-vpc-link"),
            opts=child,
        )
        for index, cidr in enumerate(args.private_subnet_cidrs):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-vpc-link-to-nlb-{index}",
                security_group_id=link_sg.id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=TLS_PORT,
                to_port=TLS_PORT,
                description=f"VPC link to the internal NLB's TLS listener in private subnet {cidr}",
                opts=child,
            )
        vpc_link = aws.apigatewayv2.VpcLink(
            f"{name}-vpc-link",
            name=f"{name}-{owner}",
            subnet_ids=args.private_subnet_ids,
            security_group_ids=[link_sg.id],
            tags=aws_tags(owner, f"{name}-vpc-link"),
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{name}",
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=args.logs_kms_key_arn,
            tags=aws_tags(owner, f"{name}-access-logs"),
            opts=child,
        )
        self.api = aws.apigatewayv2.Api(
            f"{name}-api",
            name=name,
            protocol_type="HTTP",
            description="meshgate: API catalogue in front of the Istio ingress gateways",
            tags=aws_tags(owner, name),
            opts=child,
        )
        # Every request to an ingress carries the gateway's secret (overwriting any client value).
        parameters = {"overwrite:path": "$request.path", f"overwrite:header.{GATEWAY_HEADER}": args.gateway_secret}
        route_settings: list[aws.apigatewayv2.StageRouteSettingArgs] = []
        routes: list[pulumi.Resource] = []
        for route in args.routes:
            hostname = args.hostnames[route.name]
            if args.entry[route.name] == owner:
                integration = aws.apigatewayv2.Integration(
                    f"{name}-{route.name}",
                    api_id=self.api.id,
                    integration_type="HTTP_PROXY",
                    integration_method="ANY",
                    connection_type="VPC_LINK",
                    connection_id=vpc_link.id,
                    integration_uri=args.listener_arn,
                    tls_config=aws.apigatewayv2.IntegrationTlsConfigArgs(server_name_to_verify=hostname),
                    payload_format_version="1.0",
                    request_parameters=parameters,
                    timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
                    description=f"{route.name}: VPC link -> internal NLB (TLS) -> Istio ingress {hostname} of {owner}",
                    opts=child,
                )
            else:
                integration = aws.apigatewayv2.Integration(
                    f"{name}-{route.name}",
                    api_id=self.api.id,
                    integration_type="HTTP_PROXY",
                    integration_method="ANY",
                    connection_type="INTERNET",
                    integration_uri=f"https://{hostname}",
                    payload_format_version="1.0",
                    request_parameters=parameters,
                    timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
                    description=f"{route.name}: HTTPS -> Istio ingress {hostname} of {args.entry[route.name]}",
                    opts=child,
                )
            authorizer = None
            if route.auth == "jwt":
                assert route.jwt is not None
                authorizer = aws.apigatewayv2.Authorizer(
                    f"{name}-{route.name}-jwt",
                    api_id=self.api.id,
                    name=f"{route.name}-jwt",
                    authorizer_type="JWT",
                    identity_sources=["$request.header.Authorization"],
                    jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                        issuer=route.jwt.issuer, audiences=list(route.jwt.audiences)
                    ),
                    opts=child,
                )
            for index, key in enumerate(route_keys(route)):
                routes.append(
                    aws.apigatewayv2.Route(
                        f"{name}-{route.name}-{'prefix' if index == 0 else 'proxy'}",
                        api_id=self.api.id,
                        route_key=key,
                        target=integration.id.apply(lambda i: f"integrations/{i}"),
                        authorization_type="JWT" if authorizer is not None else "NONE",
                        authorizer_id=authorizer.id if authorizer is not None else None,
                        opts=child,
                    )
                )
                if route.rate_limit_per_minute is not None:
                    route_settings.append(
                        aws.apigatewayv2.StageRouteSettingArgs(
                            route_key=key,
                            throttling_rate_limit=route.rate_per_second,
                            throttling_burst_limit=route.burst,
                            detailed_metrics_enabled=True,
                        )
                    )
        aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=logs.arn, format=ACCESS_LOG_FORMAT
            ),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(detailed_metrics_enabled=True),
            route_settings=route_settings,
            tags=aws_tags(owner, f"{name}-default-stage"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        self.endpoint = self.api.api_endpoint
        self.register_outputs({"endpoint": self.endpoint, "vpcLink": vpc_link.id})
