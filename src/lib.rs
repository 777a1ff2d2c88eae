//! livehook: Terraform-style plan/apply for the webhook configuration of Tencent Cloud Chat live
//! rooms.
//!
//! The modules below know nothing of terminals; `cli` is the one place that parses arguments,
//! writes to the streams it is handed and decides the exit code.

pub mod apply;
pub mod atomic_file;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod emulator;
pub mod export;
pub mod fanout;
pub mod plan;
pub mod render;
pub mod tim;
