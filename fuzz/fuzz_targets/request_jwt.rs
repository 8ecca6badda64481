//! Request JWT verification. First byte: 0 = the rest is the token as text;
//! 1 (realm RS256), 2 (realm ES256), 3 (HS256 keyed with the realm's public
//! key) = header JSON, NUL, payload JSON, signed so; a second NUL and bytes
//! after it replace the signature.
#![no_main]

#[path = "../../tests/fuzz/oracle.rs"]
mod oracle;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static ORACLE: OnceLock<oracle::RequestOracle> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    ORACLE
        .get_or_init(oracle::RequestOracle::new)
        .check_bytes(data);
});
