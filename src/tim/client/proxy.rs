//! Which proxy a request goes through, in words fit for a log: the client itself (reqwest) reads
//! `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case) as curl does, through
//! the same matcher used here, so what is logged is what is used.

use hyper_util::client::proxy::matcher::Matcher;

/// The proxy the environment sends requests to `base_url` through, as `scheme://host:port`
/// without any user name or password, or `None` for a direct connection.
pub fn proxy_for(base_url: &str) -> Option<String> {
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
