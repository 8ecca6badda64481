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
    /// Check what an operator wrote.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate FILE plus any OTP_SIDECAR__* overrides; print every problem (exit 1) or a summary.
    Check { file: PathBuf },
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            eprintln!("otp-sidecar: not built yet");
            ExitCode::FAILURE
        }
        Command::Config {
            action: ConfigCommand::Check { file },
        } => config_check(&file),
    }
}

fn config_check(file: &std::path::Path) -> ExitCode {
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    match crate::config::check_file(file, &env) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprint!("{problems}");
            ExitCode::FAILURE
        }
    }
}
