//! The pure syntax rules of the spec language (names, ids, CIDR blocks, regions), kept
//! apart from the diagnostics so that they are easy to read and to unit-test.

use ipnet::Ipv4Net;

/// Regions where fully managed Flink is offered on the international site
/// (`DescribeSupportedRegions`, see `specs/cloud-api.md`).
pub(crate) const INTL_REGIONS: &[&str] = &[
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-northeast-1",
    "cn-hongkong",
    "eu-central-1",
    "eu-west-1",
    "us-east-1",
    "us-west-1",
];

/// Regions where fully managed Flink is offered on the China site.
pub(crate) const CHINA_REGIONS: &[&str] = &[
    "cn-beijing",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-shenzhen",
    "cn-zhangjiakou",
    "cn-wulanchabu",
    "cn-qingdao",
];

/// Limits.
pub(crate) const MAX_NAME: usize = 60;
pub(crate) const MIN_CU: u32 = 1;
pub(crate) const MAX_CU: u32 = 10_000;
/// Alibaba Cloud takes 20 tags per resource; flinkform's ownership mark uses two of them.
pub(crate) const MAX_LABELS: usize = 18;
pub(crate) const MAX_LABEL_KEY: usize = 128;
pub(crate) const MAX_LABEL_VALUE: usize = 128;
pub(crate) const VPC_MASKS: (u8, u8) = (8, 28);
pub(crate) const VSWITCH_MASKS: (u8, u8) = (16, 29);
pub(crate) const MAX_VSWITCHES: usize = 5;

/// Whether fully managed Flink is offered in `region` (on either site).
pub(crate) fn is_flink_region(region: &str) -> bool {
    INTL_REGIONS.contains(&region) || CHINA_REGIONS.contains(&region)
}

/// Workspace name: 1–60 characters, a letter first, then letters, digits, hyphens.
pub(crate) fn is_workspace_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= MAX_NAME
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Project (namespace) name: lowercase letters, digits, hyphens; a lowercase letter first;
/// not ending with `-`; at most 60 characters.
pub(crate) fn is_project_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= MAX_NAME
        && !s.ends_with('-')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// OSS bucket name: 3–63 characters of lowercase letters, digits and hyphens, starting and
/// ending with a letter or digit.
pub(crate) fn is_bucket_name(s: &str) -> bool {
    let edge =
        |c: Option<char>| matches!(c, Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&s.len())
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `zone` is a zone of `region` (`ap-southeast-1a` of `ap-southeast-1`,
/// `cn-beijing-g` of `cn-beijing`).
pub(crate) fn zone_in_region(zone: &str, region: &str) -> bool {
    match zone.strip_prefix(region) {
        Some(rest) => {
            let rest = rest.strip_prefix('-').unwrap_or(rest);
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_lowercase())
        }
        None => false,
    }
}

/// A cloud id of the given prefix (`vpc-`, `vsw-`) followed by letters, digits, hyphens.
/// A resource group id: `rg-` and at least one lowercase letter or digit.
pub(crate) fn is_resource_group_id(s: &str) -> bool {
    s.strip_prefix("rg-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

pub(crate) fn is_cloud_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// Why a CIDR block cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CidrProblem {
    /// Not `a.b.c.d/n` with an IPv4 address.
    Syntax,
    /// Host bits are set; the canonical block is given.
    HostBits(Ipv4Net),
    /// Inside a range the VPC service reserves.
    Reserved(&'static str),
}

/// Ranges Alibaba Cloud does not accept for VPCs and vSwitches.
const RESERVED: &[&str] = &[
    "100.64.0.0/10",
    "224.0.0.0/4",
    "127.0.0.0/8",
    "169.254.0.0/16",
];

/// Parses an IPv4 CIDR block that a VPC or vSwitch can use.
pub(crate) fn parse_cidr(s: &str) -> Result<Ipv4Net, CidrProblem> {
    if !s.contains('/') {
        return Err(CidrProblem::Syntax);
    }
    let net: Ipv4Net = s.parse().map_err(|_| CidrProblem::Syntax)?;
    if net.trunc() != net {
        return Err(CidrProblem::HostBits(net.trunc()));
    }
    for reserved in RESERVED {
        if let Ok(r) = reserved.parse::<Ipv4Net>()
            && (r.contains(&net.network()) || net.contains(&r.network()))
        {
            return Err(CidrProblem::Reserved(reserved));
        }
    }
    Ok(net)
}

/// Whether two blocks share an address.
pub(crate) fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_names() {
        assert!(is_workspace_name("a"));
        assert!(is_workspace_name("Analytics-Prod-2"));
        assert!(is_workspace_name(&"a".repeat(60)));
        assert!(!is_workspace_name(&"a".repeat(61)));
        assert!(!is_workspace_name(""));
        assert!(!is_workspace_name("1abc"));
        assert!(!is_workspace_name("-abc"));
        assert!(!is_workspace_name("ab_c"));
        assert!(!is_workspace_name("abç"));
    }

    #[test]
    fn project_names() {
        assert!(is_project_name("etl"));
        assert!(is_project_name("etl-2"));
        assert!(!is_project_name("Etl"));
        assert!(!is_project_name("etl-"));
        assert!(!is_project_name("2etl"));
        assert!(!is_project_name("et_l"));
        assert!(!is_project_name(""));
        assert!(is_project_name(&"a".repeat(60)));
        assert!(!is_project_name(&"a".repeat(61)));
    }

    #[test]
    fn bucket_names() {
        assert!(is_bucket_name("abc"));
        assert!(is_bucket_name("analytics-prod-flink"));
        assert!(is_bucket_name("1ab"));
        assert!(!is_bucket_name("ab"));
        assert!(!is_bucket_name(&"a".repeat(64)));
        assert!(is_bucket_name(&"a".repeat(63)));
        assert!(!is_bucket_name("-abc"));
        assert!(!is_bucket_name("abc-"));
        assert!(!is_bucket_name("Abc"));
        assert!(!is_bucket_name("a.bc"));
    }

    #[test]
    fn zones_and_regions() {
        assert!(zone_in_region("ap-southeast-1a", "ap-southeast-1"));
        assert!(zone_in_region("cn-beijing-g", "cn-beijing"));
        assert!(!zone_in_region("ap-southeast-1", "ap-southeast-1"));
        assert!(!zone_in_region("ap-southeast-3a", "ap-southeast-1"));
        assert!(!zone_in_region("ap-southeast-11a", "ap-southeast-1"));
        assert!(!zone_in_region("ap-southeast-1-", "ap-southeast-1"));
        assert!(is_flink_region("cn-hangzhou"));
        assert!(is_flink_region("eu-central-1"));
        assert!(!is_flink_region("us-east-2"));
    }

    #[test]
    fn cloud_ids() {
        assert!(is_cloud_id("vpc-123", "vpc-"));
        assert!(is_cloud_id("vpc-sim-existing", "vpc-"));
        assert!(!is_cloud_id("vpc-", "vpc-"));
        assert!(!is_cloud_id("vsw-1", "vpc-"));
        assert!(!is_cloud_id("vpc-a b", "vpc-"));
    }

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/16").map(|n| n.prefix_len()), Ok(16));
        assert_eq!(parse_cidr("10.0.0.0"), Err(CidrProblem::Syntax));
        assert_eq!(parse_cidr("10.0.0.0/33"), Err(CidrProblem::Syntax));
        assert_eq!(parse_cidr("fd00::/8"), Err(CidrProblem::Syntax));
        assert_eq!(
            parse_cidr("10.0.1.5/24"),
            Err(CidrProblem::HostBits("10.0.1.0/24".parse().unwrap()))
        );
        assert_eq!(
            parse_cidr("100.64.0.0/16"),
            Err(CidrProblem::Reserved("100.64.0.0/10"))
        );
        assert_eq!(
            parse_cidr("96.0.0.0/4"),
            Err(CidrProblem::Reserved("100.64.0.0/10"))
        );
        let a = parse_cidr("10.0.0.0/24").unwrap();
        let b = parse_cidr("10.0.0.128/25").unwrap();
        let c = parse_cidr("10.0.1.0/24").unwrap();
        assert!(overlaps(&a, &b));
        assert!(overlaps(&b, &a));
        assert!(!overlaps(&a, &c));
    }
}
