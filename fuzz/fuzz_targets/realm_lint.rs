//! The realm linter: first byte picks the file name (JSON, YAML, no
//! extension), the rest is the file.
#![no_main]

#[path = "../../tests/fuzz/oracle.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oracle::check_lint_bytes(data));
