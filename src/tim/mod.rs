//! Everything that talks Tencent Cloud Chat's REST protocol: regions, the wire format, UserSig,
//! error-code classification and the HTTP client.

pub mod client;
pub mod command_words;
pub mod errors;
pub mod region;
pub mod usersig;
pub mod wire;
