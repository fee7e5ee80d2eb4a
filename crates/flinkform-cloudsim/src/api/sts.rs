//! STS 2015-04-01: `AssumeRole` (signed) and `AssumeRoleWithOIDC` (anonymous), issuing
//! temporary credentials (`STS.`-prefixed AccessKey id, secret, SecurityToken, Expiration in
//! the world's cloud clock); and the ECS instance metadata service's RAM role credentials
//! (`/latest/meta-data/ram/security-credentials/`, IMDSv2 token at `PUT /latest/api/token`).
//! `GetCallerIdentity` is in `billing.rs`.
//!
//! A request signed with temporary credentials must carry their SecurityToken and is refused
//! with `InvalidSecurityToken.Expired` once the cloud clock passed their Expiration (see
//! `auth::check_key`).
//!
//! Trust policies are checked as far as flinkform needs them: `AssumeRole` needs a statement
//! allowing `sts:AssumeRole` to `Principal.RAM` naming the caller's account
//! (`acs:ram::<uid>:root`, `<uid>` or `acs:ram::<uid>:*`); `AssumeRoleWithOIDC` one allowing
//! it to `Principal.Federated` naming the OIDC provider's ARN. Conditions are not evaluated.
//! An OIDC token is a JWT whose `iss` must be the provider's issuer URL, `aud` one of its
//! client ids, and `exp` (wall-clock seconds: the identity provider's clock is real) in the
//! future; its signature is not verified (the emulator fetches no keys).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiError, Call};
use crate::world::{Role, World, iso, wall_ms};

/// Temporary credentials the emulator issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StsSession {
    pub(crate) secret: String,
    pub(crate) token: String,
    /// UID of the account that owns the assumed role.
    pub(crate) uid: String,
    pub(crate) role: String,
    pub(crate) session_name: String,
    /// Cloud time of expiry.
    pub(crate) expires_ms: i64,
}

/// An OIDC identity provider registered in an account (RAM `CreateOIDCProvider`; here a
/// console helper).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OidcProvider {
    pub(crate) name: String,
    pub(crate) issuer_url: String,
    pub(crate) client_ids: Vec<String>,
    pub(crate) created_ms: i64,
}

/// The RAM role attached to the emulated ECS instance whose metadata service the emulator
/// serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InstanceRole {
    pub(crate) uid: String,
    pub(crate) role: String,
}

/// Lifetime of the credentials the metadata service hands out (cloud milliseconds).
const INSTANCE_CREDENTIALS_MS: i64 = 6 * 3600 * 1000;

/// `acs:ram::<uid>:role/<name>` → (uid, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (uid, role) = rest.split_once(":role/")?;
    (!uid.is_empty() && !role.is_empty()).then_some((uid, role))
}

/// `acs:ram::<uid>:oidc-provider/<name>` → (uid, name).
fn parse_provider_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (uid, name) = rest.split_once(":oidc-provider/")?;
    (!uid.is_empty() && !name.is_empty()).then_some((uid, name))
}

fn bad(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message)
}

fn no_permission() -> ApiError {
    ApiError::new(
        403,
        "NoPermission",
        "No permission perform sts:AssumeRole on this Role. Maybe you should check the role's trust policy.",
    )
}

/// The role `arn` names (case-insensitive name, as the ARN lowercases it), with its owner.
fn find_role<'w>(world: &'w World, arn: &str) -> Result<(String, &'w Role), ApiError> {
    let (uid, name) = parse_role_arn(arn).ok_or_else(|| {
        bad(
            "InvalidParameter.RoleArn",
            format!("The parameter RoleArn {arn:?} is wrongly formed."),
        )
    })?;
    let role = world
        .accounts
        .get(uid)
        .and_then(|a| a.roles.values().find(|r| r.name.eq_ignore_ascii_case(name)));
    role.map(|r| (uid.to_owned(), r)).ok_or_else(|| {
        ApiError::not_found(
            "EntityNotExist.Role",
            format!("The specified Role not exists: {arn}."),
        )
    })
}

fn session_name(call: &Call<'_>, default: Option<&str>) -> Result<String, ApiError> {
    let name = match (call.params.get("RoleSessionName"), default) {
        (Some(n), _) => n.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => return Err(ApiError::missing("RoleSessionName")),
    };
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'-' | b'_'));
    if ok {
        Ok(name)
    } else {
        Err(bad(
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        ))
    }
}

fn duration_ms(call: &Call<'_>, role: &Role) -> Result<i64, ApiError> {
    let secs = call.params.int("DurationSeconds", 3600)?;
    let max = u64::from(role.max_session_duration.max(3600));
    if !(900..=max).contains(&secs) {
        return Err(bad(
            "InvalidParameter.DurationSeconds",
            format!(
                "The Min/Max value of DurationSeconds is 15min/{}hr.",
                max / 3600
            ),
        ));
    }
    Ok(i64::try_from(secs).unwrap_or(3600) * 1000)
}

fn check_policy(call: &Call<'_>) -> Result<(), ApiError> {
    if let Some(policy) = call.params.get("Policy") {
        let ok = serde_json::from_str::<Value>(policy)
            .ok()
            .is_some_and(|p| p.get("Statement").is_some_and(Value::is_array));
        if !ok {
            return Err(bad(
                "InvalidParameter.PolicyGrammar",
                "The parameter Policy has not passed grammar check.",
            ));
        }
    }
    Ok(())
}

/// Whether the trust policy `document` lets `principal` (under `kind`: `RAM`, `Federated`,
/// `Service`) assume the role: one `Allow` statement whose actions include `sts:AssumeRole`
/// and whose principal of that kind lists one of `names`.
fn trusts(document: &str, kind: &str, names: &[String]) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return false;
    };
    let as_list = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    doc.get("Statement")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|s| {
            s.get("Effect").and_then(Value::as_str) == Some("Allow")
                && as_list(s.get("Action"))
                    .iter()
                    .any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*")
                && as_list(s.get("Principal").and_then(|p| p.get(kind)))
                    .iter()
                    .any(|p| names.contains(p))
        })
}

/// Issues temporary credentials for `role` of account `uid`, valid `ms` cloud milliseconds.
fn issue(world: &mut World, uid: &str, role: &str, session: &str, ms: i64, now: i64) -> Value {
    let id = format!("STS.NT{}", world.alnum(26));
    let secret = world.alnum(44);
    let token = format!("CAIS{}", world.alnum(120));
    let expires_ms = now + ms;
    world.sts_sessions.insert(
        id.clone(),
        StsSession {
            secret: secret.clone(),
            token: token.clone(),
            uid: uid.to_owned(),
            role: role.to_owned(),
            session_name: session.to_owned(),
            expires_ms,
        },
    );
    json!({
        "AccessKeyId": id,
        "AccessKeySecret": secret,
        "SecurityToken": token,
        "Expiration": iso(expires_ms),
    })
}

fn assumed_role_user(uid: &str, role: &Role, session: &str) -> Value {
    json!({
        "Arn": format!("acs:ram::{uid}:assumed-role/{}/{session}", role.name.to_ascii_lowercase()),
        "AssumedRoleId": format!("{}:{session}", role.id),
    })
}

pub(crate) fn assume_role(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let arn = call.params.require("RoleArn")?.to_owned();
    let session = session_name(call, None)?;
    check_policy(call)?;
    let caller = call.uid.clone();
    let (uid, role) = find_role(call.world, &arn)?;
    let role = role.clone();
    let ms = duration_ms(call, &role)?;
    let principals = [
        format!("acs:ram::{caller}:root"),
        format!("acs:ram::{caller}:*"),
        caller.clone(),
    ];
    if !trusts(&role.policy_document, "RAM", &principals) {
        return Err(no_permission());
    }
    let now = call.now;
    let credentials = issue(call.world, &uid, &role.name, &session, ms, now);
    Ok(json!({
        "Credentials": credentials,
        "AssumedRoleUser": assumed_role_user(&uid, &role, &session),
    }))
}

/// The claims of a JWT, without verifying its signature.
fn jwt_claims(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let mut parts = token.trim().split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn token_invalid(message: impl Into<String>) -> ApiError {
    bad("AuthenticationFail.OIDCToken.Invalid", message)
}

/// Unsigned: `call.uid` is empty; the account is the role's.
pub(crate) fn assume_role_with_oidc(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let arn = call.params.require("RoleArn")?.to_owned();
    let provider_arn = call.params.require("OIDCProviderArn")?.to_owned();
    let token = call.params.require("OIDCToken")?.to_owned();
    check_policy(call)?;
    let (uid, role) = find_role(call.world, &arn)?;
    let role = role.clone();
    let ms = duration_ms(call, &role)?;
    let provider = parse_provider_arn(&provider_arn)
        .filter(|(p_uid, _)| *p_uid == uid)
        .and_then(|(_, name)| {
            call.world
                .accounts
                .get(&uid)
                .and_then(|a| a.oidc_providers.get(name))
        })
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(
                "EntityNotExist.OIDCProvider",
                format!("The OIDC provider does not exist: {provider_arn}."),
            )
        })?;
    let claims = jwt_claims(&token)
        .ok_or_else(|| token_invalid("The OIDC token is not a well-formed JWT."))?;
    if claims.get("iss").and_then(Value::as_str) != Some(provider.issuer_url.as_str()) {
        return Err(token_invalid(
            "The issuer (iss) of the OIDC token does not match the OIDC provider.",
        ));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences
        .iter()
        .any(|a| provider.client_ids.iter().any(|c| c == a))
    {
        return Err(token_invalid(
            "The audience (aud) of the OIDC token is not a client id of the OIDC provider.",
        ));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp.saturating_mul(1000) <= wall_ms() {
        return Err(bad(
            "AuthenticationFail.OIDCToken.Expired",
            "The OIDC token has expired.",
        ));
    }
    if !trusts(
        &role.policy_document,
        "Federated",
        std::slice::from_ref(&provider_arn),
    ) {
        return Err(no_permission());
    }
    let default_session = format!("oidc-{}", wall_ms());
    let session = session_name(call, Some(&default_session))?;
    let now = call.now;
    let credentials = issue(call.world, &uid, &role.name, &session, ms, now);
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(json!({
        "Credentials": credentials,
        "AssumedRoleUser": assumed_role_user(&uid, &role, &session),
        "OIDCTokenInfo": {
            "Issuer": provider.issuer_url,
            "Subject": subject,
            "ClientIds": audiences.join(","),
        },
    }))
}

/// An answer of the metadata service: status and plain-text or JSON body.
pub(crate) struct MetadataResponse {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) json: bool,
}

fn text(status: u16, body: impl Into<String>) -> MetadataResponse {
    MetadataResponse {
        status,
        body: body.into(),
        json: false,
    }
}

/// The ECS instance metadata service: `PUT /latest/api/token` (IMDSv2 session token),
/// `GET /latest/meta-data/ram/security-credentials/` (the attached role's name) and
/// `GET /latest/meta-data/ram/security-credentials/<role>` (its temporary credentials).
/// A `x-aliyun-ecs-metadata-token` header, when sent, must be a token this service issued.
pub(crate) fn metadata(
    world: &mut World,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> MetadataResponse {
    const CREDS: &str = "/latest/meta-data/ram/security-credentials/";
    if method == "PUT" && path == "/latest/api/token" {
        let t = world.alnum(40);
        world.imds_tokens.insert(t.clone());
        return text(200, t);
    }
    if let Some(t) = token
        && !world.imds_tokens.contains(t)
    {
        return text(401, "Unauthorized: unknown metadata token");
    }
    if method != "GET" {
        return text(405, "Method Not Allowed");
    }
    let Some(rest) = path.strip_prefix(CREDS) else {
        return text(404, "Not Found");
    };
    let Some(attached) = world.instance_role.clone() else {
        return text(404, "Not Found: no RAM role is attached to this instance");
    };
    if rest.is_empty() {
        return text(200, attached.role);
    }
    if rest != attached.role {
        return text(404, "Not Found");
    }
    let now = world.now_ms();
    let creds = issue(
        world,
        &attached.uid,
        &attached.role,
        "ecs-instance",
        INSTANCE_CREDENTIALS_MS,
        now,
    );
    let mut body = json!({
        "Code": "Success",
        "LastUpdated": iso(now),
    });
    if let (Value::Object(b), Value::Object(c)) = (&mut body, creds) {
        b.extend(c);
    }
    MetadataResponse {
        status: 200,
        body: body.to_string(),
        json: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies_name_principals_by_kind() {
        let doc = r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::123:root"],"Federated":"acs:ram::123:oidc-provider/gh"}}]}"#;
        assert!(trusts(doc, "RAM", &["acs:ram::123:root".to_owned()]));
        assert!(!trusts(doc, "RAM", &["acs:ram::999:root".to_owned()]));
        assert!(trusts(
            doc,
            "Federated",
            &["acs:ram::123:oidc-provider/gh".to_owned()]
        ));
        let deny = doc.replace("Allow", "Deny");
        assert!(!trusts(&deny, "RAM", &["acs:ram::123:root".to_owned()]));
    }

    #[test]
    fn arns_parse() {
        assert_eq!(
            parse_role_arn("acs:ram::123:role/deployer"),
            Some(("123", "deployer"))
        );
        assert_eq!(parse_role_arn("acs:ram::123:user/x"), None);
        assert_eq!(
            parse_provider_arn("acs:ram::1:oidc-provider/gh"),
            Some(("1", "gh"))
        );
    }
}
