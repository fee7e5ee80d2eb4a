//! The YAML shape of a `MarketplaceSubscription` document (see `dto.rs` for the
//! conventions: closed value sets read as strings and checked afterwards, `Spanned` on every
//! value a diagnostic points at, doc comments become the JSON Schema's descriptions).
//!
//! A password is read by a visitor that accepts a `{ env }` / `{ file }` mapping and, for a
//! plain string, records only that a literal was written (its length, never its text), so
//! that the literal becomes a diagnostic with help and the secret goes no further.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::dto::{DurationDto, MetadataDto};

/// A `MarketplaceSubscription` document.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "MarketplaceSubscriptionDocument")]
pub(crate) struct SubscriptionDocumentDto {
    /// The version of the spec language (`flinkform/v1`).
    #[allow(dead_code, reason = "checked in the header pass")]
    #[schemars(with = "String")]
    pub(crate) api_version: Spanned<String>,
    /// `MarketplaceSubscription`.
    #[allow(dead_code, reason = "checked in the header pass")]
    #[schemars(with = "SubscriptionKindSchema")]
    pub(crate) kind: Spanned<String>,
    /// The subscription's name (lowercase letters, digits, hyphens; a letter first).
    pub(crate) metadata: MetadataDto,
    /// What is bought, and how it is settled at the vendor.
    pub(crate) spec: SubscriptionSpecDto,
}

/// `kind` of a subscription document.
#[derive(JsonSchema)]
#[schemars(rename = "SubscriptionKind")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum SubscriptionKindSchema {
    /// A SaaS Commercial Plan on Alibaba Cloud Marketplace with its Billing Center binding.
    MarketplaceSubscription,
}

/// `spec` of a `MarketplaceSubscription`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "SubscriptionSpec")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SubscriptionSpecDto {
    /// The credentials profile (one Alibaba Cloud account) that buys the plan.
    #[schemars(with = "String", pattern(r"^[A-Za-z0-9._-]+$"))]
    pub(crate) account: Spanned<String>,
    /// The Marketplace product.
    pub(crate) product: ProductDto,
    /// The vendor's Billing Center: site, connector and account.
    pub(crate) billing_center: BillingCenterDto,
    /// The vendor workspace the plan pays for.
    pub(crate) workspace: SaasWorkspaceDto,
    /// Never destroy or replace without an explicit flag (default true).
    #[serde(default)]
    #[schemars(with = "Option<bool>", extend("default" = true))]
    pub(crate) protect: Option<Spanned<bool>>,
}

/// `spec.product`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "MarketProduct")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ProductDto {
    /// The Marketplace product code, 8-12 lowercase letters and digits (`cmgj00053362`).
    /// Immutable.
    #[schemars(with = "String", pattern(r"^[a-z0-9]{8,12}$"))]
    pub(crate) code: Spanned<String>,
    /// The package version (the `package_version` component). Immutable.
    #[schemars(with = "String", pattern(r"^[A-Za-z0-9._-]{1,64}$"))]
    pub(crate) package_version: Spanned<String>,
    /// How the plan is paid for. Immutable.
    #[schemars(with = "MarketBillingDto")]
    pub(crate) billing: Spanned<MarketBillingDto>,
}

/// `spec.product.billing`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "MarketBilling")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MarketBillingDto {
    /// `pay-as-you-go` (the `-postpay` SKU) or `subscription` (the `-prepay` SKU).
    #[schemars(with = "MarketBillingMethodSchema")]
    pub(crate) method: Spanned<String>,
    /// How long a subscription runs (subscription only, required for it).
    #[serde(default)]
    #[schemars(with = "Option<crate::dto::DurationSchema>")]
    pub(crate) duration: Option<Spanned<DurationDto>>,
}

/// `spec.product.billing.method` values.
#[derive(JsonSchema)]
#[schemars(rename = "MarketBillingMethod")]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum MarketBillingMethodSchema {
    /// Paid by use (activating pay-as-you-go service).
    PayAsYouGo,
    /// Paid in advance for a duration.
    Subscription,
}

/// `spec.billingCenter`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "BillingCenter")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BillingCenterDto {
    /// The Billing Center site: `intl` or `china`. Immutable once the workspace exists.
    #[schemars(with = "SiteSchema")]
    pub(crate) site: Spanned<String>,
    /// `api` (default): the vendor's connector does each step; `manual`: every vendor step
    /// becomes a gate that says what to enter where, confirmed with `--input NAME=done`.
    #[serde(default)]
    #[schemars(with = "Option<ConnectorSchema>")]
    pub(crate) connector: Option<Spanned<String>>,
    /// The Billing Center account.
    pub(crate) account: BillingAccountDto,
}

/// `billingCenter.site` values.
#[derive(JsonSchema)]
#[schemars(rename = "BillingSite")]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum SiteSchema {
    /// The international site.
    Intl,
    /// The China site.
    China,
}

/// `billingCenter.connector` values.
#[derive(JsonSchema)]
#[schemars(rename = "Connector")]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum ConnectorSchema {
    /// The vendor's connector API (specs/connector.md).
    Api,
    /// Manual steps, each a gate.
    Manual,
}

/// `spec.billingCenter.account`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "BillingAccount")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BillingAccountDto {
    /// `register` a new account or `bind` an existing one (both verified by an e-mail
    /// code).
    #[schemars(with = "AccountModeSchema")]
    pub(crate) mode: Spanned<String>,
    /// The Billing Center username: 3-32 lowercase letters, digits, `-`, `_`, `.`.
    #[schemars(with = "String", pattern(r"^[a-z0-9][a-z0-9._-]{2,31}$"))]
    pub(crate) username: Spanned<String>,
    /// The e-mail address the verification code is sent to.
    #[schemars(with = "String", pattern(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))]
    pub(crate) email: Spanned<String>,
    /// The password (register only): a reference, `{ env: NAME }` or `{ file: PATH }`,
    /// never the password itself.
    #[serde(default)]
    #[schemars(with = "Option<SecretSchema>")]
    pub(crate) password: Option<Spanned<SecretDto>>,
    /// Company details for registration (register only; `name` required).
    #[serde(default)]
    #[schemars(with = "Option<CompanyDto>")]
    pub(crate) company: Option<Spanned<CompanyDto>>,
}

/// `account.mode` values.
#[derive(JsonSchema)]
#[schemars(rename = "AccountMode")]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum AccountModeSchema {
    /// Register a new Billing Center account.
    Register,
    /// Bind an existing Billing Center account.
    Bind,
}

/// A secret reference: exactly one of `env` and `file`.
#[derive(JsonSchema)]
#[schemars(rename = "SecretRef")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum SecretSchema {
    /// The name of an environment variable holding the secret.
    Env(#[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))] String),
    /// The path of a file holding the secret (a trailing newline is removed).
    File(String),
}

/// What a `password:` value was.
#[derive(Debug, Default)]
pub(crate) struct SecretDto {
    pub(crate) env: Option<String>,
    pub(crate) file: Option<String>,
    /// Other keys of the mapping.
    pub(crate) unknown: Vec<String>,
    /// A plain value was written: its length in characters (the text is dropped).
    pub(crate) literal_len: Option<usize>,
}

impl<'de> Deserialize<'de> for SecretDto {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SecretDto;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret reference `{ env: NAME }` or `{ file: PATH }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretDto, E> {
                Ok(SecretDto {
                    literal_len: Some(v.chars().count()),
                    ..SecretDto::default()
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SecretDto, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SecretDto, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SecretDto, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SecretDto, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretDto, A::Error> {
                let mut out = SecretDto::default();
                while let Some(key) = map.next_key::<String>()? {
                    let value: String = map.next_value()?;
                    match key.as_str() {
                        "env" => out.env = Some(value),
                        "file" => out.file = Some(value),
                        _ => out.unknown.push(key),
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// `account.company`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Company")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CompanyDto {
    /// The company name (required to register).
    #[schemars(with = "String", length(min = 1, max = 128))]
    pub(crate) name: Spanned<String>,
    /// Country or region.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) country: Option<Spanned<String>>,
    /// A contact telephone number.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) phone: Option<Spanned<String>>,
}

/// `spec.workspace`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "SaasWorkspace")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SaasWorkspaceDto {
    /// The workspace name at the vendor: 1-64 characters, no control characters. Changes in
    /// place.
    #[schemars(with = "String", length(min = 1, max = 64))]
    pub(crate) name: Spanned<String>,
    /// The workspace language: `en` or `zh`. Changes in place.
    #[schemars(with = "LanguageSchema")]
    pub(crate) language: Spanned<String>,
    /// `create` a new workspace (default) or `bind` an existing one of the Billing Center
    /// account, found by name.
    #[serde(default)]
    #[schemars(with = "Option<WorkspaceModeSchema>")]
    pub(crate) mode: Option<Spanned<String>>,
}

/// `workspace.language` values.
#[derive(JsonSchema)]
#[schemars(rename = "Language")]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum LanguageSchema {
    /// English.
    En,
    /// Chinese.
    Zh,
}

/// `workspace.mode` values.
#[derive(JsonSchema)]
#[schemars(rename = "WorkspaceMode")]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code, reason = "only describes the JSON Schema")]
enum WorkspaceModeSchema {
    /// Create the workspace.
    Create,
    /// Bind an existing workspace.
    Bind,
}
