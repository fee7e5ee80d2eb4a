//! The client of a SaaS vendor's Billing Center connector (contract: `specs/connector.md`):
//! JSON over HTTP with a bearer token. The vendor's Billing Center has no public API; the
//! emulator serves this contract under `/_vendor/connector/v1/`, and a vendor without one
//! is driven in manual mode (gates) instead.
//!
//! Secrets: the bearer token is never printed (`Debug` hides it), and error messages carry
//! the connector's `error.code` / `error.message`, never the request body.

use std::fmt;

use flinkform_core::{ProviderError, ProviderErrorKind};
use serde_json::Value;

/// A connector endpoint and its credentials.
#[derive(Clone)]
pub struct Connector {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// HTTP methods the connector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Connector {
    /// A connector at `base` (`https://vendor.example/connector`, or the emulator's
    /// `http://127.0.0.1:PORT/_vendor/connector`) with bearer `token`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Result<Self, ProviderError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| err(ProviderErrorKind::Fatal, "connector", None, e.to_string()))?;
        Ok(Self {
            base: base.into().trim_end_matches('/').to_owned(),
            token: token.into(),
            http,
        })
    }

    /// One call: `path` below `/v1/`, an optional JSON body. Returns the JSON answer;
    /// 404 is `NotFound`, 409 `Conflict`, other 4xx `InvalidParameter`, 401/403 `Auth`,
    /// 5xx and transport errors `Transient`.
    ///
    /// # Errors
    /// A [`ProviderError`] whose action is `connector <METHOD> <path>`.
    pub async fn call(
        &self,
        method: ConnectorMethod,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let (m, name) = match method {
            ConnectorMethod::Get => (reqwest::Method::GET, "GET"),
            ConnectorMethod::Post => (reqwest::Method::POST, "POST"),
            ConnectorMethod::Patch => (reqwest::Method::PATCH, "PATCH"),
            ConnectorMethod::Delete => (reqwest::Method::DELETE, "DELETE"),
        };
        let action = format!(
            "connector {name} {}",
            path.split('?').next().unwrap_or(path)
        );
        let url = format!("{}/v1/{path}", self.base);
        let mut req = self
            .http
            .request(m, url)
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| err(ProviderErrorKind::Transient, &action, None, e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| err(ProviderErrorKind::Transient, &action, None, e.to_string()))?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(json);
        }
        let code = json
            .pointer("/error/code")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let message = json
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map_or_else(|| format!("HTTP {status}"), str::to_owned);
        let kind = match status {
            401 | 403 => ProviderErrorKind::Auth,
            404 => ProviderErrorKind::NotFound,
            409 => ProviderErrorKind::Conflict,
            429 => ProviderErrorKind::Throttling,
            s if s >= 500 => ProviderErrorKind::Transient,
            _ => ProviderErrorKind::InvalidParameter,
        };
        Err(err(kind, &action, code, message))
    }
}

fn err(
    kind: ProviderErrorKind,
    action: &str,
    code: Option<String>,
    message: String,
) -> ProviderError {
    ProviderError {
        kind,
        action: action.to_owned(),
        code,
        message,
        request_id: None,
    }
}
