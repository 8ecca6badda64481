//! Subcommands. Each returns an exit code; none panics on bad input.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "otp-sidecar",
    version,
    about = "Email one-time-code step for Keycloak"
)]
pub struct Cli {
    /// Configuration file (TOML). Without it, and without OTP_SIDECAR__* variables,
    /// the embedded default runs on loopback.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Run,
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            eprintln!("otp-sidecar: not built yet");
            ExitCode::FAILURE
        }
    }
}
