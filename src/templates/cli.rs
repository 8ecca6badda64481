//! `otp-sidecar templates check | preview | render`.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::gallery::Gallery;
use super::{check, preview, Branding};
use clap::Subcommand;

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

/// Run a templates subcommand. `default_dir` is `[templates] dir` from the
/// configuration, used when no DIR is given.
pub fn run(
    command: TemplatesCommand,
    branding: Branding,
    default_dir: Option<PathBuf>,
) -> ExitCode {
    match command {
        TemplatesCommand::Check { dir } => {
            let dir = dir.or(default_dir);
            run_check(dir.as_deref(), &branding)
        }
        TemplatesCommand::Preview { dir, bind } => {
            let dir = dir.or(default_dir);
            match preview::serve(dir, branding, bind) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("otp-sidecar templates preview: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        TemplatesCommand::Render { dir, out } => {
            let dir = dir.or(default_dir);
            run_render(dir.as_deref(), &branding, &out)
        }
    }
}

fn run_check(dir: Option<&Path>, branding: &Branding) -> ExitCode {
    let problems = check::check(dir, branding);
    let source = dir
        .map(|d| format!("built-ins + {}", d.display()))
        .unwrap_or_else(|| "built-ins".into());
    if problems.is_empty() {
        println!("templates ok ({source})");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            println!("{p}");
        }
        eprintln!(
            "{} problem{} in the templates ({source})",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        ExitCode::FAILURE
    }
}

fn run_render(dir: Option<&Path>, branding: &Branding, out: &Path) -> ExitCode {
    let gallery = match Gallery::load(dir, branding.clone()) {
        Ok(g) => g,
        Err(problems) => {
            for p in &problems {
                println!("{p}");
            }
            eprintln!("not rendering: fix the problems above first");
            return ExitCode::FAILURE;
        }
    };
    match gallery.write_to(out) {
        Ok(count) => {
            println!("{count} files written under {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("writing under {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}
