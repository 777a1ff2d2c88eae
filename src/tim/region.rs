//! Tencent Cloud Chat REST regions and their domains.

use serde::{Deserialize, Serialize};

/// A region whose REST domain livehook knows. `usa` is accepted as an alias of `silicon-valley`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    China,
    Singapore,
    Seoul,
    Frankfurt,
    Mumbai,
    #[serde(alias = "usa")]
    SiliconValley,
    Jakarta,
}

impl Region {
    pub const ALL: [Region; 7] = [
        Region::China,
        Region::Singapore,
        Region::Seoul,
        Region::Frankfurt,
        Region::Mumbai,
        Region::SiliconValley,
        Region::Jakarta,
    ];

    /// Every spelling a desired-state file may use, aliases included.
    pub const NAMES: [&'static str; 8] = [
        "china",
        "singapore",
        "seoul",
        "frankfurt",
        "mumbai",
        "silicon-valley",
        "usa",
        "jakarta",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Region::China => "china",
            Region::Singapore => "singapore",
            Region::Seoul => "seoul",
            Region::Frankfurt => "frankfurt",
            Region::Mumbai => "mumbai",
            Region::SiliconValley => "silicon-valley",
            Region::Jakarta => "jakarta",
        }
    }

    pub fn from_name(name: &str) -> Option<Region> {
        match name {
            "usa" => Some(Region::SiliconValley),
            _ => Region::ALL.into_iter().find(|r| r.name() == name),
        }
    }

    /// The primary REST domain.
    pub fn domain(self) -> &'static str {
        match self {
            Region::China => "console.tim.qq.com",
            Region::Singapore => "adminapisgp.im.qcloud.com",
            Region::Seoul => "adminapikr.im.qcloud.com",
            Region::Frankfurt => "adminapiger.im.qcloud.com",
            Region::Mumbai => "adminapiind.im.qcloud.com",
            Region::SiliconValley => "adminapiusa.im.qcloud.com",
            Region::Jakarta => "adminapiidn.im.qcloud.com",
        }
    }

    /// The base URL (`https://{domain}`) that `v4/live_config/{command}` is appended to.
    pub fn base_url(self) -> String {
        format!("https://{}", self.domain())
    }
}

/// Whether `host` is one of Tencent Cloud Chat's REST hosts: a region's domain, its backup domain
/// (`*.my-imcloud.com`, for DNS trouble), or another host under the domains Tencent's REST API
/// is served from. A UserSig may go there without the user allowing it.
pub fn is_tencent_rest_host(host: &str) -> bool {
    const TENCENT_REST_DOMAINS: [&str; 2] = ["im.qcloud.com", "my-imcloud.com"];
    let host = host.to_ascii_lowercase();
    host == Region::China.domain()
        || TENCENT_REST_DOMAINS.iter().any(|domain| {
            host.strip_suffix(domain)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        })
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usa_is_silicon_valley() {
        assert_eq!(Region::from_name("usa"), Some(Region::SiliconValley));
        assert_eq!(Region::from_name("tokyo"), None);
        for r in Region::ALL {
            assert_eq!(Region::from_name(r.name()), Some(r));
        }
    }
}
