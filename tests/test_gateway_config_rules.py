"""What a gateway cannot enforce is refused (or, where config cannot know, warned about) before any resource.

- GCP API Gateway enforces a rate limit only as a quota per API key: a limit on an API with
  `auth: none` or `jwt` would be dropped silently, so it is refused.
- AWS HTTP API JWT authorizers have no JWKS field: they find the keys by OIDC discovery at
  `<issuer>/.well-known/openid-configuration`. A non-URL issuer is refused; `jwksUri` is
  reported as unused (the issuer must serve discovery).
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from harness import evaluate, stack_config

from stacks import config_rules
from stacks.config import ConfigError, parse_raw

GCP_GATEWAY = {"kind": "gcp-api-gateway", "region": "us-central1", "project": "acme-staging"}


def staging(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(stack_config("staging"))
    config.update(changes)
    return config


@pytest.mark.parametrize("auth", ["none", "jwt"])
def test_gcp_rate_limit_without_api_key_is_refused(auth: str) -> None:
    config = staging(**{"meshgate:externalGateway": GCP_GATEWAY})
    config["meshgate:apis"] = [{**a, "auth": auth} for a in config["meshgate:apis"]]
    with pytest.raises(ConfigError) as caught:
        parse_raw(config)
    message = str(caught.value)
    assert message.startswith(
        "meshgate:apis[0].rateLimitPerMinute needs auth: key with externalGateway gcp-api-gateway"
    )
    assert f"with auth: {auth} the limit would not be enforced" in message


def test_gcp_rate_limit_with_api_key_and_unlimited_apis_are_accepted() -> None:
    config = staging(**{"meshgate:externalGateway": GCP_GATEWAY})
    orders, catalog = config["meshgate:apis"]
    config["meshgate:apis"] = [
        {**orders, "auth": "key"},
        {k: v for k, v in catalog.items() if k != "rateLimitPerMinute"},
    ]
    parsed = parse_raw(config)
    assert [a.rate_limit_per_minute for a in parsed.apis] == [600, None]


def test_the_rate_limit_rule_fires_before_any_resource() -> None:
    record: list[Any] = []
    with pytest.raises(pulumi.RunError, match=r"^meshgate:apis\[0\]\.rateLimitPerMinute needs auth: key"):
        evaluate(staging(**{"meshgate:externalGateway": GCP_GATEWAY}), record=record)
    assert record == []


def test_aws_jwt_issuer_must_be_a_discoverable_url() -> None:
    config = staging()
    config["meshgate:jwt"] = {**config["meshgate:jwt"], "issuer": "auth-service"}
    with pytest.raises(ConfigError) as caught:
        parse_raw(config)
    assert str(caught.value).startswith("meshgate:jwt.issuer must be an https:// URL with externalGateway aws-http-api")
    assert "/.well-known/openid-configuration" in str(caught.value)
    # an API's own issuer is named by its own key
    config = staging()
    config["meshgate:apis"][0]["jwt"] = {**config["meshgate:jwt"], "issuer": "http://auth.internal/"}
    with pytest.raises(ConfigError, match=r"^meshgate:apis\[0\]\.jwt\.issuer must be an https:// URL"):
        parse_raw(config)


def test_the_same_issuer_is_fine_where_the_jwks_uri_is_used() -> None:
    """Istio (scenarios 2-4) and GCP API Gateway read `jwksUri` themselves: no rule, no warning."""
    config = copy.deepcopy(stack_config("prod"))
    config["meshgate:jwt"] = {**config["meshgate:jwt"], "issuer": "auth-service"}
    assert [w for w in config_rules.warnings(parse_raw(config)) if "jwksUri" in w] == []


def test_aws_jwks_uri_is_reported_as_unused() -> None:
    (warning,) = [w for w in config_rules.warnings(parse_raw(stack_config("staging"))) if "jwksUri" in w]
    assert warning.startswith("meshgate:jwt.jwksUri is not used by externalGateway aws-http-api")
    assert "https://auth.staging.example.com/.well-known/openid-configuration" in warning
    assert "request to orders is refused with 401" in warning


def test_the_warning_reaches_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: seen.append(message))
    evaluate(stack_config("staging"), stack="staging")
    assert [w for w in seen if "jwksUri is not used" in w]
