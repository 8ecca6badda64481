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
    /// Work on the mail and page templates.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Parse every template and message file (built-ins merged with DIR), render
    /// each with sample data in every locale, report every problem; exit 1 on any.
    Check {
        /// Override directory (any subset of the built-in files).
        dir: Option<PathBuf>,
    },
    /// Serve a live gallery of every mail and page in every locale, reloaded
    /// when a file in DIR changes.
    Preview {
        dir: Option<PathBuf>,
        /// Loopback address to serve on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        bind: std::net::SocketAddr,
    },
    /// Render every sample of every template in every locale to files under OUT.
    Render {
        dir: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            eprintln!("otp-sidecar: not built yet");
            ExitCode::FAILURE
        }
        Command::Templates { command } => {
            if cli.config.is_some() {
                eprintln!(
                    "otp-sidecar templates: --config is not read yet; using the default branding"
                );
            }
            crate::templates::cli::run(command, crate::templates::Branding::default(), None)
        }
    }
}
