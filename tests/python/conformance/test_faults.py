"""Faults as the official SDKs meet them, injected through the running emulator's admin
endpoint (`POST /_sim/faults`, specs/cloud-api.md §6): throttling is the real 400
Throttling.User with x-acs-retry-after, which the Tea SDK raises as ThrottlingException with
its retry_after; a 5xx is the SDK's ServerException; a lost response is a 503 after the change
was made."""

import json
import urllib.request

import oss2
import pytest
from alibabacloud_tea_openapi.exceptions import ServerException, ThrottlingException
from alibabacloud_vpc20160428 import models as vpc_models
from sdkcheck import REGION, sdk_error, sdk_ok


def set_plan(sim, plan):
    req = urllib.request.Request(
        sim.url + "/_sim/faults",
        data=json.dumps(plan).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


@pytest.fixture
def faults(sim):
    """Sets a fault plan for one test; the plan is empty again afterwards."""
    yield lambda plan: set_plan(sim, plan)
    set_plan(sim, {})


def test_throttling_is_the_sdks_throttling_exception(main, faults, raw):
    # One request per 5 s: the second one, right after the first, is over the limit.
    faults({"qps": {"GetCallerIdentity": 0.2}})
    sdk_ok(raw, main.sts.get_caller_identity)
    e = sdk_error("Throttling.User", 400, main.sts.get_caller_identity, exc=ThrottlingException)
    assert e.retry_after is not None and 0 < e.retry_after <= 5000, e.retry_after
    # Other actions have their own bucket.
    sdk_ok(raw, main.vpc.describe_vpcs, vpc_models.DescribeVpcsRequest(region_id=REGION))


def test_server_errors_are_the_sdks_server_exception(main, faults):
    faults({"errors": [{"action": "DescribeVSwitches", "burst": {"after": 0, "count": 1}}]})
    request = vpc_models.DescribeVSwitchesRequest(region_id=REGION)
    sdk_error("InternalError", 500, main.vpc.describe_vswitches, request, exc=ServerException)
    assert main.vpc.describe_vswitches(request).body.total_count >= 1


def test_lost_response_after_the_change(main, main_net, faults, raw):
    faults({"lose_response": [{"action": "CreateVpc"}, {"action": "oss:PUT"}]})
    create = vpc_models.CreateVpcRequest(region_id=REGION, cidr_block="10.7.0.0/16", vpc_name="lost", client_token="lost-1")
    sdk_error("ServiceUnavailable", 503, main.vpc.create_vpc, create, exc=ServerException)
    # The VPC was made: the same ClientToken finds it instead of creating a second one.
    again = sdk_ok(raw, main.vpc.create_vpc, create)
    found = main.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION, vpc_name="lost")).body
    assert found.total_count == 1 and found.vpcs.vpc[0].vpc_id == again.vpc_id
    with pytest.raises(oss2.exceptions.ServerError) as lost:
        main.bucket("conformance-lost").create_bucket()
    assert (lost.value.status, lost.value.code) == (503, "ServiceUnavailable")
    assert main.bucket("conformance-lost").get_bucket_info().name == "conformance-lost"
