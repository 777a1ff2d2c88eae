//! Integration tests: one binary (so it links once) with a module per concern. They run the real
//! `livehook` binary and, where a server is needed, the emulator in-process on 127.0.0.1:0.

mod ci_formats;
mod emulator;
mod fuzz_regressions;
mod plan;
mod properties;
mod support;
