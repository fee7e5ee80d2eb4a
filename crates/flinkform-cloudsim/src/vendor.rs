//! The emulated SaaS vendor's two HTTP faces, served on the emulator's listener:
//!
//! - `GET /_vendor/spi?action=...&token=...`: the provisioning endpoint the Marketplace
//!   calls (reference §4.2). Every call is verified: MD5 (lowercase hex) of the parameters
//!   other than `token`, sorted by name, joined `k=v&k=v`, followed by `&key=<ISV key>`.
//!   A bad token answers 403 `{"success":"false"}`.
//! - `/_vendor/connector/v1/...`: the Billing Center connector, JSON over HTTP with
//!   `Authorization: Bearer <connector key>` (contract: `specs/connector.md`).
//!
//! The world methods here are what tests and the CLI use: the outbox, the vendor summary,
//! accounts and workspaces that exist "before flinkform", and console mutations for drift.

use std::collections::{BTreeMap, BTreeSet};

use md5::{Digest as _, Md5};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::market::{
    BillingAccount, MarketInstanceInfo, OutboxMessage, SettlementBinding, Vendor, VendorInstance,
    VendorSummary, VendorWorkspace, code_key,
};
use crate::world::World;

/// Path prefix of everything the vendor serves.
pub(crate) const PREFIX: &str = "/_vendor/";

/// An HTTP answer: status, JSON body, and whether the world changed.
pub(crate) struct VendorResponse {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) mutated: bool,
}

pub(crate) fn answer(status: u16, body: Value, mutated: bool) -> VendorResponse {
    VendorResponse {
        status,
        body,
        mutated,
    }
}

pub(crate) fn problem(status: u16, code: &str, message: impl Into<String>) -> VendorResponse {
    answer(
        status,
        json!({ "error": { "code": code, "message": message.into() } }),
        false,
    )
}

/// The SPI token of `params` (every parameter but `token`) with `key`.
#[must_use]
pub(crate) fn spi_token(params: &BTreeMap<String, String>, key: &str) -> String {
    let joined = params
        .iter()
        .filter(|(k, _)| k.as_str() != "token")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Md5::digest(format!("{joined}&key={key}").as_bytes()))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl World {
    /// Generates the vendor's keys on first use.
    ///
    /// They derive from the world's id, so every copy of a world file (the one a
    /// standalone `sim serve` runs and the one a client reads) agrees on them.
    pub(crate) fn ensure_vendor_keys(&mut self) {
        if self.market.vendor.spi_key.is_empty() {
            self.market.vendor.spi_key = derived_key("spi", self.id());
        }
        if self.market.vendor.connector_key.is_empty() {
            self.market.vendor.connector_key = connector_key_of(self.id());
        }
    }

    /// The bearer token of the vendor's connector API (generated on first use).
    pub fn vendor_connector_key(&mut self) -> String {
        self.ensure_vendor_keys();
        self.market.vendor.connector_key.clone()
    }

    /// The vendor's ISV key, which signs SPI calls (generated on first use).
    pub fn vendor_spi_key(&mut self) -> String {
        self.ensure_vendor_keys();
        self.market.vendor.spi_key.clone()
    }

    /// Every e-mail the vendor sent, oldest first.
    #[must_use]
    pub fn outbox(&self) -> &[OutboxMessage] {
        &self.market.vendor.outbox
    }

    /// What the vendor holds (accounts, bindings, workspaces, SPI calls).
    #[must_use]
    pub fn vendor_summary(&self) -> VendorSummary {
        self.market.vendor.summary()
    }

    /// The Marketplace instances of the account with profile name `account`.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`] when there is no such account.
    pub fn market_instances(&self, account: &str) -> Result<Vec<MarketInstanceInfo>> {
        let uid = self.uid_of(account)?;
        Ok(self
            .market
            .instances
            .values()
            .filter(|i| i.uid == uid)
            .map(|i| MarketInstanceInfo {
                id: i.id.clone(),
                order_id: i.order_id.clone(),
                product_code: i.product_code.clone(),
                sku_code: i.sku_code.clone(),
                status: i.status.clone(),
            })
            .collect())
    }

    /// Marketplace orders placed by the account `account`.
    ///
    /// # Errors
    /// [`Error::UnknownAccount`] when there is no such account.
    pub fn market_orders(&self, account: &str) -> Result<usize> {
        let uid = self.uid_of(account)?;
        Ok(self.market.orders.values().filter(|o| o.uid == uid).count())
    }

    fn uid_of(&self, account: &str) -> Result<String> {
        self.accounts
            .values()
            .find(|a| a.name == account)
            .map(|a| a.uid.clone())
            .ok_or_else(|| Error::UnknownAccount(account.to_owned()))
    }

    /// A Billing Center account that exists before flinkform (its registration is
    /// confirmed; no Alibaba Cloud account has verified it for binding yet); returns its id.
    pub fn vendor_seed_account(&mut self, site: &str, username: &str, email: &str) -> String {
        let v = &mut self.market.vendor;
        if let Some(a) = v
            .accounts
            .values()
            .find(|a| a.site == site && a.username == username)
        {
            return a.id.clone();
        }
        let id = v.next_id("bca");
        v.accounts.insert(
            id.clone(),
            BillingAccount {
                id: id.clone(),
                site: site.to_owned(),
                username: username.to_owned(),
                email: email.to_owned(),
                company: None,
                password_sha256: None,
                status: "active".to_owned(),
                verified_uids: BTreeSet::new(),
            },
        );
        id
    }

    /// A workspace of the Billing Center account `username` that exists before flinkform
    /// (not bound for settlement); returns its id.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such account.
    pub fn vendor_seed_workspace(
        &mut self,
        site: &str,
        username: &str,
        name: &str,
        language: &str,
    ) -> Result<String> {
        let v = &mut self.market.vendor;
        let account = v
            .accounts
            .values()
            .find(|a| a.site == site && a.username == username)
            .map(|a| a.id.clone())
            .ok_or_else(|| Error::NotFound {
                kind: "Billing Center account",
                name: username.to_owned(),
                account: "(vendor)".to_owned(),
            })?;
        let id = v.next_id("ws");
        v.workspaces.insert(
            id.clone(),
            VendorWorkspace {
                id: id.clone(),
                billing_account_id: account,
                name: name.to_owned(),
                language: language.to_owned(),
                site: site.to_owned(),
                bound: false,
            },
        );
        Ok(id)
    }

    /// Console: the Marketplace instance `instance_id` expires (the Marketplace tells the
    /// vendor with `expiredInstance`).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such instance.
    pub fn console_expire_market_instance(&mut self, instance_id: &str) -> Result<()> {
        self.end_market_instance(instance_id, "EXPIRED", "expiredInstance")
    }

    /// Console: the Marketplace instance `instance_id` is released (unsubscribed; the
    /// vendor hears `releaseInstance`).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such instance.
    pub fn console_release_market_instance(&mut self, instance_id: &str) -> Result<()> {
        self.end_market_instance(instance_id, "CLOSED", "releaseInstance")
    }

    fn end_market_instance(&mut self, instance_id: &str, status: &str, action: &str) -> Result<()> {
        let now = self.now_ms();
        let inst = self
            .market
            .instances
            .get_mut(instance_id)
            .ok_or_else(|| Error::NotFound {
                kind: "Marketplace instance",
                name: instance_id.to_owned(),
                account: "(any)".to_owned(),
            })?;
        inst.status = status.to_owned();
        inst.end_ms = inst.end_ms.min(now);
        let mut params = BTreeMap::new();
        params.insert("action".to_owned(), action.to_owned());
        params.insert("instanceId".to_owned(), instance_id.to_owned());
        self.call_spi(params);
        Ok(())
    }

    /// Console (vendor side): the settlement binding of `instance_id` is removed.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none.
    pub fn console_remove_settlement_binding(&mut self, instance_id: &str) -> Result<()> {
        let v = &mut self.market.vendor;
        let before = v.bindings.len();
        v.bindings.retain(|_, b| b.instance_id != instance_id);
        if v.bindings.len() == before {
            return Err(Error::NotFound {
                kind: "settlement binding of instance",
                name: instance_id.to_owned(),
                account: "(vendor)".to_owned(),
            });
        }
        Ok(())
    }

    /// Console (vendor side): the workspace called `name` is renamed to `new_name`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none.
    pub fn console_rename_vendor_workspace(&mut self, name: &str, new_name: &str) -> Result<()> {
        let ws = self
            .market
            .vendor
            .workspaces
            .values_mut()
            .find(|w| w.name == name)
            .ok_or_else(|| Error::NotFound {
                kind: "vendor workspace",
                name: name.to_owned(),
                account: "(vendor)".to_owned(),
            })?;
        new_name.clone_into(&mut ws.name);
        Ok(())
    }

    /// The Marketplace calls the vendor's SPI: signs `params` with the ISV key and hands
    /// them to the same handler `GET /_vendor/spi` uses, which verifies the token.
    pub(crate) fn call_spi(&mut self, mut params: BTreeMap<String, String>) -> VendorResponse {
        self.ensure_vendor_keys();
        let token = spi_token(&params, &self.market.vendor.spi_key);
        params.insert("token".to_owned(), token);
        self.handle_spi(&params)
    }

    /// The vendor's SPI endpoint.
    pub(crate) fn handle_spi(&mut self, params: &BTreeMap<String, String>) -> VendorResponse {
        self.ensure_vendor_keys();
        let expected = spi_token(params, &self.market.vendor.spi_key);
        if params.get("token").map(String::as_str) != Some(expected.as_str()) {
            return answer(
                403,
                json!({ "success": "false", "message": "invalid token" }),
                false,
            );
        }
        let get = |k: &str| params.get(k).cloned().unwrap_or_default();
        let action = get("action");
        *self
            .market
            .vendor
            .spi_calls
            .entry(action.clone())
            .or_default() += 1;
        let v = &mut self.market.vendor;
        match action.as_str() {
            "createInstance" => {
                let id = get("orderBizId");
                if id.is_empty() {
                    return answer(400, json!({ "instanceId": "0" }), true);
                }
                v.instances.entry(id.clone()).or_insert(VendorInstance {
                    instance_id: id.clone(),
                    ali_uid: get("aliUid"),
                    order_id: get("orderId"),
                    product_code: get("productCode"),
                    sku_id: get("skuId"),
                    status: "active".to_owned(),
                });
                answer(
                    200,
                    json!({
                        "instanceId": id,
                        "appInfo": {
                            "frontEndUrl": format!("https://console.vendor.example/market/{id}"),
                            "authUrl": format!("https://console.vendor.example/market/sso?instance={id}")
                        }
                    }),
                    true,
                )
            }
            "expiredInstance" | "releaseInstance" | "renewInstance" | "upgradeInstance" => {
                let id = get("instanceId");
                let Some(inst) = v.instances.get_mut(&id) else {
                    return answer(404, json!({ "success": "false" }), false);
                };
                match action.as_str() {
                    "expiredInstance" => "expired".clone_into(&mut inst.status),
                    "releaseInstance" => "released".clone_into(&mut inst.status),
                    "renewInstance" => "active".clone_into(&mut inst.status),
                    _ => inst.sku_id = get("skuId"),
                }
                answer(200, json!({ "success": "true" }), true)
            }
            "verify" => answer(200, json!({ "success": "true" }), false),
            _ => answer(
                400,
                json!({ "success": "false", "message": "unknown action" }),
                false,
            ),
        }
    }

    /// Serves a request under [`PREFIX`].
    pub(crate) fn handle_vendor_http(
        &mut self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        authorization: Option<&str>,
        body: &[u8],
    ) -> VendorResponse {
        if path == "/_vendor/spi" {
            if method != "GET" {
                return problem(405, "method_not_allowed", "the SPI is called with GET");
            }
            let params: BTreeMap<String, String> = query.iter().cloned().collect();
            return self.handle_spi(&params);
        }
        let Some(rest) = path.strip_prefix("/_vendor/connector/v1/") else {
            return problem(404, "not_found", format!("no vendor route `{path}`"));
        };
        self.ensure_vendor_keys();
        let expected = format!("Bearer {}", self.market.vendor.connector_key);
        if authorization != Some(expected.as_str()) {
            return problem(
                401,
                "unauthorized",
                "missing or wrong `Authorization: Bearer <connector key>`",
            );
        }
        let input: Value = if body.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return problem(400, "bad_json", format!("the body is not JSON: {e}")),
            }
        };
        let q: BTreeMap<&str, &str> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let now = self.now_ms();
        crate::connector::route(self, method, &segments, &q, &input, now)
    }

    /// Sends a verification code for account `id`, asked for by `uid`, to its address.
    pub(crate) fn send_vendor_code(&mut self, id: &str, uid: &str, purpose: &str, now: i64) {
        let code = self.digits(6);
        self.market.vendor.send_code(id, uid, purpose, code, now);
    }
}

/// JSON of an account, as the connector shows it to `uid` (never the password hash, never
/// the other UIDs that verified it): with a UID, `verifiedForUid` and `pendingForUid` say
/// whether that UID verified the account and whether a code it asked for is waiting.
pub(crate) fn account_json(v: &Vendor, a: &BillingAccount, uid: Option<&str>) -> Value {
    let mut j = json!({
        "id": a.id,
        "site": a.site,
        "username": a.username,
        "email": a.email,
        "company": a.company,
        "status": a.status,
        "bound": a.bound(),
    });
    if let (Some(uid), Some(obj)) = (uid, j.as_object_mut()) {
        obj.insert("verifiedForUid".to_owned(), json!(a.verified_for(uid)));
        obj.insert(
            "pendingForUid".to_owned(),
            json!(v.pending_codes.contains_key(&code_key(&a.id, uid))),
        );
    }
    j
}

/// JSON of a settlement binding.
pub(crate) fn binding_json(b: &SettlementBinding) -> Value {
    json!({
        "id": b.id,
        "billingAccountId": b.billing_account_id,
        "aliUid": b.ali_uid,
        "instanceId": b.instance_id,
    })
}

/// JSON of a workspace.
pub(crate) fn workspace_json(w: &VendorWorkspace) -> Value {
    json!({
        "id": w.id,
        "billingAccountId": w.billing_account_id,
        "name": w.name,
        "language": w.language,
        "site": w.site,
        "bound": w.bound,
    })
}

/// The stored form of a password.
pub(crate) fn password_digest(password: &str) -> String {
    sha256_hex(password)
}

/// A vendor key of the world `world_id` (`what`: `spi`, `connector`).
fn derived_key(what: &str, world_id: &str) -> String {
    let h = sha256_hex(&format!("flinkform-vendor:{what}:{world_id}"));
    h[..32].to_owned()
}

/// The connector key the world `world_id` derives when it has none yet.
pub(crate) fn connector_key_of(world_id: &str) -> String {
    format!("vck-{}", derived_key("connector", world_id))
}
