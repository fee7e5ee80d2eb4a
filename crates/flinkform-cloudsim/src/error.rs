//! The emulator's error type: failures of world persistence, of the console mutations
//! (the thing to change does not exist) and of starting the server.

use std::path::PathBuf;

/// Everything that can go wrong in the emulator library (not on the wire: wire errors are
/// Alibaba Cloud error envelopes sent to the client).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// Reading or writing the world file failed.
    #[error("cannot {action} the emulator world file {path}")]
    #[diagnostic(
        code(cloudsim::io),
        help("check that the directory exists and is writable")
    )]
    Io {
        /// What was being done (`read`, `write`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The world file is not a world this version understands.
    #[error("the emulator world file {path} is not valid: {message}")]
    #[diagnostic(
        code(cloudsim::corrupt_world),
        help("delete the file to start with a fresh emulated cloud")
    )]
    CorruptWorld {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// No account with this profile name exists in the world.
    #[error("the emulated cloud has no account named {0:?}")]
    #[diagnostic(
        code(cloudsim::unknown_account),
        help("accounts are created on first use by `ensure_account`")
    )]
    UnknownAccount(String),
    /// The resource a console mutation targets does not exist.
    #[error("{kind} {name:?} does not exist in account {account:?}")]
    #[diagnostic(code(cloudsim::not_found))]
    NotFound {
        /// Kind of resource (`workspace`, `namespace`, `vSwitch`, `bucket`).
        kind: &'static str,
        /// Its name or id.
        name: String,
        /// The account's profile name.
        account: String,
    },
    /// A console mutation that the emulated console does not allow.
    #[error("{0}")]
    #[diagnostic(code(cloudsim::invalid))]
    Invalid(String),
    /// A fault plan that is not valid JSON or has values out of range.
    #[error("invalid fault plan: {0}")]
    #[diagnostic(
        code(cloudsim::fault_plan),
        help("see the fault plan format in specs/cloud-api.md")
    )]
    FaultPlan(String),
    /// The admin endpoint of a running emulator could not be reached or refused a command.
    #[error("the emulator at {endpoint} did not apply the console command: {message}")]
    #[diagnostic(
        code(cloudsim::admin),
        help(
            "the emulator serving this world (`flinkform sim serve`) applies console commands; check that it still runs"
        )
    )]
    Admin {
        /// The emulator's endpoint.
        endpoint: String,
        /// Why.
        message: String,
    },
    /// Binding or running the HTTP listener failed.
    #[error("the emulator server failed")]
    #[diagnostic(code(cloudsim::server))]
    Server(#[source] std::io::Error),
}

/// Result with the emulator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
