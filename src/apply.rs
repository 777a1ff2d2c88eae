//! Apply: send each app's planned calls, converging where the API allows it, then read the app
//! back and verify it (README, "Apply").
//!
//! Converging means that a call whose precondition no longer holds is not a failure when the
//! goal can still be reached: `set_callback` answering 100300 (a configuration exists, often
//! because a retried create had in fact succeeded) re-reads and updates if needed, and
//! `update_callback` answering 100301 (none exists) creates. Anything else that fails stops that
//! app's remaining calls; other apps go on.
//!
//! The calls are the plan's, in the plan's order, which is chosen so that no event is sent with a
//! half-configured webhook (see [`plan::decide`]).

use tracing::debug;

use crate::config::App;
use crate::credentials::Credentials;
use crate::plan::diff::{self, Comparison};
use crate::plan::{self, Action, AppError, AppPlan, Decision};
use crate::tim::client::{CallError, Client, Target, Write};
use crate::tim::errors::codes;
use crate::tim::wire::{Callback, Command, TokenBody};

/// One planned call as it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub command: Command,
    /// How the call converged, when it did not simply succeed.
    pub note: Option<String>,
}

/// How an app ended.
#[derive(Debug, Clone)]
pub enum Status {
    /// Nothing to change.
    NoChange,
    /// Written, read back and found as desired.
    Verified,
    /// Written, but reading it back shows these differences from the desired state.
    Unverified(Vec<String>),
    /// A call (or the read before or after) failed.
    Failed(AppError),
    /// Not written to at all, for these reasons (a stale saved plan, a changed token).
    Refused(Vec<String>),
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::NoChange => "no-op",
            Status::Verified => "verified",
            Status::Unverified(_) => "unverified",
            Status::Failed(_) => "failed",
            Status::Refused(_) => "refused",
        }
    }
}

/// The outcome of one app.
#[derive(Debug, Clone)]
pub struct AppOutcome {
    pub name: String,
    pub sdkappid: u64,
    pub region: String,
    pub endpoint: String,
    /// What the plan said to do; `None` when the app could not be read.
    pub action: Option<Action>,
    /// The calls that went through, in order.
    pub steps: Vec<Step>,
    pub status: Status,
}

impl AppOutcome {
    pub fn new(plan: &AppPlan, steps: Vec<Step>, status: Status) -> AppOutcome {
        AppOutcome {
            name: plan.name.clone(),
            sdkappid: plan.sdkappid,
            region: plan.region.clone(),
            endpoint: plan.endpoint.clone(),
            action: plan.action(),
            steps,
            status,
        }
    }

    /// An app that is not applied: a plan-time error, no change, or a refusal.
    pub fn without_calls(plan: &AppPlan, status: Status) -> AppOutcome {
        AppOutcome::new(plan, Vec::new(), status)
    }

    /// The outcome of an app that is not written to: a read error, or nothing to change.
    pub fn unapplied(plan: &AppPlan) -> AppOutcome {
        let status = match &plan.decision {
            Err(error) => Status::Failed(error.clone()),
            Ok(_) => Status::NoChange,
        };
        AppOutcome::without_calls(plan, status)
    }
}

/// Counts for the closing line. An app counts once, by its planned action, however many parts
/// (callback, token) changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplySummary {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub unverified: usize,
    pub failed: usize,
    pub refused: usize,
}

impl ApplySummary {
    pub fn of(outcomes: &[AppOutcome]) -> ApplySummary {
        let mut s = ApplySummary::default();
        for o in outcomes {
            match (&o.status, o.action) {
                (Status::NoChange, _) => s.unchanged += 1,
                (Status::Verified, Some(Action::Create)) => s.created += 1,
                (Status::Verified, Some(Action::Update)) => s.updated += 1,
                (Status::Verified, Some(Action::Delete)) => s.deleted += 1,
                (Status::Verified, _) => s.unchanged += 1,
                (Status::Unverified(_), _) => s.unverified += 1,
                (Status::Failed(_), _) => s.failed += 1,
                (Status::Refused(_), _) => s.refused += 1,
            }
        }
        s
    }

    pub fn all_succeeded(&self) -> bool {
        self.unverified + self.failed + self.refused == 0
    }
}

/// An app to apply: what it should be, how to reach it, and its plan.
#[derive(Debug, Clone)]
pub struct Job {
    pub app: App,
    pub credentials: Credentials,
    pub plan: AppPlan,
}

/// Applies every job, at most `parallelism` apps at a time, and returns the outcomes in the
/// order of `jobs`.
pub async fn apply_all(client: &Client, jobs: Vec<Job>, parallelism: usize) -> Vec<AppOutcome> {
    let plans: Vec<AppPlan> = jobs.iter().map(|j| j.plan.clone()).collect();
    let outcomes = crate::fanout::bounded(jobs, parallelism, |job| {
        let client = client.clone();
        async move { apply_app(&client, &job).await }
    })
    .await;
    outcomes
        .into_iter()
        .zip(&plans)
        .map(|(outcome, plan)| {
            outcome.unwrap_or_else(|| {
                AppOutcome::without_calls(
                    plan,
                    Status::Failed(AppError::bug("applying this app failed unexpectedly")),
                )
            })
        })
        .collect()
}

/// An app in apply: to be written, or already settled (no change, a read error, a refusal).
/// Both are boxed: a list of them is built once per run, and boxing keeps the variants equal.
#[derive(Debug)]
pub enum Candidate {
    Apply(Box<Job>),
    Settled(Box<AppOutcome>),
}

impl Candidate {
    /// The app as its plan says: written when the plan changes it, settled otherwise.
    pub fn from_plan(app: App, credentials: Credentials, plan: AppPlan) -> Candidate {
        if plan.is_change() {
            Candidate::Apply(Box::new(Job {
                app,
                credentials,
                plan,
            }))
        } else {
            Candidate::Settled(Box::new(AppOutcome::unapplied(&plan)))
        }
    }
}

/// Applies the jobs among `candidates` (at most `parallelism` at a time) and returns every
/// outcome in the candidates' order, the settled ones included, so that a report lists the apps
/// as the plan did.
pub async fn apply_candidates(
    client: &Client,
    candidates: Vec<Candidate>,
    parallelism: usize,
) -> Vec<AppOutcome> {
    let mut slots: Vec<Option<AppOutcome>> = Vec::with_capacity(candidates.len());
    let mut jobs = Vec::new();
    let mut job_slots = Vec::new();
    for candidate in candidates {
        match candidate {
            Candidate::Apply(job) => {
                job_slots.push(slots.len());
                slots.push(None);
                jobs.push(*job);
            }
            Candidate::Settled(outcome) => slots.push(Some(*outcome)),
        }
    }
    let done = apply_all(client, jobs, parallelism).await;
    for (slot, outcome) in job_slots.into_iter().zip(done) {
        slots[slot] = Some(outcome);
    }
    slots.into_iter().flatten().collect()
}

/// Sends one app's calls, then reads it back.
pub async fn apply_app(client: &Client, job: &Job) -> AppOutcome {
    let plan = &job.plan;
    let decision = match &plan.decision {
        Ok(decision) => decision,
        // Nothing is written to an app whose live state is unknown.
        Err(error) => return AppOutcome::without_calls(plan, Status::Failed(error.clone())),
    };
    let calls: Vec<&str> = decision.calls.iter().map(|c| c.command.as_str()).collect();
    debug!(app = %plan.name, sdkappid = plan.sdkappid, action = %decision.action.as_str(), calls = %calls.join(", "), "applying");
    let mut steps = Vec::new();
    match write(client, job, decision, &mut steps).await {
        Ok(()) => {}
        Err(error) => {
            debug!(app = %plan.name, sdkappid = plan.sdkappid, command = %error.command(), outcome = %crate::render::escape::text(&error.detail()), "app failed; its remaining calls are not sent");
            return AppOutcome::new(plan, steps, Status::Failed(AppError::from(&error)));
        }
    }
    let status = match verify(client, job).await {
        Ok(differences) if differences.is_empty() => Status::Verified,
        Ok(differences) => Status::Unverified(differences),
        Err(error) => Status::Failed(error),
    };
    debug!(app = %plan.name, sdkappid = plan.sdkappid, status = %status.as_str(), "read back");
    AppOutcome::new(plan, steps, status)
}

/// Sends the plan's calls in the plan's order (see [`plan::decide`]): what the plan showed is
/// what goes out.
async fn write(
    client: &Client,
    job: &Job,
    decision: &Decision,
    steps: &mut Vec<Step>,
) -> Result<(), CallError> {
    let target = &job.credentials.target;
    let plan = &job.plan;
    // A plan whose call lacks what it needs (a token value, a desired callback) is a livehook
    // bug, reported rather than sent as an empty write.
    let bug = |command, what: &str| CallError::Bug {
        command,
        message: what.to_owned(),
    };
    let desired_callback = decision.callback.as_ref().and_then(|c| c.after.as_ref());
    for call in &decision.calls {
        let command = call.command;
        let note =
            match command {
                Command::SetCallbackToken => {
                    let value =
                        job.credentials.token.as_ref().ok_or_else(|| {
                            bug(command, "no token value was resolved for this app")
                        })?;
                    let body = TokenBody {
                        token: value.value.expose().to_owned(),
                        enabled: value.state.enabled,
                    };
                    send(client, target, Write::SetToken(&body)).await?
                }
                Command::SetCallback | Command::UpdateCallback => {
                    let after = desired_callback
                        .ok_or_else(|| bug(command, "the plan has no callback to write"))?;
                    let url =
                        job.credentials.callback_url.as_ref().ok_or_else(|| {
                            bug(command, "no callback url was resolved for this app")
                        })?;
                    // The plan shows the template; what is sent is the URL it resolves to.
                    let sent = Callback {
                        url: url.resolved.expose().to_owned(),
                        commands: after.commands.clone(),
                    };
                    if command == Command::SetCallback {
                        create_callback(client, target, &sent).await?
                    } else {
                        update_callback(client, target, &sent).await?
                    }
                }
                Command::DeleteCallback => send(client, target, Write::DeleteCallback).await?,
                Command::DeleteCallbackToken => send(client, target, Write::DeleteToken).await?,
                Command::GetCallback | Command::GetCallbackToken => {
                    return Err(bug(command, "a read was planned as a write"));
                }
            };
        record(steps, plan, command, note);
    }
    Ok(())
}

/// Adds a call that went through to the app's steps, and logs it.
fn record(steps: &mut Vec<Step>, plan: &AppPlan, command: Command, note: Option<String>) {
    debug!(app = %plan.name, sdkappid = plan.sdkappid, %command, note = %note.as_deref().unwrap_or("-"), "call done");
    steps.push(Step { command, note });
}

/// `set_callback`, converging through 100300: the configuration that exists is read, and
/// updated unless it already is the desired one.
async fn create_callback(
    client: &Client,
    target: &Target,
    want: &Callback,
) -> Result<Option<String>, CallError> {
    let exists = match send(client, target, Write::SetCallback(want)).await {
        Ok(note) => return Ok(note),
        Err(e) if e.code() == Some(codes::CALLBACK_EXISTS) => e,
        Err(e) => return Err(e),
    };
    let prefix = format!(
        "set_callback answered {} (configuration already exists)",
        codes::CALLBACK_EXISTS
    );
    match client.read::<Callback>(target).await? {
        Some(live) if plan::same_callback(&live, want) => Ok(Some(format!(
            "{prefix}; read it back: it already is the desired one"
        ))),
        Some(_) => {
            let note = send(client, target, Write::UpdateCallback(want)).await?;
            Ok(Some(join(
                format!("{prefix}; read it back and updated it"),
                note,
            )))
        }
        // Deleted again between the two calls: someone else is changing this app too. Report
        // the original answer rather than chase them.
        None => Err(exists),
    }
}

/// `update_callback`, converging through 100301: a configuration that is gone is created.
async fn update_callback(
    client: &Client,
    target: &Target,
    want: &Callback,
) -> Result<Option<String>, CallError> {
    match send(client, target, Write::UpdateCallback(want)).await {
        Ok(note) => Ok(note),
        Err(e) if e.code() == Some(codes::CALLBACK_MISSING) => {
            let note = send(client, target, Write::SetCallback(want)).await?;
            Ok(Some(join(
                format!(
                    "update_callback answered {} (configuration does not exist); created it with set_callback",
                    codes::CALLBACK_MISSING
                ),
                note,
            )))
        }
        Err(e) => Err(e),
    }
}

fn join(first: String, then: Option<String>) -> String {
    match then {
        Some(then) => format!("{first}; {then}"),
        None => first,
    }
}

/// Whether the app, read back, shows what this write was to do.
async fn took_effect(
    client: &Client,
    target: &Target,
    write: Write<'_>,
) -> Result<bool, CallError> {
    Ok(match write {
        Write::SetToken(want) => client.read::<TokenBody>(target).await?.as_ref() == Some(want),
        Write::SetCallback(want) | Write::UpdateCallback(want) => client
            .read::<Callback>(target)
            .await?
            .is_some_and(|live| plan::same_callback(&live, want)),
        Write::DeleteCallback => client.read::<Callback>(target).await?.is_none(),
        Write::DeleteToken => client.read::<TokenBody>(target).await?.is_none(),
    })
}

/// Sends a write. When its answer is lost (a timeout, a cut-short body, a gateway's 5xx), the
/// write may or may not have taken effect, and the client does not re-send it; the app is read
/// back instead, and the write is sent again only when it did not take effect, for as long as
/// the client's retry budget lasts. So a write never takes effect twice, and a create whose
/// answer was lost does not meet 100300 for itself.
async fn send(
    client: &Client,
    target: &Target,
    write: Write<'_>,
) -> Result<Option<String>, CallError> {
    let command = write.command();
    let started = std::time::Instant::now();
    let mut resent = 0;
    loop {
        let lost = match client.write(target, write).await {
            Ok(()) if resent == 0 => return Ok(None),
            Ok(()) => {
                return Ok(Some(format!(
                    "{command}'s answer was lost; read back: it had not taken effect, so it was sent again ({resent}x)"
                )));
            }
            Err(e) if e.outcome_unknown() => e,
            Err(e) => return Err(e),
        };
        if took_effect(client, target, write).await? {
            debug!(%command, sdkappid = target.sdkappid, "lost answer; read back: the write had taken effect");
            return Ok(Some(format!(
                "{command}'s answer was lost ({}); read back: it had taken effect",
                lost.brief()
            )));
        }
        let options = client.options();
        if resent >= options.max_retries || started.elapsed() >= options.retry_for {
            return Err(lost);
        }
        resent += 1;
        debug!(%command, sdkappid = target.sdkappid, resent, "lost answer; read back: the write had not taken effect, sending it again");
    }
}

/// Reads the app back and decides again: no change left means verified; otherwise the
/// differences, in words.
async fn verify(client: &Client, job: &Job) -> Result<Vec<String>, AppError> {
    let live = plan::read::read_one(client, &job.credentials).await?;
    Ok(differences(&Decision::of(
        &job.app,
        live,
        job.credentials.desired(),
    )))
}

/// What still differs according to a decision, in words (empty when it has no changes).
pub fn differences(decision: &Decision) -> Vec<String> {
    let callback = decision
        .callback
        .as_ref()
        .filter(|c| c.action.is_change())
        .map(|c| {
            let secret = c.secret_url.as_ref();
            let mut found = diff::callback(c.before.as_ref(), c.after.as_ref());
            // The texts are a live URL and a template: whether the URL differs is the change's
            // to say.
            if !c.url_changes() {
                found.retain(|d| !matches!(d, diff::Difference::Url { .. }));
            }
            found.extend(diff::url_value(
                c.before.as_ref(),
                c.after.as_ref(),
                secret.and_then(|s| s.before.as_deref()),
                secret.map(|s| s.after.as_str()),
            ));
            found
        });
    let token = decision
        .token
        .as_ref()
        .filter(|t| t.action.is_change())
        .map(|t| diff::token(t.before.as_ref(), t.after.as_ref()));
    callback
        .into_iter()
        .chain(token)
        .flatten()
        .map(|d| d.describe(Comparison::ReadBack))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Location, Managed, Origin, Position};
    use crate::emulator::{AppState, Emulator, Options, State};
    use crate::plan::LiveState;
    use crate::tim::client::ClientOptions;

    const KEY: &str = "test-secret-key";
    const ID: u64 = 1400000001;

    fn body(url: &str) -> Callback {
        Callback {
            url: url.into(),
            commands: vec!["Live.CallbackAfterCreateRoom".into()],
        }
    }

    fn app(url: &str) -> App {
        let here = Position {
            file: "t.yaml".into(),
            line: 1,
            column: 1,
        };
        App {
            name: "a".into(),
            sdkappid: ID,
            location: Location::Endpoint("http://127.0.0.1:1".into()),
            identifier: crate::tim::DEFAULT_IDENTIFIER.into(),
            secret_key_env: "K".into(),
            callback: Some(Managed::Present(body(url))),
            token: None,
            origin: Origin::at(here),
        }
    }

    async fn emulator(callback: Option<Callback>) -> (Emulator, Client, Credentials) {
        let state = State {
            apps: [(
                ID,
                AppState {
                    callback,
                    ..AppState::new(KEY)
                },
            )]
            .into_iter()
            .collect(),
        };
        let emulator = Emulator::start(state, Options::default()).await.unwrap();
        let client = Client::new(ClientOptions {
            min_backoff: std::time::Duration::from_millis(1),
            ..ClientOptions::default()
        })
        .unwrap();
        let base_url = emulator.base_url();
        let mut credentials =
            crate::credentials::resolve(&[app("https://want/hook")], Some(&base_url), |_| {
                Some(KEY.into())
            })
            .unwrap();
        let credentials = credentials.remove(0);
        (emulator, client, credentials)
    }

    /// The job for an app that wants `https://want/hook`, planned when the live callback had
    /// the URL `planned` (`None`: there was none).
    fn job(credentials: Credentials, planned: Option<&str>) -> Job {
        let app = app("https://want/hook");
        let live = LiveState {
            callback: planned.map(body),
            ..LiveState::default()
        };
        let plan = plan::decide(&app, Ok(live), plan::Desired::default());
        Job {
            app,
            credentials,
            plan,
        }
    }

    fn commands(emulator: &Emulator) -> Vec<(String, i64)> {
        emulator
            .requests()
            .iter()
            .map(|r| (r.command.clone(), r.error_code))
            .collect()
    }

    #[test]
    fn a_read_back_whose_url_differs_only_in_its_secret_says_so_by_fingerprint() {
        let template = "https://want/hook?k=${K}";
        let live = LiveState {
            callback: Some(body(template)),
            url_fingerprint: Some("hmac-sha256:aaaa1111".into()),
            ..LiveState::default()
        };
        let desired = plan::Desired {
            url_fingerprint: Some("hmac-sha256:bbbb2222"),
            ..plan::Desired::default()
        };
        let decision = Decision::of(&app(template), live, desired);
        assert_eq!(
            differences(&decision),
            ["callback url's sensitive value differs (sha256:aaaa1111…→bbbb2222…)"]
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_create_that_meets_100300_reads_back_and_updates() {
        // Planned against "no callback"; by the time apply runs another one exists.
        let (emulator, client, credentials) = emulator(Some(body("https://other/hook"))).await;
        let job = job(credentials, None);
        assert_eq!(job.plan.action(), Some(Action::Create));
        let outcome = apply_app(&client, &job).await;
        assert!(matches!(outcome.status, Status::Verified), "{outcome:?}");
        assert!(outcome.steps[0].note.as_deref().unwrap().contains("100300"));
        assert_eq!(
            commands(&emulator),
            [
                ("set_callback".to_string(), 100300),
                ("get_callback".to_string(), 0),
                ("update_callback".to_string(), 0),
                ("get_callback".to_string(), 0),
            ]
        );
        assert_eq!(
            emulator.state().apps[&ID].callback,
            Some(body("https://want/hook"))
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lost_answer_is_read_back_and_the_write_sent_again_only_when_needed() {
        use crate::emulator::FaultKind;
        let (emulator, client, credentials) = emulator(Some(body("https://old/hook"))).await;
        let job = job(credentials, Some("https://old/hook"));
        // update_callback: a 502 (not applied), then a stall (applied, answer lost).
        emulator.script_faults([Some(FaultKind::BadGateway), None, Some(FaultKind::Stall)]);
        let client = Client::new(ClientOptions {
            // Cuts off the 30 s stall; long enough for any clean answer on a loaded machine.
            timeout: std::time::Duration::from_secs(2),
            ..client.options().clone()
        })
        .unwrap();
        let outcome = apply_app(&client, &job).await;
        assert!(matches!(outcome.status, Status::Verified), "{outcome:?}");
        assert_eq!(
            outcome.steps[0].note.as_deref(),
            Some(
                "update_callback's answer was lost (network timeout); read back: it had taken effect"
            )
        );
        let seen: Vec<_> = emulator
            .requests()
            .iter()
            .map(|r| (r.command.clone(), r.fault))
            .collect();
        assert_eq!(
            seen,
            [
                ("update_callback".to_string(), Some(FaultKind::BadGateway)),
                ("get_callback".to_string(), None),
                ("update_callback".to_string(), Some(FaultKind::Stall)),
                ("get_callback".to_string(), None),
                ("get_callback".to_string(), None),
            ]
        );
        emulator.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_update_that_meets_100301_creates() {
        // Planned against an existing callback; it was deleted before apply.
        let (emulator, client, credentials) = emulator(None).await;
        let job = job(credentials, Some("https://old/hook"));
        assert_eq!(job.plan.action(), Some(Action::Update));
        let outcome = apply_app(&client, &job).await;
        assert!(matches!(outcome.status, Status::Verified), "{outcome:?}");
        assert!(outcome.steps[0].note.as_deref().unwrap().contains("100301"));
        assert_eq!(
            commands(&emulator),
            [
                ("update_callback".to_string(), 100301),
                ("set_callback".to_string(), 0),
                ("get_callback".to_string(), 0),
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_read_back_that_differs_is_reported_not_verified() {
        let (emulator, client, credentials) = emulator(None).await;
        let mut job = job(credentials, None);
        // Another writer replaces the callback right after ours: simulate by a desired state
        // that the write does not reach (the job's app wants another URL than the plan sends).
        job.app.callback = Some(Managed::Present(body("https://else/hook")));
        let outcome = apply_app(&client, &job).await;
        match outcome.status {
            Status::Unverified(d) => assert_eq!(
                d,
                ["callback url is \"https://want/hook\", not \"https://else/hook\""]
            ),
            other => panic!("expected unverified, got {other:?}"),
        }
        drop(emulator);
    }
}
