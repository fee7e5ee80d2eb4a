//! Verification of RPC request signatures: V3 `ACS3-HMAC-SHA256` (recomputed over the
//! client's own `SignedHeaders`, body hash, 15-minute date window, single-use nonce) and the
//! legacy `HMAC-SHA1` query signature (`Timestamp` window, `SignatureNonce`). The signing
//! primitives are `flinkform_sign`'s; this module only decides what to feed them.

use std::collections::BTreeMap;

use flinkform_sign::{
    V3Authorization, V3Request, canonical_query, percent_encode, rpc_v1_signature, sha256_hex,
};

use crate::api::ApiError;
use crate::world::{REPLAY_WINDOW_MS, World, wall_ms};

/// The parts of an RPC request that authentication looks at.
pub(crate) struct RpcRequest<'a> {
    pub(crate) method: &'a str,
    /// Raw (still percent-encoded) request path.
    pub(crate) path: &'a str,
    pub(crate) query: &'a [(String, String)],
    pub(crate) form: &'a [(String, String)],
    /// Lower-case header names.
    pub(crate) headers: &'a BTreeMap<String, String>,
    pub(crate) body: &'a [u8],
}

fn parse_time(s: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::bad_request(
                "InvalidTimeStamp.Format",
                format!("The specified timestamp {s:?} is not in the format yyyy-MM-ddTHH:mm:ssZ."),
            )
        })
}

fn check_window(ms: i64) -> Result<(), ApiError> {
    if (ms - wall_ms()).abs() > REPLAY_WINDOW_MS {
        return Err(ApiError::bad_request(
            "InvalidTimeStamp.Expired",
            "The request time is more than 15 minutes away from the server time.",
        ));
    }
    Ok(())
}

fn unknown_key(id: &str) -> ApiError {
    ApiError::not_found(
        "InvalidAccessKeyId.NotFound",
        format!("Specified access key is not found: {id}."),
    )
}

fn mismatch(detail: &str) -> ApiError {
    ApiError::bad_request(
        "SignatureDoesNotMatch",
        format!("The request signature does not conform to Aliyun standards. {detail}"),
    )
}

fn nonce_used() -> ApiError {
    ApiError::bad_request(
        "SignatureNonceUsed",
        "The request signature nonce has been used.",
    )
}

/// The account and secret of AccessKey id `ak`. Temporary credentials must come with their
/// SecurityToken (`token`) and be unexpired on the world's cloud clock.
pub(crate) fn check_key(
    world: &mut World,
    ak: &str,
    token: Option<&str>,
) -> Result<(String, String), ApiError> {
    let key = world.key(ak).ok_or_else(|| unknown_key(ak))?;
    if let Some((expected, expires_ms)) = &key.session {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(ApiError::bad_request(
                "MissingSecurityToken",
                "SecurityToken is mandatory for this action.",
            ));
        };
        if token != expected {
            return Err(ApiError::bad_request(
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            ));
        }
        if world.now_ms() >= *expires_ms {
            world.count_expired_token();
            return Err(ApiError::bad_request(
                "InvalidSecurityToken.Expired",
                "Specified SecurityToken is expired.",
            ));
        }
    }
    Ok((key.uid, key.secret))
}

/// The AccessKey id a request names (the V3 `Authorization` header's `Credential`, or the
/// legacy `AccessKeyId` parameter); checked by [`authenticate`].
pub(crate) fn access_key_id(req: &RpcRequest<'_>) -> Option<String> {
    if let Some(auth) = req.headers.get("authorization")
        && let Some(parsed) = V3Authorization::parse(auth)
    {
        return Some(parsed.access_key_id);
    }
    req.query
        .iter()
        .chain(req.form)
        .find(|(k, _)| k == "AccessKeyId")
        .map(|(_, v)| v.clone())
}

/// Authenticates the request; returns the caller's account UID.
pub(crate) fn authenticate(world: &mut World, req: &RpcRequest<'_>) -> Result<String, ApiError> {
    if let Some(auth) = req.headers.get("authorization")
        && auth.starts_with(flinkform_sign::ACS3_HMAC_SHA256)
    {
        return verify_v3(world, req, auth);
    }
    if req
        .query
        .iter()
        .chain(req.form)
        .any(|(k, _)| k == "Signature")
    {
        return verify_legacy(world, req);
    }
    Err(ApiError::bad_request(
        "IncompleteSignature",
        "The request is not signed: send an ACS3-HMAC-SHA256 Authorization header or a legacy Signature parameter.",
    ))
}

fn verify_v3(world: &mut World, req: &RpcRequest<'_>, auth: &str) -> Result<String, ApiError> {
    let parsed = V3Authorization::parse(auth).ok_or_else(|| {
        ApiError::bad_request(
            "IncompleteSignature",
            "The Authorization header is not a valid ACS3-HMAC-SHA256 header.",
        )
    })?;
    let token = req.headers.get("x-acs-security-token").cloned();
    let (uid, secret) = check_key(world, &parsed.access_key_id, token.as_deref())?;
    let date = req
        .headers
        .get("x-acs-date")
        .ok_or_else(|| ApiError::missing("x-acs-date"))?;
    check_window(parse_time(date)?)?;
    let body_hash = sha256_hex(req.body);
    let claimed = req
        .headers
        .get("x-acs-content-sha256")
        .map(String::as_str)
        .unwrap_or_default();
    if claimed != body_hash {
        return Err(mismatch(
            "The x-acs-content-sha256 header does not match the body.",
        ));
    }
    let nonce = req
        .headers
        .get("x-acs-signature-nonce")
        .ok_or_else(|| ApiError::missing("x-acs-signature-nonce"))?;
    let expected = V3Request {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        signed_headers: &parsed.signed_headers,
        body_sha256: &body_hash,
    }
    .signature(&secret);
    if expected != parsed.signature {
        return Err(mismatch(
            "The signature calculated over the canonical request differs.",
        ));
    }
    if !world.record_nonce(nonce, wall_ms()) {
        return Err(nonce_used());
    }
    Ok(uid)
}

fn verify_legacy(world: &mut World, req: &RpcRequest<'_>) -> Result<String, ApiError> {
    let mut params: Vec<(String, String)> = req.query.iter().chain(req.form).cloned().collect();
    let signature = params
        .iter()
        .find(|(k, _)| k == "Signature")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    params.retain(|(k, _)| k != "Signature");
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let ak = get("AccessKeyId").ok_or_else(|| ApiError::missing("AccessKeyId"))?;
    let token = get("SecurityToken");
    let (uid, secret) = check_key(world, &ak, token.as_deref())?;
    match get("SignatureMethod").as_deref() {
        Some("HMAC-SHA1") => {}
        _ => {
            return Err(ApiError::bad_request(
                "InvalidSignatureMethod",
                "Only SignatureMethod=HMAC-SHA1 is supported for legacy signatures.",
            ));
        }
    }
    let timestamp = get("Timestamp").ok_or_else(|| ApiError::missing("Timestamp"))?;
    check_window(parse_time(&timestamp)?)?;
    let nonce = get("SignatureNonce").ok_or_else(|| ApiError::missing("SignatureNonce"))?;
    if rpc_v1_signature(req.method, &params, &secret) != signature {
        // The real gateway's wording: the legacy SDKs split it at `:` and compare the
        // server's string to sign with their own to tell a wrong secret from a bug.
        let string_to_sign = format!(
            "{}&{}&{}",
            req.method,
            percent_encode("/"),
            percent_encode(&canonical_query(&params))
        );
        return Err(ApiError::bad_request(
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }
    if !world.record_nonce(&nonce, wall_ms()) {
        return Err(nonce_used());
    }
    Ok(uid)
}
