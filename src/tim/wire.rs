//! The wire format of Tencent's `v4/live_config/*` REST calls: the seven commands, their bodies and
//! the response envelope. Field names follow Tencent's documentation to the letter (PascalCase), so
//! these types are shared by the client and the emulator: both sides of the wire use one spelling.

use serde::{Deserialize, Serialize};

/// The seven `live_config` commands (the last path segment of the URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    GetCallback,
    SetCallback,
    UpdateCallback,
    DeleteCallback,
    GetCallbackToken,
    SetCallbackToken,
    DeleteCallbackToken,
}

impl Command {
    pub const ALL: [Command; 7] = [
        Command::GetCallback,
        Command::SetCallback,
        Command::UpdateCallback,
        Command::DeleteCallback,
        Command::GetCallbackToken,
        Command::SetCallbackToken,
        Command::DeleteCallbackToken,
    ];

    /// The name as it appears in the URL (`v4/live_config/{name}`).
    pub fn as_str(self) -> &'static str {
        match self {
            Command::GetCallback => "get_callback",
            Command::SetCallback => "set_callback",
            Command::UpdateCallback => "update_callback",
            Command::DeleteCallback => "delete_callback",
            Command::GetCallbackToken => "get_callback_token",
            Command::SetCallbackToken => "set_callback_token",
            Command::DeleteCallbackToken => "delete_callback_token",
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Read-only commands: the only ones `plan` may send.
    pub fn is_read(self) -> bool {
        matches!(self, Command::GetCallback | Command::GetCallbackToken)
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook configuration: the URL Tencent posts live-room events to, and the command words
/// (`CallbackCommandList`) it posts them for. It is the one type for a callback everywhere —
/// desired, live, planned — and its serde spelling is the wire's: the body of `set_callback` /
/// `update_callback`, the `Response` of `get_callback`, the emulator's state file. Desired-state
/// files and saved plans spell it `{url, commands}` through `config::model::CallbackSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Errors name it as Tencent's documentation does (in the emulator's state file, say).
#[serde(expecting = "struct CallbackBody")]
pub struct Callback {
    #[serde(rename = "Url")]
    pub url: String,
    #[serde(rename = "CallbackCommandList")]
    pub commands: Vec<String>,
}

/// Body of `set_callback_token`, and the `Response` of `get_callback_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBody {
    #[serde(rename = "Token")]
    pub token: String,
    #[serde(rename = "IsTokenEnable")]
    pub enabled: bool,
}

// The token is a secret: a derived Debug would print it into logs and panics.
impl std::fmt::Debug for TokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBody")
            .field("token", &crate::tim::secret::REDACTED)
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// The envelope every response carries (HTTP 200 for every API outcome). The fields are in the
/// order of Tencent's documented sample, which is the order the emulator writes them in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<R> {
    #[serde(rename = "ErrorCode")]
    pub error_code: i64,
    #[serde(rename = "ErrorInfo", default)]
    pub error_info: String,
    #[serde(rename = "ActionStatus")]
    pub action_status: String,
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    #[serde(rename = "Response", default, skip_serializing_if = "Option::is_none")]
    pub response: Option<R>,
}
