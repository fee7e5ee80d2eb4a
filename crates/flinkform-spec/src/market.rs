//! The validated model of a `MarketplaceSubscription` document: a SaaS "Commercial Plan"
//! bought on Alibaba Cloud Marketplace, the vendor's Billing Center account it is settled
//! through, and the vendor workspace it pays for (seed 002).
//!
//! Secrets stay references ([`SecretRef`]): this crate never reads an environment variable
//! or a file, and nothing here ever holds a password.

use std::collections::BTreeMap;
use std::fmt;

use flinkform_core::{AccountName, Origin};

use crate::model::Duration;

/// `kind: MarketplaceSubscription`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketplaceSubscription {
    /// `metadata.name`: 1–60 characters, a lowercase letter first, then lowercase letters,
    /// digits and hyphens.
    pub name: String,
    /// `spec.account`: the credentials profile that buys the plan.
    pub account: AccountName,
    /// `spec.product`.
    pub product: MarketProduct,
    /// `spec.billingCenter`.
    pub billing_center: BillingCenter,
    /// `spec.workspace`.
    pub workspace: SaasWorkspaceSpec,
    /// `spec.protect` (default `true`).
    pub protect: bool,
    /// Where each field came from, keyed by its path in the document.
    pub origins: BTreeMap<String, Origin>,
}

/// `spec.product`: what is bought on the Marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketProduct {
    /// `code`: the Marketplace product code (`cmgj00053362`), 8–12 lowercase letters and
    /// digits.
    pub code: String,
    /// `packageVersion`: the package (component `package_version`).
    pub package_version: String,
    /// `billing`.
    pub billing: MarketBilling,
}

/// `spec.product.billing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketBilling {
    /// `method: pay-as-you-go`: the `<code>-postpay` SKU.
    PayAsYouGo,
    /// `method: subscription` with a duration: the `<code>-prepay` SKU.
    Subscription(Duration),
}

/// `spec.billingCenter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingCenter {
    /// `site`: which Billing Center site; immutable.
    pub site: BillingSite,
    /// `connector`: how flinkform reaches the vendor.
    pub connector: ConnectorMode,
    /// `account`.
    pub account: BillingAccountSpec,
}

/// `spec.billingCenter.site`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BillingSite {
    /// `intl`: the international site.
    Intl,
    /// `china`: the China site.
    China,
}

impl BillingSite {
    /// `intl` or `china`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intl => "intl",
            Self::China => "china",
        }
    }
}

/// `spec.billingCenter.connector`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorMode {
    /// `api` (default): the vendor connector API does each step.
    Api,
    /// `manual`: every vendor step is a gate a person completes and confirms.
    Manual,
}

/// `spec.billingCenter.account`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingAccountSpec {
    /// `mode`.
    pub mode: AccountMode,
    /// `username`.
    pub username: String,
    /// `email`: where the verification code goes.
    pub email: String,
    /// `password`: register only.
    pub password: Option<SecretRef>,
    /// `company`: register only.
    pub company: Option<Company>,
}

/// `spec.billingCenter.account.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountMode {
    /// `register`: a new Billing Center account.
    Register,
    /// `bind`: an existing Billing Center account.
    Bind,
}

impl AccountMode {
    /// `register` or `bind`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Bind => "bind",
        }
    }
}

/// `spec.billingCenter.account.company`: details for registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    /// `name`.
    pub name: String,
    /// `country`.
    pub country: Option<String>,
    /// `phone`.
    pub phone: Option<String>,
}

/// A secret given by reference, resolved only when a call needs it.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `{ env: NAME }`: the value of an environment variable.
    Env(String),
    /// `{ file: PATH }`: the contents of a file (trailing newline removed).
    File(String),
}

impl SecretRef {
    /// The reference as text (`env:NAME`, `file:PATH`): what state and plans record.
    #[must_use]
    pub fn reference(&self) -> String {
        match self {
            Self::Env(n) => format!("env:{n}"),
            Self::File(p) => format!("file:{p}"),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({})", self.reference())
    }
}

/// `spec.workspace`: the vendor workspace the plan pays for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaasWorkspaceSpec {
    /// `name`: 1–64 characters.
    pub name: String,
    /// `language`.
    pub language: Language,
    /// `mode`.
    pub mode: WorkspaceMode,
}

/// `spec.workspace.language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// `en`.
    En,
    /// `zh`.
    Zh,
}

impl Language {
    /// `en` or `zh`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh",
        }
    }
}

/// `spec.workspace.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceMode {
    /// `create`: a new workspace.
    Create,
    /// `bind`: an existing workspace of the Billing Center account.
    Bind,
}

impl WorkspaceMode {
    /// `create` or `bind`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Bind => "bind",
        }
    }
}

impl MarketplaceSubscription {
    /// Where the field at `path` came from; else the closest enclosing field recorded, and
    /// finally `metadata.name`.
    #[must_use]
    pub fn origin(&self, path: &str) -> Option<&Origin> {
        let mut path = path;
        loop {
            if let Some(o) = self.origins.get(path) {
                return Some(o);
            }
            match path.rfind(['.', '[']) {
                Some(i) => path = &path[..i],
                None => return self.origins.get("metadata.name"),
            }
        }
    }
}
