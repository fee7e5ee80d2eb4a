//! Where one account's credentials come from, and the chain that picks it.
//!
//! [`chain`] follows the Alibaba Cloud default credential chain (`aliyun/credentials-go`
//! `NewDefaultCredentialsProvider`: environment, OIDC, aliyun CLI profile, ECS instance RAM
//! role) and its variable names, with two flinkform rules in front and behind:
//!
//! 1. the aliyun CLI profile named like the account (`account: main` → profile `main`), so
//!    that one stack can reach several accounts;
//! 2. `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET` (with
//!    `ALIBABA_CLOUD_SECURITY_TOKEN`: STS token); with `ALIBABA_CLOUD_ROLE_ARN` too (and no
//!    OIDC provider), those keys assume that role (`AssumeRole`, session
//!    `ALIBABA_CLOUD_ROLE_SESSION_NAME`);
//! 3. OIDC: `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`,
//!    `ALIBABA_CLOUD_OIDC_TOKEN_FILE` (`AssumeRoleWithOIDC`, the token re-read on every
//!    refresh);
//! 4. the aliyun CLI profile `ALIBABA_CLOUD_PROFILE`, else the file's `current` one (file
//!    `ALIBABA_CLOUD_CONFIG_FILE`, default `~/.aliyun/config.json`;
//!    `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true` skips profiles); modes `AK`, `StsToken`,
//!    `RamRoleArn`, `EcsRamRole`, `OIDC`;
//! 5. the ECS instance RAM role, only when `ALIBABA_CLOUD_ECS_METADATA` (the role name) or
//!    `ALIBABA_CLOUD_IMDS_ENDPOINT` is set and `ALIBABA_CLOUD_ECS_METADATA_DISABLED` is not
//!    `true`. Unlike the official chain, flinkform never probes the metadata service
//!    unasked: where there is none, missing credentials fail at once instead of after a
//!    network timeout.
//!
//! STS is `sts.aliyuncs.com`, `sts.<region>.aliyuncs.com` with `ALIBABA_CLOUD_STS_REGION`
//! (or a profile's `sts_region`), `sts-vpc.<region>.aliyuncs.com` with
//! `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true` (or `enable_vpc`); `ALIBABA_CLOUD_STS_ENDPOINT`
//! (a flinkform variable: a host, or a URL such as `http://127.0.0.1:8080`) overrides it. The
//! metadata service is `http://100.100.100.200` unless `ALIBABA_CLOUD_IMDS_ENDPOINT` (a
//! flinkform variable) names another base URL.
//!
//! Nothing here touches the network.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{
    AliyunConfig, AliyunProfile, Credentials, ENV_ACCESS_KEY_ID, default_aliyun_config_path,
};
use crate::error::{Error, Result};

/// The role to assume.
pub const ENV_ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
/// The role session name.
pub const ENV_ROLE_SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";
/// The lifetime (seconds, 900 up to the role's maximum) asked of STS.
pub const ENV_ROLE_SESSION_EXPIRATION: &str = "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION";
/// The OIDC provider's ARN.
pub const ENV_OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
/// The file holding the OIDC token.
pub const ENV_OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
/// The aliyun CLI profile to use.
pub const ENV_PROFILE: &str = "ALIBABA_CLOUD_PROFILE";
/// The aliyun CLI configuration file.
pub const ENV_CONFIG_FILE: &str = "ALIBABA_CLOUD_CONFIG_FILE";
/// `true` skips aliyun CLI profiles.
pub const ENV_CLI_PROFILE_DISABLED: &str = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED";
/// The ECS instance's RAM role name.
pub const ENV_ECS_METADATA: &str = "ALIBABA_CLOUD_ECS_METADATA";
/// `true` disables the ECS instance RAM role.
pub const ENV_ECS_METADATA_DISABLED: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";
/// `true` refuses the metadata service without an IMDSv2 token.
pub const ENV_IMDSV1_DISABLED: &str = "ALIBABA_CLOUD_IMDSV1_DISABLED";
/// The metadata service's base URL (flinkform; default `http://100.100.100.200`).
pub const ENV_IMDS_ENDPOINT: &str = "ALIBABA_CLOUD_IMDS_ENDPOINT";
/// The STS region.
pub const ENV_STS_REGION: &str = "ALIBABA_CLOUD_STS_REGION";
/// `true` uses STS's VPC endpoint.
pub const ENV_VPC_ENDPOINT_ENABLED: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";
/// STS host or URL (flinkform).
pub const ENV_STS_ENDPOINT: &str = "ALIBABA_CLOUD_STS_ENDPOINT";

/// The real ECS metadata service.
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://100.100.100.200";

/// Where a source is configured, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Handed to the client by its caller (the emulator's keys, tests).
    Given,
    /// The `ALIBABA_CLOUD_*` environment variables.
    Env,
    /// A profile of the aliyun CLI configuration.
    Profile {
        /// Its name.
        name: String,
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Given => f.write_str("given keys"),
            Self::Env => f.write_str("environment"),
            Self::Profile { name, path } => write!(f, "profile `{name}` in {}", path.display()),
        }
    }
}

/// Where STS calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsEndpoint {
    /// The host named in the request (`sts.aliyuncs.com`).
    pub host: String,
    /// A base URL to send requests to instead of `https://<host>/`.
    pub url: Option<String>,
}

impl StsEndpoint {
    fn resolve(env: &dyn Fn(&str) -> Option<String>, region: Option<&str>, vpc: bool) -> Self {
        if let Some(e) = env(ENV_STS_ENDPOINT) {
            if e.contains("://") {
                let host = url::Url::parse(&e)
                    .ok()
                    .and_then(|u| {
                        u.host_str().map(|h| {
                            u.port()
                                .map_or_else(|| h.to_owned(), |p| format!("{h}:{p}"))
                        })
                    })
                    .unwrap_or_else(|| e.clone());
                return Self { host, url: Some(e) };
            }
            return Self { host: e, url: None };
        }
        let prefix = if vpc { "sts-vpc" } else { "sts" };
        let host = match region.filter(|r| !r.is_empty()) {
            Some(r) => format!("{prefix}.{r}.aliyuncs.com"),
            None => "sts.aliyuncs.com".to_owned(),
        };
        Self { host, url: None }
    }
}

impl fmt::Display for StsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.url {
            Some(u) => f.write_str(u),
            None => f.write_str(&self.host),
        }
    }
}

/// Where one account's credentials come from. `Debug` shows no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// AccessKey (with an STS token or not): never refreshed.
    Static {
        /// The credentials.
        credentials: Credentials,
        /// Where they are configured.
        origin: Origin,
    },
    /// AccessKey credentials that assume a RAM role (`AssumeRole`).
    RamRoleArn {
        /// The keys that call `AssumeRole`.
        base: Credentials,
        /// The role.
        role_arn: String,
        /// The session name.
        session_name: String,
        /// Lifetime asked of STS, in seconds.
        duration_secs: u64,
        /// An optional policy narrowing the role's.
        policy: Option<String>,
        /// Where STS is.
        sts: StsEndpoint,
        /// Where this is configured.
        origin: Origin,
    },
    /// An OIDC token that assumes a RAM role (`AssumeRoleWithOIDC`).
    Oidc {
        /// The role.
        role_arn: String,
        /// The OIDC provider's ARN.
        provider_arn: String,
        /// The file holding the token (re-read on every refresh).
        token_file: PathBuf,
        /// The session name.
        session_name: String,
        /// Lifetime asked of STS, in seconds.
        duration_secs: u64,
        /// An optional policy narrowing the role's.
        policy: Option<String>,
        /// Where STS is.
        sts: StsEndpoint,
        /// Where this is configured.
        origin: Origin,
    },
    /// The ECS instance's RAM role, from the metadata service.
    EcsRamRole {
        /// The role name (`None`: ask the metadata service).
        role: Option<String>,
        /// The metadata service's base URL.
        endpoint: String,
        /// Refuse to go on without an IMDSv2 token.
        imds_v1_disabled: bool,
        /// Where this is configured.
        origin: Origin,
    },
}

impl Source {
    /// Where this source is configured.
    #[must_use]
    pub fn origin(&self) -> &Origin {
        match self {
            Self::Static { origin, .. }
            | Self::RamRoleArn { origin, .. }
            | Self::Oidc { origin, .. }
            | Self::EcsRamRole { origin, .. } => origin,
        }
    }

    /// The kind of source, as the aliyun CLI names profile modes.
    #[must_use]
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Static { credentials, .. } if credentials.security_token.is_some() => "StsToken",
            Self::Static { .. } => "AK",
            Self::RamRoleArn { .. } => "RamRoleArn",
            Self::Oidc { .. } => "OIDC",
            Self::EcsRamRole { .. } => "EcsRamRole",
        }
    }

    /// `profile `ci` in … (RamRoleArn)`: for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        format!("{}, {}", self.origin(), self.mode())
    }
}

fn flag(env: &dyn Fn(&str) -> Option<String>, name: &str) -> bool {
    env(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn default_session_name() -> String {
    format!("flinkform-{}", chrono::Utc::now().timestamp())
}

fn duration(env: &dyn Fn(&str) -> Option<String>, profile_secs: u64) -> u64 {
    if profile_secs > 0 {
        return profile_secs;
    }
    env(ENV_ROLE_SESSION_EXPIRATION)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(3600)
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl AliyunProfile {
    /// The source this profile describes.
    pub(crate) fn source(
        &self,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Source> {
        let origin = Origin::Profile {
            name: self.name.clone(),
            path: path.to_owned(),
        };
        let need = |value: &str, field: &'static str| {
            non_empty(value).ok_or_else(|| Error::ProfileIncomplete {
                profile: self.name.clone(),
                field,
            })
        };
        let sts =
            StsEndpoint::resolve(env, non_empty(&self.sts_region).as_deref(), self.enable_vpc);
        let session_name = non_empty(&self.ram_session_name).unwrap_or_else(default_session_name);
        Ok(match self.mode.as_str() {
            "AK" | "" | "StsToken" => Source::Static {
                credentials: self.credentials()?,
                origin,
            },
            "RamRoleArn" => Source::RamRoleArn {
                base: Credentials::new(
                    need(&self.access_key_id, "access_key_id")?,
                    need(&self.access_key_secret, "access_key_secret")?,
                ),
                role_arn: need(&self.ram_role_arn, "ram_role_arn")?,
                session_name,
                duration_secs: duration(env, self.expired_seconds),
                policy: non_empty(&self.policy),
                sts,
                origin,
            },
            "OIDC" => Source::Oidc {
                role_arn: need(&self.ram_role_arn, "ram_role_arn")?,
                provider_arn: need(&self.oidc_provider_arn, "oidc_provider_arn")?,
                token_file: PathBuf::from(need(&self.oidc_token_file, "oidc_token_file")?),
                session_name,
                duration_secs: duration(env, self.expired_seconds),
                policy: non_empty(&self.policy),
                sts,
                origin,
            },
            "EcsRamRole" => Source::EcsRamRole {
                role: non_empty(&self.ram_role_name),
                endpoint: env(ENV_IMDS_ENDPOINT)
                    .unwrap_or_else(|| DEFAULT_IMDS_ENDPOINT.to_owned()),
                imds_v1_disabled: flag(env, ENV_IMDSV1_DISABLED),
                origin,
            },
            other => {
                return Err(Error::UnsupportedProfileMode {
                    profile: self.name.clone(),
                    mode: other.to_owned(),
                });
            }
        })
    }
}

/// The aliyun CLI configuration file the chain reads: `ALIBABA_CLOUD_CONFIG_FILE`, else
/// `default` (normally `~/.aliyun/config.json`); `None` when profiles are disabled.
fn config_path(env: &dyn Fn(&str) -> Option<String>, default: Option<&Path>) -> Option<PathBuf> {
    if flag(env, ENV_CLI_PROFILE_DISABLED) {
        return None;
    }
    env(ENV_CONFIG_FILE)
        .map(PathBuf::from)
        .or_else(|| default.map(Path::to_path_buf))
        .or_else(default_aliyun_config_path)
}

/// Whether any credential source is configured (without reading secrets or touching the
/// network): the AccessKey or OIDC variables, the ECS metadata variables, or an aliyun CLI
/// configuration file.
#[must_use]
pub fn configured(env: &dyn Fn(&str) -> Option<String>, aliyun_config: Option<&Path>) -> bool {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    env(ENV_ACCESS_KEY_ID).is_some()
        || (env(ENV_ROLE_ARN).is_some()
            && env(ENV_OIDC_PROVIDER_ARN).is_some()
            && env(ENV_OIDC_TOKEN_FILE).is_some())
        || (!flag(&env, ENV_ECS_METADATA_DISABLED)
            && (env(ENV_ECS_METADATA).is_some() || env(ENV_IMDS_ENDPOINT).is_some()))
        || config_path(&env, aliyun_config).is_some_and(|p| p.is_file())
}

/// The credential source of `account` (see the module documentation for the order).
/// `aliyun_config` is the default configuration file (`None`: `~/.aliyun/config.json`).
///
/// # Errors
/// When a source is configured but unusable (a malformed configuration file, an unknown
/// `ALIBABA_CLOUD_PROFILE`, an unsupported or incomplete profile, half the AccessKey or OIDC
/// variables), or [`Error::NoCredentials`] naming what was checked.
pub fn chain(
    account: &str,
    env: &dyn Fn(&str) -> Option<String>,
    aliyun_config: Option<&Path>,
) -> Result<Source> {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    let mut checked: Vec<String> = Vec::new();
    let path = config_path(&env, aliyun_config);
    let config = match path.as_deref().filter(|p| p.is_file()) {
        Some(p) => Some((p, AliyunConfig::read(p)?)),
        None => None,
    };
    let shown_path = path.as_ref().map_or_else(
        || "(profiles disabled)".to_owned(),
        |p| p.display().to_string(),
    );
    // 1. The profile named like the account.
    if let Some((p, config)) = &config
        && let Some(profile) = config.profile(account)
    {
        return profile.source(p, &env);
    }
    checked.push(format!("profile `{account}` in {shown_path}"));

    // The STS endpoint of a role assumed from the environment.
    let env_sts = || {
        StsEndpoint::resolve(
            &env,
            env(ENV_STS_REGION).as_deref(),
            flag(&env, ENV_VPC_ENDPOINT_ENABLED),
        )
    };

    // 2. AccessKey variables, possibly assuming a role.
    let role_arn = env(ENV_ROLE_ARN);
    let provider_arn = env(ENV_OIDC_PROVIDER_ARN);
    if let Some(base) = Credentials::from_env_with(&env)? {
        return Ok(match (&role_arn, &provider_arn) {
            (Some(role_arn), None) => Source::RamRoleArn {
                base,
                role_arn: role_arn.clone(),
                session_name: env(ENV_ROLE_SESSION_NAME).unwrap_or_else(default_session_name),
                duration_secs: duration(&env, 0),
                policy: None,
                sts: env_sts(),
                origin: Origin::Env,
            },
            _ => Source::Static {
                credentials: base,
                origin: Origin::Env,
            },
        });
    }
    checked.push(ENV_ACCESS_KEY_ID.to_owned());

    // 3. OIDC.
    let token_file = env(ENV_OIDC_TOKEN_FILE);
    match (&role_arn, &provider_arn, &token_file) {
        (Some(role_arn), Some(provider_arn), Some(token_file)) => {
            return Ok(Source::Oidc {
                role_arn: role_arn.clone(),
                provider_arn: provider_arn.clone(),
                token_file: PathBuf::from(token_file),
                session_name: env(ENV_ROLE_SESSION_NAME).unwrap_or_else(default_session_name),
                duration_secs: duration(&env, 0),
                policy: None,
                sts: env_sts(),
                origin: Origin::Env,
            });
        }
        (None, None, None) => {}
        (Some(_), None, None) => {
            return Err(Error::CredentialsIncomplete {
                origin: "environment".to_owned(),
                message: format!(
                    "{ENV_ROLE_ARN} is set, but neither {ENV_ACCESS_KEY_ID}/ALIBABA_CLOUD_ACCESS_KEY_SECRET (to assume it with AccessKeys) nor {ENV_OIDC_PROVIDER_ARN}/{ENV_OIDC_TOKEN_FILE} (to assume it with an OIDC token)"
                ),
            });
        }
        _ => {
            let missing: Vec<&str> = [
                (ENV_ROLE_ARN, &role_arn),
                (ENV_OIDC_PROVIDER_ARN, &provider_arn),
                (ENV_OIDC_TOKEN_FILE, &token_file),
            ]
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| *k)
            .collect();
            return Err(Error::CredentialsIncomplete {
                origin: "environment".to_owned(),
                message: format!(
                    "an OIDC role needs {ENV_ROLE_ARN}, {ENV_OIDC_PROVIDER_ARN} and {ENV_OIDC_TOKEN_FILE}; missing: {}",
                    missing.join(", ")
                ),
            });
        }
    }
    checked.push("OIDC (ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN, _OIDC_TOKEN_FILE)".to_owned());

    // 4. ALIBABA_CLOUD_PROFILE, else the current profile.
    let wanted = env(ENV_PROFILE);
    match (&config, &wanted) {
        (Some((p, config)), Some(name)) => {
            let profile = config.profile(name).ok_or_else(|| Error::ProfileNotFound {
                profile: name.clone(),
                path: p.to_path_buf(),
                known: config.names(),
            })?;
            return profile.source(p, &env);
        }
        (None, Some(name)) => {
            return Err(Error::ProfileNotFound {
                profile: name.clone(),
                path: path.unwrap_or_default(),
                known: "(no configuration file)".to_owned(),
            });
        }
        (Some((p, config)), None) => {
            if let Some(profile) = config.profile(&config.current) {
                return profile.source(p, &env);
            }
            checked.push(format!(
                "{ENV_PROFILE} (unset), no current profile in {shown_path}"
            ));
        }
        (None, None) => checked.push(format!("{ENV_PROFILE} (unset), {shown_path} (missing)")),
    }

    // 5. The ECS instance RAM role, only when asked for.
    if flag(&env, ENV_ECS_METADATA_DISABLED) {
        checked.push(format!(
            "ECS metadata (disabled by {ENV_ECS_METADATA_DISABLED})"
        ));
    } else if env(ENV_ECS_METADATA).is_some() || env(ENV_IMDS_ENDPOINT).is_some() {
        return Ok(Source::EcsRamRole {
            role: env(ENV_ECS_METADATA),
            endpoint: env(ENV_IMDS_ENDPOINT).unwrap_or_else(|| DEFAULT_IMDS_ENDPOINT.to_owned()),
            imds_v1_disabled: flag(&env, ENV_IMDSV1_DISABLED),
            origin: Origin::Env,
        });
    } else {
        checked.push(format!("ECS metadata ({ENV_ECS_METADATA} unset)"));
    }
    Err(Error::NoCredentials {
        account: account.to_owned(),
        config: shown_path,
        checked: checked.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn no_file() -> Option<&'static Path> {
        Some(Path::new("/nonexistent/flinkform/config.json"))
    }

    #[test]
    fn nothing_configured_names_everything_checked() {
        let env = env_of(&[]);
        assert!(!configured(&env, no_file()));
        let e = chain("main", &env, no_file()).expect_err("no credentials");
        let text = e.to_string();
        for what in [
            "profile `main`",
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "OIDC",
            "ALIBABA_CLOUD_PROFILE",
            "ECS metadata",
        ] {
            assert!(text.contains(what), "{what} missing in: {text}");
        }
    }

    #[test]
    fn access_keys_alone_are_static_and_with_a_role_assume_it() {
        let env = env_of(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIid"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
        ]);
        assert!(configured(&env, no_file()));
        let s = chain("main", &env, no_file()).expect("source");
        assert_eq!(s.mode(), "AK");
        let env = env_of(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIid"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
            ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/deployer"),
            ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "ci-run"),
            ("ALIBABA_CLOUD_STS_REGION", "cn-hangzhou"),
        ]);
        match chain("main", &env, no_file()).expect("source") {
            Source::RamRoleArn {
                role_arn,
                session_name,
                sts,
                duration_secs,
                ..
            } => {
                assert_eq!(role_arn, "acs:ram::1:role/deployer");
                assert_eq!(session_name, "ci-run");
                assert_eq!(sts.host, "sts.cn-hangzhou.aliyuncs.com");
                assert_eq!(duration_secs, 3600);
            }
            other => panic!("expected RamRoleArn, got {other:?}"),
        }
    }

    #[test]
    fn oidc_variables_make_an_oidc_source_and_half_of_them_an_error() {
        let env = env_of(&[
            ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/ci"),
            (
                "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
                "acs:ram::1:oidc-provider/gh",
            ),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/var/run/token"),
            ("ALIBABA_CLOUD_STS_ENDPOINT", "http://127.0.0.1:9/"),
        ]);
        assert!(configured(&env, no_file()));
        match chain("main", &env, no_file()).expect("source") {
            Source::Oidc {
                sts, token_file, ..
            } => {
                assert_eq!(sts.host, "127.0.0.1:9");
                assert_eq!(sts.url.as_deref(), Some("http://127.0.0.1:9/"));
                assert_eq!(token_file, PathBuf::from("/var/run/token"));
            }
            other => panic!("expected OIDC, got {other:?}"),
        }
        let env = env_of(&[
            ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/ci"),
            (
                "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
                "acs:ram::1:oidc-provider/gh",
            ),
        ]);
        let e = chain("main", &env, no_file()).expect_err("incomplete");
        assert!(
            e.to_string().contains("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
            "{e}"
        );
    }

    #[test]
    fn ecs_metadata_only_when_asked_and_not_disabled() {
        let env = env_of(&[("ALIBABA_CLOUD_ECS_METADATA", "flinkform-deployer")]);
        match chain("main", &env, no_file()).expect("source") {
            Source::EcsRamRole { role, endpoint, .. } => {
                assert_eq!(role.as_deref(), Some("flinkform-deployer"));
                assert_eq!(endpoint, DEFAULT_IMDS_ENDPOINT);
            }
            other => panic!("expected EcsRamRole, got {other:?}"),
        }
        let env = env_of(&[
            ("ALIBABA_CLOUD_ECS_METADATA", "r"),
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
        ]);
        assert!(!configured(&env, no_file()));
        let e = chain("main", &env, no_file()).expect_err("disabled");
        assert!(e.to_string().contains("disabled"), "{e}");
    }

    #[test]
    fn profiles_by_account_name_then_alibaba_cloud_profile_then_current() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"current":"dev","profiles":[
              {"name":"dev","mode":"AK","access_key_id":"LTAIdev","access_key_secret":"s1"},
              {"name":"ci","mode":"RamRoleArn","access_key_id":"LTAIci","access_key_secret":"s2",
               "ram_role_arn":"acs:ram::1:role/deployer","ram_session_name":"ci","sts_region":"ap-southeast-1"},
              {"name":"main","mode":"OIDC","ram_role_arn":"acs:ram::1:role/ci","oidc_provider_arn":"acs:ram::1:oidc-provider/gh","oidc_token_file":"/t"},
              {"name":"ecs","mode":"EcsRamRole","ram_role_name":"r"},
              {"name":"odd","mode":"CloudSSO"}]}"#,
        )
        .expect("write");
        let env = env_of(&[]);
        // The account's own profile first.
        assert_eq!(
            chain("main", &env, Some(&path)).expect("main").mode(),
            "OIDC"
        );
        // Else the current profile.
        assert_eq!(
            chain("other", &env, Some(&path)).expect("current").mode(),
            "AK"
        );
        // ALIBABA_CLOUD_PROFILE selects one.
        let env = env_of(&[("ALIBABA_CLOUD_PROFILE", "ci")]);
        let s = chain("other", &env, Some(&path)).expect("ci");
        assert_eq!(s.mode(), "RamRoleArn");
        assert!(s.describe().contains("profile `ci`"), "{}", s.describe());
        match s {
            Source::RamRoleArn { sts, .. } => {
                assert_eq!(sts.host, "sts.ap-southeast-1.aliyuncs.com")
            }
            other => panic!("{other:?}"),
        }
        let env = env_of(&[("ALIBABA_CLOUD_PROFILE", "ecs")]);
        assert_eq!(
            chain("x", &env, Some(&path)).expect("ecs").mode(),
            "EcsRamRole"
        );
        let env = env_of(&[("ALIBABA_CLOUD_PROFILE", "nope")]);
        let e = chain("x", &env, Some(&path)).expect_err("unknown");
        assert!(e.to_string().contains("nope"), "{e}");
        let env = env_of(&[("ALIBABA_CLOUD_PROFILE", "odd")]);
        let e = chain("x", &env, Some(&path)).expect_err("unsupported");
        assert!(e.to_string().contains("CloudSSO"), "{e}");
        // ALIBABA_CLOUD_CONFIG_FILE points elsewhere; disabling profiles skips the file.
        let file = path.to_str().expect("utf8").to_owned();
        let env = env_of(&[("ALIBABA_CLOUD_CONFIG_FILE", file.as_str())]);
        assert_eq!(chain("main", &env, no_file()).expect("file").mode(), "OIDC");
        let env = env_of(&[("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")]);
        assert!(chain("main", &env, Some(&path)).is_err());
    }

    #[test]
    fn environment_keys_come_before_the_current_profile() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"current":"dev","profiles":[{"name":"dev","mode":"AK","access_key_id":"LTAIdev","access_key_secret":"s1"}]}"#,
        )
        .expect("write");
        let env = env_of(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenv"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
        ]);
        match chain("main", &env, Some(&path)).expect("env") {
            Source::Static {
                credentials,
                origin,
            } => {
                assert_eq!(credentials.access_key_id, "LTAIenv");
                assert_eq!(origin, Origin::Env);
            }
            other => panic!("{other:?}"),
        }
    }
}
