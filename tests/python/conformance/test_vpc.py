"""VPC 2016-04-28 through alibabacloud-vpc20160428: CreateVpc, DescribeVpcs, CreateVSwitch,
DescribeVSwitches, DeleteVSwitch, DeleteVpc, success and error paths."""

import re

from alibabacloud_vpc20160428 import models as vpc_models
from sdkcheck import REGION, sdk_error, sdk_ok, wait_for

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_vpc_and_vswitch_lifecycle(main, raw):
    vpc = main.vpc
    created = sdk_ok(
        raw,
        vpc.create_vpc,
        vpc_models.CreateVpcRequest(
            region_id=REGION, cidr_block="172.16.0.0/16", vpc_name="conf-vpc", description="d", client_token="conf-vpc-1"
        ),
    )
    assert created.vpc_id.startswith("vpc-")
    assert created.vrouter_id.startswith("vrt-")
    assert created.route_table_id.startswith("vtb-")
    assert created.resource_group_id.startswith("rg-")
    again = sdk_ok(
        raw,
        vpc.create_vpc,
        vpc_models.CreateVpcRequest(region_id=REGION, cidr_block="172.16.0.0/16", vpc_name="conf-vpc", client_token="conf-vpc-1"),
    )
    assert again.vpc_id == created.vpc_id, "the same ClientToken returns the same VPC"

    described = sdk_ok(raw, vpc.describe_vpcs, vpc_models.DescribeVpcsRequest(region_id=REGION, vpc_id=created.vpc_id))
    assert (described.total_count, described.page_number, described.page_size) == (1, 1, 10)
    v = described.vpcs.vpc[0]
    assert (v.vpc_id, v.region_id, v.vpc_name, v.cidr_block, v.description) == (
        created.vpc_id,
        REGION,
        "conf-vpc",
        "172.16.0.0/16",
        "d",
    )
    assert v.status in ("Pending", "Available")
    assert ISO.match(v.creation_time), v.creation_time
    assert v.v_switch_ids.v_switch_id == []
    assert v.vrouter_id == created.vrouter_id
    assert v.is_default is False
    assert v.resource_group_id == created.resource_group_id
    wait_for(
        "the VPC to become Available",
        lambda: vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION, vpc_id=created.vpc_id)).body.vpcs.vpc[0].status
        == "Available",
    )

    vsw = sdk_ok(
        raw,
        vpc.create_vswitch,
        vpc_models.CreateVSwitchRequest(
            region_id=REGION,
            vpc_id=created.vpc_id,
            zone_id="ap-southeast-1b",
            cidr_block="172.16.8.0/24",
            v_switch_name="conf-vsw",
            client_token="conf-vsw-1",
        ),
    )
    assert vsw.v_switch_id.startswith("vsw-")
    listed = sdk_ok(raw, vpc.describe_vswitches, vpc_models.DescribeVSwitchesRequest(region_id=REGION, vpc_id=created.vpc_id))
    assert listed.total_count == 1
    s = listed.v_switches.v_switch[0]
    assert (s.v_switch_id, s.vpc_id, s.zone_id, s.cidr_block, s.v_switch_name) == (
        vsw.v_switch_id,
        created.vpc_id,
        "ap-southeast-1b",
        "172.16.8.0/24",
        "conf-vsw",
    )
    assert s.status in ("Pending", "Available")
    assert s.available_ip_address_count == 252
    assert ISO.match(s.creation_time)
    assert s.is_default is False
    by_id = sdk_ok(raw, vpc.describe_vswitches, vpc_models.DescribeVSwitchesRequest(region_id=REGION, v_switch_id=vsw.v_switch_id))
    assert [x.v_switch_id for x in by_id.v_switches.v_switch] == [vsw.v_switch_id]
    vpcs = vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION, vpc_id=created.vpc_id)).body
    assert vpcs.vpcs.vpc[0].v_switch_ids.v_switch_id == [vsw.v_switch_id]

    sdk_error("DependencyViolation.VSwitch", 400, vpc.delete_vpc, vpc_models.DeleteVpcRequest(region_id=REGION, vpc_id=created.vpc_id))
    sdk_ok(raw, vpc.delete_vswitch, vpc_models.DeleteVSwitchRequest(region_id=REGION, v_switch_id=vsw.v_switch_id))
    sdk_error("InvalidVSwitchId.NotFound", 404, vpc.delete_vswitch, vpc_models.DeleteVSwitchRequest(v_switch_id=vsw.v_switch_id))
    sdk_ok(raw, vpc.delete_vpc, vpc_models.DeleteVpcRequest(region_id=REGION, vpc_id=created.vpc_id))
    sdk_error("InvalidVpcId.NotFound", 404, vpc.delete_vpc, vpc_models.DeleteVpcRequest(region_id=REGION, vpc_id=created.vpc_id))
    gone = sdk_ok(raw, vpc.describe_vpcs, vpc_models.DescribeVpcsRequest(region_id=REGION, vpc_id=created.vpc_id))
    assert gone.total_count == 0 and gone.vpcs.vpc == []


def test_vswitch_errors(main, raw):
    vpc = main.vpc
    vpc_id = vpc.create_vpc(vpc_models.CreateVpcRequest(region_id=REGION, cidr_block="192.168.0.0/16")).body.vpc_id
    vpc.create_vswitch(vpc_models.CreateVSwitchRequest(region_id=REGION, vpc_id=vpc_id, zone_id="ap-southeast-1a", cidr_block="192.168.1.0/24"))

    def create(**kw):
        args = dict(region_id=REGION, vpc_id=vpc_id, zone_id="ap-southeast-1a", cidr_block="192.168.2.0/24")
        args.update(kw)
        return vpc.create_vswitch, vpc_models.CreateVSwitchRequest(**args)

    sdk_error("InvalidCidrBlock.Overlapped", 400, *create(cidr_block="192.168.1.0/25"))
    sdk_error("InvalidCidrBlock.Malformed", 400, *create(cidr_block="192.168.1.0/33"))
    sdk_error("InvalidCidrBlock.Malformed", 400, *create(cidr_block="10.0.0.0/24"))
    sdk_error("InvalidZoneId.NotFound", 400, *create(zone_id="ap-southeast-1z"))
    sdk_error("InvalidVpcId.NotFound", 404, *create(vpc_id="vpc-doesnotexist"))
    sdk_error("InvalidCidrBlock.Malformed", 400, vpc.create_vpc, vpc_models.CreateVpcRequest(region_id=REGION, cidr_block="10.0.0.0/33"))
    sdk_error("InvalidRegionId.NotFound", 400, vpc.create_vpc, vpc_models.CreateVpcRequest(region_id="xx-nowhere-1"))
    # The account's pre-existing network is there, as in a real account.
    existing = sdk_ok(raw, vpc.describe_vpcs, vpc_models.DescribeVpcsRequest(region_id=REGION, vpc_name="existing"))
    assert existing.total_count == 1 and existing.vpcs.vpc[0].cidr_block == "10.99.0.0/16"
