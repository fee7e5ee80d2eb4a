//! The state URL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE?stack=NAME`.
//!
//! Everything but `stack` is libpq's URL syntax as `tokio-postgres` reads it: `host=/dir` in
//! the query (or a percent-encoded path as the host, `postgres://%2Frun%2Fpostgresql/db`)
//! is a unix socket directory, `port=`, `user=`, `password=`, `dbname=`, `sslmode=`
//! (`disable` or `prefer`: this build speaks no TLS), `connect_timeout=` and
//! `application_name=` are understood, anything else is refused. `stack` names the stack in
//! the database (default `default`). Without a user, `$USER` connects; without a password,
//! `$PGPASSWORD` is used if set (so the URL, often in `FLINKFORM_STATE`, need not hold one);
//! without a host, the unix socket directory `/run/postgresql` when it exists, else
//! `localhost`.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use tokio_postgres::config::{Host, SslMode};

use crate::error::{Error, Result};

/// The stack used when the URL names none.
pub const DEFAULT_STACK: &str = "default";

/// The name of one stack in a database: 1-200 ASCII letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StackName(String);

impl StackName {
    /// Checks `name`.
    ///
    /// # Errors
    /// [`Error::StackName`] for an empty, too long name or one with other characters.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let reason = if name.is_empty() {
            Some("it is empty")
        } else if name.len() > 200 {
            Some("it is longer than 200 characters")
        } else if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            Some("it has a character other than ASCII letters, digits, `.`, `_` and `-`")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::StackName { name, reason }),
            None => Ok(Self(name)),
        }
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed state URL: how to connect, and which stack.
#[derive(Clone)]
pub struct PgUrl {
    /// The connection settings (with the password, if any: never printed).
    pub(crate) config: tokio_postgres::Config,
    /// The stack.
    pub(crate) stack: StackName,
    /// `db.example:5432/flinkform`, for messages (never the password).
    pub(crate) target: String,
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgUrl")
            .field("target", &self.target)
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

impl PgUrl {
    /// The stack.
    #[must_use]
    pub fn stack(&self) -> &StackName {
        &self.stack
    }

    /// The server and database, `db.example:5432/flinkform` or `/run/postgresql/flinkform`
    /// (never the user's password).
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The same database with another stack.
    #[must_use]
    pub fn with_stack(&self, stack: StackName) -> Self {
        Self {
            stack,
            ..self.clone()
        }
    }

    /// Whether `s` is a PostgreSQL URL (`postgres://` or `postgresql://`).
    #[must_use]
    pub fn is_postgres_url(s: &str) -> bool {
        s.starts_with("postgres://") || s.starts_with("postgresql://")
    }
}

impl FromStr for PgUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let url_err = |reason: String| Error::Url { reason };
        if !Self::is_postgres_url(s) {
            return Err(url_err(
                "it does not start with postgres:// or postgresql://".to_owned(),
            ));
        }
        let (base, query) = match s.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (s, None),
        };
        let mut stack = None;
        let mut rest: Vec<&str> = Vec::new();
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            match pair.split_once('=') {
                Some(("stack", value)) => {
                    let value = percent_encoding::percent_decode_str(value)
                        .decode_utf8()
                        .map_err(|e| url_err(format!("`stack` is not UTF-8: {e}")))?;
                    if stack.replace(StackName::new(value.into_owned())?).is_some() {
                        return Err(url_err("`stack` is given twice".to_owned()));
                    }
                }
                Some(_) => rest.push(pair),
                None => return Err(url_err(format!("parameter `{pair}` has no value"))),
            }
        }
        let rebuilt = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config = tokio_postgres::Config::from_str(&rebuilt).map_err(|e| {
            // The driver's message never repeats the URL (nor its password).
            url_err(e.to_string())
        })?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(url_err(
                "sslmode=require: this build of flinkform speaks no TLS to PostgreSQL; use sslmode=disable on a trusted network or a unix socket".to_owned(),
            ));
        }
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_user().is_none() {
            let user = std::env::var("USER").unwrap_or_else(|_| "postgres".to_owned());
            config.user(user);
        }
        if config.get_hosts().is_empty() {
            if Path::new("/run/postgresql").is_dir() {
                config.host_path("/run/postgresql");
            } else {
                config.host("localhost");
            }
        }
        if config.get_application_name().is_none() {
            config.application_name("flinkform");
        }
        let target = describe_target(&config);
        Ok(Self {
            config,
            stack: stack.unwrap_or_else(|| StackName(DEFAULT_STACK.to_owned())),
            target,
        })
    }
}

/// `host:port/db` for the first host (a unix socket shows its directory).
fn describe_target(config: &tokio_postgres::Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => format!("{h}:{port}"),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> PgUrl {
        s.parse().expect("url")
    }

    #[test]
    fn tcp_url_with_stack() {
        let u = parse("postgres://flinkform@db.internal/flinkform?stack=analytics-prod");
        assert_eq!(u.stack().as_str(), "analytics-prod");
        assert_eq!(u.target(), "db.internal:5432/flinkform");
        assert_eq!(u.config.get_user(), Some("flinkform"));
    }

    #[test]
    fn stack_defaults_to_default() {
        let u = parse("postgresql://u@h:6543/d");
        assert_eq!(u.stack().as_str(), "default");
        assert_eq!(u.target(), "h:6543/d");
    }

    #[test]
    fn unix_socket_by_host_parameter_and_by_encoded_host() {
        let u = parse("postgres://u@/d?host=/tmp/pg&stack=s&sslmode=disable");
        assert_eq!(u.target(), "/tmp/pg/d");
        assert_eq!(u.config.get_ssl_mode(), SslMode::Disable);
        let u = parse("postgres://u@%2Ftmp%2Fpg/d");
        assert_eq!(u.target(), "/tmp/pg/d");
    }

    #[test]
    fn the_password_is_never_shown() {
        let u = parse("postgres://u:s3cret@h/d?stack=x");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert!(!u.target().contains("s3cret"));
        let e = "postgres://u:s3cret@h/d?bogus=1"
            .parse::<PgUrl>()
            .expect_err("unknown option");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in [
            "mysql://u@h/d",
            "postgres://u@h/d?stack=",
            "postgres://u@h/d?stack=a/b",
            "postgres://u@h/d?stack=a&stack=b",
            "postgres://u@h/d?sslmode=require",
            "postgres://u@h/d?nosuch=1",
            "postgres://u@h/d?stack",
        ] {
            assert!(bad.parse::<PgUrl>().is_err(), "{bad}");
        }
    }
}
