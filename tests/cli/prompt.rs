//! What livehook does only for a person at a terminal: apply's confirmation prompt (read through
//! `Streams`, so a test can answer it) and the progress bar (drawn on a pseudo-terminal by the
//! real binary). Both run against the in-process emulator (`--emulator`), whose state file holds
//! the secret key, so no environment variable is needed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use livehook::cli::{Cli, Outcome, Streams};
use livehook::emulator::State;

use crate::support::{
    CREATE_ROOM, SDKAPPID, SECRET_KEY, callback, livehook, seeded_state, state_with_apps, stderr,
    stdout,
};

/// A writer whose bytes the test reads back after the run.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// What was written, without the styles of the text report (as a terminal that does not
    /// colour gets it).
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap();
        anstream::adapter::strip_str(&String::from_utf8_lossy(&bytes)).to_string()
    }
}

/// A directory with the emulator's state file (one app, nothing configured) and a desired state
/// that creates the app's callback.
struct Scenario {
    dir: tempfile::TempDir,
}

impl Scenario {
    fn new() -> Scenario {
        let dir = tempfile::tempdir().expect("a temporary directory");
        seeded_state()
            .save_atomic(&dir.path().join("state.json"))
            .expect("state file written");
        std::fs::write(
            dir.path().join("livehook.yaml"),
            format!(
                "version: 1\napps:\n  prod-sg:\n    sdkappid: {SDKAPPID}\n    region: singapore\n    \
                 callback: {{url: https://hooks.example.com/live, commands: [{CREATE_ROOM}]}}\n"
            ),
        )
        .expect("livehook.yaml written");
        Scenario { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `livehook apply` in this process with `answer` on its input, which is a terminal or
    /// not; the emulator writes what it is told back to the state file.
    fn apply(&self, answer: &str, input_is_terminal: bool) -> Run {
        let cli = Cli::try_parse_from([
            "livehook".as_ref(),
            "apply".as_ref(),
            self.path("livehook.yaml").as_os_str(),
            "--emulator".as_ref(),
            self.path("state.json").as_os_str(),
            "--emulator-persist".as_ref(),
            "--color".as_ref(),
            "never".as_ref(),
        ])
        .expect("the command line parses");
        let (out, err) = (Captured::default(), Captured::default());
        let mut streams = Streams {
            out: Box::new(out.clone()),
            err: Box::new(err.clone()),
            err_colored: false,
            input: Box::new(std::io::Cursor::new(answer.as_bytes().to_vec())),
            input_is_terminal,
        };
        let outcome = livehook::cli::run(cli, &mut streams);
        Run {
            outcome,
            stdout: out.text(),
            stderr: err.text(),
        }
    }

    fn state(&self) -> State {
        State::load(&self.path("state.json")).expect("the state file loads")
    }
}

struct Run {
    outcome: Outcome,
    stdout: String,
    stderr: String,
}

const QUESTION: &str = "\nApply these changes? Only 'yes' will be accepted: ";

#[test]
fn answering_yes_applies_the_plan() {
    let s = Scenario::new();
    let run = s.apply("yes\n", true);
    assert_eq!(run.outcome, Outcome::Success, "{}", run.stderr);
    assert_eq!(run.stderr, QUESTION, "the question, and nothing else");
    assert!(
        run.stdout
            .contains("Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.")
    );
    assert!(run.stdout.contains("Apply complete"), "{}", run.stdout);
    assert_eq!(
        s.state().apps[&SDKAPPID].callback,
        callback("https://hooks.example.com/live", &[CREATE_ROOM])
    );
}

#[test]
fn any_other_answer_cancels_and_writes_nothing() {
    for answer in ["no\n", "y\n", "YES\n", "\n", ""] {
        let s = Scenario::new();
        let before = std::fs::read(s.path("state.json")).unwrap();
        let run = s.apply(answer, true);
        assert_eq!(run.outcome, Outcome::Failure, "{answer:?}");
        assert_eq!(run.outcome.exit_code(), 1);
        assert_eq!(
            run.stderr,
            format!("{QUESTION}Apply cancelled; nothing was changed.\n"),
            "{answer:?}"
        );
        assert!(!run.stdout.contains("Apply complete"), "{answer:?}");
        assert_eq!(
            std::fs::read(s.path("state.json")).unwrap(),
            before,
            "{answer:?}: the emulator's state is untouched"
        );
        assert_eq!(s.state().apps[&SDKAPPID].callback, None);
    }
}

#[test]
fn without_a_terminal_apply_refuses_without_asking() {
    let s = Scenario::new();
    let before = std::fs::read(s.path("state.json")).unwrap();
    // Even a `yes` waiting on the input is not read: nobody saw the plan it would answer.
    let run = s.apply("yes\n", false);
    assert_eq!(run.outcome, Outcome::Failure);
    assert_eq!(run.outcome.exit_code(), 1);
    assert!(
        !run.stderr.contains("Apply these changes?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.starts_with(
            "error: refusing to apply without confirmation: standard input is not a terminal; \
             nothing was changed\n  help: review the plan, then run again with --auto-approve"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(s.path("state.json")).unwrap(), before);
}

/// Enough apps for the bar (it stays hidden below ten, where it would only flicker).
const MANY_APPS: u64 = 12;

/// A directory whose state file and desired state hold [`MANY_APPS`] apps.
fn many_apps() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ids: Vec<u64> = (0..MANY_APPS).map(|i| SDKAPPID + i).collect();
    let keyed: Vec<(u64, &str)> = ids.iter().map(|&id| (id, SECRET_KEY)).collect();
    state_with_apps(&keyed)
        .save_atomic(&dir.path().join("state.json"))
        .expect("state file written");
    let mut yaml = String::from("version: 1\napps:\n");
    for id in ids {
        yaml.push_str(&format!(
            "  app-{id}:\n    sdkappid: {id}\n    region: singapore\n    \
             callback: {{url: https://hooks.example.com/{id}, commands: [{CREATE_ROOM}]}}\n"
        ));
    }
    std::fs::write(dir.path().join("livehook.yaml"), yaml).expect("livehook.yaml written");
    dir
}

/// Runs the real binary with every standard stream on one pseudo-terminal and returns all it
/// wrote there. Fails the test after two minutes rather than hang.
fn on_a_terminal(dir: &Path, args: &[&str]) -> (u32, String) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};

    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal opens");
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_livehook"));
    command.env_clear();
    command.env("TERM", "xterm");
    command.cwd(dir);
    command.args(args);
    let mut child = pair
        .slave
        .spawn_command(command)
        .expect("livehook starts on the terminal");
    // Only the child holds the terminal's other end now, so reading ends when it exits.
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("the terminal reads");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        // Linux answers EIO rather than end-of-file once the last writer has gone.
        while let Ok(n @ 1..) = reader.read(&mut chunk) {
            seen.extend_from_slice(&chunk[..n]);
        }
        let _ = sender.send(seen);
    });
    let seen = receiver
        .recv_timeout(Duration::from_secs(120))
        .expect("livehook finishes within two minutes");
    let status = child.wait().expect("livehook exits");
    (
        status.exit_code(),
        String::from_utf8_lossy(&seen).into_owned(),
    )
}

#[test]
fn the_progress_bar_is_drawn_on_a_terminal() {
    let dir = many_apps();
    let (code, seen) = on_a_terminal(dir.path(), &["plan", "--emulator", "state.json"]);
    assert_eq!(code, 0, "{seen}");
    assert!(
        seen.contains("reading live state"),
        "no progress bar on a terminal:\n{seen}"
    );
    assert!(seen.contains(&format!("/{MANY_APPS} apps")), "{seen}");
    assert!(
        seen.contains(&format!("{MANY_APPS} to create")),
        "the plan follows: {seen}"
    );
}

#[test]
fn the_progress_bar_is_not_drawn_off_a_terminal() {
    let dir = many_apps();
    let output = livehook(dir.path(), &["plan", "--emulator", "state.json"], &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output), "", "nothing on stderr");
    assert!(!stdout(&output).contains("reading live state"));
}
