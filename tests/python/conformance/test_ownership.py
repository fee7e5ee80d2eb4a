"""Ownership marks through the official SDKs: tags on VPCs and vSwitches (vpc CreateVpc /
CreateVSwitch `Tag.N`, DescribeVpcs / DescribeVSwitches `Tag.N` filters, TagResources,
UnTagResources, ListTagResources), on Flink workspaces (foasconsole CreateInstance `Tag`,
DescribeInstances `Tags`, TagResources, UntagResources, ListTagResources with ResourceType
`vvpinstance`), resource groups (CreateInstance `ResourceGroupId`, ResourceManager
ListResourceGroups and MoveResources) and CreateInstance's `ZoneId` (legacy signature: the
foasconsole SDK does not model it)."""

import json

from aliyunsdkcore.acs_exception.exceptions import ServerException
from alibabacloud_foasconsole20211028 import models as f
from alibabacloud_resourcemanager20200331 import models as rm
from alibabacloud_vpc20160428 import models as v
from conftest import create_workspace, describe_instance, wait_status
from sdkcheck import REGION, sdk_error, sdk_ok

OWNER = "flinkform:owner"


def vpc_tags(item):
    return {t.key: t.value for t in (item.tags.tag if item.tags else [])}


def test_vpc_tags_on_create_and_filters(main, raw):
    vpc = main.vpc
    owned = sdk_ok(
        raw,
        vpc.create_vpc,
        v.CreateVpcRequest(
            region_id=REGION,
            cidr_block="10.40.0.0/16",
            tag=[v.CreateVpcRequestTag(key=OWNER, value="stack-a"), v.CreateVpcRequestTag(key="env", value="test")],
        ),
    ).vpc_id
    other = vpc.create_vpc(
        v.CreateVpcRequest(region_id=REGION, cidr_block="10.41.0.0/16", tag=[v.CreateVpcRequestTag(key=OWNER, value="stack-b")])
    ).body.vpc_id

    found = sdk_ok(raw, vpc.describe_vpcs, v.DescribeVpcsRequest(region_id=REGION, vpc_id=owned))
    assert vpc_tags(found.vpcs.vpc[0]) == {OWNER: "stack-a", "env": "test"}
    by_tag = sdk_ok(
        raw, vpc.describe_vpcs, v.DescribeVpcsRequest(region_id=REGION, tag=[v.DescribeVpcsRequestTag(key=OWNER, value="stack-a")])
    )
    assert [x.vpc_id for x in by_tag.vpcs.vpc] == [owned]
    both = vpc.describe_vpcs(
        v.DescribeVpcsRequest(
            region_id=REGION,
            tag=[v.DescribeVpcsRequestTag(key=OWNER, value="stack-a"), v.DescribeVpcsRequestTag(key="env", value="prod")],
        )
    ).body
    assert both.total_count == 0, "every given tag must match"
    any_value = vpc.describe_vpcs(v.DescribeVpcsRequest(region_id=REGION, tag=[v.DescribeVpcsRequestTag(key=OWNER)])).body
    assert {x.vpc_id for x in any_value.vpcs.vpc} >= {owned, other}
    untagged = sdk_ok(raw, vpc.describe_vpcs, v.DescribeVpcsRequest(region_id=REGION, vpc_name="existing"))
    assert vpc_tags(untagged.vpcs.vpc[0]) == {}

    vsw = sdk_ok(
        raw,
        vpc.create_vswitch,
        v.CreateVSwitchRequest(
            region_id=REGION,
            vpc_id=owned,
            zone_id=REGION + "b",
            cidr_block="10.40.1.0/24",
            tag=[v.CreateVSwitchRequestTag(key=OWNER, value="stack-a")],
        ),
    ).v_switch_id
    listed = sdk_ok(
        raw,
        vpc.describe_vswitches,
        v.DescribeVSwitchesRequest(region_id=REGION, tag=[v.DescribeVSwitchesRequestTag(key=OWNER, value="stack-a")]),
    )
    assert [s.v_switch_id for s in listed.v_switches.v_switch] == [vsw]
    assert vpc_tags(listed.v_switches.v_switch[0]) == {OWNER: "stack-a"}

    sdk_error(
        "InvalidTagKey.Malformed",
        400,
        vpc.create_vpc,
        v.CreateVpcRequest(region_id=REGION, cidr_block="10.42.0.0/16", tag=[v.CreateVpcRequestTag(key="aliyun-reserved", value="x")]),
    )


def test_vpc_tag_actions(main, raw):
    vpc = main.vpc
    vpc_id = vpc.create_vpc(v.CreateVpcRequest(region_id=REGION, cidr_block="10.43.0.0/16")).body.vpc_id
    vsw_id = vpc.create_vswitch(
        v.CreateVSwitchRequest(region_id=REGION, vpc_id=vpc_id, zone_id=REGION + "a", cidr_block="10.43.1.0/24")
    ).body.v_switch_id

    done = sdk_ok(
        raw,
        vpc.tag_resources,
        v.TagResourcesRequest(
            region_id=REGION,
            resource_type="VPC",
            resource_id=[vpc_id],
            tag=[v.TagResourcesRequestTag(key=OWNER, value="stack-c"), v.TagResourcesRequestTag(key="team", value="data")],
        ),
    )
    assert done.request_id
    sdk_ok(
        raw,
        vpc.tag_resources,
        v.TagResourcesRequest(region_id=REGION, resource_type="vswitch", resource_id=[vsw_id], tag=[v.TagResourcesRequestTag(key=OWNER, value="stack-c")]),
    )

    listed = sdk_ok(raw, vpc.list_tag_resources, v.ListTagResourcesRequest(region_id=REGION, resource_type="VPC", resource_id=[vpc_id]))
    got = [(t.resource_id, t.resource_type, t.tag_key, t.tag_value) for t in listed.tag_resources.tag_resource]
    assert got == [(vpc_id, "VPC", OWNER, "stack-c"), (vpc_id, "VPC", "team", "data")]
    assert not listed.next_token

    by_tag = sdk_ok(
        raw,
        vpc.list_tag_resources,
        v.ListTagResourcesRequest(region_id=REGION, resource_type="VSWITCH", tag=[v.ListTagResourcesRequestTag(key=OWNER, value="stack-c")]),
    )
    assert [(t.resource_id, t.resource_type) for t in by_tag.tag_resources.tag_resource] == [(vsw_id, "VSWITCH")]

    # Paging: one entry per page, following NextToken.
    first = sdk_ok(
        raw, vpc.list_tag_resources, v.ListTagResourcesRequest(region_id=REGION, resource_type="VPC", resource_id=[vpc_id], max_results=1)
    )
    assert len(first.tag_resources.tag_resource) == 1 and first.next_token
    second = vpc.list_tag_resources(
        v.ListTagResourcesRequest(region_id=REGION, resource_type="VPC", resource_id=[vpc_id], max_results=1, next_token=first.next_token)
    ).body
    assert second.tag_resources.tag_resource[0].tag_key == "team" and not second.next_token

    sdk_ok(raw, vpc.un_tag_resources, v.UnTagResourcesRequest(region_id=REGION, resource_type="VPC", resource_id=[vpc_id], tag_key=["team"]))
    after = vpc.describe_vpcs(v.DescribeVpcsRequest(region_id=REGION, vpc_id=vpc_id)).body.vpcs.vpc[0]
    assert vpc_tags(after) == {OWNER: "stack-c"}
    sdk_ok(raw, vpc.un_tag_resources, v.UnTagResourcesRequest(region_id=REGION, resource_type="VPC", resource_id=[vpc_id], all=True))
    after = vpc.describe_vpcs(v.DescribeVpcsRequest(region_id=REGION, vpc_id=vpc_id)).body.vpcs.vpc[0]
    assert vpc_tags(after) == {}

    sdk_error(
        "InvalidResourceId.NotFound",
        404,
        vpc.tag_resources,
        v.TagResourcesRequest(region_id=REGION, resource_type="VPC", resource_id=["vpc-nothere"], tag=[v.TagResourcesRequestTag(key="k", value="v")]),
    )
    sdk_error(
        "InvalidResourceId.NotFound",
        404,
        vpc.tag_resources,
        v.TagResourcesRequest(region_id="eu-west-1", resource_type="VPC", resource_id=[vpc_id], tag=[v.TagResourcesRequestTag(key="k", value="v")]),
    )
    sdk_error(
        "MissingParameter",
        400,
        vpc.list_tag_resources,
        v.ListTagResourcesRequest(region_id=REGION, resource_type="VPC"),
    )


def legacy_create(main, net, name, **extra):
    """CreateInstance through the legacy core SDK (HMAC-SHA1, parameters as Terraform sends
    them), for parameters the foasconsole SDK does not model (`ZoneId`)."""
    params = {
        "Region": REGION,
        "InstanceName": name,
        "ChargeType": "POST",
        "VpcId": net.vpc_id,
        "VSwitchIds": json.dumps([net.vswitch_id]),
        "Storage": json.dumps({"Oss": {"Bucket": net.bucket}}),
    }
    params.update(extra)
    return main.legacy_call("2021-10-28", "CreateInstance", params)


def test_workspace_tags_resource_group_and_zone(main, main_net, team_group, raw):
    foas = main.foas
    tagged = create_workspace(
        main,
        main_net,
        "conformance-owned",
        "POST",
        tag=[f.CreateInstanceRequestTag(key=OWNER, value="stack-a")],
        resource_group_id=team_group,
    )
    i = describe_instance(main, tagged)
    assert [(t.key, t.value) for t in i.tags] == [(OWNER, "stack-a")]
    assert i.resource_group_id == team_group

    filtered = sdk_ok(
        raw, foas.describe_instances, f.DescribeInstancesRequest(region=REGION, tags=[f.DescribeInstancesRequestTags(key=OWNER, value="stack-a")])
    )
    assert [x.instance_id for x in filtered.instances] == [tagged]
    none = foas.describe_instances(
        f.DescribeInstancesRequest(region=REGION, tags=[f.DescribeInstancesRequestTags(key=OWNER, value="stack-z")])
    ).body
    assert none.total_count == 0
    by_group = foas.describe_instances(f.DescribeInstancesRequest(region=REGION, resource_group_id=team_group)).body
    assert [x.instance_id for x in by_group.instances] == [tagged]

    done = sdk_ok(
        raw,
        foas.tag_resources,
        f.TagResourcesRequest(region_id=REGION, resource_type="vvpinstance", resource_id=[tagged], tag=[f.TagResourcesRequestTag(key="team", value="data")]),
    )
    assert done.success is True
    listed = sdk_ok(
        raw, foas.list_tag_resources, f.ListTagResourcesRequest(region_id=REGION, resource_type="vvpinstance", resource_id=[tagged])
    )
    assert listed.success is True
    got = [(t.resource_id, t.resource_type, t.tag_key, t.tag_value) for t in listed.tag_resources]
    assert got == [(tagged, "vvpinstance", OWNER, "stack-a"), (tagged, "vvpinstance", "team", "data")]
    by_tag = foas.list_tag_resources(
        f.ListTagResourcesRequest(region_id=REGION, resource_type="vvpinstance", tag=[f.ListTagResourcesRequestTag(key="team", value="data")])
    ).body
    assert {t.resource_id for t in by_tag.tag_resources} == {tagged}

    untagged = sdk_ok(
        raw, foas.untag_resources, f.UntagResourcesRequest(region_id=REGION, resource_type="vvpinstance", resource_id=[tagged], tag_key=["team"])
    )
    assert untagged.success is True
    assert [(t.key, t.value) for t in describe_instance(main, tagged).tags] == [(OWNER, "stack-a")]
    foas.untag_resources(f.UntagResourcesRequest(region_id=REGION, resource_type="vvpinstance", resource_id=[tagged], all=True))
    assert describe_instance(main, tagged).tags == []

    sdk_error(
        "InstanceNotFound",
        404,
        foas.tag_resources,
        f.TagResourcesRequest(region_id=REGION, resource_type="vvpinstance", resource_id=["f-ap-nothere"], tag=[f.TagResourcesRequestTag(key="k", value="v")]),
    )
    sdk_error(
        "InvalidParameter.ResourceType",
        400,
        foas.tag_resources,
        f.TagResourcesRequest(region_id=REGION, resource_type="instance", resource_id=[tagged], tag=[f.TagResourcesRequestTag(key="k", value="v")]),
    )
    sdk_error(
        "InvalidParameter.ResourceGroupId",
        400,
        foas.create_instance,
        f.CreateInstanceRequest(
            region=REGION,
            instance_name="conformance-badgroup",
            charge_type="POST",
            vpc_id=main_net.vpc_id,
            v_switch_ids=[main_net.vswitch_id],
            storage=f.CreateInstanceRequestStorage(oss=f.CreateInstanceRequestStorageOss(bucket=main_net.bucket)),
            resource_group_id="rg-doesnotexist",
        ),
    )

    # ZoneId: the vSwitches' zone is fine, any other is refused.
    try:
        legacy_create(main, main_net, "conformance-wrongzone", ZoneId=REGION + "b")
        raise AssertionError("a ZoneId other than the vSwitches' must be refused")
    except ServerException as e:
        assert (e.get_http_status(), e.get_error_code()) == (400, "InvalidParameter.ZoneId")
    zoned = legacy_create(main, main_net, "conformance-zoned", ZoneId=REGION + "a")["OrderInfo"]["InstanceId"]
    assert describe_instance(main, zoned).zone_id == REGION + "a"
    for ws in (tagged, zoned):
        foas.delete_instance(f.DeleteInstanceRequest(region=REGION, instance_id=ws))


def test_resource_groups_and_moves(main, main_net, pre_workspace, team_group, raw):
    groups = sdk_ok(raw, main.rm.list_resource_groups, rm.ListResourceGroupsRequest())
    by_name = {g.name: g for g in groups.resource_groups.resource_group}
    assert set(by_name) == {"default", "conformance-team"}
    assert by_name["conformance-team"].id == team_group
    assert all(g.status == "OK" and g.account_id == main.account.uid for g in by_name.values())
    default_group = by_name["default"].id
    one = sdk_ok(raw, main.rm.list_resource_groups, rm.ListResourceGroupsRequest(resource_group_id=team_group))
    assert one.total_count == 1

    moved = sdk_ok(
        raw,
        main.rm.move_resources,
        rm.MoveResourcesRequest(
            resource_group_id=team_group,
            resources=[
                rm.MoveResourcesRequestResources(service="stream", resource_type="vvpinstance", resource_id=pre_workspace, region_id=REGION),
                rm.MoveResourcesRequestResources(service="vpc", resource_type="vpc", resource_id=main_net.vpc_id, region_id=REGION),
                rm.MoveResourcesRequestResources(service="oss", resource_type="bucket", resource_id=main_net.bucket, region_id=REGION),
                rm.MoveResourcesRequestResources(service="vpc", resource_type="vpc", resource_id="vpc-nothere", region_id=REGION),
            ],
        ),
    )
    statuses = [(r.resource_id, r.status, r.error_code) for r in moved.responses]
    assert statuses == [
        (pre_workspace, "SUCCESS", None),
        (main_net.vpc_id, "SUCCESS", None),
        (main_net.bucket, "SUCCESS", None),
        ("vpc-nothere", "FAIL", "EntityNotExists.Resource"),
    ]
    assert describe_instance(main, pre_workspace).resource_group_id == team_group
    described = main.vpc.describe_vpcs(v.DescribeVpcsRequest(region_id=REGION, vpc_id=main_net.vpc_id)).body.vpcs.vpc[0]
    assert described.resource_group_id == team_group
    assert main.bucket(main_net.bucket).get_bucket_info().resource_group_id == team_group

    main.rm.move_resources(
        rm.MoveResourcesRequest(
            resource_group_id=default_group,
            resources=[
                rm.MoveResourcesRequestResources(service="stream", resource_type="vvpinstance", resource_id=pre_workspace, region_id=REGION),
                rm.MoveResourcesRequestResources(service="vpc", resource_type="vpc", resource_id=main_net.vpc_id, region_id=REGION),
                rm.MoveResourcesRequestResources(service="oss", resource_type="bucket", resource_id=main_net.bucket, region_id=REGION),
            ],
        )
    )
    assert describe_instance(main, pre_workspace).resource_group_id == default_group
    sdk_error(
        "EntityNotExists.ResourceGroup",
        404,
        main.rm.move_resources,
        rm.MoveResourcesRequest(
            resource_group_id="rg-doesnotexist",
            resources=[rm.MoveResourcesRequestResources(service="stream", resource_type="vvpinstance", resource_id=pre_workspace, region_id=REGION)],
        ),
    )
    wait_status(main, pre_workspace, "RUNNING")
