//! `otp-sidecar` command line: run the service, or check what an operator or designer wrote.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    otp_sidecar::cli::run(otp_sidecar::cli::Cli::parse())
}
