//! Errors of the CLI itself (files, prompts, arguments); errors of the libraries are passed
//! through as their own diagnostics.

use std::path::Path;

/// Something the CLI itself could not do.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum CliError {
    /// A file could not be read or written.
    #[error("cannot access `{path}`: {message}")]
    #[diagnostic(code(cli::io))]
    Io { path: String, message: String },
    /// A secret reference of the specs cannot be read.
    #[error("`{address}` needs its password from `{reference}`, which cannot be read")]
    #[diagnostic(
        code(cli::secret_unavailable),
        help(
            "`env:NAME` needs the environment variable set (e.g. `read -rs NAME && export NAME`); `file:PATH` needs a readable file; nothing was ordered"
        )
    )]
    SecretUnavailable { address: String, reference: String },
    /// A spec file is not UTF-8 text.
    #[error("`{path}` is not UTF-8 text (invalid byte at offset {offset})")]
    #[diagnostic(code(cli::not_utf8), help("save the spec file as UTF-8"))]
    NotUtf8 { path: String, offset: usize },
    /// A directory given as a spec path holds no spec files.
    #[error("`{path}` holds no *.yaml or *.yml files")]
    #[diagnostic(
        code(cli::no_specs),
        help("pass spec files, or a directory that contains them")
    )]
    NoSpecs { path: String },
    /// An address given on the command line is not one.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Address(#[from] flinkform_core::Error),
    /// Apply was not confirmed.
    #[error("apply cancelled")]
    #[diagnostic(
        code(cli::cancelled),
        help("answer `yes` to apply, or pass --auto-approve")
    )]
    Cancelled,
    /// Confirmation is needed but nobody can answer.
    #[error("{command} needs confirmation, and stdin is not a terminal")]
    #[diagnostic(
        code(cli::needs_approval),
        help("review the plan, then run again with --auto-approve")
    )]
    NeedsApproval { command: &'static str },
    /// The apply finished with failed actions.
    #[error("{failed} action(s) failed; {skipped} skipped because of them")]
    #[diagnostic(
        code(cli::apply_failed),
        help(
            "fix the cause named above and run apply again: completed steps are recorded and are not repeated"
        )
    )]
    ApplyFailed { failed: usize, skipped: usize },
    /// The emulator could not be used.
    #[error("emulator: {0}")]
    #[diagnostic(code(cli::sim))]
    Sim(String),
    /// No credentials for the real cloud.
    #[error("--cloud alibaba needs credentials for account `{account}`: {message}")]
    #[diagnostic(
        code(cli::credentials),
        help(
            "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or add an aliyun CLI profile named `{account}` (aliyun configure --profile {account}); use --cloud sim to try flinkform against the emulator"
        )
    )]
    Credentials { account: String, message: String },
    /// A recorded resource was asked for that the state does not have.
    #[error("`{address}` is not in the state")]
    #[diagnostic(
        code(cli::not_in_state),
        help("run `flinkform state list` to see what is recorded")
    )]
    NotInState { address: String },
}

impl CliError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}
