//! Errors of the PostgreSQL backend: the URL, the connection, the schema. Through the
//! [`flinkform_state::Backend`] trait they become [`flinkform_state::Error::Backend`].

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong with state in PostgreSQL.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The `--state` URL is not a PostgreSQL URL this backend understands.
    #[error("invalid PostgreSQL state URL: {reason}")]
    #[diagnostic(
        code(state_pg::url),
        help(
            "write it as postgres://USER@HOST[:PORT]/DATABASE?stack=NAME (a unix socket: ?host=/run/postgresql); see specs/state-postgres.md"
        )
    )]
    Url {
        /// What is wrong with it.
        reason: String,
    },

    /// A stack name that is not 1-200 characters of letters, digits, `.`, `_` and `-`.
    #[error("invalid stack name `{name}`: {reason}")]
    #[diagnostic(
        code(state_pg::stack_name),
        help("a stack name is 1-200 characters of ASCII letters, digits, `.`, `_` and `-`")
    )]
    StackName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The database could not be reached, or refused a statement.
    #[error("PostgreSQL {target}: could not {action}: {source}")]
    #[diagnostic(
        code(state_pg::database),
        help(
            "check that the server is up and reachable, and that the user may connect to the database and create tables in it"
        )
    )]
    Database {
        /// `db.example:5432/flinkform` (never the password).
        target: String,
        /// What was being done.
        action: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// No connection could be had from the pool.
    #[error("PostgreSQL {target}: no connection: {reason}")]
    #[diagnostic(
        code(state_pg::pool),
        help("check that the server is up and accepts connections")
    )]
    Pool {
        /// `db.example:5432/flinkform`.
        target: String,
        /// Why.
        reason: String,
    },

    /// The database's schema was made by a newer flinkform.
    #[error(
        "PostgreSQL {target} has flinkform schema version {found}; this flinkform knows versions up to {known}"
    )]
    #[diagnostic(
        code(state_pg::schema_too_new),
        help("upgrade flinkform; never change the schema back by hand")
    )]
    SchemaTooNew {
        /// `db.example:5432/flinkform`.
        target: String,
        /// The version in the database.
        found: i32,
        /// The newest version this build knows.
        known: i32,
    },

    /// A row does not hold what this backend wrote.
    #[error("PostgreSQL {target}: stack `{stack}` has an invalid row: {reason}")]
    #[diagnostic(
        code(state_pg::corrupt),
        help(
            "a row was changed outside flinkform; `flinkform state history` and `state pull --serial N` show earlier versions"
        )
    )]
    Corrupt {
        /// `db.example:5432/flinkform`.
        target: String,
        /// The stack.
        stack: String,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// What a user can do about it (the `help` of [`flinkform_state::Error::Backend`]).
    fn help(&self) -> String {
        miette::Diagnostic::help(self).map_or_else(String::new, |h| h.to_string())
    }
}

impl Error {
    /// This error as the state crate's, for the [`flinkform_state::Backend`] trait;
    /// `backend` is the backend's description.
    pub(crate) fn into_state(self, backend: &str, action: &str) -> flinkform_state::Error {
        let help = self.help();
        let reason = match &self {
            Self::Database { source, .. } => db_reason(source),
            other => other.to_string(),
        };
        flinkform_state::Error::Backend {
            backend: backend.to_owned(),
            action: action.to_owned(),
            reason,
            help,
        }
    }
}

/// The server's message for a database error (with its SQLSTATE), or the driver's.
pub(crate) fn db_reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}
