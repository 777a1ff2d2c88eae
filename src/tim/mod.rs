//! Everything that talks Tencent Cloud Chat's REST protocol: regions, the wire format, UserSig,
//! secrets, the error-code table and the HTTP client.

pub mod client;
pub mod command_words;
pub mod errors;
pub mod region;
pub mod secret;
pub mod usersig;
pub mod wire;

/// The App administrator account every Chat app is created with, which calls are made as unless
/// a file says otherwise.
pub const DEFAULT_IDENTIFIER: &str = "administrator";

/// Tencent accepts webhook tokens of 1 to this many characters (characters, not bytes).
pub const MAX_TOKEN_CHARS: usize = 128;
