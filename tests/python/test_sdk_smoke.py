#!/usr/bin/env python3
"""Smoke test: the official Alibaba Cloud Python SDKs against the flinkform emulator.

The emulator must already run; this script gets its address and credentials from the
environment (the Rust integration test in crates/flinkform-cloudsim/tests/sim.rs starts the
emulator, activates OSS and creates the bucket directly in the world, then runs this):

    FLINKFORM_SIM_ENDPOINT   host:port of the emulator (e.g. 127.0.0.1:43817)
    FLINKFORM_SIM_AK_ID      AccessKey id of an emulated account
    FLINKFORM_SIM_AK_SECRET  its secret
    FLINKFORM_SIM_BUCKET     an existing bucket of that account in ap-southeast-1 (default sdk-bucket)

It uses the SDKs' own request models, so complex parameters travel exactly as the SDKs send
them (JSON strings in the form body for foasconsole), and it checks that the answers parse
into the SDKs' response models and that errors raise the SDKs' exception with the right code.
Exit code 0 on success; prints "SDK smoke test passed" last.
"""

import json
import os
import sys

from alibabacloud_foasconsole20211028 import models as foas_models
from alibabacloud_foasconsole20211028.client import Client as FoasClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient

REGION = "ap-southeast-1"
ROLE = "AliyunStreamAsiDefaultRole"
TRUST = json.dumps(
    {
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": ["stream.aliyuncs.com"]},
            }
        ],
        "Version": "1",
    }
)


def config():
    endpoint = os.environ["FLINKFORM_SIM_ENDPOINT"]
    if endpoint.startswith("http://"):
        endpoint = endpoint[len("http://"):]
    return open_api_models.Config(
        access_key_id=os.environ["FLINKFORM_SIM_AK_ID"],
        access_key_secret=os.environ["FLINKFORM_SIM_AK_SECRET"],
        endpoint=endpoint,
        protocol="http",
        region_id=REGION,
    )


def expect_error(code, fn, *args):
    try:
        fn(*args)
    except ClientException as e:
        assert e.code == code, f"expected {code}, got {e.code}: {e.message}"
        assert e.request_id or e.data, "the error carries its request id"
        return e
    raise AssertionError(f"expected the SDK to raise {code}")


def main():
    bucket = os.environ.get("FLINKFORM_SIM_BUCKET", "sdk-bucket")
    foas = FoasClient(config())
    vpc_client = VpcClient(config())
    ram = RamClient(config())

    regions = foas.describe_supported_regions().body
    assert regions.success is True
    assert REGION in [r.region for r in regions.regions], regions.to_map()
    zones = foas.describe_supported_zones(foas_models.DescribeSupportedZonesRequest(region=REGION)).body
    assert "ap-southeast-1a" in zones.zone_ids

    # Prerequisites through the official VPC and RAM SDKs.
    created_vpc = vpc_client.create_vpc(
        vpc_models.CreateVpcRequest(region_id=REGION, cidr_block="10.0.0.0/16", vpc_name="sdk", client_token="sdk-vpc-1")
    ).body
    assert created_vpc.vpc_id.startswith("vpc-"), created_vpc.to_map()
    again = vpc_client.create_vpc(
        vpc_models.CreateVpcRequest(region_id=REGION, cidr_block="10.0.0.0/16", vpc_name="sdk", client_token="sdk-vpc-1")
    ).body
    assert again.vpc_id == created_vpc.vpc_id, "ClientToken makes CreateVpc idempotent"
    vsw = vpc_client.create_vswitch(
        vpc_models.CreateVSwitchRequest(
            region_id=REGION, vpc_id=created_vpc.vpc_id, zone_id="ap-southeast-1a", cidr_block="10.0.1.0/24"
        )
    ).body
    assert vsw.v_switch_id.startswith("vsw-")
    vpcs = vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION, vpc_id=created_vpc.vpc_id)).body
    assert vpcs.total_count == 1
    assert vpcs.vpcs.vpc[0].v_switch_ids.v_switch_id == [vsw.v_switch_id], vpcs.to_map()
    expect_error(
        "InvalidCidrBlock.Overlapped",
        vpc_client.create_vswitch,
        vpc_models.CreateVSwitchRequest(
            region_id=REGION, vpc_id=created_vpc.vpc_id, zone_id="ap-southeast-1a", cidr_block="10.0.1.0/25"
        ),
    )

    role = ram.create_role(
        ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=TRUST, description="flink")
    ).body
    assert role.role.role_name == ROLE and role.role.arn.endswith(":role/" + ROLE.lower()), role.to_map()
    ram.attach_policy_to_role(
        ram_models.AttachPolicyToRoleRequest(
            policy_type="System", policy_name="AliyunStreamAsiDefaultRolePolicy", role_name=ROLE
        )
    )
    policies = ram.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name=ROLE)).body
    assert [p.policy_name for p in policies.policies.policy] == ["AliyunStreamAsiDefaultRolePolicy"]
    expect_error("EntityNotExist.Role", ram.get_role, ram_models.GetRoleRequest(role_name="Missing"))

    # The workspace, with the SDK's nested models (sent as JSON strings).
    request = foas_models.CreateInstanceRequest(
        region=REGION,
        instance_name="sdk-ws",
        charge_type="POST",
        vpc_id=created_vpc.vpc_id,
        v_switch_ids=[vsw.v_switch_id],
        storage=foas_models.CreateInstanceRequestStorage(
            oss=foas_models.CreateInstanceRequestStorageOss(bucket=bucket)
        ),
        tag=[foas_models.CreateInstanceRequestTag(key="owner", value="sdk")],
    )
    price = foas.query_create_instance_price(
        foas_models.QueryCreateInstancePriceRequest(
            region=REGION,
            charge_type="PRE",
            instance_name="priced",
            vpc_id=created_vpc.vpc_id,
            v_switch_ids=[vsw.v_switch_id],
            storage=foas_models.QueryCreateInstancePriceRequestStorage(
                oss=foas_models.QueryCreateInstancePriceRequestStorageOss(bucket=bucket)
            ),
            resource_spec=foas_models.QueryCreateInstancePriceRequestResourceSpec(cpu=4, memory_gb=16),
            pricing_cycle="Month",
            duration=2,
        )
    ).body
    assert price.price_info.trade_amount == 800 and price.price_info.currency == "USD", price.to_map()

    created = foas.create_instance(request).body
    assert created.success is True
    instance_id = created.order_info.instance_id
    assert instance_id.startswith("f-ap-"), created.to_map()
    assert isinstance(created.order_info.order_id, int)

    described = foas.describe_instances(
        foas_models.DescribeInstancesRequest(region=REGION, instance_id=instance_id)
    ).body
    assert described.total_count == 1, described.to_map()
    inst = described.instances[0]
    assert inst.instance_name == "sdk-ws"
    assert inst.cluster_status == "CREATING"
    assert inst.charge_type == "POST"
    assert inst.vpc_id == created_vpc.vpc_id
    assert inst.v_switch_ids == [vsw.v_switch_id]
    assert inst.zone_id == "ap-southeast-1a"
    assert inst.storage.oss.bucket == bucket
    assert inst.v_switch_info[0].v_switch_id == vsw.v_switch_id
    assert inst.vpc_info.vpc_id == created_vpc.vpc_id
    assert [(t.key, t.value) for t in inst.tags] == [("owner", "sdk")]
    assert isinstance(inst.resource_create_time, int)

    err = expect_error("InstanceName.AlreadyExists", foas.create_instance, request)
    assert err.status_code == 400
    expect_error(
        "IncorrectInstanceStatus",
        foas.create_namespace,
        foas_models.CreateNamespaceRequest(
            region=REGION,
            instance_id=instance_id,
            namespace="etl",
            resource_spec=foas_models.CreateNamespaceRequestResourceSpec(cpu=1, memory_gb=4),
        ),
    )
    namespaces = foas.describe_namespaces(
        foas_models.DescribeNamespacesRequest(region=REGION, instance_id=instance_id)
    ).body
    assert namespaces.success is True and namespaces.namespaces == [], namespaces.to_map()
    expect_error(
        "InstanceNotFound",
        foas.delete_instance,
        foas_models.DeleteInstanceRequest(region=REGION, instance_id="f-ap-doesnotexist"),
    )
    print("SDK smoke test passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # report and fail with a non-zero exit code
        import traceback

        traceback.print_exc()
        print(f"SDK smoke test FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
