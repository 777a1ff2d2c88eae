//! Reads the live state of many apps concurrently, with bounded parallelism. The client enforces
//! the per-SDKAppID rate limit and retries; this only fans out and keeps the results in order.

use std::sync::Arc;

use super::token::{self, LiveToken, SecretKind, TokenState};
use super::{AppError, LiveState};
use crate::credentials::Credentials;
use crate::tim::client::Client;
use crate::tim::wire::{Callback, TokenBody};

/// Reads every app's callback configuration (and its token, where the token is managed), at
/// most `parallelism` apps at a time, and returns the results in the order of `targets`. One app
/// failing never stops the others. `on_done` is called as each app finishes (the CLI's progress
/// bar).
pub async fn read_all(
    client: &Client,
    targets: &[Credentials],
    parallelism: usize,
    on_done: Arc<dyn Fn() + Send + Sync>,
) -> Vec<Result<LiveState, AppError>> {
    let reads = crate::fanout::bounded(targets.to_vec(), parallelism, |target| {
        let client = client.clone();
        let on_done = on_done.clone();
        async move {
            let result = read_one(&client, &target).await;
            on_done();
            result
        }
    })
    .await;
    reads
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(AppError::bug("reading this app failed unexpectedly"))))
        .collect()
}

/// Reads one app: its callback and, where the token is managed, its token, both at once (they
/// do not depend on each other, and an app's read then costs one round trip, not two). The
/// token's value is turned into its keyed fingerprint here and dropped, so it never reaches the
/// plan; so is the live callback URL of an app whose desired URL has `${NAME}` references, which
/// the plan holds masked.
pub async fn read_one(client: &Client, app: &Credentials) -> Result<LiveState, AppError> {
    let target = &app.target;
    let read_token = async {
        if !app.reads_token {
            return Ok(LiveToken::NotRead);
        }
        Ok(match client.read::<TokenBody>(target).await? {
            None => LiveToken::Missing,
            Some(body) => LiveToken::Present(TokenState {
                fingerprint: token::fingerprint(
                    &target.secret_key,
                    target.sdkappid,
                    SecretKind::Token,
                    &body.token,
                ),
                enabled: body.enabled,
            }),
        })
    };
    // Both are awaited even when one fails, so that an app whose reads both fail (a wrong key)
    // always reports its callback read, whichever answer came first.
    let (callback, token) = tokio::join!(client.read::<Callback>(target), read_token);
    let mut callback = callback.map_err(|e| AppError::from(&e))?;
    let secret_template = app
        .callback_url
        .as_ref()
        .filter(|url| url.fingerprint.is_some());
    let url_fingerprint = match (&mut callback, secret_template) {
        (Some(live), Some(desired)) => {
            let fingerprint = token::fingerprint(
                &target.secret_key,
                target.sdkappid,
                SecretKind::CallbackUrl,
                &live.url,
            );
            live.url = desired.template.mask(&live.url);
            Some(fingerprint)
        }
        _ => None,
    };
    Ok(LiveState {
        callback,
        url_fingerprint,
        token: token.map_err(|e| AppError::from(&e))?,
    })
}
