//! No secret reaches what livehook writes: every command and format, with `-v` debug logging,
//! through success and failure paths (an unreachable endpoint, a wrong key, a stale saved plan,
//! a missing token variable, damaged answers), searched for the secret key, any UserSig, every
//! token value and the secret of a `${HOOK_KEY}` callback URL (desired, live, and changed after a
//! saved plan) in stdout, stderr, saved plans, exports and `$GITHUB_STEP_SUMMARY`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use livehook::emulator::{FaultKind, Options, State};

use crate::support::{
    ALL_SECRETS, CREATE_ROOM, SECRET_KEY, SWEEP_DESIRED_TOKEN, SWEEP_LEGACY_TOKEN,
    SWEEP_LIVE_TOKEN, SWEEP_OLD_URL_KEY, SWEEP_OTHER_TOKEN, SWEEP_OTHER_URL_KEY, SWEEP_URL_KEY,
    WRONG_KEY, callback, closed_port, live_app, livehook, start_emulator, stdout, token,
};

fn state() -> State {
    State {
        apps: [
            (1400000001, live_app(None, None)),
            (
                1400000002,
                live_app(
                    callback(
                        &format!("https://new.example.com/hook?key={SWEEP_OLD_URL_KEY}"),
                        &[CREATE_ROOM],
                    ),
                    token(SWEEP_LIVE_TOKEN, false),
                ),
            ),
            (
                1400000003,
                live_app(
                    callback("https://legacy.example.com/hook", &[CREATE_ROOM]),
                    token(SWEEP_LEGACY_TOKEN, true),
                ),
            ),
        ]
        .into_iter()
        .collect(),
    }
}

fn yaml(endpoint: &str) -> String {
    format!(
        "version: 1
defaults:
  endpoint: {endpoint}
apps:
  create-me:
    sdkappid: 1400000001
    callback: {{url: 'https://new.example.com/hook?key=${{HOOK_KEY}}', commands: [{CREATE_ROOM}]}}
    token: {{value_env: HOOK_TOKEN}}
  update-me:
    sdkappid: 1400000002
    callback: {{url: 'https://new.example.com/hook?key=${{HOOK_KEY}}', commands: [{CREATE_ROOM}]}}
    token: {{value_env: HOOK_TOKEN, enabled: true}}
  delete-me:
    sdkappid: 1400000003
    callback: absent
    token: absent
"
    )
}

/// Everything the runs wrote, by a label that says which run and which stream or file.
#[derive(Default)]
struct Seen(BTreeMap<String, String>);

impl Seen {
    fn output(&mut self, label: &str, output: &Output) {
        self.0.insert(format!("{label}: stdout"), stdout(output));
        self.0.insert(
            format!("{label}: stderr"),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
    }

    fn file(&mut self, label: &str, path: &Path) {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{label}: {e}"));
        self.0.insert(label.to_owned(), text);
    }

    /// Asserts that no text holds a secret, or any eight-character run of one (a cut-short
    /// answer or a truncated log line leaks part of a token), and returns how many texts were
    /// searched.
    fn assert_clean(&self) -> usize {
        let pieces = secret_pieces();
        for (label, text) in &self.0 {
            for (piece, secret) in &pieces {
                assert!(
                    !text.contains(piece.as_str()),
                    "{label} holds {piece:?} of {secret}:\n{text}"
                );
            }
            let lower = text.to_lowercase();
            for query in [
                "usersig=",
                "?sdkappid=",
                "&identifier=",
                "&random=",
                "&contenttype=",
            ] {
                assert!(!lower.contains(query), "{label} holds a query:\n{text}");
            }
            assert!(
                !text.contains("eJ"),
                "{label} holds a UserSig prefix:\n{text}"
            );
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || "*-_+/=".contains(c))) {
                if word.len() >= 16 {
                    assert!(
                        livehook::tim::usersig::decode(word).is_err(),
                        "{label} holds a UserSig:\n{text}"
                    );
                }
            }
        }
        self.0.len()
    }
}

/// The secrets this sweep hands to livehook and to the emulator: an output may hold no
/// eight-character run of any of them. (Other tests' secrets share runs such as `desired-` with
/// ordinary output, so for those only the whole value is searched.)
const SWEPT: [&str; 9] = [
    SECRET_KEY,
    WRONG_KEY,
    SWEEP_DESIRED_TOKEN,
    SWEEP_OTHER_TOKEN,
    SWEEP_LIVE_TOKEN,
    SWEEP_LEGACY_TOKEN,
    SWEEP_URL_KEY,
    SWEEP_OLD_URL_KEY,
    SWEEP_OTHER_URL_KEY,
];

/// Every eight-character run of the swept secrets, and every other test secret whole, each with
/// the secret it comes from.
fn secret_pieces() -> Vec<(String, &'static str)> {
    let runs = SWEPT.iter().flat_map(|secret| {
        let chars: Vec<char> = secret.chars().collect();
        let runs: Vec<String> = chars.windows(PIECE).map(|w| w.iter().collect()).collect();
        runs.into_iter().map(move |run| (run, *secret))
    });
    let whole = ALL_SECRETS
        .iter()
        .map(|secret| (secret.to_string(), *secret));
    runs.chain(whole).collect()
}

/// How long a run of a secret must be to count as a leak: long enough that no ordinary word of
/// livehook's output matches one by chance.
const PIECE: usize = 8;

#[test]
fn no_command_or_format_leaks_a_key_usersig_or_token_even_with_debug_logs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = rt.block_on(start_emulator(state(), Options::default()));
    // Damaged answers (cut-short bodies carry part of a token) and retries, for the logs.
    let faulty = rt.block_on(start_emulator(
        state(),
        Options {
            fault_rate: 0.5,
            fault_seed: Some(5),
            fault_kinds: vec![
                FaultKind::TruncatedBody,
                FaultKind::BadGateway,
                FaultKind::Stall,
                FaultKind::InternalError,
            ],
            stall: Duration::from_secs(5),
            ..Options::default()
        },
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &str| std::fs::write(d.join(name), text).unwrap();
    write("livehook.yaml", &yaml(&emulator.base_url()));
    write("faulty.yaml", &yaml(&faulty.base_url()));
    let closed = closed_port();
    write(
        "unreachable.yaml",
        &yaml(&format!("http://127.0.0.1:{}", closed.port)),
    );
    write(
        "invalid.yaml",
        &yaml(&emulator.base_url()).replace("callback: absent", "calback: absent"),
    );
    let summary = d.join("summary.md");
    let summary_var = summary.to_str().unwrap().to_owned();
    let env_ok: Vec<(&str, &str)> = vec![
        ("TIM_SECRET_KEY", SECRET_KEY),
        ("HOOK_TOKEN", SWEEP_DESIRED_TOKEN),
        ("HOOK_KEY", SWEEP_URL_KEY),
        ("GITHUB_STEP_SUMMARY", &summary_var),
    ];
    let env_wrong_key: Vec<(&str, &str)> = vec![
        ("TIM_SECRET_KEY", WRONG_KEY),
        ("HOOK_TOKEN", SWEEP_DESIRED_TOKEN),
        ("HOOK_KEY", SWEEP_URL_KEY),
    ];
    let env_no_token: Vec<(&str, &str)> =
        vec![("TIM_SECRET_KEY", SECRET_KEY), ("HOOK_KEY", SWEEP_URL_KEY)];
    let env_no_url_key: Vec<(&str, &str)> = vec![
        ("TIM_SECRET_KEY", SECRET_KEY),
        ("HOOK_TOKEN", SWEEP_DESIRED_TOKEN),
    ];
    // Fast retries: an unreachable endpoint is retried like any network failure.
    // 2 s: short enough to cut off a 5 s stall, long enough that a loaded machine does not turn
    // a slow clean answer into an extra retry (which would shift the seeded faults).
    let fast = ["--retry-backoff-scale", "0.01", "--request-timeout", "2"];
    // The unreachable endpoint is retried for 2 s rather than the default five minutes.
    let short_budget = ["--retry-for", "2s"];
    let seen = std::cell::RefCell::new(Seen::default());
    let run = |label: &str, args: &[&str], env: &[(&str, &str)], code: i32| {
        let mut all = vec!["-v"];
        all.extend_from_slice(args);
        if ["plan", "apply", "export"].contains(&args[0]) {
            all.extend_from_slice(&fast);
        }
        if args.contains(&"unreachable.yaml") {
            all.extend_from_slice(&short_budget);
        }
        let output = livehook(d, &all, env);
        // -1: either 0 or 1 (under random faults an app may run out of retries); a run killed
        // by a signal or by the time limit has no exit code and fails either way.
        let exited = output.status.code();
        let expected = if code == -1 {
            matches!(exited, Some(0 | 1))
        } else {
            exited == Some(code)
        };
        assert!(
            expected,
            "{label}: exit {exited:?}, expected {code}\n{}\n{}",
            stdout(&output),
            String::from_utf8_lossy(&output.stderr)
        );
        seen.borrow_mut().output(label, &output);
        output
    };
    let reset = || emulator.update_state(|s| *s = state());

    for format in ["text", "json", "github"] {
        run(
            &format!("validate {format}"),
            &["validate", "livehook.yaml", "--format", format],
            &[],
            0,
        );
        run(
            &format!("validate invalid {format}"),
            &["validate", "invalid.yaml", "--format", format],
            &[],
            1,
        );
    }
    for format in ["text", "json", "markdown", "github"] {
        let output = run(
            &format!("plan {format}"),
            &["plan", "--format", format],
            &env_ok,
            0,
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("HTTP attempt"),
            "-v logs each request"
        );
    }
    run("plan --out", &["plan", "--out", "plan.json"], &env_ok, 0);
    seen.borrow_mut().file("plan.json", &d.join("plan.json"));
    run(
        "plan unreachable",
        &["plan", "unreachable.yaml", "--format", "json"],
        &env_ok,
        1,
    );
    run("plan wrong key", &["plan"], &env_wrong_key, 1);
    run("plan no token variable", &["plan"], &env_no_token, 1);
    run("plan no url variable", &["plan"], &env_no_url_key, 1);
    run("plan faulty", &["plan", "faulty.yaml"], &env_ok, -1);
    run("plan invalid", &["plan", "invalid.yaml"], &env_ok, 1);

    run("export file", &["export", "livehook.yaml"], &env_ok, 0);
    let endpoint = emulator.base_url();
    // Not 1400000002: with no file to declare its `${HOOK_KEY}`, export shows a live URL as it
    // is (and warns), which is the user's own secret on their own terminal.
    run(
        "export sdkappid",
        &[
            "export",
            "--sdkappid",
            "1400000003",
            "--endpoint",
            &endpoint,
        ],
        &env_ok,
        0,
    );
    run(
        "export unreachable",
        &["export", "unreachable.yaml"],
        &env_ok,
        1,
    );
    run("export wrong key", &["export"], &env_wrong_key, 1);

    run(
        "apply --plan",
        &["apply", "--plan", "plan.json"],
        &env_ok,
        0,
    );
    reset();
    run(
        "plan --out again",
        &["plan", "--out", "stale.json"],
        &env_ok,
        0,
    );
    seen.borrow_mut().file("stale.json", &d.join("stale.json"));
    emulator.update_state(|s| {
        s.apps.get_mut(&1400000002).unwrap().token = token(SWEEP_OTHER_TOKEN, true);
    });
    run(
        "apply stale plan",
        &["apply", "--plan", "stale.json"],
        &env_ok,
        1,
    );
    run(
        "apply --plan, token variable changed",
        &["apply", "--plan", "stale.json"],
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", SWEEP_OTHER_TOKEN),
            ("HOOK_KEY", SWEEP_URL_KEY),
        ],
        1,
    );
    run(
        "apply --plan, url variable changed",
        &["apply", "--plan", "stale.json"],
        &[
            ("TIM_SECRET_KEY", SECRET_KEY),
            ("HOOK_TOKEN", SWEEP_DESIRED_TOKEN),
            ("HOOK_KEY", SWEEP_OTHER_URL_KEY),
        ],
        1,
    );
    reset();
    run("apply refused off a terminal", &["apply"], &env_ok, 1);
    run("apply text", &["apply", "--auto-approve"], &env_ok, 0);
    reset();
    run(
        "apply json",
        &["apply", "--auto-approve", "--format", "json"],
        &env_ok,
        0,
    );
    reset();
    for format in ["text", "json"] {
        run(
            &format!("apply wrong key {format}"),
            &["apply", "--auto-approve", "--format", format],
            &env_wrong_key,
            1,
        );
        run(
            &format!("apply unreachable {format}"),
            &[
                "apply",
                "unreachable.yaml",
                "--auto-approve",
                "--format",
                format,
            ],
            &env_ok,
            1,
        );
    }
    run(
        "apply no token variable",
        &["apply", "--auto-approve"],
        &env_no_token,
        1,
    );
    let output = run(
        "apply faulty",
        &["apply", "faulty.yaml", "--auto-approve"],
        &env_ok,
        -1,
    );
    // The log says what a user debugging the run needs, plainly (stderr is a pipe: no colour).
    let log = String::from_utf8_lossy(&output.stderr);
    for needed in [
        "making a UserSig sdkappid=1400000001",
        "HTTP attempt command=set_callback sdkappid=1400000001 attempt=1",
        "outcome=HTTP status 502",
        "outcome=error 100001 (live_config internal error): internal error, please retry request_id=Id-",
        "retrying after back-off",
        "backoff_ms=",
        "duration_ms=",
        "applying app=create-me",
        "read back app=",
    ] {
        assert!(log.contains(needed), "{needed:?} not in the log:\n{log}");
    }
    assert!(!log.contains('\x1b'), "no colour in a piped log");
    let damaged: Vec<_> = faulty
        .requests()
        .into_iter()
        .filter(|r| r.fault == Some(FaultKind::TruncatedBody))
        .map(|r| r.command)
        .collect();
    assert!(
        damaged.iter().any(|c| c == "get_callback_token"),
        "a cut-short answer carried part of a token: {damaged:?}"
    );
    run("schema", &["schema"], &[], 0);
    run("completions", &["completions", "bash"], &[], 0);
    seen.borrow_mut().file("$GITHUB_STEP_SUMMARY", &summary);

    // The emulator as a process, logging, with a plan sent to it.
    std::fs::write(
        d.join("state.json"),
        serde_json::to_string(&state()).unwrap(),
    )
    .unwrap();
    let output = run(
        "plan --emulator",
        &["plan", "--emulator", "state.json"],
        &[
            ("HOOK_TOKEN", SWEEP_DESIRED_TOKEN),
            ("HOOK_KEY", SWEEP_URL_KEY),
        ],
        0,
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("in-process emulator started"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_livehook"))
        .current_dir(d)
        .env_clear()
        .args(["-v", "emulator", "--listen", "127.0.0.1:0", "--state"])
        .arg("state.json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("livehook emulator listening on ")
        .unwrap()
        .to_owned();
    write("process.yaml", &yaml(&url));
    run(
        "apply against the emulator process",
        &["apply", "process.yaml", "--auto-approve"],
        &env_ok,
        0,
    );
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    seen.borrow_mut().output("emulator process", &output);
    assert!(
        seen.borrow().0["emulator process: stderr"].contains("emulator started"),
        "the emulator logs its start"
    );

    let searched = seen.borrow().assert_clean();
    assert!(searched >= 70, "{searched} texts searched");
    rt.block_on(async {
        emulator.shutdown().await;
        faulty.shutdown().await;
    });
}
