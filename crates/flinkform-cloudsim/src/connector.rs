//! The emulated vendor's Billing Center connector: the routes of `specs/connector.md`
//! (`/_vendor/connector/v1/...`), on the world's vendor state. Authentication happened in
//! [`World::handle_vendor_http`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::market::{BillingAccount, SettlementBinding, VendorWorkspace, code_key};
use crate::vendor::{
    VendorResponse, account_json, answer, binding_json, password_digest, problem, workspace_json,
};
use crate::world::World;

fn field<'a>(input: &'a Value, name: &str) -> Result<&'a str, VendorResponse> {
    input
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            problem(
                400,
                "missing_field",
                format!("the body needs a non-empty string `{name}`"),
            )
        })
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// Routes one connector request.
pub(crate) fn route(
    world: &mut World,
    method: &str,
    segments: &[&str],
    query: &BTreeMap<&str, &str>,
    input: &Value,
    now: i64,
) -> VendorResponse {
    match (method, segments) {
        ("POST", ["billing-accounts"]) => register(world, input, now),
        ("POST", ["billing-accounts", "bind"]) => bind_account(world, input, now),
        ("POST", ["billing-accounts", id, "verify"]) => verify(world, id, input),
        ("POST", ["billing-accounts", id, "resend"]) => resend(world, id, input, now),
        ("GET", ["billing-accounts"]) => {
            let v = &world.market.vendor;
            let uid = query.get("aliUid").copied();
            let items: Vec<Value> = v
                .accounts
                .values()
                .filter(|a| query.get("site").is_none_or(|s| *s == a.site))
                .filter(|a| query.get("username").is_none_or(|u| *u == a.username))
                .map(|a| account_json(v, a, uid))
                .collect();
            answer(200, json!({ "items": items }), false)
        }
        ("GET", ["billing-accounts", id]) => match world.market.vendor.accounts.get(*id) {
            Some(a) => answer(
                200,
                account_json(&world.market.vendor, a, query.get("aliUid").copied()),
                false,
            ),
            None => problem(
                404,
                "not_found",
                format!("no Billing Center account `{id}`"),
            ),
        },
        ("POST", ["settlement-bindings"]) => bind_settlement(world, input),
        ("GET", ["settlement-bindings"]) => {
            let items: Vec<Value> = world
                .market
                .vendor
                .bindings
                .values()
                .filter(|b| {
                    query
                        .get("billingAccountId")
                        .is_none_or(|a| *a == b.billing_account_id)
                })
                .map(binding_json)
                .collect();
            answer(200, json!({ "items": items }), false)
        }
        ("GET", ["settlement-bindings", id]) => match world.market.vendor.bindings.get(*id) {
            Some(b) => answer(200, binding_json(b), false),
            None => problem(404, "not_found", format!("no settlement binding `{id}`")),
        },
        ("DELETE", ["settlement-bindings", id]) => match world.market.vendor.bindings.remove(*id) {
            Some(_) => answer(200, json!({ "released": id }), true),
            None => problem(404, "not_found", format!("no settlement binding `{id}`")),
        },
        ("POST", ["workspaces"]) => create_workspace(world, input),
        ("POST", ["workspaces", "bind"]) => bind_workspace(world, input),
        ("GET", ["workspaces"]) => {
            let items: Vec<Value> = world
                .market
                .vendor
                .workspaces
                .values()
                .filter(|w| {
                    query
                        .get("billingAccountId")
                        .is_none_or(|a| *a == w.billing_account_id)
                })
                .map(workspace_json)
                .collect();
            answer(200, json!({ "items": items }), false)
        }
        ("GET", ["workspaces", id]) => match world.market.vendor.workspaces.get(*id) {
            Some(w) => answer(200, workspace_json(w), false),
            None => problem(404, "not_found", format!("no workspace `{id}`")),
        },
        ("PATCH", ["workspaces", id]) => update_workspace(world, id, input),
        ("DELETE", ["workspaces", id]) => {
            let unbind = query.get("unbind") == Some(&"true");
            let v = &mut world.market.vendor;
            if unbind {
                match v.workspaces.get_mut(*id) {
                    Some(w) => {
                        w.bound = false;
                        answer(200, json!({ "unbound": id }), true)
                    }
                    None => problem(404, "not_found", format!("no workspace `{id}`")),
                }
            } else {
                match v.workspaces.remove(*id) {
                    Some(_) => answer(200, json!({ "deleted": id }), true),
                    None => problem(404, "not_found", format!("no workspace `{id}`")),
                }
            }
        }
        _ => problem(
            404,
            "not_found",
            format!("no connector route {method} /{}", segments.join("/")),
        ),
    }
}

fn site_of(input: &Value) -> Result<&str, VendorResponse> {
    let site = field(input, "site")?;
    if site == "intl" || site == "china" {
        Ok(site)
    } else {
        Err(problem(
            400,
            "invalid_site",
            format!("`{site}` is not a site (`intl` or `china`)"),
        ))
    }
}

/// The caller's Alibaba Cloud account ID (`aliUid`): digits.
fn ali_uid(input: &Value) -> Result<&str, VendorResponse> {
    let uid = field(input, "aliUid")?;
    if uid.chars().all(|c| c.is_ascii_digit()) {
        Ok(uid)
    } else {
        Err(problem(
            400,
            "invalid_uid",
            format!("`{uid}` is not an Alibaba Cloud account ID"),
        ))
    }
}

fn register(world: &mut World, input: &Value, now: i64) -> VendorResponse {
    let site = tri!(site_of(input)).to_owned();
    let uid = tri!(ali_uid(input)).to_owned();
    let username = tri!(field(input, "username")).to_owned();
    let email = tri!(field(input, "email")).to_owned();
    let password = tri!(field(input, "password"));
    if password.chars().count() < 8 {
        return problem(
            400,
            "weak_password",
            "the password needs at least 8 characters",
        );
    }
    let digest = password_digest(password);
    let company = input
        .get("company")
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if company.is_none() {
        return problem(400, "missing_field", "registration needs `company.name`");
    }
    let v = &mut world.market.vendor;
    if let Some(a) = v
        .accounts
        .values()
        .find(|a| a.site == site && a.username == username)
    {
        // The same registration again by the same UID (a retry): answer the pending account.
        if a.email == email
            && a.status == "pending_verification"
            && v.pending_codes.contains_key(&code_key(&a.id, &uid))
        {
            return answer(200, account_json(v, a, Some(&uid)), false);
        }
        return problem(
            409,
            "username_taken",
            format!("username `{username}` is taken on the {site} site"),
        );
    }
    let id = v.next_id("bca");
    v.accounts.insert(
        id.clone(),
        BillingAccount {
            id: id.clone(),
            site,
            username: username.clone(),
            email,
            company,
            password_sha256: Some(digest),
            status: "pending_verification".to_owned(),
            verified_uids: BTreeSet::new(),
        },
    );
    world.send_vendor_code(&id, &uid, &format!("register {username}"), now);
    let v = &world.market.vendor;
    answer(201, account_json(v, &v.accounts[&id], Some(&uid)), true)
}

/// Binding an existing account to the calling Alibaba Cloud account: the account's e-mail
/// address gets a code for this UID, unless this UID verified the account already. That
/// another UID verified it changes nothing: verification is per UID.
fn bind_account(world: &mut World, input: &Value, now: i64) -> VendorResponse {
    let site = tri!(site_of(input)).to_owned();
    let username = tri!(field(input, "username")).to_owned();
    let email = tri!(field(input, "email")).to_owned();
    let uid = tri!(ali_uid(input)).to_owned();
    let v = &world.market.vendor;
    let Some(a) = v
        .accounts
        .values()
        .find(|a| a.site == site && a.username == username)
    else {
        return problem(
            404,
            "not_found",
            format!("no Billing Center account `{username}` on the {site} site"),
        );
    };
    if a.email != email {
        return problem(
            400,
            "email_mismatch",
            format!("`{email}` is not the e-mail address of account `{username}`"),
        );
    }
    let id = a.id.clone();
    if a.verified_for(&uid) {
        return answer(200, account_json(v, a, Some(&uid)), false);
    }
    world.send_vendor_code(&id, &uid, &format!("bind {username}"), now);
    let v = &world.market.vendor;
    answer(200, account_json(v, &v.accounts[&id], Some(&uid)), true)
}

/// The code this UID was sent verifies the account for this UID (and confirms a pending
/// registration).
fn verify(world: &mut World, id: &str, input: &Value) -> VendorResponse {
    let code = tri!(field(input, "code"));
    let uid = tri!(ali_uid(input)).to_owned();
    let v = &mut world.market.vendor;
    let Some(a) = v.accounts.get_mut(id) else {
        return problem(
            404,
            "not_found",
            format!("no Billing Center account `{id}`"),
        );
    };
    let key = code_key(id, &uid);
    if a.status == "active" && a.verified_for(&uid) {
        let a = &v.accounts[id];
        return answer(200, account_json(v, a, Some(&uid)), false);
    }
    if v.pending_codes.get(&key).map(String::as_str) != Some(code) {
        return problem(
            400,
            "invalid_code",
            "the verification code is wrong, was replaced by a newer one, or was sent to \
             another Alibaba Cloud account's request",
        );
    }
    "active".clone_into(&mut a.status);
    a.verified_uids.insert(uid.clone());
    v.pending_codes.remove(&key);
    let a = &v.accounts[id];
    answer(200, account_json(v, a, Some(&uid)), true)
}

fn resend(world: &mut World, id: &str, input: &Value, now: i64) -> VendorResponse {
    let uid = tri!(ali_uid(input)).to_owned();
    let Some(a) = world.market.vendor.accounts.get(id) else {
        return problem(
            404,
            "not_found",
            format!("no Billing Center account `{id}`"),
        );
    };
    let purpose = format!("verify {}", a.username);
    world.send_vendor_code(id, &uid, &purpose, now);
    answer(200, json!({ "sent": true }), true)
}

/// The account `id`, when `uid` verified it: what settlement bindings and workspaces need.
fn verified_account<'a>(
    world: &'a World,
    id: &str,
    uid: &str,
) -> Result<&'a BillingAccount, VendorResponse> {
    match world.market.vendor.accounts.get(id) {
        Some(a) if a.status == "active" && a.verified_for(uid) => Ok(a),
        Some(_) => Err(problem(
            409,
            "not_verified",
            format!(
                "Billing Center account `{id}` is not verified for Alibaba Cloud account {uid}: \
                 bind it and enter the code sent to its e-mail address first"
            ),
        )),
        None => Err(problem(
            404,
            "not_found",
            format!("no Billing Center account `{id}`"),
        )),
    }
}

fn bind_settlement(world: &mut World, input: &Value) -> VendorResponse {
    let account_id = tri!(field(input, "billingAccountId")).to_owned();
    let ali_uid = tri!(ali_uid(input)).to_owned();
    let instance_id = tri!(field(input, "instanceId")).to_owned();
    tri!(verified_account(world, &account_id, &ali_uid));
    let v = &mut world.market.vendor;
    match v.instances.get(&instance_id) {
        None => {
            return problem(
                400,
                "unknown_instance",
                format!("product instance `{instance_id}` was never provisioned to this vendor"),
            );
        }
        Some(i) if i.ali_uid != ali_uid => {
            return problem(
                400,
                "account_mismatch",
                format!(
                    "product instance `{instance_id}` belongs to another Alibaba Cloud account"
                ),
            );
        }
        Some(i) if i.status != "active" => {
            return problem(
                409,
                "instance_inactive",
                format!("product instance `{instance_id}` is {}", i.status),
            );
        }
        Some(_) => {}
    }
    if let Some(b) = v.bindings.values().find(|b| b.instance_id == instance_id) {
        if b.billing_account_id == account_id {
            return answer(200, binding_json(b), false);
        }
        return problem(
            409,
            "instance_bound",
            format!("product instance `{instance_id}` is bound to another Billing Center account"),
        );
    }
    let id = v.next_id("stb");
    let b = SettlementBinding {
        id: id.clone(),
        billing_account_id: account_id,
        ali_uid,
        instance_id,
    };
    let body = binding_json(&b);
    v.bindings.insert(id, b);
    answer(201, body, true)
}

fn language(input: &Value) -> Result<&str, VendorResponse> {
    let l = field(input, "language")?;
    if l == "en" || l == "zh" {
        Ok(l)
    } else {
        Err(problem(
            400,
            "invalid_language",
            format!("`{l}` is not a language (`en` or `zh`)"),
        ))
    }
}

fn create_workspace(world: &mut World, input: &Value) -> VendorResponse {
    let account_id = tri!(field(input, "billingAccountId")).to_owned();
    let name = tri!(field(input, "name")).to_owned();
    let lang = tri!(language(input)).to_owned();
    let site = tri!(site_of(input)).to_owned();
    let uid = tri!(ali_uid(input)).to_owned();
    let acct = tri!(verified_account(world, &account_id, &uid));
    if acct.site != site {
        return problem(
            400,
            "site_mismatch",
            format!("the account is on the {} site, not {site}", acct.site),
        );
    }
    let v = &mut world.market.vendor;
    if let Some(w) = v
        .workspaces
        .values()
        .find(|w| w.billing_account_id == account_id && w.name == name)
    {
        return problem(
            409,
            "workspace_exists",
            format!("workspace `{name}` exists already ({})", w.id),
        );
    }
    let id = v.next_id("ws");
    let w = VendorWorkspace {
        id: id.clone(),
        billing_account_id: account_id,
        name,
        language: lang,
        site,
        bound: true,
    };
    let body = workspace_json(&w);
    v.workspaces.insert(id, w);
    answer(201, body, true)
}

fn bind_workspace(world: &mut World, input: &Value) -> VendorResponse {
    let account_id = tri!(field(input, "billingAccountId")).to_owned();
    let name = tri!(field(input, "name")).to_owned();
    let uid = tri!(ali_uid(input)).to_owned();
    tri!(verified_account(world, &account_id, &uid));
    let v = &mut world.market.vendor;
    let Some(w) = v
        .workspaces
        .values_mut()
        .find(|w| w.billing_account_id == account_id && w.name == name)
    else {
        return problem(
            404,
            "not_found",
            format!("the Billing Center account has no workspace `{name}`"),
        );
    };
    let mutated = !w.bound;
    w.bound = true;
    answer(200, workspace_json(w), mutated)
}

fn update_workspace(world: &mut World, id: &str, input: &Value) -> VendorResponse {
    let lang = match input.get("language") {
        Some(_) => Some(tri!(language(input)).to_owned()),
        None => None,
    };
    let name = input.get("name").and_then(Value::as_str).map(str::to_owned);
    let Some(w) = world.market.vendor.workspaces.get_mut(id) else {
        return problem(404, "not_found", format!("no workspace `{id}`"));
    };
    if let Some(l) = lang {
        w.language = l;
    }
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        w.name = n;
    }
    answer(200, workspace_json(w), true)
}
