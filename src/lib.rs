//! livehook: Terraform-style plan/apply for the webhook configuration of Tencent Cloud Chat live
//! rooms. `ARCHITECTURE.md` at the repository root maps these modules.
//!
//! The modules below know nothing of terminals; `cli` is the one place that parses arguments,
//! writes to the streams it is handed and decides the exit code.

/// Sends each app's planned calls, converges where the API allows, reads back and verifies.
pub mod apply;
/// Writes a file so that a crash leaves the old content or the new, never a mix.
pub mod atomic_file;
/// Parses arguments, runs a command, presents its result: the only module that prints.
pub mod cli;
/// Loads and validates desired-state files into resolved apps, with file:line:col diagnostics.
pub mod config;
/// Resolves each app's target, secret key and token value from the environment, up front.
pub mod credentials;
/// A local server that behaves like Tencent's `live_config` API, with fault injection.
pub mod emulator;
/// Turns the live state into a desired-state file that plans back to no changes.
pub mod export;
/// Bounded, order-keeping concurrency across apps, shared by reads and writes.
pub mod fanout;
/// Decides, from live and desired state, the exact calls that reconcile them; saved plans.
pub mod plan;
/// Sends each callback URL one request as Tencent would, and judges the answer as Tencent does.
pub mod probe;
/// Plan and apply reports as text, JSON, markdown and GitHub annotations.
pub mod render;
/// Tencent Cloud Chat's REST protocol: wire types, error table, UserSig, regions, the client.
pub mod tim;
/// Which endpoints may be sent an admin UserSig: Tencent's domains, loopback, what the user allows.
pub mod trusted_endpoints;

#[cfg(test)]
mod test_ports;
