"""Marketplace (market 2015-11-01, alibabacloud-market20151101) against the emulator:
CreateOrder (ClientToken idempotency, the `-postpay` SKU, Commodity JSON as Terraform sends
it), DescribeOrder, DescribeInstance, DescribeInstances, and the error answers; STS
GetCallerIdentity (alibabacloud-sts20150401) gives the account ID the vendor binds."""

import json
import uuid

import pytest
from alibabacloud_market20151101 import models as market_models
from alibabacloud_market20151101.client import Client as MarketClient
from alibabacloud_tea_openapi.exceptions import ServerException
from sdkcheck import sdk_error, sdk_ok

PRODUCT = "cmgj00053362"


def commodity(sku_suffix="postpay", package="yuncode5336200001", duration=1):
    return json.dumps(
        {
            "components": {"package_version": package},
            "couponId": "",
            "duration": duration,
            "pricingCycle": "Month",
            "productCode": PRODUCT,
            "quantity": 1,
            "skuCode": f"{PRODUCT}-{sku_suffix}",
        }
    )


@pytest.fixture(scope="module")
def market(sim):
    return MarketClient(sim.config("main"))


@pytest.fixture(scope="module")
def order(market):
    token = "conf-" + uuid.uuid4().hex
    req = market_models.CreateOrderRequest(
        order_type="INSTANCE_BUY", payment_type="AUTO", client_token=token, commodity=commodity()
    )
    return token, market.create_order(req).body


def test_create_order_is_idempotent_by_client_token(market, raw, order):
    token, first = order
    assert first.order_id and first.order_id.isdigit()
    (instance,) = first.instance_ids.instance_id
    again = sdk_ok(
        raw,
        market.create_order,
        market_models.CreateOrderRequest(
            order_type="INSTANCE_BUY", payment_type="AUTO", client_token=token, commodity=commodity()
        ),
    )
    assert again.order_id == first.order_id
    assert again.instance_ids.instance_id == [instance]
    # The same token with another commodity is refused.
    sdk_error(
        "IdempotentParameterMismatch",
        400,
        market.create_order,
        market_models.CreateOrderRequest(
            order_type="INSTANCE_BUY", payment_type="AUTO", client_token=token, commodity=commodity(duration=2)
        ),
    )


def test_describe_order(market, raw, order, main):
    _, created = order
    body = sdk_ok(raw, market.describe_order, market_models.DescribeOrderRequest(order_id=created.order_id))
    assert str(body.order_id) == created.order_id
    assert (body.order_status, body.pay_status, body.order_type) == ("NORMAL", "PAID", "NEW")
    assert (body.product_code, body.product_sku_code) == (PRODUCT, f"{PRODUCT}-postpay")
    assert str(body.ali_uid) == main.account.uid
    assert body.instance_ids.instance_id == created.instance_ids.instance_id
    assert body.components["package_version"]["value"] == "yuncode5336200001"


def test_describe_instance_and_instances(market, raw, order):
    _, created = order
    (instance,) = created.instance_ids.instance_id
    # The SDK's DescribeInstance model declares no RequestId, so `sdk_ok` does not apply; the
    # wire answer still carries one, like every RPC answer.
    raw.clear()
    resp = market.describe_instance(market_models.DescribeInstanceRequest(instance_id=instance))
    assert resp.status_code == 200 and raw[-1].get("RequestId")
    one = resp.body
    assert str(one.instance_id) == instance and str(one.order_id) == created.order_id
    assert one.status == "OPENED", "the vendor's SPI provisioned it"
    assert one.product_type == "APP"
    assert json.loads(one.component_json) == {"package_version": "yuncode5336200001"}
    assert "frontEndUrl" in json.loads(one.app_json)
    listed = sdk_ok(
        raw,
        market.describe_instances,
        market_models.DescribeInstancesRequest(page_number=1, page_size=10, codes=PRODUCT),
    )
    assert listed.total_count >= 1
    ids = [str(i.instance_id) for i in listed.instance_items.instance_item]
    assert instance in ids
    other = sdk_ok(
        raw,
        market.describe_instances,
        market_models.DescribeInstancesRequest(page_number=1, page_size=10, codes="cmzz00000000"),
    )
    assert other.total_count == 0


def test_errors(market):
    sdk_error(
        "MissingParameter",
        400,
        market.create_order,
        market_models.CreateOrderRequest(order_type="INSTANCE_BUY", payment_type="AUTO", commodity=commodity()),
    )
    sdk_error(
        "InvalidSkuCode",
        400,
        market.create_order,
        market_models.CreateOrderRequest(
            order_type="INSTANCE_BUY",
            payment_type="AUTO",
            client_token="conf-" + uuid.uuid4().hex,
            commodity=commodity(sku_suffix="trial"),
        ),
    )
    sdk_error(
        "UnknownError",
        500,
        market.describe_instance,
        market_models.DescribeInstanceRequest(instance_id="1"),
        exc=ServerException,
    )
