//! The emulated Alibaba Cloud Marketplace (buyer side, market 2015-11-01) and the emulated
//! SaaS vendor behind it: orders and product instances per account, and the vendor's state
//! (SPI-provisioned instances, Billing Center accounts, settlement bindings, workspaces,
//! and the outbox where verification e-mails land).
//!
//! Emulator choices for what the reference leaves UNCONFIRMED (documented in
//! `specs/connector.md` and the crate documentation):
//! - pay-as-you-go activation is `CreateOrder` with the `<code>-postpay` SKU; it is paid at
//!   once (`PayStatus: PAID`) and nothing is charged;
//! - when an order is placed the Marketplace calls the vendor's SPI in-process, through
//!   the same function that serves `GET /_vendor/spi`, with a signed query (MD5 over the
//!   sorted parameters + `&key=<vendor key>`, lowercase hex); the vendor verifies it;
//! - a successful `createInstance` makes the instance `OPENED` at once; an expired instance
//!   is `EXPIRED` (SPI `expiredInstance`), a released one `CLOSED` (SPI `releaseInstance`
//!   with `instanceId`);
//! - unknown order or instance ids answer 500 `UnknownError`, as the reference samples show.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Everything Marketplace-related in a world.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct MarketWorld {
    /// Last number handed out for order and instance ids.
    #[serde(default)]
    pub(crate) counter: u64,
    /// Orders by id.
    #[serde(default)]
    pub(crate) orders: BTreeMap<String, MarketOrder>,
    /// Product instances by id.
    #[serde(default)]
    pub(crate) instances: BTreeMap<String, MarketInstance>,
    /// `<uid>:<ClientToken>` → order id.
    #[serde(default)]
    pub(crate) tokens: BTreeMap<String, String>,
    /// The SaaS vendor.
    #[serde(default)]
    pub(crate) vendor: Vendor,
}

/// One order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MarketOrder {
    pub(crate) id: String,
    pub(crate) uid: String,
    pub(crate) product_code: String,
    pub(crate) sku_code: String,
    pub(crate) package_version: String,
    pub(crate) pricing_cycle: String,
    pub(crate) duration: i64,
    pub(crate) instance_id: String,
    pub(crate) created_ms: i64,
    /// The `Commodity` JSON as sent, canonicalised (for token mismatch checks).
    pub(crate) commodity: String,
}

/// One product instance ("Purchased Services").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MarketInstance {
    pub(crate) id: String,
    pub(crate) order_id: String,
    pub(crate) uid: String,
    pub(crate) product_code: String,
    pub(crate) sku_code: String,
    pub(crate) package_version: String,
    /// `OPENING`, `OPENED`, `EXPIRED`, `CLOSED`.
    pub(crate) status: String,
    pub(crate) began_ms: i64,
    pub(crate) end_ms: i64,
    pub(crate) created_ms: i64,
    /// `appInfo` the vendor returned from `createInstance`, as JSON text.
    pub(crate) app_json: String,
}

/// The emulated SaaS vendor.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Vendor {
    /// The ISV security key the Marketplace signs SPI calls with.
    #[serde(default)]
    pub(crate) spi_key: String,
    /// The bearer token of the connector API.
    #[serde(default)]
    pub(crate) connector_key: String,
    /// Last number handed out for vendor ids and codes.
    #[serde(default)]
    pub(crate) counter: u64,
    /// Instances provisioned through the SPI, by Marketplace instance id (`orderBizId`).
    #[serde(default)]
    pub(crate) instances: BTreeMap<String, VendorInstance>,
    /// Billing Center accounts by id.
    #[serde(default)]
    pub(crate) accounts: BTreeMap<String, BillingAccount>,
    /// Settlement bindings by id.
    #[serde(default)]
    pub(crate) bindings: BTreeMap<String, SettlementBinding>,
    /// Workspaces by id.
    #[serde(default)]
    pub(crate) workspaces: BTreeMap<String, VendorWorkspace>,
    /// E-mails sent, oldest first.
    #[serde(default)]
    pub(crate) outbox: Vec<OutboxMessage>,
    /// Verification codes not used yet: `<account id>/<aliUid>` → code. Verification is per
    /// Alibaba Cloud account: the code a UID asked for verifies the account for that UID only.
    #[serde(default)]
    pub(crate) pending_codes: BTreeMap<String, String>,
    /// SPI calls received, by action (`createInstance`), for tests.
    #[serde(default)]
    pub(crate) spi_calls: BTreeMap<String, u64>,
}

/// What the vendor knows of a Marketplace instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VendorInstance {
    pub(crate) instance_id: String,
    pub(crate) ali_uid: String,
    pub(crate) order_id: String,
    pub(crate) product_code: String,
    pub(crate) sku_id: String,
    /// `active`, `expired`, `released`.
    pub(crate) status: String,
}

/// A Billing Center account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BillingAccount {
    pub(crate) id: String,
    pub(crate) site: String,
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) company: Option<String>,
    /// SHA-256 (hex) of the password; the password itself is never kept.
    pub(crate) password_sha256: Option<String>,
    /// `pending_verification` (registered, e-mail not confirmed yet) or `active`.
    pub(crate) status: String,
    /// The Alibaba Cloud accounts (UIDs) that proved, with a code sent to the account's
    /// e-mail address, that they may bind it; only they may bind instances for settlement
    /// and create or bind workspaces under it.
    #[serde(default)]
    pub(crate) verified_uids: BTreeSet<String>,
}

impl BillingAccount {
    /// Whether `uid` verified this account.
    pub(crate) fn verified_for(&self, uid: &str) -> bool {
        self.verified_uids.contains(uid)
    }

    /// Whether any Alibaba Cloud account verified it (the connector's `bound`).
    pub(crate) fn bound(&self) -> bool {
        !self.verified_uids.is_empty()
    }
}

/// The key of a pending verification code: the account and the UID that asked for it.
pub(crate) fn code_key(account_id: &str, uid: &str) -> String {
    format!("{account_id}/{uid}")
}

/// A settlement binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SettlementBinding {
    pub(crate) id: String,
    pub(crate) billing_account_id: String,
    pub(crate) ali_uid: String,
    pub(crate) instance_id: String,
}

/// A vendor workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VendorWorkspace {
    pub(crate) id: String,
    pub(crate) billing_account_id: String,
    pub(crate) name: String,
    pub(crate) language: String,
    pub(crate) site: String,
    /// Bound to the Billing Center account for settlement.
    pub(crate) bound: bool,
}

/// One e-mail in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Sequence number, from 1.
    pub id: u64,
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// The verification code it carries.
    pub code: String,
    /// What the code is for (`register ops-team`, `bind ops-team`).
    pub purpose: String,
    /// Cloud time it was sent (epoch ms).
    pub sent_ms: i64,
}

/// A read-only view of one Marketplace instance, for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarketInstanceInfo {
    /// Instance id.
    pub id: String,
    /// Order id.
    pub order_id: String,
    /// Product code.
    pub product_code: String,
    /// SKU.
    pub sku_code: String,
    /// `OPENED`, `EXPIRED`, `CLOSED`, ...
    pub status: String,
}

/// A read-only view of the vendor, for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VendorSummary {
    /// Billing Center accounts: username → status.
    pub accounts: BTreeMap<String, String>,
    /// Billing Center accounts: username → the UIDs that verified it.
    pub verified_uids: BTreeMap<String, BTreeSet<String>>,
    /// Settlement bindings: (billing account username, instance id).
    pub bindings: BTreeSet<(String, String)>,
    /// Workspaces: name → (owner username, language, bound).
    pub workspaces: BTreeMap<String, (String, String, bool)>,
    /// SPI calls received by action.
    pub spi_calls: BTreeMap<String, u64>,
}

impl Vendor {
    /// A fresh vendor id with `prefix`.
    pub(crate) fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{:06}", self.counter)
    }

    /// Sends a verification code for `account_id`, asked for by `uid`, to the account's
    /// e-mail address (a newer code for the same account and UID replaces the older one).
    pub(crate) fn send_code(
        &mut self,
        account_id: &str,
        uid: &str,
        purpose: &str,
        code: String,
        now: i64,
    ) {
        let Some(acct) = self.accounts.get(account_id) else {
            return;
        };
        let to = acct.email.clone();
        self.outbox.push(OutboxMessage {
            id: self.outbox.len() as u64 + 1,
            to,
            subject: format!("Your Billing Center verification code: {code}"),
            code: code.clone(),
            purpose: purpose.to_owned(),
            sent_ms: now,
        });
        self.pending_codes.insert(code_key(account_id, uid), code);
    }

    /// The summary tests read.
    pub(crate) fn summary(&self) -> VendorSummary {
        let username = |id: &str| {
            self.accounts
                .get(id)
                .map_or_else(String::new, |a| a.username.clone())
        };
        VendorSummary {
            accounts: self
                .accounts
                .values()
                .map(|a| (a.username.clone(), a.status.clone()))
                .collect(),
            verified_uids: self
                .accounts
                .values()
                .map(|a| (a.username.clone(), a.verified_uids.clone()))
                .collect(),
            bindings: self
                .bindings
                .values()
                .map(|b| (username(&b.billing_account_id), b.instance_id.clone()))
                .collect(),
            workspaces: self
                .workspaces
                .values()
                .map(|w| {
                    (
                        w.name.clone(),
                        (username(&w.billing_account_id), w.language.clone(), w.bound),
                    )
                })
                .collect(),
            spi_calls: self.spi_calls.clone(),
        }
    }
}
