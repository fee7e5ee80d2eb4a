//! Resource addresses: the stable name of one resource in specs, plans and state.
//!
//! An address is `<kind>.<name>`, e.g. `flink_workspace.analytics-prod`,
//! `vswitch.analytics-prod[0]`, `flink_project.analytics-prod/etl`, `ram_role.main`.
//! Addresses order by kind (in dependency order of the catalog) and then by name, so every
//! listing built from a `BTreeMap<Address, _>` is deterministic and reads top-down.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The kinds of resource flinkform manages. The order of the variants is the order in which
/// listings show them (roughly the order of creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// The pay-as-you-go balance precondition of one account (a check, never stored).
    AccountBalance,
    /// OSS activation of one account (`OpenOssService`); cannot be undone.
    OssService,
    /// The RAM role `AliyunStreamAsiDefaultRole` of one account and its attached policy.
    RamRole,
    /// A VPC.
    Vpc,
    /// A vSwitch.
    Vswitch,
    /// An OSS bucket.
    OssBucket,
    /// A fully managed Flink workspace (foasconsole instance).
    FlinkWorkspace,
    /// A project (foasconsole namespace) of a workspace.
    FlinkProject,
    /// A Marketplace order and the product instance it bought (market `CreateOrder`);
    /// its cloud id is the product Instance ID.
    MarketOrder,
    /// A Billing Center account at the SaaS vendor (registered or bound).
    BillingAccount,
    /// A step only a person can complete (an e-mail verification code, a manual vendor
    /// step); recorded once it has been passed.
    Gate,
    /// The binding of an Alibaba Cloud account ID and a product Instance ID to a Billing
    /// Center account, for settlement through Alibaba Cloud.
    SettlementBinding,
    /// A workspace at the SaaS vendor (created or bound) billed through the subscription.
    SaasWorkspace,
}

impl ResourceKind {
    /// Every kind, in listing order.
    pub const ALL: [Self; 13] = [
        Self::AccountBalance,
        Self::OssService,
        Self::RamRole,
        Self::Vpc,
        Self::Vswitch,
        Self::OssBucket,
        Self::FlinkWorkspace,
        Self::FlinkProject,
        Self::MarketOrder,
        Self::BillingAccount,
        Self::Gate,
        Self::SettlementBinding,
        Self::SaasWorkspace,
    ];

    /// The name used in addresses and documents.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountBalance => "account_balance",
            Self::OssService => "oss_service",
            Self::RamRole => "ram_role",
            Self::Vpc => "vpc",
            Self::Vswitch => "vswitch",
            Self::OssBucket => "oss_bucket",
            Self::FlinkWorkspace => "flink_workspace",
            Self::FlinkProject => "flink_project",
            Self::MarketOrder => "market_order",
            Self::BillingAccount => "billing_account",
            Self::Gate => "gate",
            Self::SettlementBinding => "settlement_binding",
            Self::SaasWorkspace => "saas_workspace",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::UnknownKind {
                input: s.to_owned(),
                known: Self::ALL.map(Self::as_str).join(", "),
            })
    }
}

/// The address of one resource: its kind and a name unique within that kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address {
    kind: ResourceKind,
    name: String,
}

impl Address {
    /// Builds an address; `name` may hold letters, digits, `-`, `_`, `.`, `/`, `[` and `]`.
    ///
    /// # Errors
    /// When `name` is empty or holds other characters.
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '[' | ']')
            });
        if !ok {
            return Err(Error::BadAddress {
                input: format!("{kind}.{name}"),
            });
        }
        Ok(Self { kind, name })
    }

    /// The resource kind.
    #[must_use]
    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// The name part (after `<kind>.`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

impl FromStr for Address {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let (kind, name) = s.split_once('.').ok_or_else(|| Error::BadAddress {
            input: s.to_owned(),
        })?;
        Self::new(kind.parse()?, name)
    }
}

impl TryFrom<String> for Address {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Address> for String {
    fn from(a: Address) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_display() {
        for s in [
            "flink_workspace.analytics-prod",
            "vswitch.analytics-prod[0]",
            "flink_project.a/etl",
        ] {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!("workspace".parse::<Address>().is_err());
        assert!("nope.x".parse::<Address>().is_err());
        assert!("vpc.a b".parse::<Address>().is_err());
    }

    #[test]
    fn orders_by_kind_then_name() {
        let mut v: Vec<Address> = ["flink_workspace.a", "vpc.b", "vpc.a", "ram_role.main"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        v.sort();
        let got: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            ["ram_role.main", "vpc.a", "vpc.b", "flink_workspace.a"]
        );
    }
}
