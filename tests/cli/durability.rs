//! Killing `livehook emulator` (SIGKILL) while it writes its state file never leaves the file
//! corrupt or half-written, nor loses a change it acknowledged, and leaves no temporary file
//! behind once the emulator runs again.
//!
//! Four writers hammer the emulator process with set/update/delete of callbacks and tokens, one
//! call at a time each, on apps of their own. The emulator writes the file before it answers, so
//! after a kill each writer's apps must be as they were after its last acknowledged call, or
//! after the call it had in flight; nothing else. Twenty kills at pseudo-random moments.
//!
//! Each write pauses before and after its rename (the debug-only [`PAUSE_ENV`] hook), so that
//! kills land inside writes, on both sides of the rename, which the test asserts: a kill before
//! the rename leaves a temporary file and the old state, one after it leaves the state of a
//! call that was never acknowledged.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use livehook::emulator::{AppState, State};
use livehook::tim::client::{CallError, Client, ClientOptions, Secret, Target, Write};
use livehook::tim::wire::{Callback, TokenBody};

use crate::support::{ADMIN, SECRET_KEY};

const KILLS: usize = 20;
const WRITERS: u64 = 4;
const APPS_PER_WRITER: u64 = 4;
const FIRST: u64 = 1_400_200_000;
/// The test-only hook of `livehook::atomic_file::write` (read by debug builds only), and how
/// long it holds each write before and after the rename.
const PAUSE_ENV: &str = "LIVEHOOK_TEST_PAUSE_WRITES_MS";
const PAUSE_MS: &str = "20";

/// A small deterministic generator, so that a failing run can be repeated.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn apps_of(writer: u64) -> Vec<u64> {
    (0..APPS_PER_WRITER)
        .map(|i| FIRST + writer * APPS_PER_WRITER + i)
        .collect()
}

fn initial_state() -> State {
    State {
        apps: (0..WRITERS)
            .flat_map(apps_of)
            .map(|id| (id, AppState::new(SECRET_KEY)))
            .collect(),
    }
}

/// The apps of one writer, as the state file must hold them.
type Apps = BTreeMap<u64, AppState>;

fn project(state: &State, writer: u64) -> Apps {
    apps_of(writer)
        .into_iter()
        .map(|id| (id, state.apps[&id].clone()))
        .collect()
}

/// What a writer knows: its apps after its last acknowledged call, and after the call in flight.
struct Progress {
    acked: Apps,
    in_flight: Option<Apps>,
    calls: usize,
}

/// Sends write after write until the emulator goes away; returns the error that ended it.
async fn hammer(
    client: Client,
    base_url: String,
    writer: u64,
    progress: Arc<Mutex<Progress>>,
    mut rng: XorShift,
) -> CallError {
    loop {
        let n = rng.next();
        let ids = apps_of(writer);
        let id = ids[(n % APPS_PER_WRITER) as usize];
        let target = Target {
            base_url: base_url.clone(),
            sdkappid: id,
            identifier: ADMIN.into(),
            secret_key: Secret::new(SECRET_KEY.into()),
        };
        let mut next = progress.lock().unwrap().acked.clone();
        let app = next.get_mut(&id).unwrap();
        let url = format!("https://hooks.example.com/{writer}/{n}");
        let body = Callback {
            url,
            commands: vec!["Live.CallbackAfterCreateRoom".into()],
        };
        let token = TokenBody {
            token: format!("token-{n:x}"),
            enabled: n % 2 == 0,
        };
        let had_callback = app.callback.is_some();
        let op = (n >> 8) % 5;
        match op {
            0 | 1 => app.callback = Some(body.clone()),
            2 => app.callback = None,
            3 => app.token = Some(token.clone()),
            _ => app.token = None,
        }
        progress.lock().unwrap().in_flight = Some(next.clone());
        let result = match op {
            0 | 1 if had_callback => client.write(&target, Write::UpdateCallback(&body)).await,
            0 | 1 => client.write(&target, Write::SetCallback(&body)).await,
            2 => client.write(&target, Write::DeleteCallback).await,
            3 => client.write(&target, Write::SetToken(&token)).await,
            _ => client.write(&target, Write::DeleteToken).await,
        };
        let mut p = progress.lock().unwrap();
        match result {
            Ok(()) => {
                p.acked = next;
                p.in_flight = None;
                p.calls += 1;
            }
            Err(error) => return error,
        }
    }
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".state.json.livehook-") && name.ends_with(".tmp"))
        .collect()
}

/// Starts `livehook emulator` on the state file and returns it with its base URL.
fn start(dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_livehook"))
        .current_dir(dir)
        .env_clear()
        .env(PAUSE_ENV, PAUSE_MS)
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--state",
            "state.json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("livehook emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_writing_never_corrupts_or_loses_the_state_file() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    initial_state().save_atomic(&path).unwrap();
    // A temporary file as a killed run leaves it: the next start removes it.
    std::fs::write(dir.path().join(".state.json.livehook-Ab12Cd.tmp"), "{\"ap").unwrap();
    let client = Client::new(ClientOptions {
        max_retries: 0,
        timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    })
    .unwrap();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut expected = initial_state();
    let (mut calls, mut killed_mid_write, mut in_flight_landed) = (0, 0, 0);
    for kill in 0..KILLS {
        let (mut child, base_url) = start(dir.path());
        assert_eq!(
            temporaries(dir.path()),
            Vec::<String>::new(),
            "kill {kill}: the emulator removed stale temporaries on start"
        );
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let progress = Arc::new(Mutex::new(Progress {
                    acked: project(&expected, writer),
                    in_flight: None,
                    calls: 0,
                }));
                let task = tokio::spawn(hammer(
                    client.clone(),
                    base_url.clone(),
                    writer,
                    progress.clone(),
                    XorShift(rng.next() | 1),
                ));
                (progress, task)
            })
            .collect();
        // Every writer has a write acknowledged before the kill is timed, however slow this
        // machine's disk is, so that each kill lands among writes rather than before them.
        let waiting = Instant::now();
        while writers
            .iter()
            .any(|(p, task)| p.lock().unwrap().calls == 0 && !task.is_finished())
        {
            assert!(
                waiting.elapsed() < Duration::from_secs(30),
                "kill {kill}: a writer had no write acknowledged within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(30 + rng.next() % 120)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for (_, task) in &writers {
            while !task.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }

        let loaded = State::load(&path)
            .unwrap_or_else(|e| panic!("kill {kill}: the state file does not load: {e}"));
        for (writer, (progress, task)) in writers.into_iter().enumerate() {
            let error = task.await.unwrap();
            assert!(
                matches!(error, CallError::Network { .. } | CallError::Decode { .. }),
                "kill {kill}: writer {writer} stopped for another reason: {error}"
            );
            let p = progress.lock().unwrap();
            calls += p.calls;
            let now = project(&loaded, writer as u64);
            if now == p.acked {
                continue;
            }
            assert_eq!(
                Some(&now),
                p.in_flight.as_ref(),
                "kill {kill}: writer {writer}'s apps are neither as acknowledged nor as the call in flight would leave them"
            );
            in_flight_landed += 1;
        }
        let left = temporaries(dir.path());
        assert!(left.len() <= 1, "kill {kill}: {left:?}");
        killed_mid_write += left.len();
        expected = loaded;
    }
    assert!(
        calls >= KILLS * WRITERS as usize,
        "{calls} acknowledged calls in all"
    );
    assert!(
        killed_mid_write >= KILLS / 4,
        "only {killed_mid_write} of {KILLS} kills landed inside a write (left a temporary file)"
    );
    assert!(
        in_flight_landed > 0,
        "no kill landed after a rename and before its answer"
    );
    eprintln!(
        "durability: {KILLS} kills, {calls} acknowledged calls, {in_flight_landed} unacknowledged calls found written, \
         {killed_mid_write} kills left a temporary file, {:?}",
        started.elapsed()
    );
}
