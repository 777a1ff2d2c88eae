//! Which proxy a request goes through, in words fit for a log: the client itself (reqwest) reads
//! `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case) as curl does, through
//! the same matcher used here, so what is logged is what is used.

use hyper_util::client::proxy::matcher::Matcher;

/// The proxy the environment sends requests to `base_url` through, as `scheme://host:port`
/// without any user name or password, or `None` for a direct connection.
pub fn proxy_for(base_url: &str) -> Option<String> {
    if no_proxy_for_any_host() {
        return None;
    }
    let uri: http::Uri = base_url.parse().ok()?;
    let intercept = Matcher::from_env().intercept(&uri)?;
    let proxy = intercept.uri();
    let scheme = proxy.scheme_str().unwrap_or("http");
    let host = proxy.host()?;
    Some(match proxy.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Whether `NO_PROXY` (or `no_proxy`, read in that order as the matcher reads them) lists `*`,
/// which for curl means "no proxy for any host". The matcher applies `*` to host names only, not
/// to IP addresses, so the client turns proxies off itself in that case.
pub(super) fn no_proxy_for_any_host() -> bool {
    ["NO_PROXY", "no_proxy"]
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .is_some_and(|list| list.split(',').any(|entry| entry.trim() == "*"))
}
