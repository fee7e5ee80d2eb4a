//! Errors of this crate that are not cloud answers: resolving credentials and building the
//! HTTP client. A failed API call is an [`crate::ApiError`] instead (it converts into
//! `flinkform_core::ProviderError`).

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something went wrong before any API call could be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// No credentials were found for an account.
    #[error("no Alibaba Cloud credentials for account `{account}` (checked: {checked})")]
    #[diagnostic(
        code(alicloud::no_credentials),
        help(
            "either add a profile named `{account}` to the aliyun CLI configuration ({config}) with \
             `aliyun configure --profile {account}` (or select one with ALIBABA_CLOUD_PROFILE), or set \
             ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and \
             ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials, ALIBABA_CLOUD_ROLE_ARN to assume a \
             role), or ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and \
             ALIBABA_CLOUD_OIDC_TOKEN_FILE for an OIDC role, or ALIBABA_CLOUD_ECS_METADATA for the \
             ECS instance's RAM role (specs/cli.md, \"Credentials\")"
        )
    )]
    NoCredentials {
        /// The account (spec `account:`) that needs credentials.
        account: String,
        /// Where the aliyun CLI configuration was looked for.
        config: String,
        /// What the chain looked at, in order.
        checked: String,
    },

    /// STS refused to issue temporary credentials.
    #[error("{0}")]
    #[diagnostic(code(alicloud::sts_refused))]
    StsRefused(Box<StsRefusal>),

    /// A credentials endpoint (STS, the ECS metadata service) could not be reached.
    #[error("cannot reach {host} ({origin}): {message} — check the network and {hint}")]
    #[diagnostic(code(alicloud::unreachable))]
    Unreachable {
        /// Host and port (or URL) tried.
        host: String,
        /// Where these credentials are configured.
        origin: String,
        /// What the transport said.
        message: String,
        /// The setting that chooses this endpoint.
        hint: &'static str,
    },

    /// A credentials endpoint answered something unusable.
    #[error("{service} at {endpoint} ({origin}) answered badly: {message} — {hint}")]
    #[diagnostic(code(alicloud::credentials_answer))]
    CredentialsAnswer {
        /// `STS AssumeRole`, `the ECS metadata service`.
        service: &'static str,
        /// Host or URL.
        endpoint: String,
        /// Where these credentials are configured.
        origin: String,
        /// What was wrong.
        message: String,
        /// What to check.
        hint: &'static str,
    },

    /// The OIDC token file cannot be read.
    #[error("cannot read the OIDC token file {path} ({origin})")]
    #[diagnostic(
        code(alicloud::oidc_token_file),
        help(
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE (or the profile's oidc_token_file) must name a file the CI \
             system or ACK RRSA writes the identity token to"
        )
    )]
    OidcTokenFile {
        /// The file.
        path: PathBuf,
        /// Where it is configured.
        origin: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// A credential source lacks a setting it needs.
    #[error("{origin}: {message}")]
    #[diagnostic(
        code(alicloud::credentials_incomplete),
        help(
            "see specs/cli.md, \"Credentials\", for the variables and profile fields of each mode"
        )
    )]
    CredentialsIncomplete {
        /// Where the source is configured.
        origin: String,
        /// What is missing.
        message: String,
    },

    /// Only one of the two access key variables is set.
    #[error("`{set}` is set but `{missing}` is not")]
    #[diagnostic(
        code(alicloud::incomplete_env),
        help(
            "set both ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or neither"
        )
    )]
    IncompleteEnv {
        /// The variable that is set.
        set: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },

    /// The aliyun CLI configuration could not be read.
    #[error("cannot read the aliyun CLI configuration {path}")]
    #[diagnostic(code(alicloud::config_read))]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The aliyun CLI configuration is not valid JSON of the expected shape.
    #[error("the aliyun CLI configuration {path} is malformed: {message}")]
    #[diagnostic(
        code(alicloud::config_parse),
        help("run `aliyun configure` to rewrite it, or fix the JSON by hand")
    )]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        message: String,
    },

    /// The requested profile is not in the aliyun CLI configuration.
    #[error("profile `{profile}` is not in {path}")]
    #[diagnostic(
        code(alicloud::no_profile),
        help(
            "profiles in that file: {known}; add one with `aliyun configure --profile {profile}`"
        )
    )]
    ProfileNotFound {
        /// The profile asked for.
        profile: String,
        /// The file.
        path: PathBuf,
        /// Comma-separated names of the profiles the file has.
        known: String,
    },

    /// The profile uses a credential mode this client does not support.
    #[error("profile `{profile}` uses mode `{mode}`, which flinkform does not support")]
    #[diagnostic(
        code(alicloud::profile_mode),
        help(
            "use a profile with mode `AK`, `StsToken`, `RamRoleArn`, `EcsRamRole` or `OIDC`, or set the \
             ALIBABA_CLOUD_* variables"
        )
    )]
    UnsupportedProfileMode {
        /// The profile.
        profile: String,
        /// Its mode.
        mode: String,
    },

    /// A profile lacks a field its mode needs.
    #[error("profile `{profile}` has no `{field}`")]
    #[diagnostic(
        code(alicloud::profile_field),
        help("run `aliyun configure --profile {profile}` again")
    )]
    ProfileIncomplete {
        /// The profile.
        profile: String,
        /// The missing field.
        field: &'static str,
    },

    /// The endpoint override is not an http(s) URL.
    #[error("`{url}` is not a usable endpoint URL: {message}")]
    #[diagnostic(
        code(alicloud::bad_endpoint),
        help("give a URL such as http://127.0.0.1:8080")
    )]
    BadEndpoint {
        /// What was given.
        url: String,
        /// Why it is unusable.
        message: String,
    },

    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {message}")]
    #[diagnostic(code(alicloud::http_client))]
    HttpClient {
        /// What reqwest said.
        message: String,
    },
}

/// What STS answered when it refused to issue credentials (boxed in [`Error::StsRefused`]).
#[derive(Debug)]
pub struct StsRefusal {
    /// `AssumeRole` or `AssumeRoleWithOIDC`.
    pub action: &'static str,
    /// The STS host (or override URL).
    pub endpoint: String,
    /// The role asked for.
    pub role_arn: String,
    /// Where these credentials are configured (`profile `ci``, `environment`).
    pub origin: String,
    /// STS's error code.
    pub code: String,
    /// STS's message.
    pub message: String,
    /// What to check.
    pub hint: &'static str,
}

impl std::fmt::Display for StsRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "STS {} at {} refused role {} ({}): {}: {} — {}",
            self.action,
            self.endpoint,
            self.role_arn,
            self.origin,
            self.code,
            self.message,
            self.hint
        )
    }
}
