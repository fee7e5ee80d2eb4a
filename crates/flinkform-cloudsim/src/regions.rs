//! The emulator's fixed geography: which regions each site offers fully managed Flink in,
//! their display names, and the zones of every region.

use serde::{Deserialize, Serialize};

/// The Alibaba Cloud site an account was registered on; it decides the regions offered,
/// the currency and the BSS endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Site {
    /// alibabacloud.com (international site), balances in USD.
    Intl,
    /// aliyun.com (China site), balances in CNY.
    China,
}

impl Site {
    /// The account currency on this site.
    #[must_use]
    pub fn currency(self) -> &'static str {
        match self {
            Self::Intl => "USD",
            Self::China => "CNY",
        }
    }
}

/// Regions offered to international-site accounts, with display names.
const INTL: &[(&str, &str)] = &[
    ("ap-southeast-1", "Singapore"),
    ("ap-southeast-3", "Malaysia (Kuala Lumpur)"),
    ("ap-southeast-5", "Indonesia (Jakarta)"),
    ("ap-northeast-1", "Japan (Tokyo)"),
    ("cn-hongkong", "China (Hong Kong)"),
    ("eu-central-1", "Germany (Frankfurt)"),
    ("eu-west-1", "UK (London)"),
    ("us-east-1", "US (Virginia)"),
    ("us-west-1", "US (Silicon Valley)"),
];

/// Regions offered to China-site accounts, with display names.
const CHINA: &[(&str, &str)] = &[
    ("cn-beijing", "China (Beijing)"),
    ("cn-hangzhou", "China (Hangzhou)"),
    ("cn-shanghai", "China (Shanghai)"),
    ("cn-shenzhen", "China (Shenzhen)"),
    ("cn-zhangjiakou", "China (Zhangjiakou)"),
    ("cn-wulanchabu", "China (Ulanqab)"),
    ("cn-qingdao", "China (Qingdao)"),
];

/// `(region, display name)` pairs offered to accounts of `site`.
#[must_use]
pub(crate) fn site_regions(site: Site) -> &'static [(&'static str, &'static str)] {
    match site {
        Site::Intl => INTL,
        Site::China => CHINA,
    }
}

/// Whether `region` is offered to accounts of `site`.
#[must_use]
pub(crate) fn offered(site: Site, region: &str) -> bool {
    site_regions(site).iter().any(|(r, _)| *r == region)
}

/// Whether `region` exists at all (on either site); VPCs may live in any of them.
#[must_use]
pub(crate) fn known(region: &str) -> bool {
    offered(Site::Intl, region) || offered(Site::China, region)
}

/// The zones of a region: `a`–`c` for international regions, `b`–`d` for Hong Kong and
/// `g`–`i` for mainland China regions. Empty for an unknown region.
#[must_use]
pub(crate) fn zones(region: &str) -> Vec<String> {
    if !known(region) {
        return Vec::new();
    }
    let suffixes: &[&str] = if region == "cn-hongkong" {
        &["b", "c", "d"]
    } else if region.starts_with("cn-") {
        &["g", "h", "i"]
    } else {
        &["a", "b", "c"]
    };
    suffixes
        .iter()
        .map(|s| {
            if region.starts_with("cn-") {
                format!("{region}-{s}")
            } else {
                format!("{region}{s}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_follow_the_regional_naming() {
        assert_eq!(
            zones("ap-southeast-1"),
            ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
        );
        assert_eq!(
            zones("cn-beijing"),
            ["cn-beijing-g", "cn-beijing-h", "cn-beijing-i"]
        );
        assert_eq!(
            zones("cn-hongkong"),
            ["cn-hongkong-b", "cn-hongkong-c", "cn-hongkong-d"]
        );
        assert!(zones("mars-north-1").is_empty());
    }

    #[test]
    fn sites_offer_disjoint_regions() {
        assert!(offered(Site::Intl, "ap-southeast-1"));
        assert!(!offered(Site::China, "ap-southeast-1"));
        assert!(offered(Site::China, "cn-hangzhou"));
        assert!(known("cn-hangzhou") && known("eu-west-1") && !known("xx"));
    }
}
