//! The bounded fuzz run of `make test`: property-based (proptest), over the
//! inputs an attacker or a careless operator controls. The properties live in
//! `oracle.rs`, shared with the coverage-guided targets under `fuzz/`
//! (`make fuzz`, docs/testing.md).
//!
//! `PROPTEST_CASES` overrides every property's case count (a longer run:
//! `PROPTEST_CASES=20000 cargo test --test fuzz --release`). Failing cases are
//! kept, shrunk, in `tests/fuzz/proptest-regressions/` and replayed first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod oracle;

mod config;
mod corpus;
mod lint;
mod request;
mod return_uri;
mod strategies;
mod templates;

/// `PROPTEST_CASES` when set, else this property's own count.
pub fn cases(default: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fuzz/proptest-regressions.txt"
            )),
        )),
        ..proptest::test_runner::Config::default()
    }
}
