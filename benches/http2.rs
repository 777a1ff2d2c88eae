//! `cargo bench --bench http2`: the real `livehook plan` over HTTPS against the emulator
//! answering after 20 ms, 1,000 apps at `--parallelism 64`, with the emulator offering HTTP/2 and
//! HTTP/1.1 by ALPN (so livehook negotiates HTTP/2) and offering HTTP/1.1 only; plain http for
//! comparison. For each it prints the median wall time, the ideal `ceil(N/P) × 20 ms`, the ratio,
//! and the connections the emulator accepted per run.
//!
//! The emulator runs in this process (its library, as `livehook emulator --tls-cert` runs it),
//! with a CA and certificate made at start; livehook trusts the CA through `SSL_CERT_FILE`. A
//! wrong answer panics; a missed target is reported, not fatal, since timings depend on the
//! machine. `cargo bench` writes the report to `benches/RESULTS.md`.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Report, median, ms, verdict};
use livehook::emulator::{AppState, Emulator, Options, State};
use livehook::tim::wire::Callback;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::Value;

const FIRST_SDKAPPID: u64 = 1_400_100_000;
const LATENCY_MS: u64 = 20;
const PARALLELISM: u64 = 64;
const SECRET_KEY: &str = "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff";
const TARGET_RATIO: f64 = 1.3;

/// A CA (written to `ca.pem` in `dir`) and the emulator's server configuration it signed.
fn pki(dir: &Path) -> Arc<rustls::ServerConfig> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server parameters")
        .signed_by(&key, &ca)
        .expect("server certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("ca.pem written");
    livehook::emulator::tls_server_config(
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
        "cert",
        "key",
    )
    .expect("server configuration")
}

fn state(apps: u64) -> State {
    State {
        apps: (0..apps)
            .map(|i| {
                let app = AppState {
                    callback: Some(Callback {
                        url: "https://hooks.example.com/live".into(),
                        commands: vec!["Live.CallbackAfterCreateRoom".into()],
                    }),
                    ..AppState::new(SECRET_KEY)
                };
                (FIRST_SDKAPPID + i, app)
            })
            .collect(),
    }
}

fn yaml(endpoint: &str, apps: u64) -> String {
    let mut text = format!("version: 1\ndefaults:\n  endpoint: {endpoint}\napps:\n");
    for i in 0..apps {
        text.push_str(&format!(
            "  app-{i:04}:\n    sdkappid: {}\n    callback: {{url: https://hooks.example.com/live, commands: [Live.CallbackAfterCreateRoom]}}\n",
            FIRST_SDKAPPID + i
        ));
    }
    text
}

/// One timed `livehook plan`; panics unless every app is read and unchanged.
fn plan(dir: &Path, apps: u64) -> Duration {
    let started = Instant::now();
    let output = Command::new(common::livehook_bin())
        .current_dir(dir)
        .env_clear()
        .env("TIM_SECRET_KEY", SECRET_KEY)
        .env("SSL_CERT_FILE", dir.join("ca.pem"))
        .args(["plan", "--format", "json", "--parallelism"])
        .arg(PARALLELISM.to_string())
        .output()
        .expect("livehook runs");
    let took = started.elapsed();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let doc: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        doc["summary"]["no_op"].as_u64(),
        Some(apps),
        "{}",
        doc["summary"]
    );
    took
}

struct Row {
    label: &'static str,
    wall: Duration,
    connections_per_run: f64,
    http2_share: f64,
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    label: &'static str,
    tls: Option<Arc<rustls::ServerConfig>>,
    apps: u64,
    runs: usize,
) -> Row {
    let options = Options {
        latency: Duration::from_millis(LATENCY_MS),
        record_requests: false,
        tls,
        ..Options::default()
    };
    let emulator: Emulator = runtime
        .block_on(Emulator::start(state(apps), options))
        .expect("the emulator starts");
    std::fs::write(dir.join("livehook.yaml"), yaml(&emulator.base_url(), apps))
        .expect("livehook.yaml written");
    eprintln!("{label}: {apps} apps at --parallelism {PARALLELISM}, {runs} runs");
    // One run to warm the file cache and the emulator's blocking threads, not counted.
    plan(dir, apps);
    let (connections_before, h2_before) =
        (emulator.connections_accepted(), emulator.http2_requests());
    let walls: Vec<Duration> = (0..runs).map(|_| plan(dir, apps)).collect();
    let connections = emulator.connections_accepted() - connections_before;
    let h2 = emulator.http2_requests() - h2_before;
    runtime.block_on(emulator.shutdown());
    Row {
        label,
        wall: median(walls),
        connections_per_run: connections as f64 / runs as f64,
        http2_share: h2 as f64 / (apps as f64 * runs as f64),
    }
}

fn main() {
    let (apps, runs) = if common::quick() { (16, 1) } else { (1_000, 5) };
    let mut report = Report::start("http2", "HTTP/2 and TLS (`cargo bench --bench http2`)");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let tls = pki(dir.path());
    let mut http1_only = (*tls).clone();
    http1_only.alpn_protocols = vec![b"http/1.1".to_vec()];
    let rows = [
        measure(
            &runtime,
            dir.path(),
            "https, HTTP/2 (ALPN h2)",
            Some(tls),
            apps,
            runs,
        ),
        measure(
            &runtime,
            dir.path(),
            "https, HTTP/1.1 (ALPN http/1.1 only)",
            Some(Arc::new(http1_only)),
            apps,
            runs,
        ),
        measure(&runtime, dir.path(), "http, HTTP/1.1", None, apps, runs),
    ];
    let ideal = Duration::from_millis(apps.div_ceil(PARALLELISM) * LATENCY_MS);
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let ratio = row.wall.as_secs_f64() / ideal.as_secs_f64();
            vec![
                row.label.to_owned(),
                apps.to_string(),
                PARALLELISM.to_string(),
                runs.to_string(),
                ms(row.wall),
                ms(ideal),
                format!("{ratio:.2}x"),
                format!("{:.1}", row.connections_per_run),
                format!("{:.0}%", row.http2_share * 100.0),
                verdict(ratio <= TARGET_RATIO).to_owned(),
            ]
        })
        .collect();
    report.table(
        &[
            "transport",
            "apps",
            "P",
            "runs",
            "wall (median)",
            "ideal ceil(N/P) x 20 ms",
            "ratio",
            "connections/run",
            "HTTP/2 requests",
            "<= 1.30x",
        ],
        &table,
    );
    report.blank();
    for row in &rows {
        report.line(common::ratio_at_most(
            &format!(
                "{} apps at P={PARALLELISM} over {}, wall time to the ideal,",
                apps, row.label
            ),
            row.wall.as_secs_f64() / ideal.as_secs_f64(),
            TARGET_RATIO,
        ));
    }
    report.publish();
}
