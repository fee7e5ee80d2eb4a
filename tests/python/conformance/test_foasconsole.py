"""foasconsole 2021-10-28 through alibabacloud-foasconsole20211028: all eleven actions the
emulator implements (DescribeSupportedRegions, DescribeSupportedZones, QueryCreateInstancePrice,
CreateInstance, DescribeInstances, ModifyPrepayInstanceSpec, DeleteInstance, CreateNamespace,
DescribeNamespaces, ModifyPrepayNamespaceSpec, DeleteNamespace), success and error paths,
including every CreateInstance precondition of the contract's table."""

import oss2
import pytest
from alibabacloud_foasconsole20211028 import models as f
from conftest import Clients, Network, describe_instance, open_oss, prepare, wait_status
from sdkcheck import REGION, sdk_error, sdk_ok, wait_for

INTL_REGIONS = {
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-northeast-1",
    "cn-hongkong",
    "eu-central-1",
    "eu-west-1",
    "us-east-1",
    "us-west-1",
}


def test_supported_regions_and_zones(main, raw):
    regions = sdk_ok(raw, main.foas.describe_supported_regions)
    assert regions.success is True
    assert {r.region for r in regions.regions} == INTL_REGIONS
    assert all(r.region_name and r.description for r in regions.regions)
    zones = sdk_ok(raw, main.foas.describe_supported_zones, f.DescribeSupportedZonesRequest(region=REGION))
    assert zones.success is True
    assert {"ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"} <= set(zones.zone_ids)
    sdk_error(
        "InvalidParameter.Region",
        400,
        main.foas.describe_supported_zones,
        f.DescribeSupportedZonesRequest(region="cn-beijing"),
    )


def test_query_create_instance_price(main, main_net, raw):
    def price(cycle, duration, cpu):
        return sdk_ok(
            raw,
            main.foas.query_create_instance_price,
            f.QueryCreateInstancePriceRequest(
                region=REGION,
                charge_type="PRE",
                instance_name="priced",
                vpc_id=main_net.vpc_id,
                v_switch_ids=[main_net.vswitch_id],
                storage=f.QueryCreateInstancePriceRequestStorage(
                    oss=f.QueryCreateInstancePriceRequestStorageOss(bucket=main_net.bucket)
                ),
                resource_spec=f.QueryCreateInstancePriceRequestResourceSpec(cpu=cpu, memory_gb=4 * cpu),
                pricing_cycle=cycle,
                duration=duration,
            ),
        ).price_info

    monthly = price("Month", 2, 4)
    assert monthly.currency == "USD"
    assert (monthly.original_amount, monthly.discount_amount, monthly.trade_amount) == (800, 0, 800)
    assert (monthly.stand_price, monthly.stand_discount_price) == ("800.00", "800.00")
    assert monthly.code == "" and monthly.is_contract_activity is False
    yearly = price("Year", 1, 1)
    assert yearly.trade_amount < yearly.original_amount == 1200
    sdk_error(
        "MissingParameter",
        400,
        main.foas.query_create_instance_price,
        f.QueryCreateInstancePriceRequest(region=REGION, charge_type="PRE", pricing_cycle="Month", duration=1),
    )


def create_request(net, name, charge="POST", **kw):
    req = f.CreateInstanceRequest(
        region=REGION,
        instance_name=name,
        charge_type=charge,
        vpc_id=net.vpc_id,
        v_switch_ids=[net.vswitch_id],
        storage=f.CreateInstanceRequestStorage(oss=f.CreateInstanceRequestStorageOss(bucket=net.bucket)),
    )
    for k, v in kw.items():
        setattr(req, k, v)
    return req


def test_pay_as_you_go_workspace_lifecycle(main, main_net, raw):
    foas = main.foas
    req = create_request(
        main_net,
        "conformance-payg",
        tag=[f.CreateInstanceRequestTag(key="owner", value="conformance")],
        default_namespace_resource_spec=f.CreateInstanceRequestDefaultNamespaceResourceSpec(cpu=2, memory_gb=8),
    )
    created = sdk_ok(raw, foas.create_instance, req)
    assert created.success is True
    info = created.order_info
    assert info.instance_id.startswith("f-ap-")
    # Provisioning takes at least 5 cloud minutes (1 s here): namespaces must wait.
    sdk_error(
        "IncorrectInstanceStatus",
        400,
        foas.create_namespace,
        f.CreateNamespaceRequest(region=REGION, instance_id=info.instance_id, namespace="too-early"),
    )
    assert isinstance(info.order_id, int) and isinstance(info.storage_order_id, int)
    assert info.storage_instance_id.startswith("sc_flinkstorage_public_" + REGION)
    sdk_error("InstanceName.AlreadyExists", 400, foas.create_instance, req)

    listed = sdk_ok(raw, foas.describe_instances, f.DescribeInstancesRequest(region=REGION, instance_id=info.instance_id))
    assert (listed.success, listed.total_count, listed.total_page, listed.page_index, listed.page_size) == (True, 1, 1, 1, 10)
    i = listed.instances[0]
    assert (i.instance_id, i.instance_name, i.region, i.charge_type) == (info.instance_id, "conformance-payg", REGION, "POST")
    assert i.cluster_status in ("CREATING", "RUNNING")
    assert i.order_state in ("NOT_INIT", "NORMAL")
    assert (i.vpc_id, i.v_switch_ids, i.zone_id) == (main_net.vpc_id, [main_net.vswitch_id], "ap-southeast-1a")
    assert i.storage.oss.bucket == main_net.bucket
    assert i.uid == main.account.uid
    assert [(t.key, t.value) for t in i.tags] == [("owner", "conformance")]
    assert (i.resource_spec.cpu, i.resource_spec.memory_gb) == (0, 0)
    assert i.cluster_state.status == i.cluster_status
    assert i.vpc_info.vpc_id == main_net.vpc_id
    assert i.v_switch_info[0].v_switch_id == main_net.vswitch_id
    assert i.v_switch_info[0].available_ip_address_count == "252"
    assert i.resource_create_time > 1_600_000_000_000, "epoch milliseconds"
    assert i.resource_expired_time > i.resource_create_time
    assert i.architecture_type == "X86"

    none = sdk_ok(raw, foas.describe_instances, f.DescribeInstancesRequest(region=REGION, instance_name="no-such-workspace"))
    assert (none.total_count, none.instances) == (0, [])

    wait_status(main, info.instance_id, "RUNNING")
    running = describe_instance(main, info.instance_id)
    assert running.order_state == "NORMAL" and running.cluster_state.status == "RUNNING"

    namespaces = sdk_ok(raw, foas.describe_namespaces, f.DescribeNamespacesRequest(region=REGION, instance_id=info.instance_id))
    assert namespaces.success is True and namespaces.total_count == 1
    ns = namespaces.namespaces[0]
    assert ns.namespace == "conformance-payg-default" and ns.status == "SUCCESS"
    assert (ns.resource_spec.cpu, ns.resource_spec.memory_gb) == (2, 8)
    assert isinstance(ns.gmt_create, int) and isinstance(ns.gmt_modified, int)
    assert ns.ha is False and ns.tags == []

    sdk_error(
        "UnsupportedOperation",
        400,
        foas.modify_prepay_instance_spec,
        f.ModifyPrepayInstanceSpecRequest(
            region=REGION, instance_id=info.instance_id, resource_spec=f.ModifyPrepayInstanceSpecRequestResourceSpec(cpu=8, memory_gb=32)
        ),
    )
    # A vSwitch and a bucket in use by the workspace cannot be deleted.
    from alibabacloud_vpc20160428 import models as vpc_models

    sdk_error(
        "DependencyViolation",
        400,
        main.vpc.delete_vswitch,
        vpc_models.DeleteVSwitchRequest(region_id=REGION, v_switch_id=main_net.vswitch_id),
    )
    with pytest.raises(oss2.exceptions.ServerError) as busy:
        main.bucket(main_net.bucket).delete_bucket()
    assert (busy.value.status, busy.value.code) == (409, "BucketNotEmpty")

    deleted = sdk_ok(raw, foas.delete_instance, f.DeleteInstanceRequest(region=REGION, instance_id=info.instance_id))
    assert deleted.success is True
    assert describe_instance(main, info.instance_id).cluster_status == "DELETING"
    wait_for("the workspace to be gone", lambda: describe_instance(main, info.instance_id) is None)
    sdk_error("InstanceNotFound", 404, foas.delete_instance, f.DeleteInstanceRequest(region=REGION, instance_id=info.instance_id))


def test_subscription_workspace_and_namespaces(main, pre_workspace, raw):
    foas = main.foas
    ws = describe_instance(main, pre_workspace)
    assert (ws.charge_type, ws.resource_spec.cpu, ws.resource_spec.memory_gb) == ("PRE", 8, 32)
    assert ws.resource_expired_time > ws.resource_create_time

    def ns_spec(cls, cpu):
        return cls(cpu=cpu, memory_gb=4 * cpu)

    # The default namespace holds the whole quota; make room first.
    sdk_error(
        "InsufficientResource",
        400,
        foas.create_namespace,
        f.CreateNamespaceRequest(
            region=REGION, instance_id=pre_workspace, namespace="etl", resource_spec=ns_spec(f.CreateNamespaceRequestResourceSpec, 1)
        ),
    )
    sdk_error(
        "InsufficientResource",
        400,
        foas.modify_prepay_instance_spec,
        f.ModifyPrepayInstanceSpecRequest(
            region=REGION, instance_id=pre_workspace, resource_spec=ns_spec(f.ModifyPrepayInstanceSpecRequestResourceSpec, 4)
        ),
    )
    grown = sdk_ok(
        raw,
        foas.modify_prepay_instance_spec,
        f.ModifyPrepayInstanceSpecRequest(
            region=REGION, instance_id=pre_workspace, resource_spec=ns_spec(f.ModifyPrepayInstanceSpecRequestResourceSpec, 12)
        ),
    )
    assert grown.success is True and isinstance(grown.order_id, int)
    assert describe_instance(main, pre_workspace).resource_spec.cpu == 12

    create = f.CreateNamespaceRequest(
        region=REGION, instance_id=pre_workspace, namespace="etl", resource_spec=ns_spec(f.CreateNamespaceRequestResourceSpec, 2)
    )
    assert sdk_ok(raw, foas.create_namespace, create).success is True
    sdk_error("Namespace.AlreadyExists", 400, foas.create_namespace, create)
    sdk_error(
        "InsufficientResource",
        400,
        foas.create_namespace,
        f.CreateNamespaceRequest(
            region=REGION, instance_id=pre_workspace, namespace="big", resource_spec=ns_spec(f.CreateNamespaceRequestResourceSpec, 3)
        ),
    )
    sdk_error(
        "InvalidParameter.Namespace",
        400,
        foas.create_namespace,
        f.CreateNamespaceRequest(
            region=REGION, instance_id=pre_workspace, namespace="Bad_Name", resource_spec=ns_spec(f.CreateNamespaceRequestResourceSpec, 1)
        ),
    )
    sdk_error(
        "InstanceNotFound",
        404,
        foas.create_namespace,
        f.CreateNamespaceRequest(region=REGION, instance_id="f-ap-doesnotexist", namespace="etl"),
    )

    etl = sdk_ok(
        raw, foas.describe_namespaces, f.DescribeNamespacesRequest(region=REGION, instance_id=pre_workspace, namespace="etl")
    )
    assert etl.total_count == 1
    assert etl.namespaces[0].status in ("CREATING", "SUCCESS")
    assert (etl.namespaces[0].resource_spec.cpu, etl.namespaces[0].resource_spec.memory_gb) == (2, 8)

    modified = sdk_ok(
        raw,
        foas.modify_prepay_namespace_spec,
        f.ModifyPrepayNamespaceSpecRequest(
            region=REGION, instance_id=pre_workspace, namespace="etl", resource_spec=ns_spec(f.ModifyPrepayNamespaceSpecRequestResourceSpec, 4)
        ),
    )
    assert modified.success is True
    assert foas.describe_namespaces(
        f.DescribeNamespacesRequest(region=REGION, instance_id=pre_workspace, namespace="etl")
    ).body.namespaces[0].resource_spec.cpu == 4
    sdk_error(
        "Namespace.NotFound",
        404,
        foas.modify_prepay_namespace_spec,
        f.ModifyPrepayNamespaceSpecRequest(
            region=REGION, instance_id=pre_workspace, namespace="nope", resource_spec=ns_spec(f.ModifyPrepayNamespaceSpecRequestResourceSpec, 1)
        ),
    )

    assert sdk_ok(raw, foas.delete_namespace, f.DeleteNamespaceRequest(region=REGION, instance_id=pre_workspace, namespace="etl")).success
    sdk_error(
        "Namespace.NotFound",
        404,
        foas.delete_namespace,
        f.DeleteNamespaceRequest(region=REGION, instance_id=pre_workspace, namespace="nope"),
    )
    sdk_error(
        "UnsupportedOperation",
        400,
        foas.delete_instance,
        f.DeleteInstanceRequest(region=REGION, instance_id=pre_workspace),
    )
    sdk_error(
        "InstanceNotFound",
        404,
        foas.describe_namespaces,
        f.DescribeNamespacesRequest(region=REGION, instance_id="f-ap-doesnotexist"),
    )


def test_create_instance_preconditions(sim, main, main_net):
    """Each row of the contract's CreateInstance table, in order, through the SDK."""
    foas = main.foas
    net = main_net

    def err(code, status, req, client=foas):
        sdk_error(code, status, client.create_instance, req)

    err("InvalidParameter.Region", 400, create_request(net, "x-region", region="cn-beijing"))
    err("InvalidParameter.InstanceName", 400, create_request(net, "9starts-with-digit"))
    err("InvalidParameter.InstanceName", 400, create_request(net, "a" * 61))
    err("MissingParameter", 400, create_request(net, "pre-no-spec", "PRE", pricing_cycle="Month", duration=1))
    err(
        "MissingParameter",
        400,
        create_request(net, "pre-no-term", "PRE", resource_spec=f.CreateInstanceRequestResourceSpec(cpu=2, memory_gb=8)),
    )
    err(
        "InvalidParameter.ResourceSpec",
        400,
        create_request(
            net, "bad-spec", "PRE", pricing_cycle="Month", duration=1, resource_spec=f.CreateInstanceRequestResourceSpec(cpu=2, memory_gb=6)
        ),
    )
    bare = Clients(sim, "bare")
    err("OssService.NotOpened", 400, create_request(net, "no-oss"), bare.foas)
    norole = Clients(sim, "norole")
    open_oss(norole)
    err("Forbidden.RAM", 403, create_request(net, "no-role"), norole.foas)
    err("InvalidVpcId.NotFound", 400, create_request(net, "no-vpc", vpc_id="vpc-doesnotexist"))
    err("InvalidParameter.VSwitchIds", 400, create_request(net, "no-vsw", v_switch_ids=[]))
    err("InvalidParameter.VSwitchIds", 400, create_request(net, "bad-vsw", v_switch_ids=["vsw-doesnotexist"]))
    err("InvalidParameter.VSwitchIds", 400, create_request(net, "six-vsw", v_switch_ids=[net.vswitch_id] * 6))
    err("InvalidParameter.VSwitchIds", 400, create_request(net, "foreign-vsw", v_switch_ids=["vsw-sim-existing"]))
    err(
        "InvalidParameter.Storage",
        400,
        create_request(net, "no-bucket", storage=f.CreateInstanceRequestStorage(oss=f.CreateInstanceRequestStorageOss(bucket="nobody-has-this"))),
    )
    poor = Clients(sim, "poor")
    vpc_id, vsw_id = prepare(poor, "conformance-poor-state", cidr="10.1.0.0/16")
    poor_net = Network(vpc_id, vsw_id, "conformance-poor-state")
    err("InsufficientBalance", 400, create_request(poor_net, "too-poor"), poor.foas)
