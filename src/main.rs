//! The `livehook` binary: everything lives in the library; this only hands over the process's
//! arguments and streams and turns the outcome into the exit status.

fn main() -> std::process::ExitCode {
    livehook::cli::main(std::env::args_os())
}
