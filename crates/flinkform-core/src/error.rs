//! Errors of the core vocabulary: parsing typed identifiers and addresses.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something that should have been a typed identifier or address was not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// A resource address did not have the form `<kind>.<name>`.
    #[error("`{input}` is not a resource address")]
    #[diagnostic(
        code(core::bad_address),
        help(
            "addresses look like `flink_workspace.analytics-prod`; run `flinkform state list` to see them"
        )
    )]
    BadAddress {
        /// What was given.
        input: String,
    },
    /// The kind part of an address is not a known resource kind.
    #[error("`{input}` is not a resource kind")]
    #[diagnostic(code(core::unknown_kind), help("known kinds: {known}"))]
    UnknownKind {
        /// What was given.
        input: String,
        /// Comma-separated list of kinds.
        known: String,
    },
    /// An identifier was empty or held characters it may not hold.
    #[error("`{input}` is not a valid {what}")]
    #[diagnostic(code(core::bad_identifier))]
    BadIdentifier {
        /// What was given.
        input: String,
        /// Which identifier kind was expected.
        what: &'static str,
    },
}
