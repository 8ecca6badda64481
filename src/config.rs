//! Configuration: raw TOML + `OTP_SIDECAR__SECTION__KEY` overrides ->
//! validated [`Settings`]. Every problem is reported at once, with its key path.
//!
//! SEAM (owned by the config/tokens work): field names below are used by the
//! rest of the service; extend, do not rename.
use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use url::Url;

use crate::templates::Branding;
use crate::tokens::Issuer;

/// Validated settings. Constructed only by [`Settings::load`] / [`Settings::embedded`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub mail: MailSettings,
    pub realms: Vec<RealmSettings>,
    pub signing: SigningSettings,
    pub secrets: SecretsSettings,
    pub otp: OtpSettings,
    pub branding: Branding,
    /// `[apps]`: client id -> display name shown in mails and pages.
    pub apps: std::collections::BTreeMap<String, String>,
    /// `[templates] dir`: override directory.
    pub templates_dir: Option<PathBuf>,
    /// True when no configuration was given at all (the `cargo run` default).
    pub embedded: bool,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// The sidecar's issuer and link base, without trailing slash.
    pub public_url: Url,
    /// Cookies get `Secure` unless public_url is http on loopback.
    pub secure_cookies: bool,
}

#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// `None`: in-memory store (loopback only).
    pub redis_url: Option<SecretString>,
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: mails go to the local outbox (embedded default only).
    pub smtp_url: Option<SecretString>,
    pub from: String,
    /// Seconds for connect + each SMTP command.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone)]
pub struct RealmSettings {
    pub issuer: Issuer,
    /// Default `{issuer}/protocol/openid-connect/certs`.
    pub jwks_uri: Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    Es256,
    EdDsa,
    Rs256,
}

#[derive(Debug, Clone)]
pub struct SigningSettings {
    /// `None`: ephemeral key (loopback only).
    pub key_file: Option<PathBuf>,
    /// Previous public/private keys still published in the JWKS during rotation.
    pub previous_key_files: Vec<PathBuf>,
    pub algorithm: SigningAlgorithm,
    /// `aud` the request JWT must carry (default `otp-sidecar`).
    pub audience: String,
}

#[derive(Debug, Clone)]
pub struct SecretsSettings {
    /// `None` only with the in-memory store: a random pepper per process.
    pub pepper_file: Option<PathBuf>,
}

/// Bounds and defaults of the code policy; a request's `otp` object is clamped to them.
#[derive(Debug, Clone)]
pub struct OtpSettings {
    pub length: Bound<u8>,
    pub ttl_secs: Bound<u64>,
    pub max_attempts: Bound<u32>,
    pub resend_cooldown_secs: Bound<u64>,
    pub max_resends: Bound<u32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Bound<T> {
    pub default: T,
    pub min: T,
    pub max: T,
}
