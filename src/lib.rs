//! livehook: Terraform-style plan/apply for the webhook configuration of Tencent Cloud Chat live
//! rooms. The library never prints; the binary (`main.rs`) owns presentation and exit codes.

pub mod emulator;
pub mod tim;
