//! `livehook validate` run as users run it: every diagnostic of the desired-state format rendered
//! to stderr and pinned with its exit code (snapshots under `tests/cli/snapshots/`), garbage input
//! that must end in a message rather than a panic or a hang, the example file, and schema drift.
//!
//! Fixtures live in `tests/fixtures/validate/`, one small file per case. Runs happen in the crate
//! root with relative paths, so the snapshots show `tests/fixtures/...`, never a machine's path.
//! Large inputs are generated into a temporary directory, never committed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use livehook::config::{SourceFile, load_source};
use saphyr::{LoadableYamlNode, YamlOwned};

use crate::support::{livehook, stderr, stdout};

const FIXTURES: &str = "tests/fixtures/validate";

/// Far above any honest run, even unoptimised: a hang fails the test instead of stalling it.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Exit code and both streams, as one snapshot.
    fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `livehook --color never ARGS` in `dir` with an empty environment (plus NO_COLOR).
fn livehook_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::cargo_bin("livehook")
        .expect("the livehook binary is built for integration tests")
        .current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .args(["--color", "never"])
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .expect("livehook starts");
    Run {
        code: output
            .status
            .code()
            .unwrap_or_else(|| panic!("livehook {args:?} was killed (hang or crash): {output:?}")),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `livehook validate PATHS` in the crate root.
fn validate(paths: &[&str]) -> Run {
    let mut args = vec!["validate"];
    args.extend_from_slice(paths);
    livehook_in(Path::new(env!("CARGO_MANIFEST_DIR")), &args)
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// One test per case: validate the fixtures, check the exit code, pin the transcript.
macro_rules! cases {
    ($($name:ident: [$($file:literal),+] => $code:literal;)*) => {$(
        #[test]
        fn $name() {
            let paths = [$(fixture($file)),+];
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            let run = validate(&paths);
            assert_eq!(run.code, $code, "exit code of validate {paths:?}:\n{}", run.stderr);
            insta::assert_snapshot!(stringify!($name), run.transcript());
        }
    )*};
}

cases! {
    yaml_syntax_unclosed_flow: ["yaml_syntax.yaml"] => 1;
    yaml_syntax_bad_indentation: ["yaml_syntax_indent.yaml"] => 1;
    duplicate_yaml_key: ["duplicate_key.yaml"] => 1;
    duplicate_app_name_in_one_file: ["duplicate_app_name.yaml"] => 1;
    wrong_types: ["wrong_types.yaml"] => 1;
    whole_numbers_written_as_floats: ["float_numbers.yaml"] => 1;
    top_level_not_a_mapping: ["root_not_mapping.yaml"] => 1;
    missing_required_fields: ["missing_fields.yaml"] => 1;
    unknown_field_did_you_mean: ["unknown_fields.yaml"] => 1;
    wrong_version: ["wrong_version.yaml"] => 1;
    unknown_region: ["unknown_region.yaml"] => 1;
    unknown_command_word: ["unknown_command.yaml"] => 1;
    extra_commands_admit_a_new_word: ["extra_commands.yaml"] => 0;
    duplicate_command_word: ["duplicate_command.yaml"] => 1;
    callback_url_not_absolute_http: ["callback_url_invalid.yaml"] => 1;
    callback_url_plain_http_is_a_warning: ["callback_url_plain_http.yaml"] => 0;
    endpoint_not_a_url: ["endpoint_not_url.yaml"] => 1;
    endpoint_plain_http_off_loopback: ["endpoint_plain_http.yaml"] => 1;
    endpoint_plain_http_on_loopback: ["endpoint_loopback.yaml"] => 0;
    region_and_endpoint: ["region_and_endpoint.yaml"] => 1;
    neither_region_nor_endpoint: ["no_location.yaml"] => 1;
    duplicate_sdkappid: ["duplicate_sdkappid.yaml"] => 1;
    duplicate_sdkappid_across_files: ["two_files/a.yaml", "two_files/b.yaml"] => 1;
    duplicate_app_across_directory: ["dir_duplicate_app"] => 1;
    missing_file: ["no-such-file.yaml"] => 1;
    missing_directory: ["no-such-directory/"] => 1;
    directory_without_yaml: ["dir_without_yaml"] => 1;
    invalid_values: ["invalid_values.yaml"] => 1;
    columns_count_characters: ["non_ascii_columns.yaml"] => 1;
    many_errors_in_one_run: ["many_errors.yaml"] => 1;
}

#[test]
fn many_errors_are_all_reported_in_reading_order() {
    let run = validate(&[&fixture("many_errors.yaml")]);
    assert_eq!(run.code, 1);
    // Each diagnostic's header, in order: every line of the file with a problem, once.
    let lines: Vec<usize> = run
        .stderr
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("╭─[tests/fixtures/validate/many_errors.yaml:")
        })
        .map(|rest| rest.split(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        lines,
        [1, 3, 6, 7, 12, 12, 14, 17, 18, 19, 21],
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("Invalid: 11 errors.\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn default_path_is_livehook_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let run = livehook_in(dir.path(), &["validate"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("default_path_missing", run.transcript());

    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/livehook.yaml"),
        dir.path().join("livehook.yaml"),
    )
    .unwrap();
    let run = livehook_in(dir.path(), &["validate"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "Valid: 5 apps in 1 file.\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn example_validates() {
    let run = validate(&["examples/livehook.yaml"]);
    assert_eq!(
        run.code, 0,
        "examples/livehook.yaml must validate:\n{}",
        run.stderr
    );
    assert_eq!(run.stdout, "Valid: 5 apps in 1 file.\n");
    assert_eq!(run.stderr, "", "the example must not warn");
}

#[test]
fn committed_schema_matches_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = livehook_in(root, &["schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let committed = std::fs::read_to_string(root.join("schema/livehook.schema.json")).unwrap();
    assert!(
        run.stdout == committed,
        "schema/livehook.schema.json differs from what the code generates; regenerate it with\n\
         \n    cargo run -- schema > schema/livehook.schema.json\n\nand commit the result"
    );
    // It is JSON, and the example's editor hint points at it.
    serde_json::from_str::<serde_json::Value>(&committed).expect("the committed schema is JSON");
    let example = std::fs::read_to_string(root.join("examples/livehook.yaml")).unwrap();
    assert!(
        example.starts_with("# yaml-language-server: $schema=../schema/livehook.schema.json\n")
    );
}

// --- Garbage: an answer, never a panic or a hang -----------------------------------------------

/// Validates `path` and checks that the run ended properly: exit 0 or 1, a message on stderr when
/// it failed, and no panic.
fn validate_garbage(path: &Path) -> Run {
    let run = validate(&[path.to_str().unwrap()]);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {} for {}:\n{}",
        run.code,
        path.display(),
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    if run.code == 1 {
        assert!(run.stderr.contains("Invalid: "), "{}", run.stderr);
    }
    run
}

/// Stderr with miette's line wrapping undone, for `contains` checks on messages about temporary
/// paths (whose length moves the wrap).
fn flat(stderr: &str) -> String {
    stderr
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A valid desired state with `n` apps.
fn apps_file(n: usize) -> String {
    let mut text = String::from("version: 1\ndefaults:\n  region: singapore\napps:\n");
    for i in 0..n {
        writeln!(
            text,
            "  app-{i:05}:\n    sdkappid: {}\n    callback:\n      url: https://hooks.example.com/tim/{i}\n      commands: [Live.CallbackAfterCreateRoom, Live.CallbackAfterDestroyRoom]",
            1_400_000_000 + i
        )
        .unwrap();
    }
    text
}

#[test]
fn empty_and_blank_files() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.yaml", ""),
        ("blank.yaml", "\n\n   \n"),
        ("comment.yaml", "# nothing but a comment\n"),
        ("null.yaml", "~\n"),
        ("end-only.yaml", "---\n...\n"),
    ] {
        let run = validate_garbage(&write(dir.path(), name, text));
        assert_eq!(run.code, 1, "{name}");
    }
}

#[test]
fn binary_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Invalid UTF-8 (with NULs), NUL in otherwise valid text, a BOM, control characters.
    let cases: [(&str, &[u8]); 5] = [
        (
            "invalid-utf8.yaml",
            b"\x00\x01\xff\xfe\x7fELF\x02\x01\x01\x00 garbage \xc3\x28",
        ),
        ("nul.yaml", b"version: 1\napps: \x00\n"),
        ("nul-only.yaml", b"\x00\x00\x00\x00"),
        ("bom.yaml", b"\xef\xbb\xbfversion: 1\napps: {}\n"),
        ("controls.yaml", b"version: 1\x1b[31m\napps:\x07\n"),
    ];
    for (name, bytes) in cases {
        validate_garbage(&write(dir.path(), name, bytes));
    }
    // Pseudo-random blobs, the same on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..20 {
        let blob: Vec<u8> = (0..512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let run = validate_garbage(&write(dir.path(), &format!("blob-{i}.yaml"), blob));
        assert_eq!(run.code, 1);
    }
}

#[test]
fn deep_block_nesting() {
    let dir = tempfile::tempdir().unwrap();
    // 10,000 block sequences, one inside the other, on a single line.
    let compact = "- ".repeat(10_000) + "x\n";
    let run = validate_garbage(&write(dir.path(), "compact.yaml", compact));
    assert!(
        run.stderr.contains("nested more than 64 levels deep"),
        "{}",
        run.stderr
    );
    // 5,000 indented block mappings (12 MB): under the size limit, refused for depth.
    let indented: String = (0..5_000)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect();
    let run = validate_garbage(&write(dir.path(), "indented.yaml", indented));
    assert!(
        run.stderr.contains("nested more than 64 levels deep"),
        "{}",
        run.stderr
    );
    // 10,000 of them (50 MB): refused for size before parsing.
    let indented: String = (0..10_000)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect();
    let run = validate_garbage(&write(dir.path(), "indented-10k.yaml", indented));
    assert!(
        flat(&run.stderr).contains("more than the 16 MiB livehook reads"),
        "{}",
        run.stderr
    );
}

#[test]
fn deep_flow_nesting() {
    let dir = tempfile::tempdir().unwrap();
    for (name, open, close) in [("seq.yaml", "[", "]"), ("map.yaml", "{a: ", "}")] {
        let text = open.repeat(10_000) + &close.repeat(10_000);
        let run = validate_garbage(&write(dir.path(), name, text));
        assert_eq!(run.code, 1, "{name}");
    }
    // Unbalanced: opened and never closed.
    let run = validate_garbage(&write(dir.path(), "open.yaml", "[".repeat(10_000)));
    assert_eq!(run.code, 1);
}

#[test]
fn alias_bomb() {
    let dir = tempfile::tempdir().unwrap();
    // "Billion laughs": ten levels of ten aliases each would expand to 10^10 nodes.
    let mut bomb =
        String::from("version: 1\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        writeln!(bomb, "a{i}: &a{i} [{refs}]").unwrap();
    }
    bomb.push_str("apps: *a9\n");
    let run = validate_garbage(&write(dir.path(), "bomb.yaml", bomb));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("alias"), "{}", run.stderr);
}

#[test]
fn two_thousand_apps_validate() {
    let dir = tempfile::tempdir().unwrap();
    let run = validate_garbage(&write(dir.path(), "big.yaml", apps_file(2_000)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "Valid: 2000 apps in 1 file.\n");
}

#[test]
fn two_thousand_apps_each_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = apps_file(2_000).replace(
        "Live.CallbackAfterDestroyRoom",
        "Live.CallbackAfterDestroyRom",
    );
    let run = validate_garbage(&write(dir.path(), "big-bad.yaml", text));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.ends_with("Invalid: 2000 errors.\n"),
        "{}",
        &run.stderr[run.stderr.len() - 200..]
    );
}

#[test]
fn very_long_lines() {
    let dir = tempfile::tempdir().unwrap();
    // A valid file with a 1 MB callback URL.
    let long_url = format!(
        "version: 1\napps:\n  a:\n    sdkappid: 1400000001\n    region: china\n    callback: {{url: \"https://hooks.example.com/{}\", commands: [Live.CallbackAfterCreateRoom]}}\n",
        "a".repeat(1_000_000)
    );
    let run = validate_garbage(&write(dir.path(), "long-url.yaml", long_url));
    assert_eq!(run.code, 0, "{}", run.stderr);
    // One 2 MB line that is not a desired state, and a long wrong value.
    let run = validate_garbage(&write(
        dir.path(),
        "long-scalar.yaml",
        "x".repeat(2_000_000),
    ));
    assert_eq!(run.code, 1);
    let long_region = format!(
        "version: 1\napps:\n  a:\n    sdkappid: 1400000001\n    region: {}\n",
        "z".repeat(100_000)
    );
    let run = validate_garbage(&write(dir.path(), "long-region.yaml", long_region));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("unknown region `zzzz"),
        "{}",
        &run.stderr[..300]
    );
}

#[test]
fn oversized_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "version: 1\napps: {{}}\n# {}\n",
        "x".repeat(17 * 1024 * 1024)
    );
    let run = validate_garbage(&write(dir.path(), "huge.yaml", text));
    assert_eq!(run.code, 1);
    assert!(
        flat(&run.stderr).contains("more than the 16 MiB livehook reads"),
        "{}",
        run.stderr
    );
}

/// A seed for mutation with every part of the format: defaults, extra_commands, endpoint, token,
/// `absent`, flow and block style.
const SEED: &str = r#"version: 1
defaults:
  identifier: administrator
  secret_key_env: TIM_SECRET_KEY
  region: singapore
extra_commands: [Live.CallbackAfterPinMessage]
apps:
  prod-sg:
    sdkappid: 1400000001
    callback:
      url: https://hooks.example.com/tim/live
      commands:
        - Live.CallbackAfterCreateRoom
        - Live.CallbackAfterPinMessage
    token:
      value_env: PROD_SG_HOOK_TOKEN
      enabled: true
  staging:
    sdkappid: 1400000004
    endpoint: http://127.0.0.1:8080
    callback: {url: "https://staging.example.com/hook", commands: [Live.CallbackAfterCreateRoom]}
    token: absent
  legacy: {sdkappid: 1400000003, region: china, callback: absent}
"#;

/// Thousands of corruptions of valid files (bytes changed, dropped, spliced in, copied), checked
/// in-process (the binary runs the same `config` code): each gives apps (named as in the text)
/// or errors, never both, never a panic, and every diagnostic has a position and is livehook's own wording (not an internal
/// error or jsonschema's raw message).
#[test]
fn mutated_files_never_panic() {
    let example =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/livehook.yaml"))
            .unwrap();
    let seeds = [example, SEED.as_bytes().to_vec()];
    let specials: &[&[u8]] = &[
        b":",
        b"-",
        b"[",
        b"{",
        b"]",
        b"}",
        b",",
        b"&a",
        b"*a",
        b"!!",
        b"\"",
        b"'",
        b"\t",
        b"\n  ",
        b"#",
        b"? ",
        b"|",
        b">",
        b"%",
        b"---\n",
        b"~",
        b".",
        b"0",
        b"1e3",
        b"-1",
        b"\xc3\xa9",
    ];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound.max(1) as u64) as usize
    };
    let mut counted = 0;
    for round in 0..6_000 {
        let mut bytes = seeds[round % seeds.len()].clone();
        for _ in 0..1 + next(4) {
            let at = next(bytes.len());
            match next(4) {
                0 => bytes[at] = next(128) as u8,
                1 => {
                    bytes.remove(at);
                }
                2 => {
                    let special = specials[next(specials.len())];
                    bytes.splice(at..at, special.iter().copied());
                }
                _ => {
                    let end = (at + next(40)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    let to = next(bytes.len());
                    bytes.splice(to..to, copy);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let source = SourceFile::new(format!("mutant-{round}.yaml"), text.clone());
        let outcome = std::panic::catch_unwind(|| load_source(&source));
        let (apps, diagnostics) =
            outcome.unwrap_or_else(|_| panic!("panic on mutant {round}:\n{text}"));
        // Apps or errors, never both, never neither: a file with an error yields no app to act
        // on, and one without yields the apps it declares, each named once, as written.
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        assert!(
            (errors == 0) != apps.is_empty(),
            "mutant {round}: {} apps and {errors} errors\n{text}",
            apps.len()
        );
        // As many apps as the file's `apps` mapping has keys, counted by saphyr's own loader.
        if errors == 0 {
            let declared = YamlOwned::load_from_str(&text)
                .ok()
                .and_then(|docs| docs.into_iter().next())
                .and_then(|doc| {
                    let top = doc.as_mapping()?;
                    let (_, apps) = top.iter().find(|(k, _)| k.as_str() == Some("apps"))?;
                    apps.as_mapping().map(|m| m.len())
                });
            if let Some(declared) = declared {
                assert_eq!(
                    apps.len(),
                    declared,
                    "mutant {round}: apps resolved\n{text}"
                );
                counted += 1;
            }
        }
        let mut names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), apps.len(), "mutant {round}: a name twice");
        for app in &apps {
            assert!(
                !app.name.is_empty() && text.contains(&app.name),
                "mutant {round}: app {:?} is not in the text\n{text}",
                app.name
            );
        }
        for d in &diagnostics {
            assert!(!d.message.is_empty());
            assert!(
                !matches!(d.code, "livehook::internal" | "livehook::schema"),
                "mutant {round}: {}: {}\n{text}",
                d.code,
                d.message
            );
            assert!(
                d.location().is_some(),
                "mutant {round}: {} has no position",
                d.message
            );
            assert!(
                d.span.end <= text.len(),
                "mutant {round}: span out of the text"
            );
        }
    }
    assert!(
        counted > 500,
        "only {counted} valid mutants had their apps counted"
    );
}

#[test]
fn a_file_named_twice_is_read_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = livehook(
        root,
        &["validate", "examples/livehook.yaml", "examples/"],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "Valid: 5 apps in 1 file.\n");
}
