//! Bounded fan-out across apps: what `plan` (reading) and `apply` (writing) both do with many
//! apps. The client enforces the per-SDKAppID rate limit; this only bounds how many apps are in
//! flight and keeps results in input order.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Runs `work` on every item, at most `parallelism` at a time, and returns the results in the
/// order of `items`. A task that panicked (a livehook bug) yields `None`, so one app's failure
/// never takes the others' results with it.
pub async fn bounded<T, R, F, Fut>(items: Vec<T>, parallelism: usize, work: F) -> Vec<Option<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks = JoinSet::new();
    let count = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let permits = permits.clone();
        let task = work(item);
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring only waits.
            let _permit = permits.acquire_owned().await;
            (index, task.await)
        });
    }
    let mut results: Vec<Option<R>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            results[index] = Some(result);
        }
    }
    results
}
