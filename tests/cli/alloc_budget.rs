//! A memory regression fails here, not in the README: loading, planning and rendering a fixed
//! 1,000-app file against the in-process emulator must stay within a committed budget of heap
//! allocations, bytes allocated and peak live bytes. Counting allocations is not timing: the
//! counts barely move on a loaded machine, so the budget can be tight (about 25% over what was
//! measured). Peak live bytes is the figure that grows when a run holds per-app state it should
//! not (a future per app kept alive, a copy of the document per app); the counts catch
//! per-app work that is done and thrown away.
//!
//! The counting allocator serves the whole test binary but counts only on threads that opt in
//! (the test's own thread and the worker threads of the runtime it builds), so tests running
//! beside it are not counted. The emulator runs on a runtime of its own: its work is not
//! livehook's.
//!
//! To re-measure after a change that legitimately allocates more (or less): run
//! `cargo test --locked --test cli alloc_budget:: -- --nocapture`, read the `measured:` line,
//! and set each budget about 25% above it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use livehook::emulator::{AppState, Options, State};
use livehook::tim::client::{Client, ClientOptions};
use livehook::tim::wire::Callback;

use crate::support::{SECRET_KEY, start_emulator};

const APPS: u64 = 1_000;
const FIRST_SDKAPPID: u64 = 1_400_200_000;
const PARALLELISM: usize = 64;
const CREATE_ROOM: &str = "Live.CallbackAfterCreateRoom";
const DESTROY_ROOM: &str = "Live.CallbackAfterDestroyRoom";

/// Measured in the test profile at 291,200 allocations, 57.7 MB allocated and 7.4 MB peak live
/// (runs agree within 0.1%); see the module doc to re-measure.
const BUDGET_ALLOCATIONS: u64 = 364_000;
const BUDGET_BYTES: u64 = 72_000_000;
const BUDGET_PEAK_LIVE: i64 = 9_300_000;

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK_LIVE: AtomicI64 = AtomicI64::new(0);

/// The system allocator, counting on threads that set `COUNTED`.
struct Counting;

#[global_allocator]
static COUNTING: Counting = Counting;

fn counted() -> bool {
    // During a thread's teardown its flag may be gone: not counted then.
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

fn record_alloc(bytes: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    record_live(bytes as i64);
}

fn record_live(change: i64) {
    let live = LIVE.fetch_add(change, Ordering::Relaxed) + change;
    PEAK_LIVE.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is passed on unchanged to `System`; the counting touches only atomics and a
// const-initialised thread-local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() && counted() {
            record_alloc(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() && counted() {
            record_alloc(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(pointer, layout) };
        if counted() {
            record_live(-(layout.size() as i64));
        }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() && counted() {
            // A growth is an allocation of the new size, as far as the budget goes.
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
            record_live(new_size as i64 - layout.size() as i64);
        }
        moved
    }
}

/// What the measured section allocated.
#[derive(Debug)]
struct Measured {
    allocations: u64,
    bytes: u64,
    peak_live: i64,
}

/// Runs `f` with this thread counted, from zeroed counters.
fn measure<T>(f: impl FnOnce() -> T) -> (T, Measured) {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    LIVE.store(0, Ordering::SeqCst);
    PEAK_LIVE.store(0, Ordering::SeqCst);
    COUNTED.set(true);
    let value = f();
    COUNTED.set(false);
    let measured = Measured {
        allocations: ALLOCATIONS.load(Ordering::SeqCst),
        bytes: BYTES.load(Ordering::SeqCst),
        peak_live: PEAK_LIVE.load(Ordering::SeqCst),
    };
    (value, measured)
}

/// The emulator's apps, a quarter per row of the decision table: app `i` has no callback
/// (create), an outdated one (update), one the file retires (delete), or the desired one (no-op).
fn live_state() -> State {
    let callback = |url: &str| Callback {
        url: url.into(),
        commands: vec![CREATE_ROOM.into(), DESTROY_ROOM.into()],
    };
    let apps = (0..APPS)
        .map(|i| {
            let callback = match i % 4 {
                0 => None,
                1 => Some(callback("https://old.example.com/hook")),
                _ => Some(callback("https://hooks.example.com/tim/live")),
            };
            let app = AppState {
                callback,
                ..AppState::new(SECRET_KEY)
            };
            (FIRST_SDKAPPID + i, app)
        })
        .collect();
    State { apps }
}

fn desired_yaml() -> String {
    let mut yaml = String::from("version: 1\ndefaults:\n  region: singapore\napps:\n");
    for i in 0..APPS {
        let sdkappid = FIRST_SDKAPPID + i;
        write!(yaml, "  app-{i:04}:\n    sdkappid: {sdkappid}\n").unwrap();
        if i % 4 == 2 {
            yaml.push_str("    callback: absent\n");
        } else {
            write!(
                yaml,
                "    callback:\n      url: https://hooks.example.com/tim/live\n      commands: [{CREATE_ROOM}, {DESTROY_ROOM}]\n"
            )
            .unwrap();
        }
    }
    yaml
}

#[test]
fn loading_and_planning_a_thousand_apps_stays_within_the_allocation_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("livehook.yaml");
    std::fs::write(&path, desired_yaml()).unwrap();
    let state = live_state();
    let keys: std::collections::HashMap<u64, String> = state
        .apps
        .iter()
        .map(|(id, app)| (*id, app.secret_key.clone()))
        .collect();
    let emulator_runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = emulator_runtime.block_on(start_emulator(state, Options::default()));
    let base_url = emulator.base_url();
    // Built before counting (its threads start counted, through `on_thread_start`), like the
    // binary's runtime, whose creation is not per app.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(|| COUNTED.set(true))
        .build()
        .unwrap();

    let (report, measured) = measure(|| {
        let desired = livehook::config::load(std::slice::from_ref(&path))
            .unwrap_or_else(|d| panic!("the generated file is valid: {d:?}"));
        let credentials = livehook::credentials::resolve(&desired.apps, Some(&base_url), |id| {
            keys.get(&id).cloned()
        })
        .expect("every key comes from the emulator's state");
        let client = Client::new(ClientOptions::default()).unwrap();
        let live = runtime.block_on(livehook::plan::read::read_all(
            &client,
            &credentials,
            PARALLELISM,
            Arc::new(|| {}),
        ));
        let plans: Vec<_> = desired
            .apps
            .iter()
            .zip(&credentials)
            .zip(live)
            .map(|((app, c), live)| livehook::plan::decide(app, live, c.desired()))
            .collect();
        livehook::render::json::render(&plans)
    });
    runtime.shutdown_background();
    emulator_runtime.block_on(emulator.shutdown());

    // A real plan was measured: every app read, a quarter per action.
    let doc: serde_json::Value = serde_json::from_str(&report).unwrap();
    let summary = &doc["summary"];
    assert_eq!(summary["error"], 0, "{summary}");
    for action in ["create", "update", "delete", "no_op"] {
        assert_eq!(summary[action], APPS / 4, "{action}: {summary}");
    }
    println!("measured: {measured:?}");
    assert!(
        measured.allocations <= BUDGET_ALLOCATIONS
            && measured.bytes <= BUDGET_BYTES
            && measured.peak_live <= BUDGET_PEAK_LIVE,
        "over the allocation budget: {measured:?}; budgets: {BUDGET_ALLOCATIONS} allocations, \
         {BUDGET_BYTES} bytes, {BUDGET_PEAK_LIVE} bytes peak live (see the module doc)"
    );
}
