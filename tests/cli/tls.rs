//! HTTPS end to end: a CA and a certificate for `localhost`/`127.0.0.1` made at run time, the
//! emulator serving them, and plan and apply trusting that CA only through `SSL_CERT_FILE` or
//! `SSL_CERT_DIR`, as a corporate CA is trusted. Without it, the run fails with an error that
//! names the host and how to trust a CA, and nothing is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use livehook::emulator::{Emulator, Options, State};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use crate::support::{
    SECRET_KEY, assert_no_secrets, four_callback_apps, four_callback_apps_yaml, livehook,
    start_emulator, stderr, stdout, writes,
};

/// A CA written to `ca.pem` in a directory of its own, and the server certificate it signed.
pub struct TestPki {
    pub dir: tempfile::TempDir,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestPki {
    pub fn new() -> TestPki {
        TestPki::with_leaf(vec!["localhost".to_owned(), "127.0.0.1".to_owned()], |_| {})
    }

    /// A CA and a server certificate for `names`, after `customise` (a validity period, say)
    /// has had its way with the certificate's parameters.
    pub fn with_leaf(
        names: Vec<String>,
        customise: impl FnOnce(&mut CertificateParams),
    ) -> TestPki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "livehook test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(names).unwrap();
        customise(&mut leaf);
        let cert = leaf.signed_by(&key, &ca).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        TestPki {
            dir,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        livehook::emulator::tls_server_config(
            self.cert_pem.as_bytes(),
            self.key_pem.as_bytes(),
            "cert",
            "key",
        )
        .unwrap()
    }

    /// Starts an HTTPS emulator holding `state`.
    pub async fn emulator(&self, state: State) -> Emulator {
        let emulator = start_emulator(
            state,
            Options {
                tls: Some(self.server_config()),
                ..Options::default()
            },
        )
        .await;
        assert!(emulator.base_url().starts_with("https://127.0.0.1:"));
        emulator
    }

    /// The four-app scenario over HTTPS: its emulator, and a directory whose `livehook.yaml`
    /// points every app at it.
    pub async fn four_apps_over_https(&self) -> (Emulator, tempfile::TempDir) {
        let emulator = self.emulator(four_callback_apps()).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("livehook.yaml"),
            four_callback_apps_yaml(&emulator.base_url()),
        )
        .unwrap();
        (emulator, dir)
    }
}

fn run(dir: &Path, args: &[&str], trust: Option<(&str, &Path)>) -> std::process::Output {
    let mut env = vec![("TIM_SECRET_KEY", SECRET_KEY)];
    let trust_value;
    if let Some((variable, path)) = trust {
        trust_value = path.display().to_string();
        env.push((variable, trust_value.as_str()));
    }
    livehook(dir, args, &env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_apply_work_over_https_with_the_ca_from_ssl_cert_file_and_negotiate_http2() {
    let pki = TestPki::new();
    let (emulator, dir) = pki.four_apps_over_https().await;
    let trust = Some(("SSL_CERT_FILE", pki.ca_file()));
    let trust = trust.as_ref().map(|(v, p)| (*v, p.as_path()));

    let plan = run(dir.path(), &["plan"], trust);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(
        stdout(&plan).contains("Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged."),
        "{}",
        stdout(&plan)
    );
    assert!(writes(&emulator).is_empty());

    let apply = run(dir.path(), &["apply", "--auto-approve"], trust);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert_eq!(writes(&emulator).len(), 3, "{:?}", writes(&emulator));
    assert_no_secrets(&apply);

    let again = run(dir.path(), &["plan"], trust);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).starts_with("No changes."),
        "{}",
        stdout(&again)
    );

    // Every request went over HTTP/2, which the emulator offered by ALPN, and each of the three
    // runs multiplexed its concurrent requests over one connection (one TLS handshake).
    let requests = emulator.requests().len() as u64;
    assert!(requests > 0);
    assert_eq!(emulator.http2_requests(), requests);
    assert_eq!(emulator.connections_accepted(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_in_ssl_cert_dir_is_trusted_too() {
    let pki = TestPki::new();
    let (_emulator, dir) = pki.four_apps_over_https().await;
    let plan = run(
        dir.path(),
        &["plan"],
        Some(("SSL_CERT_DIR", pki.dir.path())),
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_at_once_naming_the_host_and_how_to_trust_a_ca() {
    let pki = TestPki::new();
    let emulator = pki.emulator(four_callback_apps()).await;
    let before = emulator.state();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("livehook.yaml"),
        four_callback_apps_yaml(&emulator.base_url()),
    )
    .unwrap();
    let host = emulator
        .base_url()
        .trim_start_matches("https://")
        .to_owned();

    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let started = std::time::Instant::now();
        let output = run(dir.path(), args, None);
        let text = format!("{}{}", stdout(&output), stderr(&output));
        assert_eq!(output.status.code(), Some(1), "{args:?}: {text}");
        assert!(
            text.contains(&format!("the TLS certificate of {host} is not trusted")),
            "{args:?}: {text}"
        );
        assert!(
            text.contains("certificate authority this machine does not trust"),
            "{text}"
        );
        assert!(text.contains("SSL_CERT_FILE"), "{text}");
        // In livehook's words, not rustls's.
        for raw in ["UnknownIssuer", "invalid peer certificate", "rustls"] {
            assert!(!text.contains(raw), "{raw} in {text}");
        }
        // Not retried: a certificate does not become trusted by asking again.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_no_secrets(&output);
    }
    // No handshake completed, so no request arrived, and nothing was written.
    assert!(emulator.requests().is_empty());
    assert_eq!(
        serde_json::to_value(emulator.state()).unwrap(),
        serde_json::to_value(before).unwrap()
    );
}

#[test]
fn the_emulator_command_serves_https_with_tls_cert_and_tls_key() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let pki = TestPki::new();
    let dir = pki.dir.path();
    std::fs::write(dir.join("cert.pem"), &pki.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.key_pem).unwrap();
    let state = dir.join("state.json");
    four_callback_apps().save_atomic(&state).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_livehook"))
        .env_clear()
        .args(["emulator", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(dir.join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.join("key.pem"))
        .arg("--state")
        .arg(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base_url = line
        .trim_end()
        .strip_prefix("livehook emulator listening on ")
        .map(str::to_owned);
    let plan = base_url.as_ref().map(|base_url| {
        let work = tempfile::tempdir().unwrap();
        std::fs::write(
            work.path().join("livehook.yaml"),
            four_callback_apps_yaml(base_url),
        )
        .unwrap();
        run(
            work.path(),
            &["plan"],
            Some(("SSL_CERT_FILE", &pki.ca_file())),
        )
    });
    let _ = child.kill();
    let _ = child.wait();
    let base_url = base_url.unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    assert!(base_url.starts_with("https://127.0.0.1:"), "{base_url}");
    let plan = plan.unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
}

#[test]
fn a_bad_certificate_file_is_refused_by_the_emulator_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    std::fs::write(dir.path().join("key.pem"), "not a key").unwrap();
    let state = dir.path().join("state.json");
    four_callback_apps().save_atomic(&state).unwrap();
    let output = livehook(
        dir.path(),
        &[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
            "--state",
            "state.json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cert.pem holds no PEM certificate"),
        "{}",
        stderr(&output)
    );
}
