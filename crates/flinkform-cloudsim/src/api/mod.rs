//! The emulated RPC actions: routing by `(version, action)` to the product modules, the
//! wire error type, and the per-request context handed to every action.

pub(crate) mod billing;
pub(crate) mod foas;
pub(crate) mod market;
pub(crate) mod oss;
pub(crate) mod ram;
pub(crate) mod rm;
pub(crate) mod sts;
pub(crate) mod vpc;

use serde_json::{Map, Value};

use crate::params::Params;
use crate::world::{Account, World};

/// An Alibaba Cloud error answer: HTTP status, `Code`, `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    /// `x-acs-retry-after` (milliseconds) for throttling answers.
    pub(crate) retry_after_ms: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after_ms: None,
        }
    }
    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub(crate) fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }
    pub(crate) fn missing(name: &str) -> Self {
        Self::bad_request(
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }
}

/// Everything an action needs: the world (locked), the calling account, the parameters.
pub(crate) struct Call<'a> {
    pub(crate) world: &'a mut World,
    pub(crate) uid: String,
    pub(crate) params: &'a Params,
    /// The `Host` header (real product host or the loopback override).
    pub(crate) host: &'a str,
    /// Cloud time of the request.
    pub(crate) now: i64,
    /// With temporary credentials: the assumed role's name and the session name.
    pub(crate) assumed: Option<(String, String)>,
}

impl Call<'_> {
    pub(crate) fn account(&self) -> Result<&Account, ApiError> {
        self.world
            .accounts
            .get(&self.uid)
            .ok_or_else(|| ApiError::internal("the calling account vanished"))
    }
    pub(crate) fn account_mut(&mut self) -> Result<&mut Account, ApiError> {
        self.world
            .accounts
            .get_mut(&self.uid)
            .ok_or_else(|| ApiError::internal("the calling account vanished"))
    }
    /// The region of a regional call: `param`, else the region in a real `Host`
    /// (`<product>.<region>.aliyuncs.com`), else the default region.
    pub(crate) fn region(&self, param: &str) -> String {
        if let Some(r) = self.params.get(param) {
            return r.to_owned();
        }
        let labels: Vec<&str> = self
            .host
            .split(':')
            .next()
            .unwrap_or_default()
            .split('.')
            .collect();
        if labels.len() == 4 && labels[2] == "aliyuncs" {
            return labels[1].to_owned();
        }
        self.world.default_region().to_owned()
    }
}

/// The products served, by API version.
pub(crate) fn product(version: &str) -> Option<&'static str> {
    Some(match version {
        "2021-10-28" => "foasconsole",
        "2016-04-28" => "vpc",
        "2015-05-01" => "ram",
        "2017-12-14" => "bssopenapi",
        "2015-04-01" => "sts",
        "2019-04-22" => "oss-admin",
        "2015-11-01" => "market",
        "2020-03-31" => "resourcemanager",
        _ => return None,
    })
}

/// The real host of a product, for `HostId` in error answers.
pub(crate) fn product_host(product: &str) -> &'static str {
    match product {
        "foasconsole" => "foasconsole.aliyuncs.com",
        "vpc" => "vpc.aliyuncs.com",
        "ram" => "ram.aliyuncs.com",
        "bssopenapi" => "business.ap-southeast-1.aliyuncs.com",
        "sts" => "sts.aliyuncs.com",
        "oss-admin" => "oss-admin.aliyuncs.com",
        "market" => "market.aliyuncs.com",
        "resourcemanager" => "resourcemanager.aliyuncs.com",
        _ => "aliyuncs.com",
    }
}

/// The product code the real gateway names in an error's `Recommend` link (the `product`
/// of the API metadata: `Vpc`, `Ram`, `BssOpenApi`, ...); `Oss` for oss-admin is an
/// emulator choice.
pub(crate) fn product_code(product: &str) -> Option<&'static str> {
    Some(match product {
        "foasconsole" => "foasconsole",
        "vpc" => "Vpc",
        "ram" => "Ram",
        "bssopenapi" => "BssOpenApi",
        "sts" => "Sts",
        "oss-admin" => "Oss",
        "market" => "Market",
        "resourcemanager" => "ResourceManager",
        _ => return None,
    })
}

/// The diagnosis link of an RPC error answer (`Recommend`):
/// `https://api.aliyun.com/troubleshoot?q=<Code>&product=<Product>&requestId=<RequestId>`,
/// without `product` when the request named no product the emulator serves.
pub(crate) fn recommend(code: &str, product: Option<&str>, request_id: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string();
    let product = product
        .and_then(product_code)
        .map(|p| format!("&product={p}"))
        .unwrap_or_default();
    format!(
        "https://api.aliyun.com/troubleshoot?q={}{product}&requestId={}",
        enc(code),
        enc(request_id)
    )
}

/// The parameters an action requires: those the official API metadata marks required
/// (`dew-serverless/acs-metadata`, 2025-12), and for RAM, whose metadata marks none, those
/// its API reference does. A request without one of them → 400 `MissingParameter`, before
/// anything else of the action is checked (as the API gateway does). A structured or list
/// parameter counts as given in either form (`Tag=[...]`, `Tag.1.Key=...`).
pub(crate) fn required(product: &str, action: &str) -> &'static [&'static str] {
    match (product, action) {
        ("foasconsole", "QueryCreateInstancePrice") => &["ChargeType", "Region"],
        ("foasconsole", "CreateInstance") => &[
            "InstanceName",
            "ChargeType",
            "Region",
            "VpcId",
            "VSwitchIds",
            "Storage",
        ],
        ("foasconsole", "DescribeInstances") => &["Region"],
        ("foasconsole", "ModifyPrepayInstanceSpec") => &["Region", "InstanceId", "ResourceSpec"],
        ("foasconsole", "DeleteInstance" | "DescribeNamespaces") => &["Region", "InstanceId"],
        ("foasconsole", "CreateNamespace" | "DeleteNamespace") => {
            &["Region", "InstanceId", "Namespace"]
        }
        ("foasconsole", "ModifyPrepayNamespaceSpec") => {
            &["Region", "InstanceId", "Namespace", "ResourceSpec"]
        }
        ("foasconsole" | "vpc", "TagResources") => {
            &["RegionId", "ResourceType", "ResourceId", "Tag"]
        }
        ("foasconsole", "UntagResources") | ("vpc", "UnTagResources") => {
            &["RegionId", "ResourceType", "ResourceId"]
        }
        ("foasconsole" | "vpc", "ListTagResources") => &["RegionId", "ResourceType"],
        ("vpc", "CreateVpc" | "DescribeVpcs") => &["RegionId"],
        ("vpc", "DeleteVpc") => &["VpcId"],
        ("vpc", "CreateVSwitch") => &["VpcId", "ZoneId", "CidrBlock"],
        ("vpc", "DeleteVSwitch") => &["VSwitchId"],
        ("ram", "GetRole" | "DeleteRole" | "ListPoliciesForRole") => &["RoleName"],
        ("ram", "CreateRole") => &["RoleName", "AssumeRolePolicyDocument"],
        ("ram", "AttachPolicyToRole" | "DetachPolicyFromRole") => {
            &["PolicyType", "PolicyName", "RoleName"]
        }
        ("bssopenapi", "SetRenewal") => &["InstanceIDs", "ProductCode", "RenewalStatus"],
        ("market", "CreateOrder") => &["OrderType", "Commodity", "PaymentType", "ClientToken"],
        ("market", "DescribeOrder") => &["OrderId"],
        ("market", "DescribeInstance") => &["InstanceId"],
        ("market", "DescribeInstances") => &["PageNumber", "PageSize"],
        ("resourcemanager", "MoveResources") => &["ResourceGroupId", "Resources"],
        ("sts", "AssumeRole") => &["RoleArn", "RoleSessionName"],
        ("sts", "AssumeRoleWithOIDC") => &["RoleArn", "OIDCProviderArn", "OIDCToken"],
        _ => &[],
    }
}

/// Whether an action is answered without a signature (`AssumeRoleWithOIDC`: the OIDC token
/// is the proof).
pub(crate) fn is_anonymous(product: Option<&str>, action: &str) -> bool {
    product == Some("sts") && action == "AssumeRoleWithOIDC"
}

/// Whether an action issues credentials (not a change of the cloud, but the world records
/// them, so the server persists after those too).
pub(crate) fn issues_credentials(product: Option<&str>, action: &str) -> bool {
    product == Some("sts") && action.starts_with("AssumeRole")
}

/// Whether an action changes the world (the server persists after those).
pub(crate) fn is_mutating(action: &str) -> bool {
    [
        "Create", "Delete", "Modify", "Attach", "Detach", "Set", "Open", "Tag", "UnTag", "Untag",
        "Move",
    ]
    .iter()
    .any(|p| action.starts_with(p))
}

type Handler = fn(&mut Call<'_>) -> Result<Value, ApiError>;

fn handler(product: &str, action: &str) -> Option<Handler> {
    Some(match (product, action) {
        ("sts", "GetCallerIdentity") => billing::get_caller_identity,
        ("sts", "AssumeRole") => sts::assume_role,
        ("sts", "AssumeRoleWithOIDC") => sts::assume_role_with_oidc,
        ("market", "CreateOrder") => market::create_order,
        ("market", "DescribeOrder") => market::describe_order,
        ("market", "DescribeInstance") => market::describe_instance,
        ("market", "DescribeInstances") => market::describe_instances,
        ("bssopenapi", "QueryAccountBalance") => billing::query_account_balance,
        ("bssopenapi", "QueryAvailableInstances") => billing::query_available_instances,
        ("bssopenapi", "SetRenewal") => billing::set_renewal,
        ("oss-admin", "OpenOssService") => billing::open_oss_service,
        ("ram", "GetRole") => ram::get_role,
        ("ram", "CreateRole") => ram::create_role,
        ("ram", "DeleteRole") => ram::delete_role,
        ("ram", "AttachPolicyToRole") => ram::attach_policy_to_role,
        ("ram", "DetachPolicyFromRole") => ram::detach_policy_from_role,
        ("ram", "ListPoliciesForRole") => ram::list_policies_for_role,
        ("vpc", "CreateVpc") => vpc::create_vpc,
        ("vpc", "DescribeVpcs") => vpc::describe_vpcs,
        ("vpc", "DeleteVpc") => vpc::delete_vpc,
        ("vpc", "CreateVSwitch") => vpc::create_vswitch,
        ("vpc", "DescribeVSwitches") => vpc::describe_vswitches,
        ("vpc", "DeleteVSwitch") => vpc::delete_vswitch,
        ("vpc", "TagResources") => vpc::tag_resources,
        ("vpc", "UnTagResources") => vpc::un_tag_resources,
        ("vpc", "ListTagResources") => vpc::list_tag_resources,
        ("resourcemanager", "MoveResources") => rm::move_resources,
        ("resourcemanager", "ListResourceGroups") => rm::list_resource_groups,
        ("foasconsole", "DescribeSupportedRegions") => foas::describe_supported_regions,
        ("foasconsole", "DescribeSupportedZones") => foas::describe_supported_zones,
        ("foasconsole", "QueryCreateInstancePrice") => foas::query_create_instance_price,
        ("foasconsole", "CreateInstance") => foas::create_instance,
        ("foasconsole", "DescribeInstances") => foas::describe_instances,
        ("foasconsole", "ModifyPrepayInstanceSpec") => foas::modify_prepay_instance_spec,
        ("foasconsole", "DeleteInstance") => foas::delete_instance,
        ("foasconsole", "CreateNamespace") => foas::create_namespace,
        ("foasconsole", "DescribeNamespaces") => foas::describe_namespaces,
        ("foasconsole", "ModifyPrepayNamespaceSpec") => foas::modify_prepay_namespace_spec,
        ("foasconsole", "DeleteNamespace") => foas::delete_namespace,
        ("foasconsole", "TagResources") => foas::tag_resources,
        ("foasconsole", "UntagResources") => foas::untag_resources,
        ("foasconsole", "ListTagResources") => foas::list_tag_resources,
        _ => return None,
    })
}

/// Runs `action` of `product`, wrapping the answer in the product's success envelope
/// (without `RequestId`, which the server adds).
pub(crate) fn dispatch(
    product: &str,
    action: &str,
    call: &mut Call<'_>,
) -> Result<Value, ApiError> {
    let Some(h) = handler(product, action) else {
        return Err(ApiError::not_found(
            "InvalidAction.NotFound",
            format!(
                "Specified api is not found, please check your url and method. ({product} {action})"
            ),
        ));
    };
    for name in required(product, action) {
        if !call.params.has(name) {
            return Err(ApiError::missing(name));
        }
    }
    let mut body = match h(call)? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    match product {
        "foasconsole" => {
            body.insert("Success".to_owned(), Value::Bool(true));
        }
        "bssopenapi" => {
            body.insert("Code".to_owned(), Value::String("200".to_owned()));
            body.insert("Message".to_owned(), Value::String("success".to_owned()));
            body.insert("Success".to_owned(), Value::Bool(true));
        }
        _ => {}
    }
    Ok(Value::Object(body))
}

/// A page of `items`: 1-based `page`, `size` per page.
pub(crate) fn page<T: Clone>(items: &[T], page: u64, size: u64) -> Vec<T> {
    let size = usize::try_from(size.max(1)).unwrap_or(usize::MAX);
    let start = usize::try_from(page.max(1) - 1)
        .unwrap_or(usize::MAX)
        .saturating_mul(size);
    items.iter().skip(start).take(size).cloned().collect()
}

/// Reads the paging parameters `page_param`/`size_param` (defaults 1 and `default_size`),
/// rejecting a page size above `max`.
pub(crate) fn paging(
    params: &Params,
    page_param: &str,
    size_param: &str,
    default_size: u64,
    max: u64,
) -> Result<(u64, u64), ApiError> {
    let page = params.int(page_param, 1)?.max(1);
    let size = params.int(size_param, default_size)?;
    if size == 0 || size > max {
        return Err(ApiError::bad_request(
            "InvalidParameter",
            format!("The parameter {size_param} must be between 1 and {max}."),
        ));
    }
    Ok((page, size))
}
