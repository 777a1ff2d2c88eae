//! The command line, as clap derive types. Every flag has a doc comment: it is the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Plan and apply the webhook (callback) configuration of Tencent Cloud Chat live rooms, from YAML
/// kept in git.
#[derive(Debug, Parser)]
#[command(name = "livehook", version, about, max_term_width = 100)]
pub struct Cli {
    /// When to colour output: `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check desired-state files offline: YAML, schema, command words, URLs. Exit 0 valid, 1 not.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the desired-state file.
    Schema,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Desired-state files, or directories of `*.yaml` / `*.yml` files.
    #[arg(value_name = "PATH", default_value = "livehook.yaml")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}
