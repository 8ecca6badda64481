//! otp-sidecar: an email one-time-code step for Keycloak.
//!
//! Keycloak hands the browser over with a signed request JWT; we mail a code,
//! keep its MAC in a store with a TTL and a one-use guarantee, and hand the
//! browser back with a signed assertion JWT. See `docs/protocol.md`.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod challenge;
pub mod cli;
pub mod config;
pub mod lint;
pub mod templates;
pub mod tokens;
