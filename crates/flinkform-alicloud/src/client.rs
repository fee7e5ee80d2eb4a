//! The Alibaba Cloud OpenAPI client: RPC calls signed with V3 `ACS3-HMAC-SHA256`, OSS REST
//! calls signed with OSS V1, error envelopes (JSON for RPC, XML for OSS) parsed into typed
//! [`ApiError`]s, and a counter of every call made.
//!
//! Secrets never reach logs: each call is logged at debug level with its product, action,
//! HTTP status and request id, never with parameter values.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use flinkform_core::{ApiGroup, ProviderError, ProviderErrorKind, Region, Throttles};
use serde::Deserialize;

use crate::credentials::{CredentialCache, Credentials};
use crate::endpoint::{Endpoints, Product, oss_host};
use crate::error::{Error, Result};
use crate::sign::{self, OssV1Request, V3Request};

/// Tuning of the client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// How often [`Client::rpc_read`] retries a read that failed with a retryable error.
    pub read_retries: u32,
    /// First backoff delay of those retries (doubled each time, with jitter).
    pub retry_base_delay: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            read_retries: 3,
            retry_base_delay: Duration::from_millis(200),
            user_agent: concat!("flinkform/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Retries one read has used, by cause.
#[derive(Debug, Default)]
struct ReadTries {
    throttled: u32,
    failed: u32,
}

/// HTTP method of an RPC call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcMethod {
    /// Parameters in the query string.
    Get,
    /// Parameters in a form body.
    Post,
}

/// HTTP method of an OSS call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OssMethod {
    /// `GET`.
    Get,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `POST` (`DeleteMultipleObjects`).
    Post,
}

impl OssMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Post => "POST",
        }
    }
}

/// The RPC error code of a request signed with expired temporary credentials.
const EXPIRED: &str = "InvalidSecurityToken.Expired";
/// The OSS error code of the same.
const OSS_EXPIRED: &str = "SecurityTokenExpired";

/// Query parameters OSS V1 signs as sub-resources (from oss2's list, those flinkform sends
/// besides the `subresource` argument).
const OSS_SIGNED_QUERY: &[&str] = &["continuation-token"];

/// A failed API call, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ApiError {
    /// Classification (drives the executor's retry policy).
    pub kind: ProviderErrorKind,
    /// The action (`CreateInstance`, `PutBucket`).
    pub action: String,
    /// The cloud's error code, when it answered with one.
    pub code: Option<String>,
    /// The cloud's message, or the transport error.
    pub message: String,
    /// The cloud's request id, when it answered.
    pub request_id: Option<String>,
    /// The HTTP status, when there was a response.
    pub http_status: Option<u16>,
    /// `x-acs-retry-after` in milliseconds, when the cloud sent it.
    pub retry_after_ms: Option<u64>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.action)?;
        if let Some(status) = self.http_status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(code) = &self.code {
            write!(f, ": {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (RequestId {id})")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// An error that did not come from the cloud (a malformed answer, a missing field).
    #[must_use]
    pub fn local(kind: ProviderErrorKind, action: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            action: action.to_owned(),
            code: None,
            message: message.into(),
            request_id: None,
            http_status: None,
            retry_after_ms: None,
        }
    }

    /// Whether the cloud answered with `code`.
    #[must_use]
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl From<ApiError> for ProviderError {
    fn from(e: ApiError) -> Self {
        Self {
            kind: e.kind,
            action: e.action,
            code: e.code,
            message: e.message,
            request_id: e.request_id,
        }
    }
}

/// Classifies a cloud error by HTTP status, error code and whether `x-acs-retry-after` was
/// sent.
#[must_use]
pub fn classify(
    http_status: Option<u16>,
    code: Option<&str>,
    retry_after: bool,
) -> ProviderErrorKind {
    use ProviderErrorKind as K;
    let status = http_status.unwrap_or(0);
    let code = code.unwrap_or("");
    let lower = code.to_ascii_lowercase();
    if retry_after
        || status == 429
        || lower.contains("throttling")
        || code == "Service.Flow.Control"
    {
        return K::Throttling;
    }
    if code.contains("InsufficientBalance") {
        return K::InsufficientBalance;
    }
    const AUTH: [&str; 9] = [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidSecurityToken",
        "InvalidSignatureMethod",
        "InvalidTimeStamp",
        "IllegalTimestamp",
        "SignatureNonceUsed",
        "AccessDenied",
    ];
    if status == 401
        || code == "Forbidden"
        || code == "NoPermission"
        || AUTH.iter().any(|a| code.starts_with(a))
    {
        return K::Auth;
    }
    if status >= 500
        || matches!(
            code,
            "ServiceUnavailable"
                | "InternalError"
                | "System.ServiceBusy"
                | "ServiceBusy"
                | "998001"
        )
    {
        return K::Transient;
    }
    if matches!(
        code,
        "InvalidAction.NotFound"
            | "InvalidApi.NotFound"
            | "InvalidProduct.NotFound"
            | "NoSuchVersion"
    ) {
        return K::Fatal;
    }
    if status == 404
        || code.ends_with(".NotFound")
        || code.ends_with("NotFound")
        || code.starts_with("EntityNotExist")
        || code.starts_with("NoSuch")
        || code == "Instance.Notfound"
    {
        return K::NotFound;
    }
    if status == 409
        || code.contains("AlreadyExist")
        || code.starts_with("Incorrect")
        || code.starts_with("DependencyViolation")
        || code.starts_with("DeleteConflict")
        || code.contains("TaskConflict")
        || code.contains("IdempotentTokenProcessing")
        || code == "TOKEN_PROCESSING"
        || code == "ORDER.OPEND"
    {
        return K::Conflict;
    }
    if (400..500).contains(&status)
        && (code.starts_with("Invalid")
            || code.starts_with("Missing")
            || code.contains(".Invalid")
            || code.starts_with("Malformed")
            || code == "UnsupportedOperation")
    {
        return K::InvalidParameter;
    }
    K::Fatal
}

/// What went wrong on the way, without the URL (a GET's URL carries parameter values,
/// which must not be logged).
pub(crate) fn transport_message(e: &reqwest::Error) -> String {
    format!("{}", ReqwestDisplay(e))
}

/// A request that got no answer: names the address tried (and the real host it stands for,
/// and where the credentials come from) and what to check.
fn transport_error(
    action: &str,
    e: &reqwest::Error,
    url: &str,
    host: &str,
    origin: &str,
    overridden: bool,
) -> ApiError {
    let target = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let h = u.host_str()?.to_owned();
            Some(format!("{h}:{}", u.port_or_known_default().unwrap_or(443)))
        })
        .unwrap_or_else(|| host.to_owned());
    let for_host = if target.starts_with(host) {
        String::new()
    } else {
        format!(" for {host}")
    };
    let check = if overridden {
        "check the network and the endpoint override"
    } else {
        "check the network and proxy settings (HTTPS_PROXY)"
    };
    let origin = if origin.is_empty() {
        String::new()
    } else {
        format!(" (credentials: {origin})")
    };
    let message = format!(
        "cannot reach {target}{for_host}{origin}: {} — {check}",
        transport_message(e)
    );
    ApiError::local(ProviderErrorKind::Transient, action, message)
}

struct ReqwestDisplay<'a>(&'a reqwest::Error);

impl fmt::Display for ReqwestDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.0.is_timeout() {
            "timeout"
        } else if self.0.is_connect() {
            "connection error"
        } else if self.0.is_body() || self.0.is_decode() {
            "error reading the response"
        } else {
            "transport error"
        };
        write!(f, "{kind}")?;
        let mut source = std::error::Error::source(self.0);
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[derive(Deserialize, Default)]
struct OssErrorXml {
    #[serde(rename = "Code", default)]
    code: Option<String>,
    #[serde(rename = "Message", default)]
    message: Option<String>,
    #[serde(rename = "RequestId", default)]
    request_id: Option<String>,
}

struct Inner {
    http: reqwest::Client,
    endpoints: Endpoints,
    credentials: Arc<CredentialCache>,
    options: ClientOptions,
    calls: AtomicU64,
    /// The UID behind the credentials, once asked (it does not change within a run).
    /// Asked once per client, by the first caller; callers at the same time wait for it.
    uid: tokio::sync::OnceCell<flinkform_core::AccountUid>,
}

/// An OpenAPI client for one set of credentials. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// An extra counter (see [`Client::counting`]).
    scope: Option<Arc<AtomicU64>>,
    /// Throttled answers per API group (the executor's limiter reads them too).
    throttles: Arc<Throttles>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.inner.endpoints)
            .field("credentials", &self.inner.credentials.source().describe())
            .field("api_calls", &self.api_calls())
            .finish_non_exhaustive()
    }
}

fn header_str(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn json_str(v: &serde_json::Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Form/query encoding of `params` exactly as signed: RFC 3986 on both sides.
fn encode_params(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", sign::percent_encode(k), sign::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Client {
    /// Builds a client. Installs the rustls `ring` crypto provider first (ignored when one
    /// is installed already).
    ///
    /// # Errors
    /// When the endpoint override is not a URL or the HTTP client cannot be built.
    pub fn new(
        endpoints: Endpoints,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Self> {
        Self::with_cache(
            endpoints,
            Arc::new(CredentialCache::fixed(credentials)),
            options,
        )
    }

    /// Builds a client that asks `credentials` for the credentials of every request (which
    /// refreshes temporary ones before they expire).
    ///
    /// # Errors
    /// As [`Client::new`].
    pub fn with_cache(
        endpoints: Endpoints,
        credentials: Arc<CredentialCache>,
        options: ClientOptions,
    ) -> Result<Self> {
        endpoints.validate()?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|e| Error::HttpClient {
                message: e.to_string(),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoints,
                credentials,
                options,
                calls: AtomicU64::new(0),
                uid: tokio::sync::OnceCell::new(),
            }),
            scope: None,
            throttles: Arc::new(Throttles::default()),
        })
    }

    /// A handle on the same client whose calls are also counted in `counter` (to count the
    /// calls of one refresh while other work shares the client).
    #[must_use]
    pub fn counting(&self, counter: Arc<AtomicU64>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            scope: Some(counter),
            throttles: Arc::clone(&self.throttles),
        }
    }

    /// The same client without a scope's counter (its calls count in the client's total
    /// only).
    pub(crate) fn unscoped(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            scope: None,
            throttles: Arc::clone(&self.throttles),
        }
    }

    /// The same client counting its throttled answers in `throttles` (one set of counters
    /// for the clients of every account, shared with the executor).
    #[must_use]
    pub fn sharing_throttles(mut self, throttles: Arc<Throttles>) -> Self {
        self.throttles = throttles;
        self
    }

    fn count(&self) {
        self.inner.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(scope) = &self.scope {
            scope.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many API calls (attempts) this client has made.
    #[must_use]
    pub fn api_calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// The UID behind the credentials: `ask`ed by the first caller only (callers at the same
    /// time wait for its answer), then remembered; a failed ask is not remembered.
    pub(crate) async fn uid_once<F, Fut>(
        &self,
        ask: F,
    ) -> std::result::Result<flinkform_core::AccountUid, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut:
            std::future::Future<Output = std::result::Result<flinkform_core::AccountUid, ApiError>>,
    {
        self.inner.uid.get_or_try_init(ask).await.cloned()
    }

    /// The throttled answers this client has seen, per API group: every one, the reads it
    /// retried itself included. The executor's rate limiter shares it (through
    /// [`flinkform_core::Provider::throttles`]).
    #[must_use]
    pub fn throttles(&self) -> Arc<Throttles> {
        Arc::clone(&self.throttles)
    }

    /// Counts `err` in [`Client::throttles`] when it is a throttled answer.
    fn note(&self, group: ApiGroup, err: ApiError) -> ApiError {
        if err.kind == ProviderErrorKind::Throttling {
            self.throttles.record(group);
        }
        err
    }

    /// The endpoints in use.
    #[must_use]
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The credentials this client signs with.
    #[must_use]
    pub fn credentials(&self) -> &Arc<CredentialCache> {
        &self.inner.credentials
    }

    /// The credentials for the next request of `action`.
    async fn current_credentials(&self, action: &str) -> Result<Credentials, ApiError> {
        self.inner.credentials.get().await.map_err(|e| {
            let kind = if matches!(e, Error::Unreachable { .. }) {
                ProviderErrorKind::Transient
            } else {
                ProviderErrorKind::Auth
            };
            ApiError::local(kind, action, e.to_string())
        })
    }

    /// Where the credentials come from, for messages (empty for keys handed over).
    fn origin(&self) -> String {
        let source = self.inner.credentials.source();
        if *source.origin() == crate::credentials::Origin::Given {
            String::new()
        } else {
            source.describe()
        }
    }

    /// One RPC call, signed with V3. `params` are sent in the query string (`Get`) or as a
    /// form body (`Post`); complex values must already be JSON strings. Returns the parsed
    /// JSON body of a 2xx answer.
    ///
    /// # Errors
    /// An [`ApiError`] classified by [`classify`] for error answers, `Transient` for
    /// transport failures, `Fatal` for an answer that is not JSON.
    pub async fn rpc(
        &self,
        product: Product,
        region: Option<&Region>,
        action: &str,
        params: Vec<(String, String)>,
        method: RpcMethod,
    ) -> Result<serde_json::Value, ApiError> {
        let host = product.host(region);
        self.rpc_at(&host, product, action, params, method, true)
            .await
    }

    /// [`Client::rpc`] to an explicit `host` (`sts.cn-hangzhou.aliyuncs.com`), signed or
    /// (`signed: false`, for `AssumeRoleWithOIDC`) anonymous.
    ///
    /// # Errors
    /// As [`Client::rpc`].
    pub async fn rpc_at(
        &self,
        host: &str,
        product: Product,
        action: &str,
        params: Vec<(String, String)>,
        method: RpcMethod,
        signed: bool,
    ) -> Result<serde_json::Value, ApiError> {
        match self
            .rpc_once(host, product, action, params.clone(), method, signed)
            .await
        {
            Err(e) if signed && e.has_code(EXPIRED) && self.inner.credentials.expire().await => {
                tracing::debug!(product = %product, action, "credentials refused as expired; fetching new ones");
                self.rpc_once(host, product, action, params, method, signed)
                    .await
            }
            other => other,
        }
    }

    async fn rpc_once(
        &self,
        host: &str,
        product: Product,
        action: &str,
        params: Vec<(String, String)>,
        method: RpcMethod,
        signed: bool,
    ) -> Result<serde_json::Value, ApiError> {
        let host = host.to_owned();
        let url_base = self.inner.endpoints.url_for(&host);
        let (query, body): (Vec<(String, String)>, Option<String>) = match method {
            RpcMethod::Get => (params, None),
            RpcMethod::Post => (
                Vec::new(),
                if params.is_empty() {
                    None
                } else {
                    Some(encode_params(&params))
                },
            ),
        };
        let body_bytes = body.unwrap_or_default();
        let body_sha = sign::sha256_hex(body_bytes.as_bytes());
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        headers.insert("host".into(), host.clone());
        headers.insert("x-acs-action".into(), action.to_owned());
        headers.insert("x-acs-version".into(), product.version().to_owned());
        headers.insert(
            "x-acs-date".into(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        headers.insert(
            "x-acs-signature-nonce".into(),
            uuid::Uuid::new_v4().simple().to_string(),
        );
        headers.insert("x-acs-content-sha256".into(), body_sha.clone());
        if !body_bytes.is_empty() {
            headers.insert(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            );
        }
        let creds = if signed {
            Some(self.current_credentials(action).await?)
        } else {
            None
        };
        if let Some(token) = creds.as_ref().and_then(|c| c.security_token.as_ref()) {
            headers.insert("x-acs-security-token".into(), token.expose().to_owned());
        }
        let signed: Vec<String> = headers.keys().cloned().collect();
        let authorization = creds.as_ref().map(|creds| {
            V3Request {
                method: match method {
                    RpcMethod::Get => "GET",
                    RpcMethod::Post => "POST",
                },
                path: "/",
                query: &query,
                headers: &headers,
                signed_headers: &signed,
                body_sha256: &body_sha,
            }
            .authorization(&creds.access_key_id, creds.access_key_secret.expose())
        });

        let url = if query.is_empty() {
            url_base.clone()
        } else {
            format!("{url_base}?{}", encode_params(&query))
        };
        let mut req = match method {
            RpcMethod::Get => self.inner.http.get(url),
            RpcMethod::Post => self.inner.http.post(url),
        };
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(authorization) = authorization {
            req = req.header("authorization", authorization);
        }
        req = req.header("accept", "application/json");
        if !body_bytes.is_empty() {
            req = req.body(body_bytes);
        }

        self.count();
        let overridden = matches!(self.inner.endpoints, Endpoints::Override(_));
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let err = transport_error(action, &e, &url_base, &host, &self.origin(), overridden);
                tracing::debug!(product = %product, action, error = %err.message, "api call failed");
                return Err(err);
            }
        };
        let status = resp.status().as_u16();
        let retry_after = header_str(resp.headers(), "x-acs-retry-after");
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => {
                return Err(transport_error(
                    action,
                    &e,
                    &url_base,
                    &host,
                    &self.origin(),
                    overridden,
                ));
            }
        };
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let request_id = json
            .as_ref()
            .and_then(|j| json_str(j, &["RequestId", "requestId"]));
        tracing::debug!(product = %product, action, status, request_id = request_id.as_deref().unwrap_or("-"), "api call");

        let success_false = json
            .as_ref()
            .is_some_and(|j| j.get("Success") == Some(&serde_json::Value::Bool(false)));
        if (200..300).contains(&status) && !success_false {
            return json.ok_or_else(|| {
                ApiError::local(
                    ProviderErrorKind::Fatal,
                    action,
                    format!("answer is not JSON (HTTP {status})"),
                )
            });
        }
        let code = json.as_ref().and_then(|j| json_str(j, &["Code", "code"]));
        let message = json
            .as_ref()
            .and_then(|j| json_str(j, &["Message", "message"]))
            .unwrap_or_else(|| {
                if text.is_empty() {
                    format!("HTTP {status}")
                } else {
                    text.chars().take(200).collect()
                }
            });
        let retry_after_ms = retry_after
            .as_deref()
            .and_then(|s| s.trim().parse::<u64>().ok());
        Err(self.note(
            product.api_group(),
            ApiError {
                kind: classify(Some(status), code.as_deref(), retry_after.is_some()),
                action: action.to_owned(),
                code,
                message,
                request_id,
                http_status: Some(status),
                retry_after_ms,
            },
        ))
    }

    /// [`Client::rpc`] for a call that changes nothing: a retryable failure (throttling,
    /// 5xx, transport) is retried up to [`ClientOptions::read_retries`] times with
    /// exponential backoff and jitter (or the cloud's `x-acs-retry-after`).
    ///
    /// # Errors
    /// The last attempt's error.
    pub async fn rpc_read(
        &self,
        product: Product,
        region: Option<&Region>,
        action: &str,
        params: Vec<(String, String)>,
        method: RpcMethod,
    ) -> Result<serde_json::Value, ApiError> {
        let mut attempt = 0;
        let mut tries = ReadTries::default();
        loop {
            match self
                .rpc(product, region, action, params.clone(), method)
                .await
            {
                Err(e) if e.kind.is_retryable() && self.may_retry_read(&e, &mut tries) => {
                    tokio::time::sleep(self.backoff(attempt, e.retry_after_ms)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Whether a read that failed with the retryable `e` may be tried again, counting it:
    /// up to [`ClientOptions::read_retries`] retries of failures, and separately four times
    /// as many of throttling, which is the cloud asking to slow down (many concurrent reads
    /// against one QPS limit need several rounds to get through).
    fn may_retry_read(&self, e: &ApiError, tries: &mut ReadTries) -> bool {
        let n = self.inner.options.read_retries;
        let (used, limit) = if e.kind == ProviderErrorKind::Throttling {
            (&mut tries.throttled, n.saturating_mul(4))
        } else {
            (&mut tries.failed, n)
        };
        if *used >= limit {
            return false;
        }
        *used += 1;
        true
    }

    fn backoff(&self, attempt: u32, retry_after_ms: Option<u64>) -> Duration {
        if let Some(ms) = retry_after_ms {
            // Jitter on top of the cloud's hint, growing with the attempt, so that readers
            // throttled together do not come back together.
            let spread = ms.saturating_mul(u64::from(attempt) + 1);
            let bytes = uuid::Uuid::new_v4().into_bytes();
            let jitter = u64::from(u16::from_le_bytes([bytes[0], bytes[1]])) * spread / 65_535;
            return Duration::from_millis(ms.saturating_add(jitter).min(30_000));
        }
        let base = self
            .inner
            .options
            .retry_base_delay
            .saturating_mul(1 << attempt.min(6));
        let jitter =
            u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * base.as_millis().min(1000) as u64 / 512;
        base + Duration::from_millis(jitter)
    }

    /// One OSS REST call signed with OSS V1. `bucket: None` is a service-level call
    /// (`ListBuckets`); `subresource` is e.g. `bucketInfo`. Returns the status and body of
    /// a 2xx answer.
    ///
    /// # Errors
    /// An [`ApiError`] from the XML error envelope, `Transient` for transport failures.
    pub async fn oss(
        &self,
        method: OssMethod,
        region: &Region,
        bucket: Option<&str>,
        subresource: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, String), ApiError> {
        self.oss_query(method, region, bucket, subresource, &[], body)
            .await
    }

    /// [`Client::oss`] with extra query parameters that OSS V1 does not sign (`max-keys`,
    /// `marker`).
    ///
    /// # Errors
    /// As [`Client::oss`].
    pub async fn oss_query(
        &self,
        method: OssMethod,
        region: &Region,
        bucket: Option<&str>,
        subresource: Option<&str>,
        query: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<(u16, String), ApiError> {
        self.oss_with_headers(
            method,
            region,
            bucket,
            subresource,
            query,
            &BTreeMap::new(),
            body,
        )
        .await
    }

    /// [`Client::oss_query`] with extra `x-oss-*` headers, which OSS V1 signs
    /// (`x-oss-bucket-tagging` on `PutBucket`).
    ///
    /// # Errors
    /// As [`Client::oss`].
    #[allow(clippy::too_many_arguments)]
    pub async fn oss_with_headers(
        &self,
        method: OssMethod,
        region: &Region,
        bucket: Option<&str>,
        subresource: Option<&str>,
        query: &[(String, String)],
        headers: &BTreeMap<String, String>,
        body: Vec<u8>,
    ) -> Result<(u16, String), ApiError> {
        match self
            .oss_once(
                method,
                region,
                bucket,
                subresource,
                query,
                headers,
                body.clone(),
            )
            .await
        {
            Err(e) if e.has_code(OSS_EXPIRED) && self.inner.credentials.expire().await => {
                self.oss_once(method, region, bucket, subresource, query, headers, body)
                    .await
            }
            other => other,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn oss_once(
        &self,
        method: OssMethod,
        region: &Region,
        bucket: Option<&str>,
        subresource: Option<&str>,
        query: &[(String, String)],
        headers: &BTreeMap<String, String>,
        body: Vec<u8>,
    ) -> Result<(u16, String), ApiError> {
        let action = match (method, bucket, subresource) {
            (OssMethod::Get, None, _) => "ListBuckets",
            (OssMethod::Get, Some(_), Some("bucketInfo")) => "GetBucketInfo",
            (OssMethod::Get, Some(_), Some("tagging")) => "GetBucketTags",
            (OssMethod::Put, Some(_), Some("tagging")) => "PutBucketTags",
            (OssMethod::Delete, Some(_), Some("tagging")) => "DeleteBucketTags",
            (OssMethod::Post, _, Some("delete")) => "DeleteMultipleObjects",
            (OssMethod::Post, _, _) => "PostObject",
            (OssMethod::Get, Some(_), _) => "GetBucket",
            (OssMethod::Put, _, _) => "PutBucket",
            (OssMethod::Delete, _, _) => "DeleteBucket",
        };
        let host = oss_host(region, bucket);
        let mut url = self.inner.endpoints.url_for(&host);
        let mut url_query: Vec<String> = subresource.iter().map(|s| (*s).to_owned()).collect();
        if !query.is_empty() {
            url_query.push(encode_params(query));
        }
        if !url_query.is_empty() {
            url.push('?');
            url.push_str(&url_query.join("&"));
        }
        let mut resource = match bucket {
            Some(b) => format!("/{b}/"),
            None => "/".to_owned(),
        };
        // OSS V1 signs the sub-resource and the query parameters it lists as such
        // (oss2's `SUBRESOURCES`: `continuation-token` among those flinkform sends), sorted,
        // `key=value` unencoded.
        let mut signed: Vec<String> = subresource.iter().map(|s| (*s).to_owned()).collect();
        signed.extend(
            query
                .iter()
                .filter(|(k, _)| OSS_SIGNED_QUERY.contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={v}")),
        );
        signed.sort();
        if !signed.is_empty() {
            resource.push('?');
            resource.push_str(&signed.join("&"));
        }
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let content_type = if body.is_empty() {
            ""
        } else {
            "application/xml"
        };
        // Content-MD5 of every body (OSS requires it for DeleteMultipleObjects and checks it
        // where given).
        let content_md5 = if body.is_empty() {
            String::new()
        } else {
            use base64::Engine as _;
            use md5::Digest as _;
            base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&body))
        };
        let creds = &self.current_credentials(action).await?;
        let mut oss_headers = headers.clone();
        if let Some(token) = &creds.security_token {
            oss_headers.insert("x-oss-security-token".to_owned(), token.expose().to_owned());
        }
        let signature = OssV1Request {
            verb: method.as_str(),
            content_md5: &content_md5,
            content_type,
            date: &date,
            oss_headers: &oss_headers,
            resource: &resource,
        }
        .signature(creds.access_key_secret.expose());
        let url_base = url.clone();
        let mut req = match method {
            OssMethod::Get => self.inner.http.get(url),
            OssMethod::Put => self.inner.http.put(url),
            OssMethod::Delete => self.inner.http.delete(url),
            OssMethod::Post => self.inner.http.post(url),
        };
        req = req
            .header("host", host.clone())
            .header("date", date)
            .header(
                "authorization",
                format!("OSS {}:{signature}", creds.access_key_id),
            );
        for (k, v) in &oss_headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if !body.is_empty() {
            req = req
                .header("content-type", content_type)
                .header("content-md5", content_md5.as_str())
                .body(body);
        }
        self.count();
        let overridden = matches!(self.inner.endpoints, Endpoints::Override(_));
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let err = transport_error(action, &e, &url_base, &host, &self.origin(), overridden);
                tracing::debug!(product = "oss", action, error = %err.message, "api call failed");
                return Err(err);
            }
        };
        let status = resp.status().as_u16();
        let header_request_id = header_str(resp.headers(), "x-oss-request-id");
        let text = resp.text().await.map_err(|e| {
            transport_error(action, &e, &url_base, &host, &self.origin(), overridden)
        })?;
        tracing::debug!(
            product = "oss",
            action,
            status,
            request_id = header_request_id.as_deref().unwrap_or("-"),
            "api call"
        );
        if (200..300).contains(&status) {
            return Ok((status, text));
        }
        let parsed: OssErrorXml = quick_xml::de::from_str(&text).unwrap_or_default();
        Err(self.note(
            ApiGroup::Oss,
            ApiError {
                kind: classify(Some(status), parsed.code.as_deref(), false),
                action: action.to_owned(),
                code: parsed.code,
                message: parsed.message.unwrap_or_else(|| format!("HTTP {status}")),
                request_id: parsed.request_id.or(header_request_id),
                http_status: Some(status),
                retry_after_ms: None,
            },
        ))
    }

    /// [`Client::oss`] for a `GET`, retried like [`Client::rpc_read`].
    ///
    /// # Errors
    /// The last attempt's error.
    pub async fn oss_read(
        &self,
        region: &Region,
        bucket: Option<&str>,
        subresource: Option<&str>,
        query: &[(String, String)],
    ) -> Result<(u16, String), ApiError> {
        let mut attempt = 0;
        let mut tries = ReadTries::default();
        loop {
            match self
                .oss_query(
                    OssMethod::Get,
                    region,
                    bucket,
                    subresource,
                    query,
                    Vec::new(),
                )
                .await
            {
                Err(e) if e.kind.is_retryable() && self.may_retry_read(&e, &mut tries) => {
                    tokio::time::sleep(self.backoff(attempt, e.retry_after_ms)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}
