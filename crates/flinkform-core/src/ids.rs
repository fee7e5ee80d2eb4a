//! Typed identifiers. A bare `String` never crosses a crate boundary when it names an
//! account, a region, a zone or a cloud resource.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, $valid:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Wraps `s` after checking it.
            ///
            /// # Errors
            /// When `s` is empty or holds characters this identifier may not hold.
            pub fn new(s: impl Into<String>) -> Result<Self, Error> {
                let s = s.into();
                let valid: fn(&str) -> bool = $valid;
                if s.is_empty() || !valid(&s) {
                    return Err(Error::BadIdentifier { input: s, what: $what });
                }
                Ok(Self(s))
            }

            /// The identifier as a string slice.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Sound: the derived `Eq`, `Ord` and `Hash` are the inner string's, so a map keyed
        // by the identifier can be looked up by a `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

fn simple(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

string_id!(
    /// A credentials profile name from the spec (`spec.account`); one account is one
    /// Alibaba Cloud UID.
    AccountName,
    "account name",
    simple
);
string_id!(
    /// An Alibaba Cloud account UID (a decimal number, e.g. `5123456789012345`).
    AccountUid,
    "account UID",
    |s| s.chars().all(|c| c.is_ascii_digit())
);
string_id!(
    /// A region id such as `ap-southeast-1`.
    Region,
    "region id",
    |s| s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
);
string_id!(
    /// A zone id such as `ap-southeast-1a`.
    ZoneId,
    "zone id",
    |s| s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
);
string_id!(
    /// An id the cloud assigned (`vpc-…`, `vsw-…`, `f-cn-…`) or, for resources the cloud
    /// names by their user-chosen name (buckets, roles, namespaces), that name.
    CloudId,
    "cloud resource id",
    |s| !s.chars().any(char::is_whitespace)
);

/// Which cloud a state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetCloud {
    /// The bundled emulator (`--cloud sim`).
    Sim,
    /// The real Alibaba Cloud (`--cloud alibaba`).
    Alibaba,
}

impl fmt::Display for TargetCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sim => "sim",
            Self::Alibaba => "alibaba",
        })
    }
}

/// The cloud and accounts a state belongs to. A state recorded against one target is
/// never applied to another: the UIDs are read from the cloud on every run and compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Emulator or real cloud.
    pub cloud: TargetCloud,
    /// For the emulator, the id of its world (a state is bound to one world).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<String>,
    /// Account name → UID, for every account the state has touched.
    pub accounts: std::collections::BTreeMap<AccountName, AccountUid>,
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::CloudId;

    #[test]
    fn maps_keyed_by_an_identifier_are_looked_up_by_its_string() {
        let id = CloudId::new("vpc-1").unwrap();
        let hashed: HashMap<CloudId, u8> = [(id.clone(), 1)].into_iter().collect();
        let sorted: BTreeMap<CloudId, u8> = [(id, 2)].into_iter().collect();
        assert_eq!(hashed.get("vpc-1"), Some(&1));
        assert_eq!(sorted.get("vpc-1"), Some(&2));
        assert_eq!(hashed.get("vpc-2"), None);
    }
}
