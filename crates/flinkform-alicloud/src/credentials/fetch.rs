//! Fetching temporary credentials, one function per source: STS `AssumeRole` (signed with
//! the base AccessKey), STS `AssumeRoleWithOIDC` (anonymous; the token file re-read each
//! time), and the ECS metadata service (IMDSv2 token, then the role's credentials).
//! Errors name the endpoint and where the source is configured, and say what to check;
//! none holds a secret (answers are parsed straight into [`Secret`]s).

use std::time::Duration;

use serde::Deserialize;

use super::source::{Source, StsEndpoint};
use super::{Credentials, Secret};
use crate::client::{ApiError, Client, ClientOptions, RpcMethod};
use crate::endpoint::{Endpoints, Product};
use crate::error::{Error, Result, StsRefusal};

/// Fresh credentials and how long they live (`None`: for ever).
pub(crate) struct Fetched {
    pub(crate) credentials: Credentials,
    pub(crate) lifetime: Option<Duration>,
}

pub(crate) async fn fetch(
    source: &Source,
    endpoints: &Endpoints,
    options: &ClientOptions,
) -> Result<Fetched> {
    match source {
        Source::Static { credentials, .. } => Ok(Fetched {
            credentials: credentials.clone(),
            lifetime: None,
        }),
        Source::RamRoleArn {
            base,
            role_arn,
            session_name,
            duration_secs,
            policy,
            sts,
            ..
        } => {
            let mut params = vec![
                ("RoleArn".to_owned(), role_arn.clone()),
                ("RoleSessionName".to_owned(), session_name.clone()),
                ("DurationSeconds".to_owned(), duration_secs.to_string()),
            ];
            if let Some(p) = policy {
                params.push(("Policy".to_owned(), p.clone()));
            }
            let client = sts_client(sts, endpoints, base.clone(), options)?;
            let answer = client
                .rpc_at(
                    &sts.host,
                    Product::Sts,
                    "AssumeRole",
                    params,
                    RpcMethod::Post,
                    true,
                )
                .await;
            sts_answer("AssumeRole", answer, source, sts, role_arn, *duration_secs)
        }
        Source::Oidc {
            role_arn,
            provider_arn,
            token_file,
            session_name,
            duration_secs,
            policy,
            sts,
            origin,
        } => {
            let token = std::fs::read_to_string(token_file).map_err(|e| Error::OidcTokenFile {
                path: token_file.clone(),
                origin: origin.to_string(),
                source: e,
            })?;
            let mut params = vec![
                ("RoleArn".to_owned(), role_arn.clone()),
                ("OIDCProviderArn".to_owned(), provider_arn.clone()),
                ("OIDCToken".to_owned(), token.trim().to_owned()),
                ("RoleSessionName".to_owned(), session_name.clone()),
                ("DurationSeconds".to_owned(), duration_secs.to_string()),
            ];
            if let Some(p) = policy {
                params.push(("Policy".to_owned(), p.clone()));
            }
            let client = sts_client(sts, endpoints, Credentials::new("", ""), options)?;
            let answer = client
                .rpc_at(
                    &sts.host,
                    Product::Sts,
                    "AssumeRoleWithOIDC",
                    params,
                    RpcMethod::Post,
                    false,
                )
                .await;
            sts_answer(
                "AssumeRoleWithOIDC",
                answer,
                source,
                sts,
                role_arn,
                *duration_secs,
            )
        }
        Source::EcsRamRole {
            role,
            endpoint,
            imds_v1_disabled,
            ..
        } => ecs(source, role.as_deref(), endpoint, *imds_v1_disabled).await,
    }
}

fn sts_client(
    sts: &StsEndpoint,
    endpoints: &Endpoints,
    credentials: Credentials,
    options: &ClientOptions,
) -> Result<Client> {
    let endpoints = match &sts.url {
        Some(url) => Endpoints::Override(url.clone()),
        None => endpoints.clone(),
    };
    Client::new(endpoints, credentials, options.clone())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireCredentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

/// The lifetime of credentials that expire at `expiration` and were issued
/// `issued_lifetime` before it, capped by `Expiration` minus the local wall clock.
fn lifetime(expiration: &str, issued_lifetime: Duration) -> Option<Duration> {
    let expires = chrono::DateTime::parse_from_rfc3339(expiration).ok()?;
    let by_wall = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    Some(issued_lifetime.min(by_wall))
}

fn hint_for(code: &str) -> &'static str {
    if code == "NoPermission" {
        "check the role's trust policy (it must trust the caller's account or OIDC provider)"
    } else if code.starts_with("EntityNotExist") {
        "check the role ARN and the OIDC provider ARN"
    } else if code.starts_with("AuthenticationFail.OIDCToken") {
        "check the OIDC token file and that the provider's issuer and audience match the token"
    } else if code.starts_with("InvalidAccessKeyId") || code.starts_with("SignatureDoesNotMatch") {
        "check the AccessKey that assumes the role"
    } else if code.starts_with("InvalidParameter") {
        "check the role session name and duration (900 seconds up to the role's maximum)"
    } else {
        "check the role ARN, its trust policy and the credentials that assume it"
    }
}

fn sts_answer(
    action: &'static str,
    answer: std::result::Result<serde_json::Value, ApiError>,
    source: &Source,
    sts: &StsEndpoint,
    role_arn: &str,
    duration_secs: u64,
) -> Result<Fetched> {
    let origin = source.describe();
    let body = match answer {
        Ok(b) => b,
        Err(e) if e.http_status.is_none() => {
            // The client's message is `cannot reach <address>: <what happened> — <check>`;
            // this error says the address and what to check its own way.
            let detail = e
                .message
                .split_once(": ")
                .map_or(e.message.as_str(), |(_, rest)| rest);
            let detail = detail.rsplit_once(" — ").map_or(detail, |(what, _)| what);
            return Err(Error::Unreachable {
                host: sts
                    .url
                    .clone()
                    .unwrap_or_else(|| format!("{}:443", sts.host)),
                origin,
                message: detail.to_owned(),
                hint: "ALIBABA_CLOUD_STS_ENDPOINT / ALIBABA_CLOUD_STS_REGION",
            });
        }
        Err(e) => {
            let code = e.code.clone().unwrap_or_else(|| {
                e.http_status
                    .map_or_else(String::new, |s| format!("HTTP {s}"))
            });
            return Err(Error::StsRefused(Box::new(StsRefusal {
                action,
                endpoint: sts.to_string(),
                role_arn: role_arn.to_owned(),
                origin,
                hint: hint_for(&code),
                code,
                message: e.message,
            })));
        }
    };
    let wire: WireCredentials = body
        .get("Credentials")
        .cloned()
        .and_then(|c| serde_json::from_value(c).ok())
        .ok_or_else(|| Error::CredentialsAnswer {
            service: "STS",
            endpoint: sts.to_string(),
            origin: source.describe(),
            message: format!("the {action} answer has no Credentials"),
            hint: "check ALIBABA_CLOUD_STS_ENDPOINT",
        })?;
    let lifetime = lifetime(&wire.expiration, Duration::from_secs(duration_secs));
    Ok(Fetched {
        credentials: Credentials {
            access_key_id: wire.access_key_id,
            access_key_secret: Secret::new(wire.access_key_secret),
            security_token: Some(Secret::new(wire.security_token)),
        },
        lifetime: Some(lifetime.unwrap_or(Duration::ZERO)),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetadataCredentials {
    #[serde(default)]
    code: String,
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
    #[serde(default)]
    last_updated: String,
}

const IMDS_HINT: &str = "check that a RAM role is attached to the instance and that ALIBABA_CLOUD_ECS_METADATA names it (ALIBABA_CLOUD_IMDS_ENDPOINT overrides the service's address)";

async fn ecs(
    source: &Source,
    role: Option<&str>,
    endpoint: &str,
    imds_v1_disabled: bool,
) -> Result<Fetched> {
    let origin = source.describe();
    let base = endpoint.trim_end_matches('/');
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Error::HttpClient {
            message: e.to_string(),
        })?;
    let unreachable = |e: &reqwest::Error| Error::Unreachable {
        host: base.to_owned(),
        origin: origin.clone(),
        message: if e.is_timeout() {
            "timeout".to_owned()
        } else {
            crate::client::transport_message(e)
        },
        hint: "that this runs on an ECS instance (ALIBABA_CLOUD_ECS_METADATA_DISABLED=true turns the instance role off)",
    };
    let bad = |message: String| Error::CredentialsAnswer {
        service: "the ECS metadata service",
        endpoint: base.to_owned(),
        origin: origin.clone(),
        message,
        hint: IMDS_HINT,
    };
    // IMDSv2: a session token first.
    let token = match http
        .put(format!("{base}/latest/api/token"))
        .header("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => Some(r.text().await.map_err(|e| unreachable(&e))?),
        Ok(r) if imds_v1_disabled => {
            return Err(bad(format!(
                "no metadata token (HTTP {}) and ALIBABA_CLOUD_IMDSV1_DISABLED=true",
                r.status().as_u16()
            )));
        }
        Ok(_) => None,
        Err(e) => return Err(unreachable(&e)),
    };
    let get = |path: String| {
        let mut req = http.get(format!("{base}{path}"));
        if let Some(t) = &token {
            req = req.header("X-aliyun-ecs-metadata-token", t.trim());
        }
        req.send()
    };
    let role = match role {
        Some(r) => r.to_owned(),
        None => {
            let r = get("/latest/meta-data/ram/security-credentials/".to_owned())
                .await
                .map_err(|e| unreachable(&e))?;
            let status = r.status().as_u16();
            let text = r.text().await.map_err(|e| unreachable(&e))?;
            if status != 200 || text.trim().is_empty() {
                return Err(bad(format!("no RAM role name (HTTP {status})")));
            }
            text.lines().next().unwrap_or_default().trim().to_owned()
        }
    };
    let r = get(format!("/latest/meta-data/ram/security-credentials/{role}"))
        .await
        .map_err(|e| unreachable(&e))?;
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| unreachable(&e))?;
    if status != 200 {
        return Err(bad(format!(
            "no credentials for role `{role}` (HTTP {status})"
        )));
    }
    let wire: MetadataCredentials = serde_json::from_str(&text).map_err(|_| {
        bad(format!(
            "the credentials of role `{role}` are not the expected JSON"
        ))
    })?;
    if wire.code != "Success" {
        return Err(bad(format!(
            "the credentials of role `{role}` came with Code `{}`",
            wire.code
        )));
    }
    let issued = match (
        chrono::DateTime::parse_from_rfc3339(&wire.expiration),
        chrono::DateTime::parse_from_rfc3339(&wire.last_updated),
    ) {
        (Ok(e), Ok(u)) => (e - u).to_std().unwrap_or(Duration::ZERO),
        _ => Duration::from_secs(3600),
    };
    let lifetime = lifetime(&wire.expiration, issued).unwrap_or(Duration::ZERO);
    Ok(Fetched {
        credentials: Credentials {
            access_key_id: wire.access_key_id,
            access_key_secret: Secret::new(wire.access_key_secret),
            security_token: Some(Secret::new(wire.security_token)),
        },
        lifetime: Some(lifetime),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_is_the_issued_one_capped_by_the_wall_clock() {
        let in_ten_minutes = (chrono::Utc::now() + chrono::Duration::minutes(10))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        // Issued for an hour but expiring in ten minutes by the local clock: ten minutes.
        let l = lifetime(&in_ten_minutes, Duration::from_secs(3600)).expect("parses");
        assert!(
            l <= Duration::from_secs(600) && l > Duration::from_secs(590),
            "{l:?}"
        );
        // Issued for 15 minutes, expiring later by the local clock (a compressed emulator
        // clock, or a local clock running late): the issued 15 minutes.
        let l = lifetime(&in_ten_minutes, Duration::from_secs(300)).expect("parses");
        assert_eq!(l, Duration::from_secs(300));
        // Already expired by the local clock: nothing left.
        let past = "2020-01-01T00:00:00Z";
        assert_eq!(
            lifetime(past, Duration::from_secs(900)),
            Some(Duration::ZERO)
        );
        assert_eq!(lifetime("not a time", Duration::from_secs(900)), None);
    }
}
