//! The YAML shape of a document (data transfer objects): what serde reads, with source
//! locations (`Spanned`) on the values diagnostics point at, and what the JSON Schema is
//! generated from (doc comments become the schema's descriptions).
//!
//! Values whose set is closed (`apiVersion`, `kind`, `billing.method`) are read as strings
//! and checked afterwards, so that a wrong value is one diagnostic among all the others
//! instead of stopping the document; the schema still lists the allowed values. `{ create }`
//! / `{ id }` choices are structs with two optional fields (checked to hold exactly one);
//! their schema is a `oneOf`. No flatten, untagged or internally tagged enums: those lose
//! the source locations.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::json;
use serde_saphyr::Spanned;

use crate::rules::{CHINA_REGIONS, INTL_REGIONS};

/// The first keys of a document, read leniently before the document itself so that an
/// unknown `kind` is reported as such and not as a pile of unknown fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HeaderDto {
    #[serde(default)]
    pub(crate) api_version: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) kind: Option<Spanned<String>>,
}

/// A flinkform spec document. One file may hold several, separated by `---`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "FlinkWorkspaceDocument")]
pub(crate) struct DocumentDto {
    /// The version of the spec language.
    #[allow(
        dead_code,
        reason = "checked in the header pass (HeaderDto), which also sees unknown kinds"
    )]
    #[schemars(with = "ApiVersionSchema")]
    pub(crate) api_version: Spanned<String>,
    /// What the document declares.
    #[allow(
        dead_code,
        reason = "checked in the header pass (HeaderDto), which also sees unknown kinds"
    )]
    #[schemars(with = "KindSchema")]
    pub(crate) kind: Spanned<String>,
    /// The workspace's name and labels.
    pub(crate) metadata: MetadataDto,
    /// What the workspace looks like.
    pub(crate) spec: WorkspaceSpecDto,
}

/// `apiVersion` values.
#[derive(JsonSchema)]
#[schemars(rename = "ApiVersion")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum ApiVersionSchema {
    /// The first version of the spec language.
    #[serde(rename = "flinkform/v1")]
    V1,
}

/// `kind` values.
#[derive(JsonSchema)]
#[schemars(rename = "Kind")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum KindSchema {
    /// A fully managed Flink workspace with its network, storage and projects.
    FlinkWorkspace,
}

/// `metadata`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Metadata")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MetadataDto {
    /// The workspace name: 1-60 characters, a letter first, then letters, digits and
    /// hyphens. Unique in the stack (and in the Alibaba Cloud account). Immutable: a new
    /// name replaces the workspace.
    #[schemars(
        with = "String",
        length(min = 1, max = 60),
        pattern(r"^[A-Za-z][A-Za-z0-9-]*$")
    )]
    pub(crate) name: Spanned<String>,
    /// Labels, sent as resource tags: at most 18 (Alibaba Cloud takes 20 tags, flinkform's
    /// ownership mark two); keys of 1-128 characters (not starting with `aliyun`, `acs:` or
    /// `flinkform:`), values of at most 128.
    #[serde(default)]
    #[schemars(
        with = "Option<BTreeMap<String, String>>",
        extend("maxProperties" = 18, "propertyNames" = { "minLength": 1, "maxLength": 128, "not": { "pattern": "^(aliyun|acs:|flinkform:)" } })
    )]
    pub(crate) labels: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
}

/// `spec` of a `FlinkWorkspace`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "WorkspaceSpec", transform = quota_rules)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct WorkspaceSpecDto {
    /// The credentials profile (one profile is one Alibaba Cloud account).
    #[schemars(with = "String", pattern(r"^[A-Za-z0-9._-]+$"))]
    pub(crate) account: Spanned<String>,
    /// The region, e.g. `ap-southeast-1`: one where fully managed Flink is offered.
    /// Immutable.
    #[schemars(schema_with = "region_schema")]
    pub(crate) region: Spanned<String>,
    /// The zone, in `region` (e.g. `ap-southeast-1a`). The created vSwitches are in it.
    /// Immutable.
    #[schemars(with = "String", pattern(r"^[a-z0-9-]+$"))]
    pub(crate) zone: Spanned<String>,
    /// The resource group of the workspace: the id (`rg-` and lowercase letters and digits)
    /// of a group of the account. Changes in place (the workspace is moved); when unset, the
    /// workspace stays in whatever group it is in (the account's default group at creation).
    #[serde(default)]
    #[schemars(with = "Option<String>", pattern(r"^rg-[a-z0-9]+$"))]
    pub(crate) resource_group: Option<Spanned<String>>,
    /// How the workspace is paid for.
    #[schemars(with = "BillingDto")]
    pub(crate) billing: Spanned<BillingDto>,
    /// The VPC and vSwitches the workspace runs in.
    pub(crate) network: NetworkDto,
    /// Where the workspace keeps artifacts, checkpoints, savepoints and logs.
    pub(crate) storage: StorageDto,
    /// The compute quota: subscription only, and required for a subscription.
    #[serde(default)]
    #[schemars(with = "Option<QuotaDto>")]
    pub(crate) quota: Option<Spanned<QuotaDto>>,
    /// Projects (namespaces) to create beside the generated `<name>-default` project.
    #[serde(default)]
    #[schemars(with = "Option<Vec<ProjectDto>>")]
    pub(crate) projects: Option<Vec<Spanned<ProjectDto>>>,
    /// Never destroy or replace this workspace without an explicit flag.
    #[serde(default)]
    #[schemars(with = "Option<bool>", extend("default" = true))]
    pub(crate) protect: Option<Spanned<bool>>,
    /// Systems the jobs read or write. Used only for recommendations: a warning for each
    /// one in another region, zone or VPC than the workspace.
    #[serde(default)]
    pub(crate) upstream: Option<Vec<UpstreamDto>>,
}

/// `spec.billing`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Billing", transform = billing_rules)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BillingDto {
    /// The billing method. Immutable.
    #[schemars(with = "BillingMethodSchema")]
    pub(crate) method: Spanned<String>,
    /// How long a subscription runs (subscription only, required for it).
    #[serde(default)]
    #[schemars(with = "Option<DurationSchema>")]
    pub(crate) duration: Option<Spanned<DurationDto>>,
    /// Renew the subscription automatically (subscription only; default false).
    #[serde(default)]
    #[schemars(with = "Option<bool>", extend("default" = false))]
    pub(crate) auto_renew: Option<Spanned<bool>>,
}

/// `billing.method` values.
#[derive(JsonSchema)]
#[schemars(rename = "BillingMethod")]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum BillingMethodSchema {
    /// Paid in advance for a duration, with a fixed compute quota.
    Subscription,
    /// Paid by use; needs an available balance of at least USD 100 (international site) or
    /// CNY 700 (China site) when ordered.
    PayAsYouGo,
}

/// `billing.duration`: exactly one of `months` and `years`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DurationDto {
    #[serde(default)]
    pub(crate) months: Option<Spanned<u32>>,
    #[serde(default)]
    pub(crate) years: Option<Spanned<u32>>,
}

/// A subscription's duration: exactly one of `months` and `years`.
#[derive(JsonSchema)]
#[schemars(rename = "Duration")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "only describes the JSON Schema")]
pub(crate) enum DurationSchema {
    /// 1 to 9 months.
    Months(#[schemars(range(min = 1, max = 9))] u32),
    /// 1 to 3 years.
    Years(#[schemars(range(min = 1, max = 3))] u32),
}

/// `spec.network`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Network")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NetworkDto {
    /// The VPC: an existing one (`{ id: vpc-... }`) or one to create
    /// (`{ create: { cidr: ... } }`). Immutable.
    #[schemars(with = "VpcSchema")]
    pub(crate) vpc: Spanned<RefDto>,
    /// 1 to 5 vSwitches, each existing (`{ id: vsw-... }`) or to create in the zone
    /// (`{ create: { cidr: ... } }`). Immutable.
    #[schemars(with = "Vec<VSwitchSchema>", length(min = 1, max = 5))]
    pub(crate) v_switches: Spanned<Vec<Spanned<RefDto>>>,
}

/// A `{ create: { cidr } }` or `{ id }` entry (VPC or vSwitch).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefDto {
    #[serde(default)]
    pub(crate) create: Option<CreateDto>,
    #[serde(default)]
    pub(crate) id: Option<Spanned<String>>,
}

/// What to create.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Create")]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateDto {
    /// The IPv4 CIDR block, e.g. `10.10.0.0/16`.
    #[schemars(with = "String")]
    pub(crate) cidr: Spanned<String>,
}

/// A VPC: exactly one of `create` and `id`.
#[derive(JsonSchema)]
#[schemars(rename = "Vpc")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum VpcSchema {
    /// Create a VPC with this CIDR block (mask 8-28 bits).
    Create(CreateDto),
    /// Use this existing VPC.
    Id(#[schemars(pattern(r"^vpc-[A-Za-z0-9-]+$"))] String),
}

/// A vSwitch: exactly one of `create` and `id`.
#[derive(JsonSchema)]
#[schemars(rename = "VSwitch")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum VSwitchSchema {
    /// Create a vSwitch in the workspace's zone with this CIDR block (mask 16-29 bits,
    /// inside the VPC's block, not overlapping another vSwitch).
    Create(CreateDto),
    /// Use this existing vSwitch (of an existing VPC).
    Id(#[schemars(pattern(r"^vsw-[A-Za-z0-9-]+$"))] String),
}

/// `spec.storage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Storage")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct StorageDto {
    /// The OSS bucket; created in the workspace's region if it does not exist. Immutable.
    pub(crate) oss_bucket: OssBucketDto,
}

/// `spec.storage.ossBucket`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "OssBucket")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct OssBucketDto {
    /// 3-63 characters: lowercase letters, digits and hyphens, starting and ending with a
    /// letter or digit. Bucket names are global: one bucket per workspace.
    #[schemars(
        with = "String",
        length(min = 3, max = 63),
        pattern(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
    )]
    pub(crate) name: Spanned<String>,
}

/// `spec.quota`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Quota")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct QuotaDto {
    /// Compute units (1 CU = 1 core + 4 GiB), 1-10000. Changes in place.
    #[schemars(with = "u32", range(min = 1, max = 10000))]
    pub(crate) cu: Spanned<u32>,
}

/// `spec.projects[i]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Project")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ProjectDto {
    /// Lowercase letters, digits and hyphens, a letter first, not ending with `-`, at most
    /// 60 characters; unique in the workspace and not `<workspace>-default`.
    #[schemars(
        with = "String",
        length(min = 1, max = 60),
        pattern(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
    )]
    pub(crate) name: Spanned<String>,
    /// Compute units for the project: required for a subscription (the projects' sum must
    /// leave at least 1 CU of the quota to the default project), optional for
    /// pay-as-you-go. Changes in place.
    #[serde(default)]
    #[schemars(with = "Option<u32>", range(min = 1, max = 10000))]
    pub(crate) cu: Option<Spanned<u32>>,
}

/// `spec.upstream[i]`: a system the jobs read or write (Kafka, a database, ...).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Upstream")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct UpstreamDto {
    /// A name for the system (shown in warnings).
    #[schemars(with = "String")]
    pub(crate) name: Spanned<String>,
    /// Its region.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) region: Option<Spanned<String>>,
    /// Its zone.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) zone: Option<Spanned<String>>,
    /// Its VPC id (`vpc-...`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) vpc: Option<Spanned<String>>,
}

/// `spec.region`: one of the regions that offer fully managed Flink.
fn region_schema(_: &mut SchemaGenerator) -> Schema {
    let regions: Vec<&str> = INTL_REGIONS.iter().chain(CHINA_REGIONS).copied().collect();
    json_schema!({
        "type": "string",
        "enum": regions,
    })
}

/// A subscription needs a duration; pay-as-you-go takes neither duration nor auto-renewal.
fn billing_rules(schema: &mut Schema) {
    schema.insert(
        "allOf".to_owned(),
        json!([
            {
                "if": { "properties": { "method": { "const": "subscription" } }, "required": ["method"] },
                "then": { "required": ["duration"] }
            },
            {
                "if": { "properties": { "method": { "const": "pay-as-you-go" } }, "required": ["method"] },
                "then": { "not": { "anyOf": [{ "required": ["duration"] }, { "required": ["autoRenew"] }] } }
            }
        ]),
    );
}

/// A subscription needs a quota (and a cu for each project); pay-as-you-go takes no quota.
fn quota_rules(schema: &mut Schema) {
    let method = |m: &str| json!({ "properties": { "billing": { "properties": { "method": { "const": m } } } } });
    schema.insert(
        "allOf".to_owned(),
        json!([
            {
                "if": method("subscription"),
                "then": {
                    "required": ["quota"],
                    "properties": { "projects": { "items": { "required": ["cu"] } } }
                }
            },
            {
                "if": method("pay-as-you-go"),
                "then": { "not": { "required": ["quota"] } }
            }
        ]),
    );
}
