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
    /// Work with Keycloak realm files.
    Realm {
        #[command(subcommand)]
        command: RealmCommand,
    },
    /// Check what an operator wrote.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RealmCommand {
    /// Check realm export JSON and keycloak-config-cli YAML for OTP-policy traps
    /// and a mis-wired otp-sidecar flow. Exit 1 on errors, 2 on unreadable input.
    Lint {
        /// Realm files (.json, .yaml, .yml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: crate::lint::report::OutputFormat,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        strict: bool,
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
        Command::Realm {
            command:
                RealmCommand::Lint {
                    files,
                    format,
                    strict,
                },
        } => ExitCode::from(crate::lint::run(&files, format, strict)),
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
