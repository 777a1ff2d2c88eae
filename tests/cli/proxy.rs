//! Proxies from the environment, as curl reads them: a small proxy on loopback (CONNECT for
//! https, absolute-form requests for http) records what went through it, and the tests prove
//! that plan and apply traffic takes it, that `NO_PROXY` bypasses it, that either letter case
//! works, and that `-v` names the proxy but never its credentials.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{
    PROXY_PASSWORD, PROXY_USER, SECRET_KEY, assert_no_secrets, closed_port, four_callback_apps,
    four_callback_apps_yaml, livehook, start_emulator, stderr, stdout, writes,
};
use crate::tls::TestPki;

/// One connection a client opened through the proxy.
#[derive(Debug, Clone)]
struct Tunnelled {
    /// `CONNECT` or the method of an absolute-form request.
    method: String,
    /// Where it asked to go: `host:port`.
    authority: String,
    /// The `Proxy-Authorization` header it sent, if any.
    authorization: Option<String>,
}

/// A forward proxy on 127.0.0.1: CONNECT tunnels, and absolute-form requests relayed as they
/// are (the emulator accepts absolute-form targets). It records each connection's first request.
struct LoopbackProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Tunnelled>>>,
}

impl LoopbackProxy {
    async fn start() -> LoopbackProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let _ = relay(client, record).await;
                });
            }
        });
        LoopbackProxy { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn url_with_credentials(&self) -> String {
        format!("http://{PROXY_USER}:{PROXY_PASSWORD}@{}", self.addr)
    }

    fn seen(&self) -> Vec<Tunnelled> {
        self.seen.lock().unwrap().clone()
    }
}

async fn relay(mut client: TcpStream, record: Arc<Mutex<Vec<Tunnelled>>>) -> std::io::Result<()> {
    // Read the request head.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let authorization = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_owned());
    let authority = if method == "CONNECT" {
        target.clone()
    } else {
        let url = url::Url::parse(&target).expect("an absolute-form target");
        format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        )
    };
    record.lock().unwrap().push(Tunnelled {
        method: method.clone(),
        authority: authority.clone(),
        authorization,
    });
    let mut upstream = TcpStream::connect(&authority).await?;
    if method == "CONNECT" {
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
    } else {
        upstream.write_all(&head).await?;
    }
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut all = vec![("TIM_SECRET_KEY", SECRET_KEY)];
    all.extend_from_slice(env);
    livehook(dir, args, &all)
}

fn host_port(base_url: &str) -> String {
    base_url.split("://").nth(1).unwrap().to_owned()
}

fn assert_no_proxy_credentials(output: &std::process::Output) {
    assert_no_secrets(output);
    let text = format!("{}{}", stdout(output), stderr(output));
    assert!(
        !text.contains(PROXY_USER) && !text.contains(PROXY_PASSWORD),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_apply_over_http_go_through_http_proxy_with_its_credentials_kept_out_of_logs() {
    let proxy = LoopbackProxy::start().await;
    let emulator = start_emulator(four_callback_apps(), Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        four_callback_apps_yaml(&emulator.base_url()),
    )
    .unwrap();
    let via = proxy.url_with_credentials();
    let env = [("HTTP_PROXY", via.as_str())];

    let plan = run(dir.path(), &["plan", "-v"], &env);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(
        stderr(&plan).contains(&format!(
            "requests go through a proxy endpoint=\"{}\" proxy={}",
            emulator.base_url(),
            proxy.url()
        )),
        "{}",
        stderr(&plan)
    );
    assert_no_proxy_credentials(&plan);
    let apply = run(dir.path(), &["apply", "--auto-approve", "-v"], &env);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert_no_proxy_credentials(&apply);
    assert_eq!(writes(&emulator).len(), 3);

    let seen = proxy.seen();
    assert!(!seen.is_empty());
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{PROXY_USER}:{PROXY_PASSWORD}"))
    );
    for tunnelled in &seen {
        assert_eq!(tunnelled.method, "POST", "{tunnelled:?}");
        assert_eq!(tunnelled.authority, host_port(&emulator.base_url()));
        assert_eq!(
            tunnelled.authorization.as_deref(),
            Some(expected_auth.as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_goes_through_https_proxy_by_connect_in_either_case_and_all_proxy_too() {
    let pki = TestPki::new();
    let (emulator, dir) = pki.four_apps_over_https().await;
    let ca = pki.ca_file().display().to_string();
    for variable in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        let proxy = LoopbackProxy::start().await;
        let url = proxy.url();
        let plan = run(
            dir.path(),
            &["plan"],
            &[(variable, url.as_str()), ("SSL_CERT_FILE", ca.as_str())],
        );
        assert_eq!(plan.status.code(), Some(0), "{variable}: {}", stderr(&plan));
        let seen = proxy.seen();
        assert!(
            !seen.is_empty(),
            "{variable}: nothing went through the proxy"
        );
        for tunnelled in &seen {
            assert_eq!(tunnelled.method, "CONNECT", "{variable}");
            assert_eq!(tunnelled.authority, host_port(&emulator.base_url()));
        }
    }
    // HTTP_PROXY is for http only: https does not take it.
    let proxy = LoopbackProxy::start().await;
    let url = proxy.url();
    let plan = run(
        dir.path(),
        &["apply", "--auto-approve"],
        &[("HTTP_PROXY", url.as_str()), ("SSL_CERT_FILE", ca.as_str())],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(proxy.seen().is_empty());
    assert_eq!(writes(&emulator).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_bypasses_the_proxy_as_curl_matches_it() {
    let emulator = start_emulator(four_callback_apps(), Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        four_callback_apps_yaml(&emulator.base_url()),
    )
    .unwrap();
    // (NO_PROXY value, whether the proxy is bypassed): hosts match exactly or as a domain
    // suffix, `*` matches everything, and a list may mix both.
    let cases = [
        ("127.0.0.1", true),
        ("example.com, 127.0.0.1", true),
        ("*", true),
        ("127.0.0.0/8", true),
        ("10.0.0.1", false),
        ("example.com", false),
    ];
    for (no_proxy, bypassed) in cases {
        for (proxy_variable, no_proxy_variable) in
            [("HTTP_PROXY", "NO_PROXY"), ("http_proxy", "no_proxy")]
        {
            let proxy = LoopbackProxy::start().await;
            let url = proxy.url();
            let plan = run(
                dir.path(),
                &["plan", "-v"],
                &[
                    (proxy_variable, url.as_str()),
                    (no_proxy_variable, no_proxy),
                ],
            );
            assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
            assert_eq!(
                proxy.seen().is_empty(),
                bypassed,
                "{no_proxy_variable}={no_proxy:?}: {:?}",
                proxy.seen()
            );
            let logged_direct = stderr(&plan).contains("requests go directly, without a proxy");
            assert_eq!(logged_direct, bypassed, "{}", stderr(&plan));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_proxy_fails_the_run_without_showing_its_credentials() {
    let emulator = start_emulator(four_callback_apps(), Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        four_callback_apps_yaml(&emulator.base_url()),
    )
    .unwrap();
    let dead = closed_port();
    let dead_addr = format!("127.0.0.1:{}", dead.port);
    let via = format!("http://{PROXY_USER}:{PROXY_PASSWORD}@{dead_addr}");
    for format in ["text", "json"] {
        let plan = run(
            dir.path(),
            &["plan", "-v", "--retry-for", "1s", "--format", format],
            &[("HTTP_PROXY", via.as_str())],
        );
        assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
        assert!(stderr(&plan).contains(&format!("proxy=http://{dead_addr}")));
        assert_no_proxy_credentials(&plan);
    }
    assert!(emulator.requests().is_empty());
}
