//! Where requests go: the real host of each product and region (cloud-api.md §1, reference
//! §1.6), and an override that sends every request to one base URL (the emulator) while the
//! signed `Host` header still names the real host.

use std::fmt;

use flinkform_core::Region;

use crate::error::{Error, Result};

/// The RPC products this client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Product {
    /// Fully managed Flink (foasconsole 2021-10-28), regional.
    Foasconsole,
    /// VPC (2016-04-28), regional.
    Vpc,
    /// RAM (2015-05-01), global.
    Ram,
    /// BssOpenApi (2017-12-14), one host per site.
    Bss,
    /// STS (2015-04-01), global.
    Sts,
    /// OSS administration (`OpenOssService`, 2019-04-22), global.
    OssAdmin,
    /// Marketplace (2015-11-01), one host per site.
    Market,
    /// ResourceManager (2020-03-31): resource groups and moving resources between them,
    /// global.
    ResourceManager,
}

impl Product {
    /// The API family whose quotas this product's calls count against.
    #[must_use]
    pub fn api_group(self) -> flinkform_core::ApiGroup {
        use flinkform_core::ApiGroup as G;
        match self {
            Self::Foasconsole => G::Flink,
            Self::Vpc => G::Vpc,
            Self::Ram => G::Ram,
            Self::Bss => G::Bss,
            Self::Sts => G::Sts,
            Self::OssAdmin => G::Oss,
            Self::Market => G::Market,
            Self::ResourceManager => G::ResourceManager,
        }
    }

    /// The API version sent as `x-acs-version`.
    #[must_use]
    pub fn version(self) -> &'static str {
        match self {
            Self::Foasconsole => "2021-10-28",
            Self::Vpc => "2016-04-28",
            Self::Ram => "2015-05-01",
            Self::Bss => "2017-12-14",
            Self::Sts => "2015-04-01",
            Self::OssAdmin => "2019-04-22",
            Self::Market => "2015-11-01",
            Self::ResourceManager => "2020-03-31",
        }
    }

    /// The product code (`foasconsole`, `vpc`, …).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Foasconsole => "foasconsole",
            Self::Vpc => "vpc",
            Self::Ram => "ram",
            Self::Bss => "bssopenapi",
            Self::Sts => "sts",
            Self::OssAdmin => "oss-admin",
            Self::Market => "market",
            Self::ResourceManager => "resourcemanager",
        }
    }

    /// The real host name for `region` (`None` for account-level calls).
    #[must_use]
    pub fn host(self, region: Option<&Region>) -> String {
        let region = region.map(Region::as_str);
        match self {
            Self::Foasconsole => match region {
                Some("cn-north-2-gov-1") | None => "foasconsole.aliyuncs.com".to_owned(),
                Some(r) => format!("foasconsole.{r}.aliyuncs.com"),
            },
            Self::Vpc => match region {
                Some(
                    "cn-hangzhou"
                    | "cn-shanghai-finance-1"
                    | "cn-shenzhen-finance-1"
                    | "cn-north-2-gov-1",
                )
                | None => "vpc.aliyuncs.com".to_owned(),
                Some(r) => format!("vpc.{r}.aliyuncs.com"),
            },
            Self::Ram => "ram.aliyuncs.com".to_owned(),
            Self::Bss => {
                if region.is_some_and(is_china_site_region) {
                    "business.aliyuncs.com".to_owned()
                } else {
                    "business.ap-southeast-1.aliyuncs.com".to_owned()
                }
            }
            Self::Sts => "sts.aliyuncs.com".to_owned(),
            Self::OssAdmin => "oss-admin.aliyuncs.com".to_owned(),
            Self::Market => {
                if region.is_some_and(is_china_site_region) {
                    "market.aliyuncs.com".to_owned()
                } else {
                    "market.ap-southeast-1.aliyuncs.com".to_owned()
                }
            }
            Self::ResourceManager => "resourcemanager.aliyuncs.com".to_owned(),
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Whether `region` belongs to the China site (mainland regions; Hong Kong is served by the
/// international site).
#[must_use]
pub fn is_china_site_region(region: &str) -> bool {
    region.starts_with("cn-") && region != "cn-hongkong"
}

/// The OSS host: `<bucket>.oss-<region>.aliyuncs.com`, or `oss-<region>.aliyuncs.com` for
/// service-level calls (`ListBuckets`).
#[must_use]
pub fn oss_host(region: &Region, bucket: Option<&str>) -> String {
    match bucket {
        Some(b) => format!("{b}.oss-{region}.aliyuncs.com"),
        None => format!("oss-{region}.aliyuncs.com"),
    }
}

/// Where requests are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoints {
    /// The real Alibaba Cloud over https.
    Real,
    /// Every request goes to this base URL (`http://127.0.0.1:PORT`); the `Host` header
    /// (signed) still names the real host.
    Override(String),
}

impl Endpoints {
    /// Checks the override URL.
    ///
    /// # Errors
    /// When the override is not an absolute http(s) URL.
    pub fn validate(&self) -> Result<()> {
        if let Self::Override(base) = self {
            let url = url::Url::parse(base).map_err(|e| Error::BadEndpoint {
                url: base.clone(),
                message: e.to_string(),
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(Error::BadEndpoint {
                    url: base.clone(),
                    message: "expected http:// or https:// with a host".into(),
                });
            }
        }
        Ok(())
    }

    /// The URL to send a request for `host` to (path `/`, no query).
    #[must_use]
    pub fn url_for(&self, host: &str) -> String {
        match self {
            Self::Real => format!("https://{host}/"),
            Self::Override(base) => format!("{}/", base.trim_end_matches('/')),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_manager_is_one_global_host() {
        let p = Product::ResourceManager;
        for region in [None, Some("ap-southeast-1"), Some("cn-hangzhou")] {
            let region = region.map(|r| Region::new(r).expect("region"));
            assert_eq!(p.host(region.as_ref()), "resourcemanager.aliyuncs.com");
        }
        assert_eq!(p.version(), "2020-03-31");
        assert_eq!(p.code(), "resourcemanager");
    }
}
