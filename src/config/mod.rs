//! The desired state: loading YAML files with spans, validating them (schema, then the checks a
//! schema cannot express), and resolving defaults into the [`App`]s that plan and apply work on.

mod checks;
pub mod diagnostic;
pub mod model;
mod pasted_secret;
mod schema;
mod suggest;
pub mod url_template;
pub mod url_text;
mod yaml;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use checks::{EndpointProblem, check_endpoint, is_loopback, parse_http_url};
pub use diagnostic::{ConfigDiagnostic, SourceFile};
pub use model::{Managed, TokenSpec};
pub use pasted_secret::looks_like_secret;
pub use suggest::did_you_mean;

use crate::tim::region::Region;
use crate::tim::wire::Callback;
use yaml::{Document, NodeSpans, SpanIndex, child_pointer, escape_pointer};

/// The desired-state file commands read when given no path.
pub const DEFAULT_PATH: &str = "livehook.yaml";

/// Files larger than this are refused before parsing: a desired state for thousands of apps is
/// well under a megabyte.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Where an app's REST calls go. Saved plans record it as `{"region": NAME}` or
/// `{"endpoint": URL}`; serde refuses a region name livehook does not know.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Region(Region),
    /// A base URL such as `http://127.0.0.1:8080`, without a trailing slash.
    Endpoint(String),
}

impl Location {
    pub fn base_url(&self) -> String {
        match self {
            Location::Region(region) => region.base_url(),
            Location::Endpoint(url) => url.clone(),
        }
    }

    /// The region's name, or `endpoint` for a custom base URL.
    pub fn region_label(&self) -> &str {
        match self {
            Location::Region(region) => region.name(),
            Location::Endpoint(_) => "endpoint",
        }
    }
}

/// A line and column (1-based) in a desired-state file, for annotations that point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Shared by every position in one file: 5,000 apps have some 30,000 positions.
    pub file: Arc<str>,
    pub line: usize,
    pub column: usize,
}

/// Where an app's parts are declared. Apps and their plans share it behind an `Arc`: it is
/// read-only once the file is loaded, and a copy in every plan (positions and command words
/// included) held about half a kilobyte per app.
#[derive(Debug, Clone)]
pub struct Origin {
    pub app: Position,
    /// The byte range of the app's key (its name as written, quotes included) in its file, for
    /// diagnostics that underline it; empty for an app that did not come from a file.
    pub app_key: Range<usize>,
    pub callback: Option<Position>,
    pub url: Option<Position>,
    /// Each command word and where it is written.
    pub commands: Vec<(String, Position)>,
    pub token: Option<Position>,
}

impl Origin {
    /// An app declared at `app`, with no parts placed: apps made by commands and tests.
    pub fn at(app: Position) -> Arc<Origin> {
        Arc::new(Origin {
            app,
            app_key: 0..0,
            callback: None,
            url: None,
            commands: Vec::new(),
            token: None,
        })
    }
}

/// One app with defaults merged: what plan and apply act on.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub sdkappid: u64,
    pub location: Location,
    pub identifier: String,
    pub secret_key_env: String,
    /// `None`: unmanaged (read and shown, never changed).
    pub callback: Option<Managed<Callback>>,
    /// `None`: unmanaged.
    pub token: Option<Managed<TokenSpec>>,
    pub origin: Arc<Origin>,
}

/// Every app of every file given, sorted by name.
#[derive(Debug, Clone)]
pub struct DesiredState {
    pub apps: Vec<App>,
    pub files: Vec<SourceFile>,
    /// Problems that do not stop the run (plain-http callbacks, say).
    pub warnings: Vec<ConfigDiagnostic>,
}

/// Loads and validates every file (a directory stands for its `*.yaml` and `*.yml` files).
/// On failure, returns every diagnostic found, warnings included.
pub fn load(paths: &[PathBuf]) -> Result<DesiredState, Vec<ConfigDiagnostic>> {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for path in expand(paths, &mut diagnostics) {
        match read_source(&path) {
            Ok(source) => files.push(source),
            Err(d) => diagnostics.push(*d),
        }
    }
    let mut apps = Vec::new();
    for source in &files {
        let (file_apps, file_diagnostics) = load_source(source);
        if apps.is_empty() {
            // One file is the common case: keep its vector rather than copy every app.
            apps = file_apps;
        } else {
            apps.extend(file_apps);
        }
        diagnostics.extend(file_diagnostics);
    }
    check_across_apps(&apps, &files, &mut diagnostics);
    // Reading order: file by file (in the order given), top to bottom.
    let file_rank = |d: &ConfigDiagnostic| {
        d.source
            .as_ref()
            .and_then(|s| files.iter().position(|f| f.name == s.name))
    };
    diagnostics.sort_by_key(|d| (file_rank(d), d.span.start));
    if diagnostics.iter().any(ConfigDiagnostic::is_error) {
        return Err(diagnostics);
    }
    // Names are unique by now (`check_across_apps`), so an unstable sort orders them the same
    // without the stable sort's buffer of half the apps.
    apps.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(DesiredState {
        apps,
        files,
        warnings: diagnostics,
    })
}

/// `--target` names that are not apps of the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTargets {
    pub unknown: Vec<String>,
    /// Every app's name, to list what could have been meant.
    pub known: Vec<String>,
}

impl UnknownTargets {
    /// The closest app name to the first unknown target that is close to any.
    pub fn suggestion(&self) -> Option<&str> {
        self.unknown
            .iter()
            .find_map(|t| did_you_mean(t, self.known.iter().map(String::as_str)))
    }
}

impl DesiredState {
    /// The apps named in `targets` (every app when it is empty), in the desired state's order.
    /// Names that match no app are an error rather than ignored: a typo must not silently plan
    /// nothing.
    pub fn select(self, targets: &[String]) -> Result<Vec<App>, UnknownTargets> {
        if targets.is_empty() {
            return Ok(self.apps);
        }
        let unknown: Vec<String> = targets
            .iter()
            .filter(|t| !self.apps.iter().any(|a| &a.name == *t))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(UnknownTargets {
                unknown,
                known: self.apps.into_iter().map(|a| a.name).collect(),
            });
        }
        Ok(self
            .apps
            .into_iter()
            .filter(|a| targets.contains(&a.name))
            .collect())
    }
}

/// Validates one source text and resolves its apps (none when it has errors).
pub fn load_source(source: &SourceFile) -> (Vec<App>, Vec<ConfigDiagnostic>) {
    let doc = match yaml::parse(&source.text) {
        Ok(doc) => doc,
        Err(e) => {
            let mut d =
                ConfigDiagnostic::error("livehook::yaml", e.message).at(source, e.span, "here");
            if let Some(help) = e.help {
                d = d.help(help);
            }
            return (Vec::new(), vec![d]);
        }
    };
    let mut diagnostics = schema::check(&doc, source);
    diagnostics.extend(checks::check(&doc, source));
    pasted_secret::check(&doc, source, &mut diagnostics);
    diagnostic::hide_in_snippets(&mut diagnostics);
    if diagnostics.iter().any(ConfigDiagnostic::is_error) {
        return (Vec::new(), diagnostics);
    }
    // The model takes the value's strings rather than copying them, and the value is freed as
    // it is read, so the file is not held twice while its apps are resolved.
    let Document { value, spans } = doc;
    match model::DesiredStateFile::deserialize(value) {
        Ok(file) => (resolve(file, &spans, source), diagnostics),
        Err(e) => {
            // The schema admits only what the model reads, so this is a livehook bug; still
            // report it as a diagnostic rather than a panic.
            diagnostics.push(
                ConfigDiagnostic::error(
                    "livehook::internal",
                    format!("the file passed the schema but could not be read: {e}"),
                )
                .at(source, 0..0, "")
                .help("please report this as a livehook bug, with the file"),
            );
            (Vec::new(), diagnostics)
        }
    }
}

fn resolve(file: model::DesiredStateFile, spans: &SpanIndex, source: &SourceFile) -> Vec<App> {
    let defaults = file.defaults.unwrap_or_default();
    let file_name: Arc<str> = source.name.as_str().into();
    // A node's position: its key's when `key` (the name of what is declared), else its value's.
    let at = |node: &NodeSpans, key: bool| -> Position {
        let span = if key {
            node.key_or_value()
        } else {
            node.value.clone()
        };
        let (line, column) = source.line_col(span.start);
        Position {
            file: file_name.clone(),
            line,
            column,
        }
    };
    let position = |pointer: &str, key: bool| spans.get(pointer).map(|node| at(node, key));
    file.apps
        .into_iter()
        .map(|(name, spec)| {
            let base = child_pointer("/apps", &[&escape_pointer(&name)]);
            // An app's own region or endpoint beats either from defaults; the checks guarantee
            // that one applies and that no level sets both.
            let settings = &spec.settings;
            let location = match (&settings.region, &settings.endpoint) {
                (Some(region), _) => Location::Region(*region),
                (None, Some(endpoint)) => Location::Endpoint(trim_base(endpoint)),
                (None, None) => match (&defaults.region, &defaults.endpoint) {
                    (Some(region), _) => Location::Region(*region),
                    (None, Some(endpoint)) => Location::Endpoint(trim_base(endpoint)),
                    (None, None) => unreachable!("checked by checks::check_has_location"),
                },
            };
            let commands = match &spec.callback {
                Some(Managed::Present(callback)) => callback
                    .commands
                    .iter()
                    .enumerate()
                    .filter_map(|(i, word)| {
                        let index = i.to_string();
                        let pointer = child_pointer(&base, &["callback", "commands", &index]);
                        let p = position(&pointer, false)?;
                        Some((word.clone(), p))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let app_node = spans.get(&base);
            let origin = Arc::new(Origin {
                app: app_node.map_or_else(
                    || Position {
                        file: file_name.clone(),
                        line: 1,
                        column: 1,
                    },
                    |node| at(node, true),
                ),
                app_key: app_node.map_or(0..0, NodeSpans::key_or_value),
                callback: position(&child_pointer(&base, &["callback"]), true),
                url: position(&child_pointer(&base, &["callback", "url"]), false),
                commands,
                token: position(&child_pointer(&base, &["token"]), true),
            });
            App {
                sdkappid: spec.sdkappid,
                location,
                identifier: spec
                    .settings
                    .identifier
                    .or_else(|| defaults.identifier.clone())
                    .unwrap_or_else(|| model::DEFAULT_IDENTIFIER.into()),
                secret_key_env: spec
                    .settings
                    .secret_key_env
                    .or_else(|| defaults.secret_key_env.clone())
                    .unwrap_or_else(|| model::DEFAULT_SECRET_KEY_ENV.into()),
                callback: spec.callback,
                token: spec.token,
                origin,
                name,
            }
        })
        .collect()
}

fn trim_base(endpoint: &str) -> String {
    endpoint.trim_end_matches('/').to_owned()
}

/// App names and SDKAppIDs must each be unique across all files: two entries for one SDKAppID
/// would fight over its single webhook configuration.
fn check_across_apps(apps: &[App], files: &[SourceFile], out: &mut Vec<ConfigDiagnostic>) {
    let mut by_name: HashMap<&str, &App> = HashMap::new();
    let mut by_sdkappid: HashMap<u64, &App> = HashMap::new();
    for app in apps {
        let source = files.iter().find(|f| *f.name == *app.origin.app.file);
        let here = |d: ConfigDiagnostic| match source {
            Some(source) => d.at(source, app.origin.app_key.clone(), "declared again here"),
            None => d,
        };
        if let Some(first) = by_name.insert(&app.name, app) {
            out.push(here(
                ConfigDiagnostic::error(
                    "livehook::duplicate_app",
                    format!("app name `{}` is declared twice", app.name),
                )
                .help(format!(
                    "first declared at {}:{}:{}; app names must be unique across all files",
                    first.origin.app.file, first.origin.app.line, first.origin.app.column
                )),
            ));
            continue;
        }
        if let Some(first) = by_sdkappid.insert(app.sdkappid, app) {
            out.push(here(
                ConfigDiagnostic::error(
                    "livehook::duplicate_sdkappid",
                    format!(
                        "SDKAppID {} is managed by both `{}` and `{}`",
                        app.sdkappid, first.name, app.name
                    ),
                )
                .help(format!(
                    "`{}` is declared at {}:{}:{}; an SDKAppID has one webhook configuration, so keep one app for it",
                    first.name, first.origin.app.file, first.origin.app.line, first.origin.app.column
                )),
            ));
        }
    }
}

/// Files named, and the `*.yaml` / `*.yml` files of directories named (sorted, not recursive).
fn expand(paths: &[PathBuf], diagnostics: &mut Vec<ConfigDiagnostic>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = match std::fs::read_dir(path) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                })
                .collect(),
            Err(e) => {
                diagnostics.push(
                    ConfigDiagnostic::error(
                        "livehook::unreadable",
                        format!(
                            "cannot read directory {}: {}",
                            path.display(),
                            io_reason(&e)
                        ),
                    )
                    .help("check the path and its permissions"),
                );
                continue;
            }
        };
        if found.is_empty() {
            diagnostics.push(
                ConfigDiagnostic::error(
                    "livehook::no_files",
                    format!(
                        "directory {} holds no *.yaml or *.yml files",
                        path.display()
                    ),
                )
                .help("name a desired-state file, or a directory that contains some"),
            );
        }
        found.sort();
        out.extend(found);
    }
    // A file named twice (`livehook.yaml` and the directory holding it) is read once: otherwise
    // each of its apps would be reported as declared twice, at the same place.
    let mut seen = std::collections::HashSet::new();
    out.retain(|path| seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())));
    out
}

fn read_source(path: &Path) -> Result<SourceFile, Box<ConfigDiagnostic>> {
    let name = path.display().to_string();
    let unreadable = |reason: String, help: &str| {
        Box::new(
            ConfigDiagnostic::error(
                "livehook::unreadable",
                format!("cannot read {name}: {reason}"),
            )
            .help(help.to_owned()),
        )
    };
    let metadata = std::fs::metadata(path).map_err(|e| {
        unreadable(
            io_reason(&e),
            &format!(
                "pass the path of a desired-state file or directory (default: {DEFAULT_PATH})"
            ),
        )
    })?;
    if metadata.len() > MAX_FILE_BYTES {
        return Err(unreadable(
            format!(
                "it is {} bytes, more than the 16 MiB livehook reads",
                metadata.len()
            ),
            "is this the right file?",
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| unreadable(io_reason(&e), "check its permissions"))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            // Everything before the bad byte is text, which is all a position needs.
            let valid = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
            let (line, column) = SourceFile::new(name.clone(), valid).line_col(at);
            Err(Box::new(
                ConfigDiagnostic::error(
                    "livehook::not_utf8",
                    format!(
                        "{name} is not UTF-8 text (invalid byte at line {line}, column {column})"
                    ),
                )
                .help("desired-state files are UTF-8 YAML; is this the right file?"),
            ))
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The JSON Schema, pretty-printed, as `livehook schema` prints it and the repository commits it.
pub fn schema_text() -> String {
    let mut text =
        serde_json::to_string_pretty(&model::json_schema()).expect("a JSON value serialises");
    text.push('\n');
    text
}
