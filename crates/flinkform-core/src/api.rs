//! API families and the throttle signal the client and the executor share.
//!
//! Alibaba Cloud meters calls per API action, region and account, and documents its quotas
//! per product (VPC, OSS, foasconsole, RAM, BSS, …). flinkform budgets calls per
//! [`ApiGroup`] (a product) and [`CallClass`] (changes, or reads and polls), an [`ApiKey`].
//! The client counts every throttled answer it sees, including the ones it retries itself,
//! in one [`Throttles`]; the executor's limiter reads the same counters, so both layers slow
//! down together.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ResourceKind;

/// One cloud API family with its own quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiGroup {
    /// VPC (2016-04-28): VPCs and vSwitches.
    Vpc,
    /// OSS: buckets (and `OpenOssService`).
    Oss,
    /// Fully managed Flink (foasconsole 2021-10-28): workspaces and projects.
    Flink,
    /// RAM (2015-05-01).
    Ram,
    /// BssOpenApi (balance).
    Bss,
    /// STS (`GetCallerIdentity`).
    Sts,
    /// ResourceManager (resource groups).
    ResourceManager,
    /// Marketplace and the vendor connector.
    Market,
}

impl ApiGroup {
    /// Every group.
    pub const ALL: [Self; 8] = [
        Self::Vpc,
        Self::Oss,
        Self::Flink,
        Self::Ram,
        Self::Bss,
        Self::Sts,
        Self::ResourceManager,
        Self::Market,
    ];

    /// The name used on the command line (`--rate-limit vpc=5`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vpc => "vpc",
            Self::Oss => "oss",
            Self::Flink => "flink",
            Self::Ram => "ram",
            Self::Bss => "bss",
            Self::Sts => "sts",
            Self::ResourceManager => "resourcemanager",
            Self::Market => "market",
        }
    }

    /// The group whose API manages resources of `kind`.
    #[must_use]
    pub fn of_kind(kind: ResourceKind) -> Self {
        match kind {
            ResourceKind::AccountBalance => Self::Bss,
            ResourceKind::OssService | ResourceKind::OssBucket => Self::Oss,
            ResourceKind::RamRole => Self::Ram,
            ResourceKind::Vpc | ResourceKind::Vswitch => Self::Vpc,
            ResourceKind::FlinkWorkspace | ResourceKind::FlinkProject => Self::Flink,
            ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::SaasWorkspace => Self::Market,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Vpc => 0,
            Self::Oss => 1,
            Self::Flink => 2,
            Self::Ram => 3,
            Self::Bss => 4,
            Self::Sts => 5,
            Self::ResourceManager => 6,
            Self::Market => 7,
        }
    }
}

impl fmt::Display for ApiGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiGroup {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let alias = match lower.as_str() {
            "foasconsole" => "flink",
            "bssopenapi" => "bss",
            "rm" => "resourcemanager",
            other => other,
        };
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == alias)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|g| g.as_str()).collect();
                format!("unknown API `{s}` (one of {})", names.join(", "))
            })
    }
}

/// What a call does, for budgeting: changes have small quotas, reads (and the polls of a
/// pending resource) larger ones of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallClass {
    /// A mutating call (create, update, delete).
    Write,
    /// A read: a refresh listing, a read-back, a poll.
    Read,
}

impl CallClass {
    /// `write` or `read`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Read => "read",
        }
    }
}

/// One rate-limit budget: an API group and a call class (`vpc.write`, `flink.read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiKey {
    /// The API family.
    pub group: ApiGroup,
    /// Changes or reads.
    pub class: CallClass,
}

impl ApiKey {
    /// The change budget of `group` (`vpc.write`).
    #[must_use]
    pub const fn write(group: ApiGroup) -> Self {
        Self {
            group,
            class: CallClass::Write,
        }
    }

    /// The read budget of `group` (`vpc.read`).
    #[must_use]
    pub const fn read(group: ApiGroup) -> Self {
        Self {
            group,
            class: CallClass::Read,
        }
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.group.as_str(), self.class.as_str())
    }
}

/// Throttled answers per API group, counted by whoever sees them (the client, including
/// the throttled reads it retries internally; the executor, for mutations). Shared through
/// an `Arc`; the executor's limiter halves a group's rates whenever its count grows.
#[derive(Debug, Default)]
pub struct Throttles {
    counts: [AtomicU64; 8],
}

impl Throttles {
    /// A throttled answer from `group`'s API.
    pub fn record(&self, group: ApiGroup) {
        self.counts[group.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Throttled answers from `group` so far.
    #[must_use]
    pub fn count(&self, group: ApiGroup) -> u64 {
        self.counts[group.index()].load(Ordering::Relaxed)
    }

    /// Throttled answers from every group so far.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse_by_name_and_alias() {
        for g in ApiGroup::ALL {
            assert_eq!(g.as_str().parse::<ApiGroup>(), Ok(g));
        }
        assert_eq!("foasconsole".parse::<ApiGroup>(), Ok(ApiGroup::Flink));
        assert_eq!("VPC".parse::<ApiGroup>(), Ok(ApiGroup::Vpc));
        assert!("ecs".parse::<ApiGroup>().is_err());
        assert_eq!(
            ApiKey {
                group: ApiGroup::Vpc,
                class: CallClass::Write
            }
            .to_string(),
            "vpc.write"
        );
    }

    #[test]
    fn throttles_count_per_group() {
        let t = Throttles::default();
        t.record(ApiGroup::Vpc);
        t.record(ApiGroup::Vpc);
        t.record(ApiGroup::Flink);
        assert_eq!(t.count(ApiGroup::Vpc), 2);
        assert_eq!(t.count(ApiGroup::Oss), 0);
        assert_eq!(t.total(), 3);
    }
}
