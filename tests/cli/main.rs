//! Integration tests: one binary (so it links once) with a module per concern. They run the real
//! `livehook` binary and, where a server is needed, the emulator in-process on 127.0.0.1:0.

mod alloc_budget;
mod answer_tampering;
mod apply;
mod ci_formats;
mod durability;
mod emulator;
mod emulator_cli;
mod export;
mod fuzz_regressions;
mod github_action;
mod hostile_input;
mod hostile_output;
mod plan;
mod probe;
mod probe_receiver;
mod prompt;
mod properties;
mod proxy;
mod rate_limit;
mod retry_budget;
mod saved_plan_forgery;
mod secrets;
mod snapshot_audit;
mod soak;
mod soak_scenario;
mod support;
mod tls;
mod token;
mod trusted_endpoints;
mod url_secrets;
mod usage;
mod validate;
mod write_safety;
