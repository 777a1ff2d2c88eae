//! Bounded fan-out across apps: what `plan` (reading) and `apply` (writing) both do with many
//! apps. The client enforces the per-SDKAppID rate limit; this only bounds how many apps are in
//! flight and keeps results in input order.

use std::future::Future;

use tokio::task::JoinSet;

/// Runs `work` on every item, at most `parallelism` at a time, and returns the results in the
/// order of `items`. A task that panicked (a livehook bug) yields `None`, so one app's failure
/// never takes the others' results with it.
///
/// An item's task is spawned only when a slot frees up, not all up front behind a semaphore: a
/// spawned task holds its whole future (several KiB for a read through the HTTP client), so
/// spawning every app at once made memory grow with the number of apps instead of with
/// `parallelism`.
pub async fn bounded<T, R, F, Fut>(items: Vec<T>, parallelism: usize, work: F) -> Vec<Option<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    let mut waiting = items.into_iter().enumerate();
    let mut tasks = JoinSet::new();
    let mut spawn_next = |tasks: &mut JoinSet<(usize, R)>| {
        if let Some((index, item)) = waiting.next() {
            let task = work(item);
            tasks.spawn(async move { (index, task.await) });
        }
    };
    for _ in 0..parallelism.max(1) {
        spawn_next(&mut tasks);
    }
    while let Some(joined) = tasks.join_next().await {
        // A panicked task's slot stays `None`.
        if let Ok((index, result)) = joined {
            results[index] = Some(result);
        }
        spawn_next(&mut tasks);
    }
    results
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_order_bounds_what_is_in_flight_and_survives_a_panic() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let spawned = Arc::new(AtomicUsize::new(0));
        let items: Vec<usize> = (0..200).collect();
        let results = bounded(items, 7, |i| {
            spawned.fetch_add(1, Ordering::SeqCst);
            let (in_flight, most) = (in_flight.clone(), most.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                assert!(i != 13, "a livehook bug in one app");
                i * 2
            }
        })
        .await;
        assert!(most.load(Ordering::SeqCst) <= 7);
        assert_eq!(spawned.load(Ordering::SeqCst), 200);
        for (i, result) in results.iter().enumerate() {
            assert_eq!(*result, (i != 13).then_some(i * 2), "item {i}");
        }
    }

    #[tokio::test]
    async fn creates_each_future_only_when_a_slot_is_free() {
        let created = Arc::new(AtomicUsize::new(0));
        let (release, wait) = tokio::sync::watch::channel(false);
        let probe = created.clone();
        let run = tokio::spawn(bounded((0..50).collect::<Vec<u32>>(), 4, move |i| {
            probe.fetch_add(1, Ordering::SeqCst);
            let mut wait = wait.clone();
            async move {
                let _ = wait.wait_for(|go| *go).await;
                i
            }
        }));
        // The first four hold their slots until released: no fifth future may exist yet.
        while created.load(Ordering::SeqCst) < 4 {
            tokio::task::yield_now().await;
        }
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(created.load(Ordering::SeqCst), 4);
        release.send(true).unwrap();
        let results = run.await.unwrap();
        assert_eq!(results, (0..50).map(Some).collect::<Vec<_>>());
    }
}
