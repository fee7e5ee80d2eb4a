//! `ram_role`: the RAM role fully managed Flink assumes ([`ROLE_NAME`]) and its attached
//! policies.
//!
//! API actions (RAM): `GetRole` and `ListPoliciesForRole` (refresh reads one role per
//! account), `CreateRole`, `AttachPolicyToRole`.
//!
//! Idempotency: by name. A create reads the role first and creates it only when it is
//! missing; `CreateRole` answering a conflict (created meanwhile) is success, and so is
//! attaching a policy that is attached already (`EntityAlreadyExists.Role.Policy`). The
//! role is shared and never deleted through the API.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountName, ChangeRequest, CloudId, DeleteRequest, Observation, Outcome, ProviderError,
    ProviderErrorKind, Value,
};

use super::observe::Item;
use super::{attr_str, attr_strings, done, found, invalid, params};
use crate::client::{ApiError, Client, RpcMethod};
use crate::endpoint::Product;
use crate::wire;

/// The RAM role fully managed Flink assumes.
pub const ROLE_NAME: &str = "AliyunStreamAsiDefaultRole";
/// The trust policy flinkform gives [`ROLE_NAME`] (cloud-api.md §4, ram).
pub const ROLE_TRUST_POLICY: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["stream.aliyuncs.com"]}}],"Version":"1"}"#;

/// The role's policies, or `None` when the role does not exist.
pub(super) async fn read_role(
    client: Client,
    role_name: String,
) -> Result<Option<Vec<String>>, ApiError> {
    match client
        .rpc_read(
            Product::Ram,
            None,
            "GetRole",
            params(&[("RoleName", &role_name)]),
            RpcMethod::Post,
        )
        .await
    {
        Ok(_) => {}
        Err(e) if e.kind == ProviderErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let resp = list_policies(&client, &role_name).await?;
    Ok(Some(wire::role_policies(&resp)))
}

async fn list_policies(client: &Client, role_name: &str) -> Result<serde_json::Value, ApiError> {
    client
        .rpc_read(
            Product::Ram,
            None,
            "ListPoliciesForRole",
            params(&[("RoleName", role_name)]),
            RpcMethod::Post,
        )
        .await
}

/// The role name refresh looks for: the spec's `role_name`, else the recorded id, else
/// [`ROLE_NAME`].
pub(super) fn name_of(it: &Item) -> String {
    attr_str(it.attrs, "role_name")
        .map(str::to_owned)
        .or_else(|| it.cloud_id.as_ref().map(|c| c.as_str().to_owned()))
        .unwrap_or_else(|| ROLE_NAME.to_owned())
}

/// Refresh: the role as read for its account (`None`: the role does not exist).
pub(super) fn observation(
    it: &Item,
    roles: &BTreeMap<(AccountName, String), Option<Vec<String>>>,
) -> Option<Observation> {
    let name = name_of(it);
    roles
        .get(&(it.account.clone(), name.clone()))
        .and_then(Option::as_ref)
        .and_then(|p| wire::role(&name, p))
        .map(Observation::Found)
}

pub(super) async fn read(
    client: &Client,
    cloud_id: &CloudId,
) -> Result<Observation, ProviderError> {
    let id = cloud_id.as_str();
    Ok(found(
        read_role(client.clone(), id.to_owned())
            .await?
            .and_then(|p| wire::role(id, &p)),
    ))
}

pub(super) async fn create(req: &ChangeRequest, client: &Client) -> Result<Outcome, ProviderError> {
    // CreateRole only: the plan attaches its policies in actions of their own (one
    // mutating call per action).
    let role_name = attr_str(&req.attrs, "role_name").unwrap_or(ROLE_NAME);
    let existing = read_role(client.clone(), role_name.to_owned()).await?;
    let attached: Vec<String> = match existing {
        Some(p) => p,
        None => {
            let p = params(&[
                ("RoleName", role_name),
                ("AssumeRolePolicyDocument", ROLE_TRUST_POLICY),
                (
                    "Description",
                    "Role assumed by fully managed Flink (created by flinkform)",
                ),
            ]);
            match client
                .rpc(Product::Ram, None, "CreateRole", p, RpcMethod::Post)
                .await
            {
                Ok(_) => {}
                Err(e) if e.kind == ProviderErrorKind::Conflict => {}
                Err(e) => return Err(e.into()),
            }
            Vec::new()
        }
    };
    let cloud_id = CloudId::new(role_name).map_err(|e| invalid("CreateRole", e.to_string()))?;
    let mut attrs = req.attrs.clone();
    let mut attached = attached;
    attached.sort();
    attrs.insert(
        "policies".to_owned(),
        Value::List(attached.into_iter().map(Value::Str).collect()),
    );
    Ok(Outcome {
        cloud_id,
        attrs,
        done: true,
    })
}

/// Attaches the policies of `policies` the role does not have yet.
pub(super) async fn update(req: &ChangeRequest, client: &Client) -> Result<Outcome, ProviderError> {
    let a = &req.attrs;
    let role_name = attr_str(a, "role_name").unwrap_or(ROLE_NAME);
    let resp = list_policies(client, role_name).await?;
    let attached: BTreeSet<String> = wire::role_policies(&resp).into_iter().collect();
    attach_policies(client, role_name, a, &attached).await?;
    let cloud_id =
        CloudId::new(role_name).map_err(|e| invalid("AttachPolicyToRole", e.to_string()))?;
    Ok(done(&cloud_id, a, true))
}

/// Attaches every policy of `attrs.policies` (`<Type>:<Name>`) not in `attached`.
async fn attach_policies(
    client: &Client,
    role_name: &str,
    attrs: &flinkform_core::Attrs,
    attached: &BTreeSet<String>,
) -> Result<(), ProviderError> {
    for policy in attr_strings(attrs, "policies") {
        if attached.contains(&policy) {
            continue;
        }
        let (ptype, pname) = policy.split_once(':').ok_or_else(|| {
            invalid(
                "AttachPolicyToRole",
                format!("policy `{policy}` is not `<PolicyType>:<PolicyName>`"),
            )
        })?;
        let p = params(&[
            ("PolicyType", ptype),
            ("PolicyName", pname),
            ("RoleName", role_name),
        ]);
        match client
            .rpc(Product::Ram, None, "AttachPolicyToRole", p, RpcMethod::Post)
            .await
        {
            Ok(_) => {}
            Err(e) if e.has_code("EntityAlreadyExists.Role.Policy") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Never deleted through the API (catalog: Shared): done at once.
pub(super) fn delete(req: &DeleteRequest) -> Outcome {
    done(&req.prior.cloud_id, &req.prior.attrs, true)
}
