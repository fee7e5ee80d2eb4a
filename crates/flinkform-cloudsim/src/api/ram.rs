//! RAM 2015-05-01: roles and the system policies attached to them (global, per account).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{ApiError, Call};
use crate::world::{AttachedPolicy, Role, iso};

/// The system policies the emulator knows (anything else is `EntityNotExist.Policy`).
const SYSTEM_POLICIES: &[(&str, &str)] = &[
    (
        "AdministratorAccess",
        "Provides full access to Alibaba Cloud services and resources.",
    ),
    (
        "AliyunDLFFullAccess",
        "Provides full access to Data Lake Formation.",
    ),
    (
        "AliyunOSSFullAccess",
        "Provides full access to Object Storage Service (OSS).",
    ),
    (
        "AliyunSTSAssumeRoleAccess",
        "Provides access to assume roles through STS.",
    ),
    (
        "AliyunStreamAsiDefaultRolePolicy",
        "The policy for the default role of Realtime Compute for Apache Flink.",
    ),
    (
        "AliyunVPCFullAccess",
        "Provides full access to Virtual Private Cloud (VPC).",
    ),
];

fn role_json(role: &Role, uid: &str) -> Value {
    json!({
        "RoleId": role.id,
        "RoleName": role.name,
        "Arn": format!("acs:ram::{uid}:role/{}", role.name.to_ascii_lowercase()),
        "Description": role.description,
        "AssumeRolePolicyDocument": role.policy_document,
        "CreateDate": iso(role.created_ms),
        "UpdateDate": iso(role.updated_ms),
        "MaxSessionDuration": role.max_session_duration,
        "IsServiceLinkedRole": false,
    })
}

fn no_role(name: &str) -> ApiError {
    ApiError::not_found(
        "EntityNotExist.Role",
        format!("The role does not exist: {name}."),
    )
}

pub(crate) fn get_role(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let name = call.params.require("RoleName")?;
    let account = call.account()?;
    let role = account.roles.get(name).ok_or_else(|| no_role(name))?;
    Ok(json!({ "Role": role_json(role, &account.uid) }))
}

fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'@')
}

pub(crate) fn create_role(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let name = call.params.require("RoleName")?.to_owned();
    let document = call.params.require("AssumeRolePolicyDocument")?.to_owned();
    if !valid_role_name(&name) {
        return Err(ApiError::bad_request(
            "InvalidParameter.RoleName.InvalidChars",
            "The parameter RoleName contains invalid chars or is too long.",
        ));
    }
    let parsed: Option<Value> = serde_json::from_str(&document).ok();
    if !parsed
        .as_ref()
        .is_some_and(|d| d.get("Statement").is_some_and(Value::is_array))
    {
        return Err(ApiError::bad_request(
            "MalformedPolicyDocument",
            "The policy document is malformed: it must be JSON with a Statement list.",
        ));
    }
    let description = call
        .params
        .get("Description")
        .unwrap_or_default()
        .to_owned();
    let max_session = u32::try_from(call.params.int("MaxSessionDuration", 3600)?).unwrap_or(3600);
    if call.account()?.roles.contains_key(&name) {
        return Err(ApiError::new(
            409,
            "EntityAlreadyExists.Role",
            format!("The role already exists: {name}."),
        ));
    }
    let id = call.world.digits(19);
    let now = call.now;
    let role = Role {
        id,
        name: name.clone(),
        description,
        policy_document: document,
        max_session_duration: max_session,
        created_ms: now,
        updated_ms: now,
        policies: BTreeMap::new(),
    };
    let account = call.account_mut()?;
    let mut created = role_json(&role, &account.uid);
    // CreateRole's answer has no update date and no service-linked flag (GetRole's has).
    if let Value::Object(fields) = &mut created {
        fields.remove("UpdateDate");
        fields.remove("IsServiceLinkedRole");
    }
    let body = json!({ "Role": created });
    account.roles.insert(name, role);
    Ok(body)
}

pub(crate) fn delete_role(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let name = call.params.require("RoleName")?.to_owned();
    let account = call.account_mut()?;
    let role = account.roles.get(&name).ok_or_else(|| no_role(&name))?;
    if !role.policies.is_empty() {
        return Err(ApiError::new(
            409,
            "DeleteConflict.Role.Policy",
            "The role still has policies attached; detach them first.",
        ));
    }
    account.roles.remove(&name);
    Ok(json!({}))
}

fn policy_params(call: &Call<'_>) -> Result<(String, String, String), ApiError> {
    let policy_type = call.params.require("PolicyType")?.to_owned();
    let policy_name = call.params.require("PolicyName")?.to_owned();
    let role_name = call.params.require("RoleName")?.to_owned();
    if policy_type != "System" && policy_type != "Custom" {
        return Err(ApiError::bad_request(
            "InvalidParameter.PolicyType",
            "PolicyType must be System or Custom.",
        ));
    }
    Ok((policy_type, policy_name, role_name))
}

pub(crate) fn attach_policy_to_role(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (policy_type, policy_name, role_name) = policy_params(call)?;
    let now = call.now;
    let account = call.account_mut()?;
    let role = account
        .roles
        .get_mut(&role_name)
        .ok_or_else(|| no_role(&role_name))?;
    let known = policy_type == "System" && SYSTEM_POLICIES.iter().any(|(n, _)| *n == policy_name);
    if !known {
        return Err(ApiError::not_found(
            "EntityNotExist.Policy",
            format!("The policy does not exist: {policy_name}."),
        ));
    }
    if role.policies.contains_key(&policy_name) {
        return Err(ApiError::new(
            409,
            "EntityAlreadyExists.Role.Policy",
            format!("The policy {policy_name} is already attached to the role {role_name}."),
        ));
    }
    role.policies.insert(
        policy_name,
        AttachedPolicy {
            policy_type,
            attached_ms: now,
        },
    );
    role.updated_ms = now;
    Ok(json!({}))
}

pub(crate) fn detach_policy_from_role(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (_, policy_name, role_name) = policy_params(call)?;
    let account = call.account_mut()?;
    let role = account
        .roles
        .get_mut(&role_name)
        .ok_or_else(|| no_role(&role_name))?;
    if role.policies.remove(&policy_name).is_none() {
        return Err(ApiError::not_found(
            "EntityNotExist.Role.Policy",
            format!("The policy {policy_name} is not attached to the role {role_name}."),
        ));
    }
    Ok(json!({}))
}

pub(crate) fn list_policies_for_role(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let role_name = call.params.require("RoleName")?;
    let account = call.account()?;
    let role = account
        .roles
        .get(role_name)
        .ok_or_else(|| no_role(role_name))?;
    let policies: Vec<Value> = role
        .policies
        .iter()
        .map(|(name, p)| {
            let description = SYSTEM_POLICIES
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| *d)
                .unwrap_or_default();
            json!({
                "PolicyName": name,
                "PolicyType": p.policy_type,
                "Description": description,
                "DefaultVersion": "v1",
                "AttachDate": iso(p.attached_ms),
            })
        })
        .collect();
    Ok(json!({ "Policies": { "Policy": policies } }))
}

/// Whether the account's Flink service role exists with its policy (CreateInstance checks it).
pub(crate) fn flink_role_ready(account: &crate::world::Account) -> bool {
    account
        .roles
        .get("AliyunStreamAsiDefaultRole")
        .is_some_and(|r| r.policies.contains_key("AliyunStreamAsiDefaultRolePolicy"))
}
