//! The configuration loader: the TOML file's text, then after a NUL byte
//! `NAME=VALUE` lines taken as `OTP_SIDECAR__NAME` variables.
#![no_main]

#[path = "../../tests/fuzz/oracle.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oracle::check_config_bytes(data));
