//! The desired-state file format (version 1), as serde and schemars types.
//!
//! These types are the single source of the JSON Schema (`schema/livehook.schema.json`): every
//! doc comment here becomes a `description` that editors show. They describe the file as written;
//! `config::resolve` turns them into the [`App`](super::App)s that plan and apply work on.
//!
//! Optional fields are written `#[schemars(with = "T")]` so that the schema does not admit null:
//! an empty value (`callback:` with nothing after it) is far more often a slip than a wish to
//! leave the part unmanaged.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::tim::wire::Callback;
use crate::tim::{command_words, region::Region};

/// The only desired-state format this livehook reads.
pub const FORMAT_VERSION: u64 = 1;

/// Environment variable names: what POSIX shells accept.
pub const ENV_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";

/// Whether `name` matches [`ENV_NAME_PATTERN`] (the same expression the schema checks with).
pub fn is_env_name(name: &str) -> bool {
    static ENV_NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(ENV_NAME_PATTERN).expect("ENV_NAME_PATTERN is a valid expression")
    });
    ENV_NAME.is_match(name)
}

/// App names are used in plans and `--target`, so they stay shell- and URL-friendly.
pub const APP_NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]*$";

pub use crate::tim::DEFAULT_IDENTIFIER;
pub const DEFAULT_SECRET_KEY_ENV: &str = "TIM_SECRET_KEY";

/// A livehook desired-state file: the webhook (callback) configuration that each Tencent Cloud
/// Chat app must have for its live rooms.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "livehook desired state")]
pub struct DesiredStateFile {
    /// Format version of this file. Always 1.
    #[schemars(extend("const" = 1))]
    pub version: u64,
    /// Settings merged under every app; an app's own setting wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "AppSettings")]
    pub defaults: Option<AppSettings>,
    /// Command words that Tencent added after this livehook was released; they are accepted in
    /// `commands` lists as if they were known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "extra_commands_schema")]
    pub extra_commands: Vec<String>,
    /// The apps to manage, keyed by a unique name used in plans and `--target`.
    #[schemars(schema_with = "apps_schema")]
    pub apps: BTreeMap<String, AppSpec>,
}

/// Settings merged under every app.
// The same four settings are an app's own (`AppSpec` flattens them in), so both read and
// document them once. Flattened, their own `deny_unknown_fields` does not apply (serde hands them
// only their own keys); `AppSpec`'s refuses the rest, though the schema check has by then.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Defaults")]
pub struct AppSettings {
    /// Tencent Cloud Chat region of the app, whose REST domain its calls go to. Exactly one of
    /// `region` and `endpoint` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "region_schema")]
    pub region: Option<Region>,
    /// Base URL to call instead of a region's domain, e.g. `http://127.0.0.1:8080` for the
    /// emulator (plain http only on loopback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "endpoint_schema")]
    pub endpoint: Option<String>,
    /// App administrator account that calls are made as (default: `administrator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1))]
    pub identifier: Option<String>,
    /// Name of the environment variable that holds the app's secret key (default:
    /// `TIM_SECRET_KEY`). The key itself never lives in this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "env_name_schema")]
    pub secret_key_env: Option<String>,
}

/// One app (SDKAppID) and the webhook configuration it must have.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// The app's SDKAppID, from the Tencent Cloud Chat console.
    #[schemars(range(min = 1, max = 4294967295u64))]
    pub sdkappid: u64,
    /// Where the app is reached and whom calls are made as; each unset one comes from `defaults`.
    #[serde(flatten)]
    pub settings: AppSettings,
    /// The webhook: `{url, commands}`, or `absent` to delete it. Leave it out to leave the
    /// callback unmanaged (read and shown, never changed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "callback_in_file::managed"
    )]
    #[schemars(with = "Managed<CallbackSpec>")]
    pub callback: Option<Managed<Callback>>,
    /// The webhook authentication token: `{value_env, enabled}`, or `absent` to delete it. Leave it
    /// out to leave the token unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Managed<TokenSpec>")]
    pub token: Option<Managed<TokenSpec>>,
}

// How desired-state files and saved plans spell a `Callback`, not a second type: serde's remote
// derive makes this a description of `Callback`'s fields under the file's names (`Callback`'s own
// serde spelling is the wire's), and no value of it is ever made. Fields holding a `Callback` use
// it through `callback_in_file`. The schema keeps calling it `CallbackSpec`.
/// The callback URL and the events it receives.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(remote = "Callback", deny_unknown_fields)]
#[schemars(rename = "CallbackSpec")]
pub struct CallbackSpec {
    /// Absolute `https://` (recommended) or `http://` URL that Tencent posts events to. A secret
    /// in it is written `${NAME}`: the value of environment variable NAME, filled in at plan and
    /// apply time and never shown; `$$` writes a literal `$`, and any other `$` is an error.
    // RFC 6570: `${NAME}` reads as a literal `$` and an expression, so tools that check formats
    // accept a template that `uri` would reject.
    #[schemars(extend("format" = "uri-template"))]
    pub url: String,
    /// Command words (`CallbackCommandList`) to deliver; compared as a set.
    #[schemars(schema_with = "commands_schema")]
    pub commands: Vec<String>,
}

/// Where the webhook token comes from, and whether Tencent signs callbacks with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Name of the environment variable that holds the token (1 to 128 characters). The token
    /// itself never lives in this file.
    #[schemars(schema_with = "env_name_schema")]
    pub value_env: String,
    /// Whether token authentication is on (`IsTokenEnable`); default true.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// A managed part of an app: the configuration it must have, or `absent` (it must not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Managed<T> {
    Present(T),
    Absent,
}

/// The word that marks a managed part as "must not exist".
pub const ABSENT: &str = "absent";

impl<T> Managed<T> {
    pub fn as_ref(&self) -> Managed<&T> {
        match self {
            Managed::Present(value) => Managed::Present(value),
            Managed::Absent => Managed::Absent,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Managed<U> {
        match self {
            Managed::Present(value) => Managed::Present(f(value)),
            Managed::Absent => Managed::Absent,
        }
    }
}

/// Serde `with` modules for fields that hold a [`Callback`] in a desired-state file or a saved
/// plan, so that it is spelled `{url, commands}` there ([`CallbackSpec`]).
pub mod callback_in_file {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{CallbackSpec, Managed};
    use crate::tim::wire::Callback;

    /// A callback to serialise as `{url, commands}` (the JSON plan shows it so, too).
    pub struct InFile<'a>(pub &'a Callback);

    impl Serialize for InFile<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            CallbackSpec::serialize(self.0, serializer)
        }
    }

    struct Read(Callback);

    impl<'de> Deserialize<'de> for Read {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            CallbackSpec::deserialize(deserializer).map(Read)
        }
    }

    /// `Option<Callback>`: `null` or `{url, commands}`.
    pub mod optional {
        use super::*;

        pub fn serialize<S: Serializer>(
            value: &Option<Callback>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            value.as_ref().map(InFile).serialize(serializer)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Callback>, D::Error> {
            Ok(Option::<Read>::deserialize(deserializer)?.map(|read| read.0))
        }
    }

    /// `Option<Managed<Callback>>`: `null` (unmanaged), `absent`, or `{url, commands}`.
    pub mod managed {
        use super::*;

        pub fn serialize<S: Serializer>(
            value: &Option<Managed<Callback>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            value
                .as_ref()
                .map(|m| m.as_ref().map(InFile))
                .serialize(serializer)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Managed<Callback>>, D::Error> {
            Ok(Option::<Managed<Read>>::deserialize(deserializer)?.map(|m| m.map(|read| read.0)))
        }
    }
}

impl<T: Serialize> Serialize for Managed<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Managed::Present(value) => value.serialize(serializer),
            Managed::Absent => serializer.serialize_str(ABSENT),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Managed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The schema has already checked the shape; untagged is enough to tell the two apart.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr<T> {
            Word(String),
            Value(T),
        }
        match Repr::<T>::deserialize(deserializer)? {
            Repr::Word(w) if w == ABSENT => Ok(Managed::Absent),
            Repr::Word(w) => Err(serde::de::Error::custom(format!(
                "expected `{ABSENT}` or a mapping, found `{w}`"
            ))),
            Repr::Value(v) => Ok(Managed::Present(v)),
        }
    }
}

impl<T: JsonSchema> JsonSchema for Managed<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Managed{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let present = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [
                present,
                {"const": ABSENT, "description": "Must not exist: livehook deletes it."}
            ]
        })
    }
}

fn region_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": Region::NAMES,
        "description": "Tencent Cloud Chat region (`usa` is an alias of `silicon-valley`)."
    })
}

fn endpoint_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "uri"})
}

fn env_name_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "pattern": ENV_NAME_PATTERN})
}

fn command_word_schema() -> serde_json::Value {
    serde_json::json!({
        "anyOf": [
            {"type": "string", "enum": command_words::KNOWN},
            {"type": "string", "pattern": command_words::PATTERN}
        ]
    })
}

fn commands_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "array", "minItems": 1, "items": command_word_schema()})
}

fn extra_commands_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {"type": "string", "pattern": command_words::PATTERN}
    })
}

fn apps_schema(generator: &mut SchemaGenerator) -> Schema {
    let app = generator.subschema_for::<AppSpec>();
    json_schema!({
        "type": "object",
        "propertyNames": {"pattern": APP_NAME_PATTERN},
        "additionalProperties": app
    })
}

/// The JSON Schema of the desired-state file, as committed at `schema/livehook.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<DesiredStateFile>();
    schema.to_value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_app_takes_its_settings_flattened_and_refuses_unknown_fields() {
        let app: AppSpec = serde_json::from_value(json!({
            "sdkappid": 1,
            "region": "singapore",
            "identifier": "ops",
            "callback": {"url": "https://h", "commands": ["Live.CallbackAfterCreateRoom"]}
        }))
        .unwrap();
        assert_eq!(app.settings.region, Some(Region::Singapore));
        assert_eq!(app.settings.identifier.as_deref(), Some("ops"));
        let Some(Managed::Present(callback)) = app.callback else {
            panic!("a callback is read in the file's spelling")
        };
        assert_eq!(callback.url, "https://h");
        let error = serde_json::from_value::<AppSpec>(json!({"sdkappid": 1, "regoin": "china"}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `regoin`"), "{error}");
    }
}
