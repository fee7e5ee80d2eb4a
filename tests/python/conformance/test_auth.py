"""Request authentication as the official SDKs meet it: a wrong secret or an unknown AccessKey
is rejected with the real codes, a replayed signature nonce and a stale date are rejected (the
SDK's own nonce and date functions are pinned to force them), an unknown action is
InvalidAction.NotFound, and the legacy HMAC-SHA1 signature is verified as strictly as V3."""

import datetime

import pytest
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.utils import Utils
from aliyunsdkcore.acs_exception.exceptions import ServerException
from alibabacloud_vpc20160428 import models as vpc_models
from conftest import Clients
from darabonba.runtime import RuntimeOptions
from sdkcheck import REGION, sdk_error, sdk_ok


def describe_vpcs(c):
    return c.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION))


def test_wrong_secret(sim):
    forged = Clients(sim, "main", secret="not-the-secret")
    sdk_error("SignatureDoesNotMatch", 400, describe_vpcs, forged)
    sdk_error("SignatureDoesNotMatch", 400, forged.sts.get_caller_identity)


def test_unknown_access_key(sim):
    from alibabacloud_sts20150401.client import Client as StsClient

    cfg = sim.config("main")
    cfg.access_key_id = "LTAI5tNoSuchKeyAtAll00000"
    sdk_error("InvalidAccessKeyId.NotFound", 404, StsClient(cfg).get_caller_identity)


def test_replayed_nonce(main, raw, monkeypatch):
    monkeypatch.setattr(Utils, "get_nonce", staticmethod(lambda: "conformance-fixed-nonce-1"))
    sdk_ok(raw, describe_vpcs, main)
    sdk_error("SignatureNonceUsed", 400, describe_vpcs, main)
    sdk_error("SignatureNonceUsed", 400, main.sts.get_caller_identity)


def test_stale_date(main, monkeypatch):
    stale = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: stale))
    sdk_error("InvalidTimeStamp.Expired", 400, describe_vpcs, main)


def test_bad_date_format(main, monkeypatch):
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: "yesterday"))
    sdk_error("InvalidTimeStamp.Format", 400, describe_vpcs, main)


def test_unknown_action_and_version(main):
    def call(action, version):
        params = utils_models.Params(
            action=action,
            version=version,
            protocol="HTTP",
            pathname="/",
            method="POST",
            auth_type="AK",
            style="RPC",
            req_body_type="formData",
            body_type="json",
        )
        return main.vpc.call_api(params, utils_models.OpenApiRequest(query={"RegionId": REGION}), RuntimeOptions())

    sdk_error("InvalidAction.NotFound", 404, call, "NoSuchAction", "2016-04-28")
    sdk_error("NoSuchVersion", 400, call, "DescribeVpcs", "1999-01-01")


def legacy_error(fn):
    with pytest.raises(ServerException) as info:
        fn()
    return info.value


def test_legacy_signature_is_verified(sim, main, monkeypatch):
    forged = Clients(sim, "main", secret="not-the-secret")
    e = legacy_error(lambda: forged.legacy_call("2015-04-01", "GetCallerIdentity"))
    assert (e.get_error_code(), e.get_http_status()) == ("SignatureDoesNotMatch", 400)
    assert e.get_request_id()

    from aliyunsdkcore.auth.composer import rpc_signature_composer

    monkeypatch.setattr(rpc_signature_composer.helper, "get_uuid", lambda: "conformance-legacy-nonce")
    assert main.legacy_call("2015-04-01", "GetCallerIdentity")["AccountId"] == main.account.uid
    e = legacy_error(lambda: main.legacy_call("2015-04-01", "GetCallerIdentity"))
    assert (e.get_error_code(), e.get_http_status()) == ("SignatureNonceUsed", 400)

    stale = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setattr(rpc_signature_composer.helper, "get_uuid", lambda: "conformance-legacy-nonce-2")
    monkeypatch.setattr(rpc_signature_composer.helper, "get_iso_8061_date", lambda: stale)
    e = legacy_error(lambda: main.legacy_call("2015-04-01", "GetCallerIdentity"))
    assert (e.get_error_code(), e.get_http_status()) == ("InvalidTimeStamp.Expired", 400)
