//! `livehook emulator` as a separate process, the way scripts and the benchmark run it: the
//! announced port, a real `livehook plan` against it, and a bad state file.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::support::{
    SDKAPPID, SECRET_KEY, assert_no_secrets, livehook, seeded_state, stderr, stdout,
};

const LISTENING: &str = "livehook emulator listening on ";

/// The emulator child, killed when dropped so that a failing assertion never leaves it running.
struct EmulatorProcess {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl EmulatorProcess {
    /// Starts `livehook emulator --listen 127.0.0.1:0 --state STATE` and returns it with the
    /// base URL read from its first line.
    fn start(dir: &Path, state: &Path) -> (EmulatorProcess, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_livehook"))
            .current_dir(dir)
            .env_clear()
            .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("livehook emulator starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut emulator = EmulatorProcess { child, stdout };
        let mut line = String::new();
        emulator.stdout.read_line(&mut line).unwrap();
        let base_url = line
            .trim_end()
            .strip_prefix(LISTENING)
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        (emulator, base_url)
    }

    /// Kills the emulator and returns everything else it printed (stdout, stderr).
    fn kill(mut self) -> (String, String) {
        self.child.kill().expect("the emulator is still running");
        self.child.wait().unwrap();
        let mut out = String::new();
        self.stdout.read_to_string(&mut out).unwrap();
        let mut err = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut err).unwrap();
        }
        (out, err)
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn plan_against_the_emulator_process_shows_a_create() {
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("state.json");
    seeded_state().save_atomic(&state_path).unwrap();
    let before = std::fs::read(&state_path).unwrap();

    let (emulator, base_url) = EmulatorProcess::start(dir.path(), &state_path);
    let port = base_url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("not a loopback URL with a port: {base_url}"));
    assert_ne!(port, 0);

    std::fs::write(
        dir.path().join("livehook.yaml"),
        format!(
            "version: 1
apps:
  new-app:
    sdkappid: {SDKAPPID}
    endpoint: {base_url}
    callback:
      url: https://hooks.example.com/tim/live
      commands: [Live.CallbackAfterCreateRoom]
"
        ),
    )
    .unwrap();
    let output = livehook(
        dir.path(),
        &["plan", "--format", "json"],
        &[("TIM_SECRET_KEY", SECRET_KEY)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_no_secrets(&output);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        doc["summary"],
        serde_json::json!({"create": 1, "update": 0, "delete": 0, "no_op": 0, "error": 0})
    );
    assert_eq!(doc["apps"][0]["name"], "new-app");
    assert_eq!(doc["apps"][0]["action"], "create");
    assert_eq!(doc["apps"][0]["endpoint"], base_url.as_str());

    let (rest_of_stdout, emulator_stderr) = emulator.kill();
    assert_eq!(rest_of_stdout, "");
    assert!(!emulator_stderr.contains(SECRET_KEY), "{emulator_stderr}");
    assert_eq!(
        std::fs::read(&state_path).unwrap(),
        before,
        "plan only reads, so the emulator never rewrote its state file"
    );
}

#[test]
fn bad_state_file_names_file_line_and_column_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    // `callback` holds the secret key by mistake: serde would quote it in its message.
    std::fs::write(
        dir.path().join("state.json"),
        format!(
            "{{\n  \"apps\": {{\n    \"{SDKAPPID}\": {{\n      \"secret_key\": \"{SECRET_KEY}\",\n      \"callback\": \"{SECRET_KEY}\"\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let output = livehook(
        dir.path(),
        &[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--state",
            "state.json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: state.json:5:84: invalid emulator state: invalid type: string, expected struct CallbackBody\n  help: see the README's \"Emulator state file\" section for the format\n"
    );
    assert_no_secrets(&output);
}
