//! The calls themselves: one generic read (the callback or the token configuration) and one
//! write, each a thin layer over the retry loop that decodes the answer into wire types.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{CallError, Client, Target};
use crate::tim::errors::codes;
use crate::tim::wire::{Callback, Command, TokenBody};

/// A configuration that can be read: the `Response` of `get_callback` or `get_callback_token`.
pub trait Readable: DeserializeOwned {
    /// The command that reads it.
    const COMMAND: Command;
    /// The code Tencent answers when none is configured, which the read turns into `None`.
    const NONE_CONFIGURED: i64;
    /// Why the `Response` could not be decoded, in words.
    fn shape_error(error: serde_json::Error) -> String;
}

impl Readable for Callback {
    const COMMAND: Command = Command::GetCallback;
    const NONE_CONFIGURED: i64 = codes::CALLBACK_MISSING;
    fn shape_error(error: serde_json::Error) -> String {
        format!("Response is not {{Url, CallbackCommandList}}: {error}")
    }
}

impl Readable for TokenBody {
    const COMMAND: Command = Command::GetCallbackToken;
    const NONE_CONFIGURED: i64 = codes::TOKEN_MISSING;
    /// serde's message could quote the token's value, so it is not passed on.
    fn shape_error(_: serde_json::Error) -> String {
        "Response is not {Token: string, IsTokenEnable: bool}".into()
    }
}

/// One write call and what it sends.
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    /// `set_callback`: creates the webhook configuration. Answers 100300 (as an error) when one
    /// already exists.
    SetCallback(&'a Callback),
    /// `update_callback`: replaces the webhook configuration. Answers 100301 (as an error) when
    /// none exists.
    UpdateCallback(&'a Callback),
    DeleteCallback,
    /// `set_callback_token`: creates or replaces the webhook token configuration.
    SetToken(&'a TokenBody),
    DeleteToken,
}

impl Write<'_> {
    pub fn command(self) -> Command {
        match self {
            Write::SetCallback(_) => Command::SetCallback,
            Write::UpdateCallback(_) => Command::UpdateCallback,
            Write::DeleteCallback => Command::DeleteCallback,
            Write::SetToken(_) => Command::SetCallbackToken,
            Write::DeleteToken => Command::DeleteCallbackToken,
        }
    }

    fn body(self) -> Value {
        match self {
            Write::SetCallback(body) | Write::UpdateCallback(body) => json!(body),
            Write::SetToken(body) => json!(body),
            Write::DeleteCallback | Write::DeleteToken => json!({}),
        }
    }
}

impl Client {
    /// Reads a configuration; `Ok(None)` when none exists.
    pub async fn read<R: Readable>(&self, target: &Target) -> Result<Option<R>, CallError> {
        let command = R::COMMAND;
        match self.call(target, command, &json!({}), &[]).await {
            Ok(envelope) => {
                let response = envelope.response.ok_or_else(|| CallError::Decode {
                    command,
                    message: "the answer has no Response".into(),
                })?;
                serde_json::from_value(response)
                    .map(Some)
                    .map_err(|e| CallError::Decode {
                        command,
                        message: R::shape_error(e),
                    })
            }
            Err(e) if e.code() == Some(R::NONE_CONFIGURED) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends one write (see [`Client::call`] for what happens when its answer is lost).
    pub async fn write(&self, target: &Target, write: Write<'_>) -> Result<(), CallError> {
        // A server that quotes the request in its ErrorInfo would otherwise put the token into
        // the error, and from there into `apply`'s report.
        let token = match write {
            Write::SetToken(body) => vec![body.token.as_str()],
            _ => Vec::new(),
        };
        self.call(target, write.command(), &write.body(), &token)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tim::client::test_server::*;

    #[tokio::test]
    async fn write_bodies_follow_the_wire_format() {
        let (script, base) = serve_script(vec![]).await;
        let client = client();
        let target = target(base);
        let callback = Callback {
            url: "https://hooks.example.com/tim".into(),
            commands: vec!["Live.CallbackAfterCreateRoom".into()],
        };
        client
            .write(&target, Write::SetCallback(&callback))
            .await
            .unwrap();
        client
            .write(&target, Write::UpdateCallback(&callback))
            .await
            .unwrap();
        client.write(&target, Write::DeleteCallback).await.unwrap();
        let token = TokenBody {
            token: "hook-token".into(),
            enabled: true,
        };
        client
            .write(&target, Write::SetToken(&token))
            .await
            .unwrap();
        client.write(&target, Write::DeleteToken).await.unwrap();
        let seen = script.seen();
        let calls: Vec<(&str, Value)> = seen
            .iter()
            .map(|s| {
                (
                    s.path.as_str(),
                    serde_json::from_slice::<Value>(&s.body).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            calls,
            [
                ("/v4/live_config/set_callback", sample_callback()),
                ("/v4/live_config/update_callback", sample_callback()),
                ("/v4/live_config/delete_callback", json!({})),
                (
                    "/v4/live_config/set_callback_token",
                    json!({"Token": "hook-token", "IsTokenEnable": true})
                ),
                ("/v4/live_config/delete_callback_token", json!({})),
            ]
        );
    }

    #[tokio::test]
    async fn missing_configurations_read_as_none() {
        let (script, base) = serve_script(vec![
            Reply::Code(codes::CALLBACK_MISSING),
            Reply::Code(codes::TOKEN_MISSING),
            Reply::Success(json!({"Token": "t", "IsTokenEnable": false})),
        ])
        .await;
        let client = client();
        let target = target(base);
        assert_eq!(client.read::<Callback>(&target).await.unwrap(), None);
        assert_eq!(client.read::<TokenBody>(&target).await.unwrap(), None);
        let token = client.read::<TokenBody>(&target).await.unwrap().unwrap();
        assert_eq!((token.token.as_str(), token.enabled), ("t", false));
        assert_eq!(script.seen().len(), 3, "state answers are not retried");
    }

    #[tokio::test]
    async fn an_error_info_quoting_the_token_does_not_reveal_it() {
        const TOKEN: &str = "hook-token-0123456789abcdef";
        let (script, base) = serve_script(vec![Reply::CodeWithInfo(
            codes::INVALID_PARAMETER,
            format!("invalid parameter: Token {TOKEN:?} is not accepted ({TOKEN})"),
        )])
        .await;
        let token = TokenBody {
            token: TOKEN.into(),
            enabled: true,
        };
        let error = client()
            .write(&target(base), Write::SetToken(&token))
            .await
            .unwrap_err();
        assert_eq!(script.seen().len(), 1);
        let CallError::Answered { code, info, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*code, codes::INVALID_PARAMETER);
        assert_eq!(
            info,
            "invalid parameter: Token \"<redacted>\" is not accepted (<redacted>)"
        );
        for shown in [
            error.to_string(),
            format!("{error:?}"),
            error.detail(),
            error.message(),
        ] {
            assert!(!shown.contains(TOKEN), "{shown}");
        }
    }
}
