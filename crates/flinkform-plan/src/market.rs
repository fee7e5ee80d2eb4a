//! Expansion of a `MarketplaceSubscription` (seed 002) into resources and gates.
//!
//! With the vendor connector (`connector: api`, the default):
//!
//! ```text
//! market_order.<s> ───────────────────────────────┐
//! billing_account.<s> ──▶ gate.verify-email.<s> ──┴─▶ settlement_binding.<s> ──▶ saas_workspace.<s>
//! ```
//!
//! The order and the Billing Center account are independent branches; only what needs the
//! verified account waits for the e-mail code. In manual mode (`connector: manual`) every
//! vendor step is a gate that says what to enter where:
//!
//! ```text
//! market_order.<s> ─────────────────────┐
//! gate.billing-account.<s> ─────────────┴─▶ gate.settlement.<s> ──▶ gate.workspace.<s>
//! ```
//!
//! Secrets stay references: the password becomes the attribute `password = "env:NAME"`.
//!
//! **Checks before the order.** An order cannot be undone, so [`check_before_order`] refuses
//! a plan that orders while the vendor facts the provider observed say a later vendor step
//! must fail: binding an account that does not exist or with another e-mail address,
//! registering a username that is taken, binding a workspace the account does not have. In
//! manual mode the vendor cannot be asked, which the plan says as a warning.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountName, Address, Attrs, BillingAccountFacts, DesiredResource, Mode, Observed, Origin,
    ResourceKind, Value,
};
use flinkform_spec::{
    AccountMode, ConnectorMode, Duration, MarketBilling, MarketplaceSubscription, WorkspaceMode,
};

use crate::error::{Error, at};
use crate::expand::Desired;
use crate::model::Op;

/// Placeholder of a gate's `account_uid` attribute: the executor puts the account's UID
/// (from the state's target) in its place before showing the instructions.
pub const ACCOUNT_UID_PLACEHOLDER: &str = "(the account's UID)";

/// The gate step names.
pub mod steps {
    /// The e-mail verification code of a Billing Center account (connector mode).
    pub const VERIFY_EMAIL: &str = "verify-email";
    /// Manual: register or bind the Billing Center account.
    pub const BILLING_ACCOUNT: &str = "billing-account";
    /// Manual: bind account ID and product Instance ID for settlement.
    pub const SETTLEMENT: &str = "settlement";
    /// Manual: create or bind the vendor workspace.
    pub const WORKSPACE: &str = "workspace";
}

/// The SKU of a product for a billing method: `<code>-postpay` or `<code>-prepay`.
#[must_use]
pub fn sku_code(code: &str, billing: MarketBilling) -> String {
    match billing {
        MarketBilling::PayAsYouGo => format!("{code}-postpay"),
        MarketBilling::Subscription(_) => format!("{code}-prepay"),
    }
}

struct Sub<'a> {
    s: &'a MarketplaceSubscription,
    origin: &'a Origin,
}

impl Sub<'_> {
    fn origin(&self, path: &str) -> Origin {
        self.s.origin(path).unwrap_or(self.origin).clone()
    }

    fn addr(&self, kind: ResourceKind, name: &str) -> Result<Address, Error> {
        Address::new(kind, name).map_err(|_| Error::BadAddress {
            at: at(Some(self.origin)),
            input: format!("{kind}.{name}"),
        })
    }

    fn resource(
        &self,
        addr: &Address,
        attrs: Attrs,
        extra_deps: &[&Address],
        path: &str,
    ) -> DesiredResource {
        let mut depends_on: BTreeSet<Address> =
            attrs.values().flat_map(Value::refs).cloned().collect();
        depends_on.extend(extra_deps.iter().map(|a| (*a).clone()));
        DesiredResource {
            addr: addr.clone(),
            mode: Mode::Managed,
            account: self.s.account.clone(),
            region: None,
            attrs,
            depends_on,
            // A gate protects nothing: passing it again is harmless.
            protect: self.s.protect && addr.kind() != ResourceKind::Gate,
            origin: Some(self.origin(path)),
        }
    }
}

fn attrs<const N: usize>(pairs: [(&str, Value); N]) -> Attrs {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Adds the resources of subscription `s` to `desired`.
///
/// # Errors
/// When its name does not fit into an address, when another document produces one of its
/// addresses, or when another subscription buys the same product in the same account.
pub fn expand_subscription(
    desired: &mut Desired,
    owner: &mut BTreeMap<Address, String>,
    s: &MarketplaceSubscription,
    origin: &Origin,
) -> Result<(), Error> {
    let d = Sub { s, origin };
    desired.accounts.entry(s.account.clone()).or_default();
    let name = s.name.as_str();
    let mut put = |r: DesiredResource| -> Result<(), Error> {
        if let Some(prev) = desired.resources.get(&r.addr) {
            let first = prev
                .origin
                .as_ref()
                .map(|o| format!(" (first at {o})"))
                .unwrap_or_default();
            return Err(Error::Conflict {
                at: at(r.origin.as_ref()),
                addr: r.addr.to_string(),
                detail: format!(
                    "subscription `{name}` and `{}`{first} both produce it",
                    owner.get(&r.addr).cloned().unwrap_or_default()
                ),
            });
        }
        if r.addr.kind() == ResourceKind::MarketOrder
            && let Some(other) = desired.resources.values().find(|o| {
                o.addr.kind() == ResourceKind::MarketOrder
                    && o.account == r.account
                    && o.attrs.get("product_code") == r.attrs.get("product_code")
            })
        {
            return Err(Error::Conflict {
                at: at(r.origin.as_ref()),
                addr: r.addr.to_string(),
                detail: format!(
                    "`{}` buys the same product in account `{}`; an account holds one instance of a \
                     product: keep one subscription",
                    other.addr, r.account
                ),
            });
        }
        owner.insert(r.addr.clone(), format!("subscription {name}"));
        desired.resources.insert(r.addr.clone(), r);
        Ok(())
    };

    // The Marketplace order.
    let order = d.addr(ResourceKind::MarketOrder, name)?;
    let (cycle, duration) = match s.product.billing {
        MarketBilling::PayAsYouGo => ("Month", 1),
        MarketBilling::Subscription(Duration::Months(n)) => ("Month", n),
        MarketBilling::Subscription(Duration::Years(n)) => ("Year", n),
    };
    let a = attrs([
        ("duration", Value::Int(i64::from(duration))),
        ("package_version", Value::str(&s.product.package_version)),
        ("pricing_cycle", Value::str(cycle)),
        ("product_code", Value::str(&s.product.code)),
        (
            "sku_code",
            Value::str(sku_code(&s.product.code, s.product.billing)),
        ),
    ]);
    put(d.resource(&order, a, &[], "spec.product.code"))?;
    let bc = &s.billing_center;
    let acct = &bc.account;
    let site = bc.site.as_str();
    let ws = &s.workspace;

    match bc.connector {
        ConnectorMode::Api => {
            let account = d.addr(ResourceKind::BillingAccount, name)?;
            let mut a = attrs([
                ("connector", Value::str("api")),
                ("email", Value::str(&acct.email)),
                ("mode", Value::str(acct.mode.as_str())),
                ("site", Value::str(site)),
                ("username", Value::str(&acct.username)),
            ]);
            if let Some(p) = &acct.password {
                a.insert("password".into(), Value::str(p.reference()));
            }
            if let Some(c) = &acct.company {
                a.insert("company".into(), Value::str(&c.name));
            }
            put(d.resource(&account, a, &[], "spec.billingCenter.account.username"))?;
            desired
                .attr_origins
                .entry(account.clone())
                .or_default()
                .insert(
                    "email".to_owned(),
                    d.origin("spec.billingCenter.account.email"),
                );

            let gate = d.addr(
                ResourceKind::Gate,
                &format!("{}.{name}", steps::VERIFY_EMAIL),
            )?;
            let what = match acct.mode {
                AccountMode::Register => "registering",
                AccountMode::Bind => "binding",
            };
            let instructions = format!(
                "The vendor sent a verification code to {} for {what} Billing Center account `{}`. \
                 Read the e-mail and resume with: flinkform apply --input {}=<code> <specs>",
                acct.email,
                acct.username,
                gate.name()
            );
            let a = attrs([
                ("instructions", Value::str(instructions)),
                ("step", Value::str(steps::VERIFY_EMAIL)),
                ("target", Value::reference(account.clone())),
            ]);
            put(d.resource(&gate, a, &[], "spec.billingCenter.account.email"))?;

            let binding = d.addr(ResourceKind::SettlementBinding, name)?;
            let a = attrs([
                ("billing_account_id", Value::reference(account.clone())),
                ("instance_id", Value::reference(order.clone())),
            ]);
            put(d.resource(&binding, a, &[&gate], "spec.billingCenter"))?;

            let saas = d.addr(ResourceKind::SaasWorkspace, name)?;
            let a = attrs([
                ("billing_account_id", Value::reference(account)),
                ("language", Value::str(ws.language.as_str())),
                ("mode", Value::str(ws.mode.as_str())),
                ("name", Value::str(&ws.name)),
                ("site", Value::str(site)),
            ]);
            put(d.resource(&saas, a, &[&gate, &binding], "spec.workspace.name"))?;
        }
        ConnectorMode::Manual => {
            let g1 = d.addr(
                ResourceKind::Gate,
                &format!("{}.{name}", steps::BILLING_ACCOUNT),
            )?;
            let text = match acct.mode {
                AccountMode::Register => format!(
                    "In the vendor's Billing Center ({site} site) register an account: username `{}`, \
                     e-mail {}{}{}, and confirm the verification code sent to that address. Then \
                     resume with: flinkform apply --input {}=done <specs>",
                    acct.username,
                    acct.email,
                    acct.company
                        .as_ref()
                        .map(|c| format!(", company `{}`", c.name))
                        .unwrap_or_default(),
                    acct.password
                        .as_ref()
                        .map(|p| format!(", the password from {}", p.reference()))
                        .unwrap_or_default(),
                    g1.name()
                ),
                AccountMode::Bind => format!(
                    "In the vendor's Billing Center ({site} site) bind the existing account `{}` \
                     (verified by the code sent to {}). Then resume with: flinkform apply --input \
                     {}=done <specs>",
                    acct.username,
                    acct.email,
                    g1.name()
                ),
            };
            let a = attrs([
                ("instructions", Value::str(text)),
                ("step", Value::str(steps::BILLING_ACCOUNT)),
                ("target", Value::str(format!("{site}/{}", acct.username))),
            ]);
            put(d.resource(&g1, a, &[], "spec.billingCenter.account"))?;

            let g2 = d.addr(ResourceKind::Gate, &format!("{}.{name}", steps::SETTLEMENT))?;
            let text = format!(
                "In the Billing Center, as `{}`, change the settlement method to Alibaba Cloud \
                 account billing: enter the Account ID and the Product Instance ID below. Then \
                 resume with: flinkform apply --input {}=done <specs>",
                acct.username,
                g2.name()
            );
            let a = attrs([
                ("account_uid", Value::str(ACCOUNT_UID_PLACEHOLDER)),
                ("instance_id", Value::reference(order.clone())),
                ("instructions", Value::str(text)),
                ("step", Value::str(steps::SETTLEMENT)),
                ("target", Value::reference(order)),
            ]);
            put(d.resource(&g2, a, &[&g1], "spec.billingCenter"))?;

            let g3 = d.addr(ResourceKind::Gate, &format!("{}.{name}", steps::WORKSPACE))?;
            let verb = match ws.mode {
                WorkspaceMode::Create => "create the workspace below",
                WorkspaceMode::Bind => "bind the existing workspace below",
            };
            let text = format!(
                "In the Billing Center, as `{}`, {verb} (workspace name and language as shown, \
                 site {site}). Then resume with: flinkform apply --input {}=done <specs>",
                acct.username,
                g3.name()
            );
            let a = attrs([
                ("instructions", Value::str(text)),
                ("language", Value::str(ws.language.as_str())),
                ("step", Value::str(steps::WORKSPACE)),
                (
                    "target",
                    Value::str(format!("{site}/{}/{}", acct.username, ws.name)),
                ),
                ("workspace", Value::str(&ws.name)),
            ]);
            put(d.resource(&g3, a, &[&g2], "spec.workspace.name"))?;
        }
    }
    Ok(())
}

/// Whether `account` appears in `desired` only through subscriptions (no Flink workspace):
/// its Flink facts (regions, zones) are then not needed.
#[must_use]
pub fn only_subscriptions(desired: &Desired, account: &AccountName) -> bool {
    desired
        .resources
        .values()
        .filter(|r| &r.account == account)
        .all(|r| {
            matches!(
                r.addr.kind(),
                ResourceKind::MarketOrder
                    | ResourceKind::BillingAccount
                    | ResourceKind::Gate
                    | ResourceKind::SettlementBinding
                    | ResourceKind::SaasWorkspace
            )
        })
}

/// The vendor checks before a Marketplace order (see the module documentation): for every
/// subscription whose plan places an order (`market_order.<s>` created or replaced), the
/// errors its vendor steps would meet after the order, from the facts the provider observed
/// (`observed.billing_accounts`), and a warning when the vendor could not be asked. Steps
/// that are done already (the account or workspace is this subscription's) are not checked.
#[must_use]
pub fn check_before_order(
    desired: &Desired,
    observed: &Observed,
    ops: &BTreeMap<&Address, Op>,
) -> (Vec<Error>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let is_new = |a: &Address| matches!(ops.get(a), Some(Op::Create | Op::Replace));
    for order in desired
        .resources
        .keys()
        .filter(|a| a.kind() == ResourceKind::MarketOrder && is_new(a))
    {
        let name = order.name();
        let addr = |kind, name: &str| Address::new(kind, name).ok();
        let account =
            addr(ResourceKind::BillingAccount, name).and_then(|a| desired.resources.get(&a));
        let Some(account) = account else {
            if let Some(gate) = addr(
                ResourceKind::Gate,
                &format!("{}.{name}", steps::BILLING_ACCOUNT),
            )
            .and_then(|g| desired.resources.get(&g))
            {
                let target = gate
                    .attrs
                    .get("target")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (site, username) = target.split_once('/').unwrap_or(("", target));
                warnings.push(format!(
                    "`{order}` is ordered without asking the vendor first (connector: manual): \
                     flinkform cannot check that Billing Center account `{username}` ({site} \
                     site) can be registered or bound, nor that a workspace to bind exists; an \
                     order cannot be undone, so check them in the vendor's Billing Center \
                     before applying"
                ));
            }
            continue;
        };
        let text = |k: &str| {
            account
                .attrs
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let (username, site, email) = (text("username"), text("site"), text("email"));
        let register = text("mode") == AccountMode::Register.as_str();
        let account_new = is_new(&account.addr);
        let workspace = addr(ResourceKind::SaasWorkspace, name)
            .and_then(|a| desired.resources.get(&a))
            .filter(|w| {
                is_new(&w.addr)
                    && w.attrs.get("mode") == Some(&Value::str(WorkspaceMode::Bind.as_str()))
            });
        if !account_new && workspace.is_none() {
            continue;
        }
        let origin = |a: &Address, attr: &str| at(desired.origin_of(a, attr));
        let order_s = order.to_string();
        match observed.billing_accounts.get(&account.addr) {
            None => warnings.push(format!(
                "`{order}` is ordered without asking the vendor first (no vendor connector is \
                 configured): flinkform cannot check that Billing Center account `{username}` \
                 ({site} site) can be {}{}; an order cannot be undone",
                if register { "registered" } else { "bound" },
                if workspace.is_some() {
                    ", nor that the workspace to bind exists"
                } else {
                    ""
                }
            )),
            Some(BillingAccountFacts::Missing) => {
                if account_new && !register {
                    errors.push(Error::BillingAccountMissing {
                        at: origin(&account.addr, "username"),
                        username: username.to_owned(),
                        site: site.to_owned(),
                        order: order_s.clone(),
                    });
                }
                if let Some(w) = workspace.filter(|_| register) {
                    errors.push(Error::VendorWorkspaceMissing {
                        at: origin(&w.addr, "name"),
                        name: w
                            .attrs
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        username: username.to_owned(),
                        why: " (this subscription registers the account, and a new account has no \
                              workspaces)"
                            .to_owned(),
                        order: order_s,
                    });
                }
            }
            Some(BillingAccountFacts::Exists {
                email_matches,
                workspaces,
            }) => {
                if account_new && register {
                    errors.push(Error::UsernameTaken {
                        at: origin(&account.addr, "username"),
                        username: username.to_owned(),
                        site: site.to_owned(),
                        order: order_s,
                    });
                    continue;
                }
                if account_new && !email_matches {
                    errors.push(Error::BillingAccountEmail {
                        at: origin(&account.addr, "email"),
                        email: email.to_owned(),
                        username: username.to_owned(),
                        order: order_s.clone(),
                    });
                }
                if let (Some(w), Some(names)) = (workspace, workspaces) {
                    let ws = w
                        .attrs
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !names.contains(ws) {
                        errors.push(Error::VendorWorkspaceMissing {
                            at: origin(&w.addr, "name"),
                            name: ws.to_owned(),
                            username: username.to_owned(),
                            why: String::new(),
                            order: order_s,
                        });
                    }
                }
            }
        }
    }
    (errors, warnings)
}
