//! Reads the live state of many apps concurrently, with bounded parallelism. The client enforces
//! the per-SDKAppID rate limit and retries; this only fans out and keeps the results in order.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::token::{self, LiveToken, TokenState};
use super::{AppError, LiveState};
use crate::credentials::Credentials;
use crate::tim::client::Client;

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
    let permits = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks = JoinSet::new();
    for (index, target) in targets.iter().enumerate() {
        let client = client.clone();
        let target = target.clone();
        let permits = permits.clone();
        let on_done = on_done.clone();
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring only waits.
            let _permit = permits.acquire_owned().await;
            let result = read_one(&client, &target).await;
            on_done();
            (index, result)
        });
    }
    let mut results: Vec<Option<Result<LiveState, AppError>>> = vec![None; targets.len()];
    while let Some(joined) = tasks.join_next().await {
        // A panicking task is a livehook bug; it is reported as that app's error below.
        if let Ok((index, result)) = joined {
            results[index] = Some(result);
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(AppError {
                    command: None,
                    code: None,
                    meaning: None,
                    message: "reading this app failed unexpectedly".into(),
                    request_id: None,
                    hint: Some("please report this as a livehook bug".into()),
                })
            })
        })
        .collect()
}

/// Reads one app. The token's value is turned into its keyed fingerprint here and dropped, so it
/// never reaches the plan.
pub async fn read_one(client: &Client, app: &Credentials) -> Result<LiveState, AppError> {
    let target = &app.target;
    let callback = client
        .get_callback(target)
        .await
        .map_err(|e| AppError::from(&e))?;
    let token = if app.reads_token {
        match client
            .get_callback_token(target)
            .await
            .map_err(|e| AppError::from(&e))?
        {
            None => LiveToken::Missing,
            Some(body) => LiveToken::Present(TokenState {
                fingerprint: token::fingerprint(&target.secret_key, target.sdkappid, &body.token),
                enabled: body.enabled,
            }),
        }
    } else {
        LiveToken::NotRead
    };
    Ok(LiveState { callback, token })
}
