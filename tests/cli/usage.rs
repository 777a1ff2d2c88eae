//! The command line itself: help reads as a command reference, and usage errors exit 1 (livehook
//! keeps 2 for "the plan has changes", so clap's own 2 would be misread by CI gates).

use std::path::Path;

use crate::support::{livehook, stderr, stdout};

#[test]
fn help_lists_every_command_and_exits_0() {
    let output = livehook(Path::new("."), &["--help"], &[]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for command in [
        "validate",
        "plan",
        "apply",
        "export",
        "schema",
        "emulator",
        "completions",
    ] {
        assert!(
            text.contains(&format!("\n  {command} ")),
            "`{command}` in --help:\n{text}"
        );
    }
    let output = livehook(Path::new("."), &["plan", "--help"], &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("--detailed-exitcode"));
}

#[test]
fn usage_errors_exit_1_not_2() {
    let output = livehook(Path::new("."), &["plan", "--no-such-flag"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unexpected argument '--no-such-flag'"),
        "{}",
        stderr(&output)
    );
    let output = livehook(Path::new("."), &["plan", "--parallelism", "0"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let output = livehook(Path::new("."), &[], &[]);
    assert_eq!(output.status.code(), Some(1), "no command is a usage error");
}

#[test]
fn a_request_timeout_below_tencents_own_is_warned_about() {
    let output = livehook(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "plan",
            "examples/livehook.yaml",
            "--emulator",
            "examples/emulator-state.json",
            "--request-timeout",
            "1",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "warning: --request-timeout 1 s is not above Tencent's 3 s backend timeout: answers that take longer are cut off and retried\n"
    );
    let output = livehook(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "plan",
            "examples/livehook.yaml",
            "--emulator",
            "examples/emulator-state.json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "no warning at the default");
}
