"""RAM 2015-05-01 through alibabacloud-ram20150501: GetRole, CreateRole, AttachPolicyToRole,
ListPoliciesForRole, DetachPolicyFromRole, DeleteRole, success and error paths."""

import json
import re

from alibabacloud_ram20150501 import models as ram_models
from conftest import TRUST
from sdkcheck import sdk_error, sdk_ok

ROLE = "ConformanceRole"
POLICY = "AliyunOSSFullAccess"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_role_lifecycle(main, raw):
    ram = main.ram
    uid = main.account.uid
    sdk_error("EntityNotExist.Role", 404, ram.get_role, ram_models.GetRoleRequest(role_name=ROLE))

    created = sdk_ok(
        raw,
        ram.create_role,
        ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=TRUST, description="conformance"),
    ).role
    assert created.role_name == ROLE
    assert created.arn == f"acs:ram::{uid}:role/{ROLE.lower()}"
    assert created.role_id.isdigit()
    assert created.description == "conformance"
    assert json.loads(created.assume_role_policy_document) == json.loads(TRUST)
    assert ISO.match(created.create_date)
    assert created.max_session_duration == 3600
    sdk_error(
        "EntityAlreadyExists.Role",
        409,
        ram.create_role,
        ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=TRUST),
    )

    got = sdk_ok(raw, ram.get_role, ram_models.GetRoleRequest(role_name=ROLE)).role
    assert (got.role_id, got.arn, got.description) == (created.role_id, created.arn, "conformance")
    assert ISO.match(got.update_date) and got.is_service_linked_role is False
    assert got.max_session_duration == 3600

    attach = ram_models.AttachPolicyToRoleRequest(policy_type="System", policy_name=POLICY, role_name=ROLE)
    sdk_ok(raw, ram.attach_policy_to_role, attach)
    sdk_error("EntityAlreadyExists.Role.Policy", 409, ram.attach_policy_to_role, attach)
    sdk_error(
        "EntityNotExist.Policy",
        404,
        ram.attach_policy_to_role,
        ram_models.AttachPolicyToRoleRequest(policy_type="System", policy_name="NoSuchPolicy", role_name=ROLE),
    )
    sdk_error(
        "EntityNotExist.Role",
        404,
        ram.attach_policy_to_role,
        ram_models.AttachPolicyToRoleRequest(policy_type="System", policy_name=POLICY, role_name="NoSuchRole"),
    )

    listed = sdk_ok(raw, ram.list_policies_for_role, ram_models.ListPoliciesForRoleRequest(role_name=ROLE))
    (p,) = listed.policies.policy
    assert (p.policy_name, p.policy_type, p.default_version) == (POLICY, "System", "v1")
    assert p.description and ISO.match(p.attach_date)
    sdk_error("EntityNotExist.Role", 404, ram.list_policies_for_role, ram_models.ListPoliciesForRoleRequest(role_name="NoSuchRole"))

    sdk_error("DeleteConflict.Role.Policy", 409, ram.delete_role, ram_models.DeleteRoleRequest(role_name=ROLE))
    detach = ram_models.DetachPolicyFromRoleRequest(policy_type="System", policy_name=POLICY, role_name=ROLE)
    sdk_ok(raw, ram.detach_policy_from_role, detach)
    sdk_error("EntityNotExist.Role.Policy", 404, ram.detach_policy_from_role, detach)
    empty = sdk_ok(raw, ram.list_policies_for_role, ram_models.ListPoliciesForRoleRequest(role_name=ROLE))
    assert empty.policies.policy == []
    sdk_ok(raw, ram.delete_role, ram_models.DeleteRoleRequest(role_name=ROLE))
    sdk_error("EntityNotExist.Role", 404, ram.delete_role, ram_models.DeleteRoleRequest(role_name=ROLE))
    sdk_error("EntityNotExist.Role", 404, ram.get_role, ram_models.GetRoleRequest(role_name=ROLE))


def test_create_role_validation(main):
    ram = main.ram
    sdk_error(
        "InvalidParameter.RoleName.InvalidChars",
        400,
        ram.create_role,
        ram_models.CreateRoleRequest(role_name="bad name!", assume_role_policy_document=TRUST),
    )
    sdk_error(
        "MalformedPolicyDocument",
        400,
        ram.create_role,
        ram_models.CreateRoleRequest(role_name="GoodName", assume_role_policy_document="{not json"),
    )
    sdk_error(
        "MissingParameter",
        400,
        ram.attach_policy_to_role,
        ram_models.AttachPolicyToRoleRequest(policy_type="System", role_name="GoodName"),
    )
