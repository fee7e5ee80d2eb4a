//! Alibaba Cloud credentials and where they come from: the `ALIBABA_CLOUD_*` environment
//! variables and the aliyun CLI's `~/.aliyun/config.json` profiles, static (AccessKey, STS
//! token) or temporary (RAM role through STS `AssumeRole`, OIDC role through
//! `AssumeRoleWithOIDC`, the ECS instance's RAM role from its metadata service). Secrets are
//! wrapped in [`Secret`], whose `Debug` and `Display` print `***`, so they never reach logs.
//!
//! - [`source`]: [`Source`], where one account's credentials come from, and [`chain`], which
//!   picks it (the Alibaba Cloud credential chain's order and variable names) without any
//!   network call.
//! - [`cache`]: [`CredentialCache`], which holds an account's current credentials, fetches
//!   temporary ones and refreshes them before they expire, on an injectable [`Clock`].
//! - `fetch`: one function per source that talks to the network (STS, the metadata service).

pub mod cache;
mod fetch;
pub mod source;

pub use cache::{Clock, CredentialCache, ManualClock, MonotonicClock};
pub use source::{Origin, Source, StsEndpoint, chain, configured};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use flinkform_core::AccountName;
use serde::Deserialize;

use crate::error::{Error, Result};

/// Environment variable holding the AccessKey id.
pub const ENV_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// Environment variable holding the AccessKey secret.
pub const ENV_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// Environment variable holding an STS security token.
pub const ENV_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

/// A secret string. `Debug` and `Display` print `***`; [`Secret::expose`] is the only way
/// to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself; for signing only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An AccessKey pair, optionally with an STS token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The AccessKey id (not secret: it appears in every `Authorization` header).
    pub access_key_id: String,
    /// The AccessKey secret.
    pub access_key_secret: Secret,
    /// The STS security token, for temporary credentials.
    pub security_token: Option<Secret>,
}

impl Credentials {
    /// Long-lived AccessKey credentials.
    #[must_use]
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: Secret::new(access_key_secret),
            security_token: None,
        }
    }

    /// Reads `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and
    /// `ALIBABA_CLOUD_SECURITY_TOKEN` from the process environment; `Ok(None)` when neither
    /// key variable is set.
    ///
    /// # Errors
    /// When only one of the two key variables is set.
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_env_with(&|name| std::env::var(name).ok())
    }

    /// Like [`Credentials::from_env`], reading variables through `env`.
    ///
    /// # Errors
    /// When only one of the two key variables is set.
    pub fn from_env_with(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        match (get(ENV_ACCESS_KEY_ID), get(ENV_ACCESS_KEY_SECRET)) {
            (Some(id), Some(secret)) => Ok(Some(Self {
                access_key_id: id,
                access_key_secret: Secret::new(secret),
                security_token: get(ENV_SECURITY_TOKEN).map(Secret::new),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(Error::IncompleteEnv {
                set: ENV_ACCESS_KEY_ID,
                missing: ENV_ACCESS_KEY_SECRET,
            }),
            (None, Some(_)) => Err(Error::IncompleteEnv {
                set: ENV_ACCESS_KEY_SECRET,
                missing: ENV_ACCESS_KEY_ID,
            }),
        }
    }

    /// Reads profile `profile_name` (or, with `None`, the file's `current` profile) from an
    /// aliyun CLI configuration file. Modes `AK` and `StsToken` are supported.
    ///
    /// # Errors
    /// When the file cannot be read or parsed, the profile is missing, or its mode is not
    /// supported.
    pub fn from_aliyun_profile(path: &Path, profile_name: Option<&str>) -> Result<Self> {
        let config = AliyunConfig::read(path)?;
        let name = profile_name.unwrap_or(config.current.as_str());
        let profile = config.profile(name).ok_or_else(|| Error::ProfileNotFound {
            profile: name.to_owned(),
            path: path.to_owned(),
            known: config.names(),
        })?;
        profile.credentials()
    }
}

/// The aliyun CLI configuration file: `{"current": "...", "profiles": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct AliyunConfig {
    #[serde(default)]
    pub(crate) current: String,
    #[serde(default)]
    pub(crate) profiles: Vec<AliyunProfile>,
}

/// One profile of the aliyun CLI configuration (fields this client uses; names as the
/// aliyun CLI and the official credentials SDKs write them).
#[derive(Deserialize)]
pub(crate) struct AliyunProfile {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) mode: String,
    #[serde(default)]
    pub(crate) access_key_id: String,
    #[serde(default)]
    pub(crate) access_key_secret: String,
    #[serde(default)]
    pub(crate) sts_token: String,
    #[serde(default)]
    pub(crate) ram_role_arn: String,
    #[serde(default)]
    pub(crate) ram_session_name: String,
    #[serde(default)]
    pub(crate) expired_seconds: u64,
    #[serde(default)]
    pub(crate) sts_region: String,
    #[serde(default)]
    pub(crate) enable_vpc: bool,
    #[serde(default)]
    pub(crate) policy: String,
    #[serde(default)]
    pub(crate) ram_role_name: String,
    #[serde(default)]
    pub(crate) oidc_token_file: String,
    #[serde(default)]
    pub(crate) oidc_provider_arn: String,
}

impl fmt::Debug for AliyunProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunProfile")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl AliyunConfig {
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| Error::ConfigParse {
            path: path.to_owned(),
            message: parse_error_without_values(&e),
        })
    }

    pub(crate) fn profile(&self, name: &str) -> Option<&AliyunProfile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    pub(crate) fn names(&self) -> String {
        let mut names: Vec<&str> = self.profiles.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        if names.is_empty() {
            "(none)".to_owned()
        } else {
            names.join(", ")
        }
    }
}

/// What the JSON parser said, without the offending value: serde's "invalid type: string
/// \"…\", expected …" quotes it, and in this file the value may be a secret.
fn parse_error_without_values(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let Some((what, rest)) = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|p| message.strip_prefix(p).map(|rest| (*p, rest)))
    else {
        return message;
    };
    let kind = rest.split(['`', '"', ',']).next().unwrap_or("value").trim();
    let expected = rest
        .split_once(", expected ")
        .map_or_else(String::new, |(_, x)| format!(", expected {x}"));
    if expected.is_empty() {
        format!("{what}{kind} at line {} column {}", e.line(), e.column())
    } else {
        format!("{what}{kind}{expected}")
    }
}

impl AliyunProfile {
    /// The static credentials of an `AK` or `StsToken` profile.
    pub(crate) fn credentials(&self) -> Result<Credentials> {
        let sts = match self.mode.as_str() {
            "AK" | "" => false,
            "StsToken" => true,
            other => {
                return Err(Error::UnsupportedProfileMode {
                    profile: self.name.clone(),
                    mode: other.to_owned(),
                });
            }
        };
        let need = |value: &str, field: &'static str| {
            if value.is_empty() {
                Err(Error::ProfileIncomplete {
                    profile: self.name.clone(),
                    field,
                })
            } else {
                Ok(value.to_owned())
            }
        };
        Ok(Credentials {
            access_key_id: need(&self.access_key_id, "access_key_id")?,
            access_key_secret: Secret::new(need(&self.access_key_secret, "access_key_secret")?),
            security_token: if sts {
                Some(Secret::new(need(&self.sts_token, "sts_token")?))
            } else {
                None
            },
        })
    }
}

/// `~/.aliyun/config.json`, where the aliyun CLI keeps its profiles.
#[must_use]
pub fn default_aliyun_config_path() -> Option<PathBuf> {
    dirs::home_dir().map(|h| h.join(".aliyun").join("config.json"))
}

/// The static credentials of `account_name`: the aliyun CLI profile of the same name when
/// `aliyun_config` has one, else the `ALIBABA_CLOUD_*` AccessKey variables read through
/// `env`. [`chain`] is the whole credential chain (roles, OIDC, the ECS metadata service).
///
/// # Errors
/// When the configuration file exists but cannot be read or parsed, when the matching
/// profile is unusable, when only one key variable is set, or when neither source has
/// credentials ([`Error::NoCredentials`], whose help names both options).
pub fn resolve(
    account_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
    aliyun_config: Option<&Path>,
) -> Result<Credentials> {
    if let Some(path) = aliyun_config.filter(|p| p.exists()) {
        let config = AliyunConfig::read(path)?;
        if let Some(profile) = config.profile(account_name) {
            return profile.credentials();
        }
    }
    if let Some(creds) = Credentials::from_env_with(env)? {
        return Ok(creds);
    }
    Err(Error::NoCredentials {
        account: account_name.to_owned(),
        config: aliyun_config.map_or_else(
            || "~/.aliyun/config.json".to_owned(),
            |p| p.display().to_string(),
        ),
        checked: format!("profile `{account_name}`, {ENV_ACCESS_KEY_ID}"),
    })
}

/// [`resolve`] for every account in `accounts`.
///
/// # Errors
/// The first account whose credentials cannot be resolved.
pub fn resolve_all<'a>(
    accounts: impl IntoIterator<Item = &'a AccountName>,
    env: &dyn Fn(&str) -> Option<String>,
    aliyun_config: Option<&Path>,
) -> Result<BTreeMap<AccountName, Credentials>> {
    accounts
        .into_iter()
        .map(|a| Ok((a.clone(), resolve(a.as_str(), env, aliyun_config)?)))
        .collect()
}
