"""Account-level actions: STS GetCallerIdentity (alibabacloud-sts20150401), BssOpenApi
QueryAccountBalance, QueryAvailableInstances and SetRenewal (alibabacloud-bssopenapi20171214),
and oss-admin OpenOssService, which has no V3 SDK: it goes through the legacy
aliyun-python-sdk-core CommonRequest, signed with HMAC-SHA1 like Terraform's provider."""

import re

import pytest
from alibabacloud_bssopenapi20171214 import models as bss_models
from aliyunsdkcore.acs_exception.exceptions import ServerException
from conftest import Clients
from sdkcheck import REGION, sdk_error, sdk_ok

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MONEY = re.compile(r"^-?\d+\.\d\d$")


def test_get_caller_identity(main, raw):
    me = sdk_ok(raw, main.sts.get_caller_identity)
    uid = main.account.uid
    assert (me.account_id, me.user_id, me.principal_id) == (uid, uid, uid)
    assert me.arn == f"acs:ram::{uid}:root"
    assert me.identity_type == "Account"


def test_query_account_balance(sim, main, raw):
    body = sdk_ok(raw, main.bss.query_account_balance)
    assert (body.code, body.message, body.success) == ("200", "success", True)
    d = body.data
    assert d.available_amount == "1000.00" and d.available_cash_amount == "1000.00"
    for amount in (d.credit_amount, d.mybank_credit_amount, d.quota_limit):
        assert MONEY.match(amount), amount
    assert d.currency == "USD"
    poor = sdk_ok(raw, Clients(sim, "poor").bss.query_account_balance)
    assert poor.data.available_amount == "50.00", "set by `flinkform sim console set-balance`"


def test_available_instances_and_renewal(main, pre_workspace, raw):
    bss = main.bss
    query = bss_models.QueryAvailableInstancesRequest(
        product_code="sc", subscription_type="Subscription", region=REGION, instance_ids=pre_workspace
    )
    body = sdk_ok(raw, bss.query_available_instances, query)
    assert (body.code, body.success) == ("200", True)
    assert (body.data.page_num, body.data.total_count) == (1, 1)
    (i,) = body.data.instance_list
    assert (i.instance_id, i.product_code, i.subscription_type, i.region) == (pre_workspace, "sc", "Subscription", REGION)
    assert i.renew_status == "ManualRenewal"
    assert i.status == "Normal"
    assert ISO.match(i.create_time) and ISO.match(i.end_time)
    assert i.owner_id == int(main.account.uid)

    renewal = sdk_ok(
        raw,
        bss.set_renewal,
        bss_models.SetRenewalRequest(
            instance_ids=pre_workspace,
            product_code="sc",
            subscription_type="Subscription",
            renewal_status="AutoRenewal",
            renewal_period=2,
            renewal_period_unit="M",
        ),
    )
    assert (renewal.code, renewal.success) == ("200", True)
    (after,) = bss.query_available_instances(query).body.data.instance_list
    assert (after.renew_status, after.renewal_duration, after.renewal_duration_unit) == ("AutoRenewal", 2, "M")

    sdk_error(
        "InvalidParameter",
        400,
        bss.set_renewal,
        bss_models.SetRenewalRequest(
            instance_ids="f-ap-doesnotexist", product_code="sc", subscription_type="Subscription", renewal_status="AutoRenewal"
        ),
    )
    sdk_error(
        "InvalidParameter",
        400,
        bss.query_available_instances,
        bss_models.QueryAvailableInstancesRequest(product_code="sc", page_size=301),
    )
    other = sdk_ok(raw, bss.query_available_instances, bss_models.QueryAvailableInstancesRequest(product_code="ecs"))
    assert other.data.total_count == 0 and other.data.instance_list == []


def test_open_oss_service_legacy_sdk(sim):
    fresh = Clients(sim, "fresh")
    opened = fresh.legacy_call("2019-04-22", "OpenOssService")
    assert set(opened) == {"OrderId", "RequestId"}
    assert isinstance(opened["OrderId"], str) and opened["OrderId"].isdigit()
    with pytest.raises(ServerException) as info:
        fresh.legacy_call("2019-04-22", "OpenOssService")
    e = info.value
    assert (e.get_error_code(), e.get_http_status()) == ("ORDER.OPEND", 400)
    assert e.get_request_id()
    # The bucket can be created now (it could not before: see test_oss.py's `bare`).
    fresh.bucket("conformance-fresh").create_bucket()


def test_legacy_signature_on_other_products(main):
    """Terraform's provider signs every RPC product with HMAC-SHA1; dot-flattened and plain
    parameters, GET and POST."""
    me = main.legacy_call("2015-04-01", "GetCallerIdentity")
    assert me["AccountId"] == main.account.uid
    vpcs = main.legacy_call("2016-04-28", "DescribeVpcs", {"RegionId": REGION, "VpcName": "existing"}, method="GET")
    assert vpcs["TotalCount"] == 1 and vpcs["Vpcs"]["Vpc"][0]["VpcId"] == "vpc-sim-existing"
    regions = main.legacy_call("2021-10-28", "DescribeSupportedRegions")
    assert regions["Success"] is True and any(r["Region"] == REGION for r in regions["Regions"])
    with pytest.raises(ServerException) as info:
        main.legacy_call("2015-05-01", "GetRole", {"RoleName": "NoSuchRole"})
    assert (info.value.get_error_code(), info.value.get_http_status()) == ("EntityNotExist.Role", 404)
    price = main.legacy_call(
        "2021-10-28",
        "QueryCreateInstancePrice",
        {
            "Region": REGION,
            "ChargeType": "PRE",
            "InstanceName": "legacy-priced",
            "VpcId": "vpc-sim-existing",
            "VSwitchIds.1": "vsw-sim-existing",
            "Storage.Oss.Bucket": "any-bucket",
            "ResourceSpec.Cpu": "2",
            "ResourceSpec.MemoryGB": "8",
            "PricingCycle": "Month",
            "Duration": "1",
        },
    )
    assert price["PriceInfo"]["TradeAmount"] == 200, "2 CU for one month, from dot-flattened parameters"
