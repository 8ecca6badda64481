//! Rendering with hostile user data. The input, split at NUL bytes: locale,
//! name, email, client id, app name, masked email, form field name and value,
//! form action; the first byte of the input also picks the page, the notice
//! and the delivery state.
#![no_main]

#[path = "../../tests/fuzz/oracle.rs"]
mod oracle;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static ORACLE: OnceLock<oracle::TemplateOracle> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    ORACLE
        .get_or_init(|| oracle::TemplateOracle::new("Acme Sign-in"))
        .check_bytes(data);
});
