"""STS 2015-04-01 through alibabacloud-sts20150401: AssumeRole (signed) and AssumeRoleWithOIDC
(anonymous), the temporary credentials they issue used by the SDK with its security token,
and the error paths (duration, trust policy, unknown role, bad OIDC token)."""

import base64
import json
import re
import time

from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models
from sdkcheck import REGION, sdk_error, sdk_ok

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ISSUER = "https://idp.conformance.example"


def trust(principal):
    return json.dumps(
        {"Version": "1", "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}]}
    )


def role(main, raw, name, principal):
    sdk_ok(
        raw,
        main.ram.create_role,
        ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=trust(principal)),
    )
    return f"acs:ram::{main.account.uid}:role/{name.lower()}"


def temporary_client(sim, creds):
    return StsClient(
        open_api_models.Config(
            access_key_id=creds.access_key_id,
            access_key_secret=creds.access_key_secret,
            security_token=creds.security_token,
            endpoint=sim.endpoint,
            protocol="http",
            region_id=REGION,
        )
    )


def test_assume_role(sim, main, raw):
    uid = main.account.uid
    arn = role(main, raw, "ConformanceDeployer", {"RAM": [f"acs:ram::{uid}:root"]})
    body = sdk_ok(
        raw,
        main.sts.assume_role,
        sts_models.AssumeRoleRequest(role_arn=arn, role_session_name="conformance", duration_seconds=900),
    )
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.")
    assert creds.access_key_secret and creds.security_token
    assert ISO.match(creds.expiration)
    assert body.assumed_role_user.arn == f"acs:ram::{uid}:assumed-role/conformancedeployer/conformance"
    # The SDK signs with the temporary keys and sends the token.
    who = sdk_ok(raw, temporary_client(sim, creds).get_caller_identity)
    assert who.account_id == uid
    assert who.identity_type == "AssumedRoleUser"
    assert who.arn == f"acs:ram::{uid}:assumed-role/conformancedeployer/conformance"
    assert who.role_id and who.principal_id == f"{who.role_id}:conformance"
    # Without the token, or with another one, the keys are refused.
    creds_without = sts_models.AssumeRoleResponseBodyCredentials(
        access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret, security_token=None
    )
    sdk_error("MissingSecurityToken", 400, temporary_client(sim, creds_without).get_caller_identity)

    sdk_error(
        "InvalidParameter.DurationSeconds",
        400,
        main.sts.assume_role,
        sts_models.AssumeRoleRequest(role_arn=arn, role_session_name="conformance", duration_seconds=100),
    )
    sdk_error(
        "EntityNotExist.Role",
        404,
        main.sts.assume_role,
        sts_models.AssumeRoleRequest(role_arn=f"acs:ram::{uid}:role/nosuchrole", role_session_name="conformance"),
    )
    stranger = role(main, raw, "ConformanceStranger", {"RAM": ["acs:ram::1234567890123456:root"]})
    sdk_error(
        "NoPermission",
        403,
        main.sts.assume_role,
        sts_models.AssumeRoleRequest(role_arn=stranger, role_session_name="conformance"),
    )


def jwt(claims):
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return ".".join([enc(b'{"alg":"RS256"}'), enc(json.dumps(claims).encode()), enc(b"sig")])


def test_assume_role_with_oidc(sim, main, raw):
    uid = main.account.uid
    provider = sim.printed[2]
    assert provider == f"acs:ram::{uid}:oidc-provider/conformance-idp"
    arn = role(main, raw, "ConformanceOidc", {"Federated": [provider]})
    token = jwt({"iss": ISSUER, "aud": "conformance", "sub": "ci", "exp": int(time.time()) + 600})
    request = sts_models.AssumeRoleWithOIDCRequest(
        role_arn=arn, oidcprovider_arn=provider, oidctoken=token, role_session_name="ci", duration_seconds=900
    )
    body = sdk_ok(raw, main.sts.assume_role_with_oidc, request)
    assert body.credentials.access_key_id.startswith("STS.")
    assert body.oidctoken_info.issuer == ISSUER
    assert body.oidctoken_info.subject == "ci"
    assert sdk_ok(raw, temporary_client(sim, body.credentials).get_caller_identity).account_id == uid

    wrong_audience = jwt({"iss": ISSUER, "aud": "someone-else", "exp": int(time.time()) + 600})
    request.oidctoken = wrong_audience
    sdk_error("AuthenticationFail.OIDCToken.Invalid", 400, main.sts.assume_role_with_oidc, request)
    request.oidctoken = jwt({"iss": ISSUER, "aud": "conformance", "exp": int(time.time()) - 10})
    sdk_error("AuthenticationFail.OIDCToken.Expired", 400, main.sts.assume_role_with_oidc, request)
