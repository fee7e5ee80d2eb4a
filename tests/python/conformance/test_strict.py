"""The emulator is as strict as the cloud, seen through the official SDKs: a request without a
parameter the API requires fails with the gateway's 400 `MissingParameter` (no fallback to a
default region), every RPC error carries its `Recommend` diagnosis link, a subscription ends
by the calendar (months and years, not 30 and 360 days), and subscription durations stay
within their limits."""

import calendar
import datetime
import json

import pytest
from alibabacloud_bssopenapi20171214 import models as bss_models
from alibabacloud_foasconsole20211028 import models as f
from alibabacloud_market20151101 import models as market_models
from alibabacloud_market20151101.client import Client as MarketClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_resourcemanager20200331 import models as rm_models
from alibabacloud_vpc20160428 import models as vpc_models
from sdkcheck import REGION, assert_recommend, sdk_error, sdk_ok


def missing(name, fn, *args, product):
    """`fn(*args)` fails with 400 `MissingParameter` naming `name`, with the diagnosis link
    of `product`."""
    e = sdk_error("MissingParameter", 400, fn, *args)
    assert e.data["Message"] == (
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.'
    ), e.data
    assert_recommend(e, "MissingParameter", product)
    return e


def test_foasconsole_actions_need_their_region(main, pre_workspace):
    foas = main.foas
    spec = f.ModifyPrepayInstanceSpecRequestResourceSpec(cpu=8, memory_gb=32)
    ns_spec = f.ModifyPrepayNamespaceSpecRequestResourceSpec(cpu=1, memory_gb=4)
    # The SDK's Config names a region, but a request without `Region` is refused: the
    # service does not fall back to a default.
    for fn, req in [
        (foas.describe_instances, f.DescribeInstancesRequest()),
        (foas.describe_instances, f.DescribeInstancesRequest(instance_id=pre_workspace)),
        (foas.describe_namespaces, f.DescribeNamespacesRequest(instance_id=pre_workspace)),
        (foas.delete_instance, f.DeleteInstanceRequest(instance_id=pre_workspace)),
        (foas.create_namespace, f.CreateNamespaceRequest(instance_id=pre_workspace, namespace="x")),
        (foas.delete_namespace, f.DeleteNamespaceRequest(instance_id=pre_workspace, namespace="x")),
        (
            foas.modify_prepay_instance_spec,
            f.ModifyPrepayInstanceSpecRequest(instance_id=pre_workspace, resource_spec=spec),
        ),
        (
            foas.modify_prepay_namespace_spec,
            f.ModifyPrepayNamespaceSpecRequest(instance_id=pre_workspace, namespace="x", resource_spec=ns_spec),
        ),
        (foas.query_create_instance_price, f.QueryCreateInstancePriceRequest(charge_type="POST")),
    ]:
        missing("Region", fn, req, product="foasconsole")
    # The tag actions name it `RegionId`.
    missing(
        "RegionId",
        foas.list_tag_resources,
        f.ListTagResourcesRequest(resource_type="vvpinstance", resource_id=[pre_workspace]),
        product="foasconsole",
    )
    # Nothing was deleted: the workspace is still there and running.
    found = foas.describe_instances(f.DescribeInstancesRequest(region=REGION, instance_id=pre_workspace)).body
    assert found.total_count == 1 and found.instances[0].cluster_status == "RUNNING"


def test_other_required_parameters(sim, main):
    missing(
        "InstanceId",
        main.foas.describe_namespaces,
        f.DescribeNamespacesRequest(region=REGION),
        product="foasconsole",
    )
    missing(
        "InstanceName",
        main.foas.create_instance,
        f.CreateInstanceRequest(region=REGION, charge_type="POST", vpc_id="vpc-x", v_switch_ids=["vsw-x"]),
        product="foasconsole",
    )
    missing("RegionId", main.vpc.describe_vpcs, vpc_models.DescribeVpcsRequest(), product="Vpc")
    missing(
        "ZoneId",
        main.vpc.create_vswitch,
        vpc_models.CreateVSwitchRequest(region_id=REGION, vpc_id="vpc-sim-existing", cidr_block="10.99.9.0/24"),
        product="Vpc",
    )
    missing(
        "ResourceType",
        main.vpc.list_tag_resources,
        vpc_models.ListTagResourcesRequest(region_id=REGION, resource_id=["vpc-sim-existing"]),
        product="Vpc",
    )
    missing("RoleName", main.ram.get_role, ram_models.GetRoleRequest(), product="Ram")
    missing(
        "RenewalStatus",
        main.bss.set_renewal,
        bss_models.SetRenewalRequest(instance_ids="f-x", product_code="sc"),
        product="BssOpenApi",
    )
    missing(
        "Resources",
        main.rm.move_resources,
        rm_models.MoveResourcesRequest(resource_group_id="rg-x"),
        product="ResourceManager",
    )
    market = MarketClient(sim.config("main"))
    missing("PageSize", market.describe_instances, market_models.DescribeInstancesRequest(page_number=1), product="Market")


def add_months(when, months):
    """`when` plus `months` calendar months, the day clamped to the end of a shorter month."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def utc(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)


def test_subscriptions_end_by_the_calendar(main, main_net, pre_workspace, raw):
    # `pre_workspace` was ordered for one month; order a year too (twelve calendar months:
    # 365 or 366 days, never 360).
    req = f.CreateInstanceRequest(
        region=REGION,
        instance_name="conformance-year-1",
        charge_type="PRE",
        vpc_id=main_net.vpc_id,
        v_switch_ids=[main_net.vswitch_id],
        storage=f.CreateInstanceRequestStorage(oss=f.CreateInstanceRequestStorageOss(bucket=main_net.bucket)),
        resource_spec=f.CreateInstanceRequestResourceSpec(cpu=1, memory_gb=4),
        pricing_cycle="Year",
        duration=1,
    )
    one_year = main.foas.create_instance(req).body.order_info.instance_id
    for instance_id, months in [(pre_workspace, 1), (one_year, 12)]:
        body = sdk_ok(
            raw,
            main.foas.describe_instances,
            f.DescribeInstancesRequest(region=REGION, instance_id=instance_id),
        )
        i = body.instances[0]
        created, expires = utc(i.resource_create_time), utc(i.resource_expired_time)
        assert expires == add_months(created, months), (instance_id, created, expires)
        bss = sdk_ok(
            raw,
            main.bss.query_available_instances,
            bss_models.QueryAvailableInstancesRequest(product_code="sc", instance_ids=instance_id),
        )
        assert bss.data.instance_list[0].end_time == expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_marketplace_subscriptions_end_by_the_calendar(sim):
    market = MarketClient(sim.config("main"))
    for cycle, duration, months in [("Month", 1, 1), ("Year", 1, 12)]:
        commodity = json.dumps(
            {
                "components": {"package_version": "yuncode5336200001"},
                "duration": duration,
                "pricingCycle": cycle,
                "productCode": "cmgj00053362",
                "skuCode": "cmgj00053362-prepay",
            }
        )
        order = market.create_order(
            market_models.CreateOrderRequest(
                order_type="INSTANCE_BUY",
                payment_type="AUTO",
                client_token=f"conformance-calendar-{cycle}",
                commodity=commodity,
            )
        ).body
        (instance_id,) = order.instance_ids.instance_id
        # (The SDK's DescribeInstance model has no RequestId, so not `sdk_ok`.)
        i = market.describe_instance(market_models.DescribeInstanceRequest(instance_id=instance_id)).body
        assert utc(i.end_on) == add_months(utc(i.began_on), months), (cycle, i.began_on, i.end_on)


@pytest.mark.parametrize(
    "cycle,duration,ok",
    [("Month", 1, True), ("Month", 9, True), ("Month", 10, False), ("Month", 0, False), ("Year", 3, True), ("Year", 4, False)],
)
def test_subscription_duration_limits(main, cycle, duration, ok):
    req = f.QueryCreateInstancePriceRequest(
        region=REGION,
        charge_type="PRE",
        resource_spec=f.QueryCreateInstancePriceRequestResourceSpec(cpu=1, memory_gb=4),
        pricing_cycle=cycle,
        duration=duration,
    )
    if ok:
        assert main.foas.query_create_instance_price(req).body.price_info.original_amount > 0
    else:
        e = sdk_error("InvalidParameter.Duration", 400, main.foas.query_create_instance_price, req)
        assert_recommend(e, "InvalidParameter.Duration", "foasconsole")


def test_marketplace_duration_limits(sim):
    market = MarketClient(sim.config("main"))
    for duration in (0, 257):
        commodity = json.dumps(
            {
                "components": {"package_version": "yuncode5336200001"},
                "duration": duration,
                "pricingCycle": "Month",
                "productCode": "cmgj00053362",
                "skuCode": "cmgj00053362-prepay",
            }
        )
        req = market_models.CreateOrderRequest(
            order_type="INSTANCE_BUY", payment_type="AUTO", client_token=f"conformance-d{duration}", commodity=commodity
        )
        e = sdk_error("InvalidParameter", 400, market.create_order, req)
        assert_recommend(e, "InvalidParameter", "Market")
