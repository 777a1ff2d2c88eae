//! Which hosts may be sent an admin UserSig. Every request carries one, signed with the app's
//! secret key and good for any admin call until it expires, so the host that receives it must be
//! trusted. A desired-state file from a pull request, or a saved plan anyone can replace, names
//! its apps' endpoints; neither may pick that host. Trusted without asking are Tencent's REST
//! domains (what a `region:` resolves to) and this machine (loopback: an emulator); any other
//! endpoint must be allowed by whoever runs livehook, on the command line or in the environment.

use std::collections::BTreeMap;

use crate::config::{App, Location, is_loopback};
use crate::credentials::quoted_names;
use crate::tim::region;

/// The endpoints the command line (`--allow-endpoint`, `LIVEHOOK_ALLOW_ENDPOINTS`) allows on
/// top of Tencent's domains and loopback.
#[derive(Debug, Clone, Default)]
pub struct TrustedEndpoints {
    allowed: Vec<url::Url>,
}

/// An endpoint no one trusted, and the apps that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrustedEndpoint {
    pub endpoint: String,
    /// Each app that names it, and the file (desired state or saved plan) it comes from.
    pub apps: Vec<(String, String)>,
}

impl UntrustedEndpoint {
    /// One line naming the endpoint and who names it, saying why it is refused.
    pub fn message(&self) -> String {
        // Apps are listed per file, in the order they come: "apps `a`, `b` in x.yaml".
        let mut by_file: Vec<(&str, Vec<&str>)> = Vec::new();
        for (app, file) in &self.apps {
            match by_file.iter_mut().find(|(f, _)| f == file) {
                Some((_, apps)) => apps.push(app),
                None => by_file.push((file, vec![app])),
            }
        }
        let files: Vec<String> = by_file
            .iter()
            .map(|(file, apps)| format!("{} in {file}", quoted_names(apps)))
            .collect();
        let noun = if self.apps.len() == 1 { "app" } else { "apps" };
        let named_by = format!("{noun} {}", files.join("; "));
        format!(
            "endpoint `{}` (named by {named_by}) is neither one of Tencent's REST domains nor this \
             machine, and every request sends it an admin UserSig",
            self.endpoint
        )
    }

    /// How to allow it, when it is yours.
    pub fn help(&self) -> String {
        format!(
            "if this host is yours (a private gateway, an emulator on another machine), allow it \
             with `--allow-endpoint {}` or in LIVEHOOK_ALLOW_ENDPOINTS; no request was sent",
            self.endpoint
        )
    }
}

impl TrustedEndpoints {
    /// Trusts `allowed` (checked endpoint URLs) besides Tencent's domains and loopback.
    pub fn new(allowed: Vec<url::Url>) -> TrustedEndpoints {
        TrustedEndpoints { allowed }
    }

    /// Every app whose endpoint is not trusted, grouped by endpoint, before any secret is read
    /// or any request sent.
    pub fn check(&self, apps: &[App]) -> Result<(), Vec<UntrustedEndpoint>> {
        // Grouped first, so that each endpoint is parsed once however many apps share it.
        let mut by_endpoint: BTreeMap<&str, Vec<&App>> = BTreeMap::new();
        for app in apps {
            if let Location::Endpoint(endpoint) = &app.location {
                by_endpoint.entry(endpoint).or_default().push(app);
            }
        }
        let untrusted: Vec<UntrustedEndpoint> = by_endpoint
            .into_iter()
            .filter(|(endpoint, _)| !self.trusts(endpoint))
            .map(|(endpoint, apps)| UntrustedEndpoint {
                endpoint: endpoint.to_owned(),
                apps: apps
                    .iter()
                    .map(|app| (app.name.clone(), app.origin.app.file.to_string()))
                    .collect(),
            })
            .collect();
        if untrusted.is_empty() {
            Ok(())
        } else {
            Err(untrusted)
        }
    }

    /// Whether a UserSig may go to `endpoint`. An endpoint that does not parse is not trusted:
    /// loading has refused those already, so it can only be a bug or a forgery.
    pub fn trusts(&self, endpoint: &str) -> bool {
        let Ok(url) = url::Url::parse(endpoint) else {
            return false;
        };
        if is_loopback(&url) {
            return true;
        }
        let tencent = url.scheme() == "https"
            && url.port().is_none()
            && url.host_str().is_some_and(region::is_tencent_rest_host);
        // The UserSig goes to the origin whatever the path is, so the origin is what is allowed.
        tencent
            || self
                .allowed
                .iter()
                .any(|allowed| allowed.origin() == url.origin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Origin, Position};

    fn app(name: &str, endpoint: &str) -> App {
        App {
            name: name.into(),
            sdkappid: 1400000001,
            location: Location::Endpoint(endpoint.into()),
            identifier: "administrator".into(),
            secret_key_env: "TIM_SECRET_KEY".into(),
            callback: None,
            token: None,
            origin: Origin::at(Position {
                file: "x.yaml".into(),
                line: 1,
                column: 1,
            }),
        }
    }

    fn allowing(urls: &[&str]) -> TrustedEndpoints {
        TrustedEndpoints::new(urls.iter().map(|u| url::Url::parse(u).unwrap()).collect())
    }

    #[test]
    fn tencent_domains_and_loopback_need_no_allowance() {
        let trusted = TrustedEndpoints::default();
        for endpoint in [
            "https://adminapisgp.im.qcloud.com",
            "https://console.tim.qq.com/",
            "https://adminapiger.my-imcloud.com",
            "https://ADMINAPIUSA.IM.QCLOUD.COM",
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "https://[::1]:8443",
        ] {
            assert!(trusted.trusts(endpoint), "{endpoint}");
        }
    }

    #[test]
    fn lookalikes_and_other_hosts_are_not_trusted() {
        let trusted = TrustedEndpoints::default();
        for endpoint in [
            "https://evil.example.com",
            // Plain http to Tencent would send the UserSig in the clear.
            "http://adminapisgp.im.qcloud.com",
            // Another port is another server.
            "https://adminapisgp.im.qcloud.com:8443",
            "https://im.qcloud.com.evil.example",
            "https://evilim.qcloud.com",
            "https://console.tim.qq.com.evil.example",
            "https://10.0.0.1",
            "not a url",
        ] {
            assert!(!trusted.trusts(endpoint), "{endpoint}");
        }
    }

    #[test]
    fn an_allowance_is_for_its_origin_only() {
        let trusted = allowing(&["https://gw.example.com/some/path"]);
        assert!(trusted.trusts("https://gw.example.com"));
        assert!(trusted.trusts("https://gw.example.com/other"));
        assert!(trusted.trusts("https://gw.example.com:443/"));
        assert!(!trusted.trusts("http://gw.example.com"));
        assert!(!trusted.trusts("https://gw.example.com:8443"));
        assert!(!trusted.trusts("https://sub.gw.example.com"));
    }

    #[test]
    fn check_names_every_untrusted_endpoint_with_its_apps() {
        let apps = [
            app("a", "https://evil.example.com"),
            app("b", "http://127.0.0.1:9"),
            app("c", "https://evil.example.com"),
            app("d", "https://other.example.com"),
        ];
        let untrusted = TrustedEndpoints::default().check(&apps).unwrap_err();
        assert_eq!(
            untrusted,
            [
                UntrustedEndpoint {
                    endpoint: "https://evil.example.com".into(),
                    apps: vec![("a".into(), "x.yaml".into()), ("c".into(), "x.yaml".into())],
                },
                UntrustedEndpoint {
                    endpoint: "https://other.example.com".into(),
                    apps: vec![("d".into(), "x.yaml".into())],
                },
            ]
        );
        assert_eq!(
            untrusted[0].message(),
            "endpoint `https://evil.example.com` (named by apps `a`, `c` in x.yaml) is neither one \
             of Tencent's REST domains nor this machine, and every request sends it an admin UserSig"
        );
        assert!(
            allowing(&["https://evil.example.com", "https://other.example.com"])
                .check(&apps)
                .is_ok()
        );
    }
}
