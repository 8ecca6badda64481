//! `return_uri`: first line the configured issuer, the rest the raw URI.
//! Whatever is accepted is the issuer's action URL; the issuer's own action
//! URL with the rest as a URL-safe query is never refused.
#![no_main]

#[path = "../../tests/fuzz/oracle.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oracle::check_return_uri_bytes(data));
