//! The emulator's state: the apps it knows, their credentials and their live webhook
//! configuration, and the JSON state file that holds them between runs.
//!
//! The file format is documented in the README:
//!
//! ```json
//! {"apps": {"1400000001": {"secret_key": "…", "admin": "administrator",
//!           "callback": {"Url": "…", "CallbackCommandList": ["…"]},
//!           "token": {"Token": "…", "IsTokenEnable": true}}}}
//! ```
//!
//! `admin` is optional (default `administrator`); `callback` and `token` may be `null` or left out.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::atomic_file;
use crate::tim::DEFAULT_IDENTIFIER;
use crate::tim::secret::REDACTED;
use crate::tim::wire::{Callback, TokenBody};

/// Every app the emulator serves, keyed by SDKAppID. JSON object keys are strings, so the file
/// reads `{"apps": {"1400000001": {...}}}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct State {
    // An empty state (`{}`) is a legitimate starting point, so `apps` may be left out.
    #[serde(default)]
    pub apps: BTreeMap<u64, AppState>,
}

/// One app: the credentials the emulator checks UserSigs against, and its live configuration.
// Unknown fields are refused so that a typo such as `"calback"` is reported instead of silently
// leaving the app without a callback.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppState {
    #[serde(deserialize_with = "secret_key")]
    pub secret_key: String,
    #[serde(default = "default_admin", deserialize_with = "admin")]
    pub admin: String,
    #[serde(default)]
    pub callback: Option<Callback>,
    #[serde(default)]
    pub token: Option<TokenBody>,
}

impl AppState {
    /// An app with the default administrator and nothing configured.
    pub fn new(secret_key: impl Into<String>) -> AppState {
        AppState {
            secret_key: secret_key.into(),
            admin: default_admin(),
            callback: None,
            token: None,
        }
    }
}

// The secret key must never reach a log line or a panic message, so Debug is written by hand.
impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("secret_key", &REDACTED)
            .field("admin", &self.admin)
            .field("callback", &self.callback)
            .field("token", &self.token)
            .finish()
    }
}

/// The administrator account an app has when the state file does not name one: the one Tencent
/// creates every app with.
fn default_admin() -> String {
    DEFAULT_IDENTIFIER.to_owned()
}

// Rejecting empty values inside deserialization (rather than after it) lets serde_json attach the
// line and column of the offending value to the error.
fn secret_key<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let key = String::deserialize(deserializer)?;
    if key.trim().is_empty() {
        return Err(D::Error::custom("secret_key must not be empty"));
    }
    Ok(key)
}

fn admin<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let admin = String::deserialize(deserializer)?;
    if admin.trim().is_empty() {
        return Err(D::Error::custom(
            "admin must not be empty (leave it out for `administrator`)",
        ));
    }
    Ok(admin)
}

/// Why a state file could not be loaded. The message names the file, the line and column, and
/// what is wrong; it never quotes a value from the file, because the value may be a secret key.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read emulator state file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: invalid emulator state: {message}", location(path.as_deref(), *line, *column))]
    Invalid {
        /// `None` when the text did not come from a file (`State::from_json`).
        path: Option<PathBuf>,
        line: usize,
        column: usize,
        message: String,
    },
}

fn location(path: Option<&Path>, line: usize, column: usize) -> String {
    match path {
        Some(path) => format!("{}:{line}:{column}", path.display()),
        None => format!("line {line}, column {column}"),
    }
}

impl State {
    /// Reads and parses a state file.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
            path: path.to_owned(),
            source,
        })?;
        parse(&text, Some(path))
    }

    /// Parses state from JSON text (errors give line and column without a file name).
    pub fn from_json(text: &str) -> Result<State, StateError> {
        parse(text, None)
    }

    /// Writes the state with [`atomic_file::write`]: a crash leaves the old file or the new one,
    /// and the file, which holds secret keys, is readable by its owner only.
    pub fn save_atomic(&self, path: &Path) -> io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        text.push('\n');
        atomic_file::write(path, text.as_bytes())
    }

    /// Removes the temporary files that [`State::save_atomic`] left beside `path` when the
    /// process was killed between creating one and renaming it (a crash cannot run the clean-up
    /// that deletes it otherwise); returns how many. Only this state file's temporaries are
    /// touched: their names start with `.{file name}.livehook-` and end with `.tmp`. Call it
    /// before writing to `path`, by the one process that owns the file.
    pub fn remove_stale_temps(path: &Path) -> io::Result<usize> {
        let dir = atomic_file::parent_dir(path);
        let prefix = atomic_file::temp_prefix(path);
        let mut removed = 0;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix)
                && name.ends_with(atomic_file::TEMP_SUFFIX)
                && entry.file_type()?.is_file()
            {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn parse(text: &str, path: Option<&Path>) -> Result<State, StateError> {
    serde_json::from_str(text).map_err(|e| StateError::Invalid {
        path: path.map(Path::to_owned),
        line: e.line(),
        column: e.column(),
        message: describe(&e),
    })
}

/// Turns a serde_json error into a sentence without its position (the caller prints that first)
/// and without the offending value: serde quotes values in "invalid type" messages, and a
/// misplaced secret key or token would otherwise be echoed to the terminal.
fn describe(error: &serde_json::Error) -> String {
    let raw = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = raw.strip_suffix(&suffix).unwrap_or(&raw);
    let message = redact_value(message);
    match error.classify() {
        serde_json::error::Category::Syntax => format!("JSON syntax error: {message}"),
        serde_json::error::Category::Eof => format!("the file ends too early: {message}"),
        serde_json::error::Category::Io => format!("read error: {message}"),
        serde_json::error::Category::Data => message,
    }
}

/// `invalid type: string "s3cr3t", expected a boolean` becomes
/// `invalid type: string, expected a boolean`. The split is at the last `, expected `: the
/// quoted value may itself contain one, serde's description of what it expected never does.
fn redact_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        let parts = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.rsplit_once(", expected "));
        if let Some((unexpected, expected)) = parts {
            let kind = unexpected
                .split(['"', '`'])
                .next()
                .unwrap_or(unexpected)
                .trim();
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
  "apps": {
    "1400000001": {
      "secret_key": "k1",
      "callback": {"Url": "https://a.example/hook", "CallbackCommandList": ["Live.CallbackAfterCreateRoom"]},
      "token": {"Token": "t", "IsTokenEnable": true}
    },
    "1400000002": {"secret_key": "k2", "admin": "root", "callback": null}
  }
}"#;

    #[test]
    fn parses_the_documented_format_with_defaults() {
        let state = State::from_json(SAMPLE).unwrap();
        let first = &state.apps[&1400000001];
        assert_eq!(first.admin, DEFAULT_IDENTIFIER);
        assert_eq!(
            first.callback.as_ref().unwrap().url,
            "https://a.example/hook"
        );
        assert!(first.token.as_ref().unwrap().enabled);
        let second = &state.apps[&1400000002];
        assert_eq!(second.admin, "root");
        assert!(second.callback.is_none() && second.token.is_none());
        assert_eq!(State::from_json("{}").unwrap(), State::default());
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let state = State::from_json(SAMPLE).unwrap();
        state.save_atomic(&path).unwrap();
        // Overwriting an existing file goes through the same rename.
        state.save_atomic(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), state);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"1400000001\""), "keys are strings: {text}");
    }

    #[cfg(unix)]
    #[test]
    fn saved_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        State::default().save_atomic(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[test]
    fn bad_json_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(
            &path,
            "{\n  \"apps\": {\n    \"1\": {\"secret_key\": \"k\",}\n  }\n}\n",
        )
        .unwrap();
        let message = State::load(&path).unwrap_err().to_string();
        let expected = format!("{}:3:", path.display());
        assert!(message.starts_with(&expected), "{message}");
        assert!(message.contains("JSON syntax error"), "{message}");
        assert!(
            !message.contains(" at line "),
            "no bare serde position: {message}"
        );
    }

    #[test]
    fn data_errors_name_the_problem_without_quoting_secrets() {
        let err = State::from_json(r#"{"apps": {"1": {"secret_key": "k", "admin": "a", "token": {"Token": "t", "IsTokenEnable": "s3cr3t"}}}}"#)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("line 1, column "), "{message}");
        assert!(
            message.contains("invalid type: string, expected a boolean"),
            "{message}"
        );
        assert!(!message.contains("s3cr3t"), "{message}");
        // A value that itself reads like the end of serde's message.
        let message = State::from_json(r#"{"apps": {"1": {"secret_key": "k", "token": {"Token": "t", "IsTokenEnable": "s3cr3t, expected tail-of-secret"}}}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("invalid type: string, expected a boolean"),
            "{message}"
        );
        assert!(!message.contains("tail-of-secret"), "{message}");

        let message = State::from_json(r#"{"apps": {"1": {"secret_key": 12345}}}"#)
            .unwrap_err()
            .to_string();
        assert!(!message.contains("12345"), "{message}");

        let message = State::from_json(r#"{"apps": {"1": {"secret_key": " "}}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("secret_key must not be empty"),
            "{message}"
        );

        let message = State::from_json(r#"{"apps": {"1": {"secret_key": "k", "calback": null}}}"#)
            .unwrap_err()
            .to_string();
        assert!(message.contains("unknown field `calback`"), "{message}");

        let message = State::from_json(r#"{"apps": {"one": {"secret_key": "k"}}}"#)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("line 1, column "), "{message}");

        let message = State::from_json(r#"{"apps": {"1": {}}}"#)
            .unwrap_err()
            .to_string();
        assert!(message.contains("missing field `secret_key`"), "{message}");

        assert!(
            State::from_json("")
                .unwrap_err()
                .to_string()
                .contains("ends too early")
        );
    }

    #[test]
    fn debug_redacts_the_secret_key() {
        let state = State::from_json(SAMPLE).unwrap();
        let debug = format!("{state:?}");
        assert!(!debug.contains("k1") && !debug.contains("\"t\""), "{debug}");
    }

    #[test]
    fn missing_file_is_a_read_error_naming_it() {
        let message = State::load(Path::new("/nonexistent/state.json"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("/nonexistent/state.json"), "{message}");
    }

    #[test]
    fn stale_temporaries_of_this_state_file_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        State::default().save_atomic(&path).unwrap();
        let names = [
            ".state.json.livehook-a1B2c3.tmp",
            ".state.json.livehook-zz.tmp",
            ".other.json.livehook-a1B2c3.tmp",
            ".state.json.livehook-a1B2c3.keep",
            "state.json.tmp",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), "{").unwrap();
        }
        assert_eq!(State::remove_stale_temps(&path).unwrap(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".other.json.livehook-a1B2c3.tmp",
                ".state.json.livehook-a1B2c3.keep",
                "state.json",
                "state.json.tmp"
            ]
        );
        // save_atomic's own temporaries carry the prefix (and are gone after it returns).
        assert!(atomic_file::temp_prefix(&path) == ".state.json.livehook-");
    }
}
