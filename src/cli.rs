//! Subcommands. Each returns an exit code; none panics on bad input.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::telemetry;
use crate::templates::cli::TemplatesCommand;
use crate::Application;

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
    Run {
        /// Loopback address:port of the embedded default (no configuration),
        /// instead of 127.0.0.1:8080. A configuration sets `server.bind`.
        #[arg(long, value_name = "ADDR")]
        demo_bind: Option<std::net::SocketAddr>,
    },
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
    /// Work on the mail and page templates.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
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
    match cli.command.unwrap_or(Command::Run { demo_bind: None }) {
        Command::Run { demo_bind } => serve(cli.config, demo_bind),
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
        Command::Templates { command } => templates(cli.config.as_deref(), command),
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

/// Templates subcommands use the branding and override directory of `--config`
/// when given, so a designer previews exactly what the deployment will serve.
fn templates(config: Option<&std::path::Path>, command: TemplatesCommand) -> ExitCode {
    let (branding, dir) = match config {
        None => (crate::templates::Branding::default(), None),
        Some(path) => match crate::config::Settings::load(Some(path)) {
            Ok(settings) => (settings.branding, settings.templates_dir),
            Err(problems) => {
                eprint!("{problems}");
                return ExitCode::FAILURE;
            }
        },
    };
    crate::templates::cli::run(command, branding, dir)
}

/// `otp-sidecar run`: JSON logs on stdout, serve until SIGTERM/SIGINT.
fn serve(config: Option<PathBuf>, demo_bind: Option<std::net::SocketAddr>) -> ExitCode {
    if let Err(e) = telemetry::init(telemetry::subscriber("info", std::io::stdout)) {
        eprintln!("otp-sidecar: cannot install the log subscriber: {e}");
        return ExitCode::FAILURE;
    }
    let settings = match Settings::load(config.as_deref()) {
        Ok(settings) => settings,
        Err(errors) => {
            eprintln!("otp-sidecar: the configuration has problems:\n{errors}");
            return ExitCode::FAILURE;
        }
    };
    let settings = match demo_bind {
        None => settings,
        Some(bind) if settings.embedded && bind.ip().is_loopback() => Settings::embedded_at(bind),
        Some(bind) if settings.embedded => {
            eprintln!("otp-sidecar: --demo-bind {bind}: the embedded default listens on a loopback address only");
            return ExitCode::FAILURE;
        }
        Some(_) => {
            eprintln!("otp-sidecar: --demo-bind applies to the embedded default only; with a configuration, set server.bind");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("otp-sidecar: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let embedded = settings.embedded;
        let app = match Application::build(settings).await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!(error = %e, "startup failed");
                eprintln!("otp-sidecar: {e}");
                return ExitCode::FAILURE;
            }
        };
        telemetry::announce_listening(app.local_addr(), app.public_url(), embedded);
        let public_url = app.public_url().to_string();
        if embedded {
            eprintln!(
                "otp-sidecar: embedded default (in-memory store, outbox, ephemeral keys).\n  \
                 demo:   {public_url}demo\n  outbox: {public_url}dev/outbox"
            );
        }
        match app.run_until_stopped().await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                ExitCode::FAILURE
            }
        }
    })
}
