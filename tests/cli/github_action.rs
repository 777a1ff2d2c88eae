//! The GitHub Action's sticky plan comment (`scripts/sticky-comment.py`), run against a fake `gh`
//! on PATH that records every call and answers from fixtures: one comment per pull request,
//! found by its hidden marker and edited in place, and a read-only token (HTTP 403) that leaves
//! the plan in the job summary without failing the step. The action's main step against the
//! emulator: its outputs, the summary and the saved plan applied. And the release plumbing: an
//! archive packaged as the release workflow packages it is what the action's installer downloads
//! (its checksum checked) and what `cargo binstall`'s metadata names.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{livehook, stderr, stdout};

/// A stand-in for the `gh` CLI: appends `{"args", "stdin"}` per call to `calls.jsonl`, answers
/// the comment listing with `comments.json` (pages back to back, as `gh api --paginate` prints
/// them), and fails every write as GitHub answers a fork's read-only token when `deny-writes`
/// exists.
const FAKE_GH: &str = r#"#!/usr/bin/env python3
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
stdin = "" if sys.stdin.isatty() else sys.stdin.read()
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({"args": sys.argv[1:], "stdin": stdin}) + "\n")
if "--paginate" in sys.argv:
    with open(os.path.join(here, "comments.json")) as f:
        sys.stdout.write(f.read())
    sys.exit(0)
if os.path.exists(os.path.join(here, "deny-writes")):
    sys.stderr.write("gh: Resource not accessible by integration (HTTP 403)\n")
    sys.exit(1)
print("{}")
"#;

const REPO: &str = "acme/webhooks";
const MARKER: &str = "<!-- livehook-plan:envs/ -->";

/// Two pages of comments: other bots' and people's, one quoting the marker mid-text, one
/// carrying another key's marker; `marked_id` (if any) carries this key's marker on page two.
fn two_pages(marked_id: Option<u64>) -> String {
    let page_one = serde_json::json!([
        {"id": 101, "body": "LGTM", "user": {"login": "reviewer"}},
        {"id": 102, "body": "<!-- tfcmt:plan -->\nTerraform plan", "user": {"login": "github-actions[bot]"}},
        {"id": 103, "body": format!("why does the bot write `{MARKER}`?"), "user": {"login": "reviewer"}},
    ]);
    let mut page_two = vec![serde_json::json!(
        {"id": 201, "body": "<!-- livehook-plan:staging/ -->\n### livehook plan", "user": {"login": "github-actions[bot]"}}
    )];
    if let Some(id) = marked_id {
        page_two.push(serde_json::json!(
            {"id": id, "body": format!("{MARKER}\n### livehook plan\n\nold plan"), "user": {"login": "github-actions[bot]"}}
        ));
    }
    page_two.push(serde_json::json!({"id": 203, "body": "ship it", "user": {"login": "lead"}}));
    format!("{page_one}\n{}\n", serde_json::Value::Array(page_two))
}

struct FakeGh {
    dir: tempfile::TempDir,
}

impl FakeGh {
    fn new(comments: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let gh = dir.path().join("gh");
        std::fs::write(&gh, FAKE_GH).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.path().join("comments.json"), comments).unwrap();
        FakeGh { dir }
    }

    fn deny_writes(&self) {
        std::fs::write(self.dir.path().join("deny-writes"), "").unwrap();
    }

    fn summary(&self) -> PathBuf {
        self.dir.path().join("step-summary.md")
    }

    /// Runs the script on `plan` with the fake `gh` first on PATH.
    fn post(&self, plan: &str) -> Output {
        let plan_file = self.dir.path().join("plan.md");
        std::fs::write(&plan_file, plan).unwrap();
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("python3")
            .arg(script())
            .args(["--repo", REPO, "--pr", "7", "--key", "envs/"])
            .arg("--body-file")
            .arg(&plan_file)
            .args(["--footer", "_Planned at abc1234._"])
            .env("PATH", path)
            .env("GITHUB_STEP_SUMMARY", self.summary())
            .output()
            .expect("python3 runs the sticky-comment script")
    }

    /// Each call's arguments and the JSON it sent on stdin (if any).
    fn calls(&self) -> Vec<(Vec<String>, Option<serde_json::Value>)> {
        let log = std::fs::read_to_string(self.dir.path().join("calls.jsonl")).unwrap_or_default();
        log.lines()
            .map(|line| {
                let call: serde_json::Value = serde_json::from_str(line).unwrap();
                let args = call["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect();
                let stdin = call["stdin"].as_str().unwrap();
                (args, serde_json::from_str(stdin).ok())
            })
            .collect()
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/sticky-comment.py")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

const LISTING: &[&str] = &[
    "api",
    "--paginate",
    "repos/acme/webhooks/issues/7/comments?per_page=100",
];

const PLAN: &str =
    "### livehook plan\n\n**Plan: 1 to create, 0 to update, 0 to delete, 1 unchanged**\n";

#[test]
fn without_a_marked_comment_one_is_created() {
    let gh = FakeGh::new(&two_pages(None));
    let output = gh.post(PLAN);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let calls = gh.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].0, strings(LISTING));
    assert_eq!(
        calls[1].0,
        strings(&[
            "api",
            "--method",
            "POST",
            "repos/acme/webhooks/issues/7/comments",
            "--input",
            "-"
        ])
    );
    let body = calls[1].1.as_ref().unwrap()["body"].as_str().unwrap();
    assert_eq!(
        body,
        format!("{MARKER}\n{}\n\n_Planned at abc1234._\n", PLAN.trim_end())
    );
    assert!(
        !stdout(&output).contains("::warning"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn the_marked_comment_is_edited_in_place_and_no_other() {
    let gh = FakeGh::new(&two_pages(Some(202)));
    let output = gh.post(PLAN);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let calls = gh.calls();
    assert_eq!(
        calls.len(),
        2,
        "one listing, one edit, no new comment: {calls:?}"
    );
    assert_eq!(calls[0].0, strings(LISTING));
    assert_eq!(
        calls[1].0,
        strings(&[
            "api",
            "--method",
            "PATCH",
            "repos/acme/webhooks/issues/comments/202",
            "--input",
            "-"
        ])
    );
    let body = calls[1].1.as_ref().unwrap()["body"].as_str().unwrap();
    assert!(body.starts_with(&format!("{MARKER}\n{PLAN}")), "{body}");
}

#[test]
fn no_changes_replace_the_previous_plan_as_plainly_as_changes() {
    // The real report of a plan with nothing to change, against the emulator.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plan = livehook(
        root,
        &[
            "plan",
            "examples/livehook.yaml",
            "--emulator",
            "examples/emulator-state.json",
            "--target",
            "gifts-sg",
            "--format",
            "markdown",
        ],
        &[],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let markdown = stdout(&plan);
    assert!(markdown.contains("**No changes:"), "{markdown}");

    let gh = FakeGh::new(&two_pages(Some(202)));
    let output = gh.post(&markdown);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let calls = gh.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1].0[3], "repos/acme/webhooks/issues/comments/202");
    let body = calls[1].1.as_ref().unwrap()["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!("{MARKER}\n### livehook plan\n\n**No changes: ")),
        "{body}"
    );
    assert!(!body.contains("old plan"), "{body}");
}

#[test]
fn a_read_only_token_leaves_the_plan_in_the_job_summary_and_does_not_fail() {
    let gh = FakeGh::new(&two_pages(None));
    gh.deny_writes();
    std::fs::write(gh.summary(), "earlier step\n").unwrap();
    let output = gh.post(PLAN);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    let warning = out
        .lines()
        .find(|l| l.starts_with("::warning title=livehook comment::"))
        .unwrap_or_else(|| panic!("a warning saying why: {out}"));
    assert!(warning.contains("read-only token"), "{warning}");
    assert!(warning.contains("HTTP 403"), "{warning}");
    let summary = std::fs::read_to_string(gh.summary()).unwrap();
    assert!(summary.starts_with("earlier step\n"), "{summary}");
    assert!(summary.contains("could not be posted"), "{summary}");
    assert!(summary.ends_with(PLAN), "{summary}");
    // The one write was attempted and nothing else.
    assert_eq!(gh.calls().len(), 2);
}

#[test]
fn a_plan_at_the_comment_limit_still_fits_with_its_marker() {
    let gh = FakeGh::new("[]");
    let line = format!("| app | {} |\n", "x".repeat(90));
    // Just within the limit on its own, as `--format markdown` may be; the marker pushes it over.
    let mut plan = format!("### livehook plan\n\n{}", line.repeat(640));
    while plan.len() < 65_520 {
        plan.push_str("y\n");
    }
    assert!(plan.len() <= 65_536 && plan.len() + MARKER.len() > 65_536);
    let output = gh.post(&plan);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let calls = gh.calls();
    let body = calls[1].1.as_ref().unwrap()["body"].as_str().unwrap();
    assert!(body.chars().count() <= 65_536, "{}", body.len());
    assert!(body.starts_with(MARKER));
    assert!(
        body.ends_with("the job summary has the full plan._\n"),
        "{body}"
    );
}

/// The release archive made by `scripts/package-release.sh`, as the release workflow makes it.
struct Release {
    dir: tempfile::TempDir,
    assets: PathBuf,
}

const TARGET: &str = "x86_64-unknown-linux-gnu";

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn archive_name() -> String {
    format!("livehook-v{}-{TARGET}.tar.gz", version())
}

/// Packages a stand-in for the livehook binary as `o/r`'s release asset, served from a file://
/// URL. A small script, not the debug binary: compressing that one takes seconds per test, and
/// what is tested is the names, the checksum and the unpacking.
fn package_release() -> Release {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let binary = dir.path().join("livehook");
    std::fs::write(
        &binary,
        format!("#!/bin/sh\necho \"livehook {}\"\n", version()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let assets = dir
        .path()
        .join(format!("o/r/releases/download/v{}", version()));
    let output = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/package-release.sh"))
        .arg(format!("v{}", version()))
        .arg(TARGET)
        .arg(&binary)
        .arg(&assets)
        .output()
        .expect("bash runs the packaging script");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    Release { dir, assets }
}

impl Release {
    /// Runs the action's installer against this release, into `root`.
    fn install(&self, root: &Path) -> Output {
        Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-livehook.sh"))
            .env("VERSION", version())
            .env("TARGET", TARGET)
            .env("ROOT", root)
            .env("LIVEHOOK_RELEASE_REPOSITORY", "o/r")
            .env(
                "GITHUB_SERVER_URL",
                format!("file://{}", self.dir.path().display()),
            )
            // Were the prebuilt binary refused, the installer must not quietly build instead.
            .env("CARGO", "false")
            .env(
                "PATH",
                format!("/nonexistent-cargo:{}", std::env::var("PATH").unwrap()),
            )
            .output()
            .expect("bash runs the install script")
    }
}

#[test]
fn the_action_installs_the_released_binary_after_checking_its_checksum() {
    let release = package_release();
    let checksum =
        std::fs::read_to_string(release.assets.join(format!("{}.sha256", archive_name())))
            .expect("the checksum is published beside the archive");
    assert!(
        checksum
            .trim_end()
            .ends_with(&format!("  {}", archive_name())),
        "{checksum}"
    );

    let root = release.dir.path().join("tool-cache");
    let output = release.install(&root);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("Installed the prebuilt livehook"));
    let installed = Command::new(root.join("bin/livehook"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(stdout(&installed).trim(), format!("livehook {}", version()));
}

#[test]
fn a_release_archive_with_a_wrong_checksum_is_refused() {
    let release = package_release();
    std::fs::write(
        release.assets.join(format!("{}.sha256", archive_name())),
        format!("{}  {}\n", "0".repeat(64), archive_name()),
    )
    .unwrap();
    let root = release.dir.path().join("tool-cache");
    let output = release.install(&root);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("::error title=livehook install::"),
        "{}",
        stdout(&output)
    );
    assert!(!root.join("bin/livehook").exists());
}

#[test]
fn cargo_binstall_metadata_names_the_released_archive_and_binary() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let binstall = &manifest[manifest
        .find("[package.metadata.binstall]")
        .expect("binstall metadata")..];
    let template = |key: &str| {
        let line = binstall
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{key} in [package.metadata.binstall]"));
        line.split_once(" = ")
            .unwrap()
            .1
            .trim_matches('"')
            .to_owned()
    };
    let render = |text: String| {
        text.replace("{ repo }", "https://github.com/o/r")
            .replace("{ version }", version())
            .replace("{ name }", "livehook")
            .replace("{ target }", TARGET)
            .replace("{ bin }", "livehook")
            .replace("{ binary-ext }", "")
    };
    assert_eq!(
        render(template("pkg-url")),
        format!(
            "https://github.com/o/r/releases/download/v{}/{}",
            version(),
            archive_name()
        )
    );
    assert_eq!(template("pkg-fmt"), "tgz");

    let release = package_release();
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(release.assets.join(archive_name()))
        .output()
        .unwrap();
    let entries = stdout(&listing);
    let bin_dir = render(template("bin-dir"));
    assert!(
        entries.lines().any(|e| e == bin_dir),
        "{bin_dir} in:\n{entries}"
    );
}

#[test]
fn the_readme_shows_the_comment_as_livehook_renders_it_today() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plan = livehook(
        root,
        &[
            "plan",
            "examples/livehook.yaml",
            "--emulator",
            "examples/emulator-state.json",
            "--format",
            "markdown",
        ],
        &[],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    // Quoted in the README as a blockquote, so that it renders as the comment does.
    let quoted: String = stdout(&plan)
        .lines()
        .map(|line| {
            if line.is_empty() {
                ">\n".to_owned()
            } else {
                format!("> {line}\n")
            }
        })
        .collect();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&quoted),
        "README's \"Use in CI\" should quote this comment:\n{quoted}"
    );
}

/// Runs the action's main step (`scripts/run-livehook.sh`) with `livehook` on PATH sending plan
/// and apply to an emulator seeded from `examples/emulator-state.json`; returns the step's
/// outputs and the job summary.
fn run_action_step(dir: &Path, inputs: &[(&str, &str)]) -> (Output, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let state = dir.join("state.json");
    if !state.exists() {
        std::fs::copy(root.join("examples/emulator-state.json"), &state).unwrap();
    }
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // Each run works on its own copy of the state (`--emulator` never writes the file), so
    // apply --plan meets the live state the plan was made against.
    let wrapper = format!(
        "#!/usr/bin/env bash\n\
         case \"$1\" in plan|apply) exec '{real}' \"$@\" --emulator '{state}';; esac\n\
         exec '{real}' \"$@\"\n",
        real = assert_cmd::cargo::cargo_bin("livehook").display(),
        state = state.display()
    );
    std::fs::write(bin.join("livehook"), wrapper).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("livehook"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let outputs = dir.join("outputs");
    let summary = dir.join("summary.md");
    std::fs::write(&outputs, "").unwrap();
    std::fs::write(&summary, "").unwrap();
    let mut command = Command::new("bash");
    command
        .arg(root.join("scripts/run-livehook.sh"))
        .current_dir(root)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_TEMP", dir);
    for (key, value) in inputs {
        command.env(key, value);
    }
    let output = command.output().expect("bash runs the action's step");
    (
        output,
        std::fs::read_to_string(outputs).unwrap(),
        std::fs::read_to_string(summary).unwrap(),
    )
}

#[test]
fn the_action_step_sets_the_plan_counts_saves_the_plan_and_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("livehook-plan.json");
    let (output, outputs, summary) = run_action_step(
        dir.path(),
        &[
            ("INPUT_PATHS", "examples/livehook.yaml"),
            ("INPUT_COMMAND", "plan"),
            ("INPUT_FAIL_ON", "delete"),
            ("INPUT_PLAN_FILE", plan_file.to_str().unwrap()),
        ],
    );
    // The step itself succeeds so the comment is still posted; the gate's exit code is recorded.
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let markdown_path = format!("plan-markdown={}", dir.path().display());
    let lines: Vec<&str> = outputs.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| !l.starts_with("plan-markdown="))
            .copied()
            .collect::<Vec<_>>(),
        [
            "changes=true",
            "create=1",
            "update=1",
            "delete=1",
            "errors=0",
            "exitcode=1"
        ],
        "{outputs}"
    );
    let markdown_line = lines
        .iter()
        .find(|l| l.starts_with(&markdown_path))
        .unwrap_or_else(|| panic!("{outputs}"));
    let markdown = std::fs::read_to_string(markdown_line.split_once('=').unwrap().1).unwrap();
    assert!(markdown.contains("**Plan: 1 to create, 1 to update, 1 to delete, 2 unchanged**"));
    assert_eq!(
        summary, markdown,
        "the summary shows what the comment shows"
    );
    assert!(stdout(&output).contains("::warning file=examples/livehook.yaml"));
    assert!(plan_file.exists(), "the plan is saved for apply --plan");

    let (output, outputs, summary) = run_action_step(
        dir.path(),
        &[
            ("INPUT_COMMAND", "apply"),
            ("INPUT_PATHS", "examples/livehook.yaml"),
            ("INPUT_PLAN_FILE", plan_file.to_str().unwrap()),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(outputs, "exitcode=0\n");
    assert!(
        summary.contains("Apply complete: 1 created, 1 updated, 1 deleted."),
        "{summary}"
    );
}
