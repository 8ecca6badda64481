//! Configuration: raw TOML + `OTP_SIDECAR__SECTION__KEY` overrides ->
//! validated [`Settings`]. Every problem is reported at once, with its key path.
//!
//! Loading is a walk over the TOML tree rather than one serde pass, because
//! serde stops at the first problem and an operator should see all of them.
//! The walk knows every section's keys (so unknown keys are errors, with the
//! closest valid key suggested), every value's type and bounds, and then
//! refuses unsafe combinations.//!
//! * [`walk`]: the raw walk: TOML and environment overrides merged, typed
//!   reads with key paths and origins, unknown keys;
//! * [`sections`]: each section's keys, values and bounds;
//! * [`rules`]: combinations that are only safe on loopback;
//! * [`values`]: [`SmtpUrl`], parsed once from `mail.smtp_url` (the store's
//!   [`RedisUrl`] lives beside the store).
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use url::Url;

use crate::challenge::Pepper;
use crate::templates::{Branding, RealmBranding};
use crate::tokens::Issuer;

mod rules;
mod sections;
mod values;
mod walk;

pub use crate::challenge::RedisUrl;
/// The `[[realms]]` and `[signing]` sections are the tokens side's own types;
/// configuration builds them. New code names them by their `crate::tokens` path.
pub use crate::tokens::{RealmSettings, SigningAlgorithm, SigningSettings};
pub use values::{SmtpSecurity, SmtpUrl};
use walk::Walk;

/// Validated settings, built by [`Settings::load`] or [`Settings::embedded`].
///
/// The fields are public so that tests and start-up can adjust a loaded value.
/// Every value that came from a string is held parsed ([`RedisUrl`],
/// [`SmtpUrl`], [`Pepper`], [`Rgb`], [`Issuer`], `Url`), so a hand-made
/// `Settings` cannot carry an unparsed or malformed one. The cross-field rules
/// (what is only safe on loopback) are checked by `load`;
/// `Application::build_on` repeats the ones that guard a public bind.
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
    /// `[realms.branding]` by realm issuer: what a realm's sign-ins are shown with.
    pub realm_branding: BTreeMap<String, RealmBranding>,
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
    /// The sidecar's issuer and link base, without trailing slash. Port 0
    /// only when derived from a loopback `bind` with port 0: start-up puts
    /// in the port actually bound ([`ServerSettings::bound_at`]).
    pub public_url: Url,
    /// Cookies get `Secure` unless public_url is http on loopback.
    pub secure_cookies: bool,
    /// Seconds a request has to deliver its whole body, counted from its
    /// headers; a slower client gets 408 and its connection is closed.
    pub body_timeout_secs: u64,
    /// Open connections one peer address may hold; 0: no cap.
    pub max_connections_per_client: u32,
}

impl ServerSettings {
    /// These settings once listening on `local`: a public URL of port 0
    /// (derived from a `bind` with port 0; configuration refuses one given
    /// explicitly) gets the port actually bound. Anything else stays as is.
    pub fn bound_at(&mut self, local: SocketAddr) {
        if self.public_url.port() == Some(0) {
            // An http(s) URL with a host always takes a port.
            let _ = self.public_url.set_port(Some(local.port()));
        }
    }
}

/// Default of `server.body_timeout_secs`.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 10;
/// Largest `server.body_timeout_secs`.
pub const MAX_BODY_TIMEOUT_SECS: u64 = 120;
/// Default of `server.max_connections_per_client`.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: u32 = 256;
/// Largest `server.max_connections_per_client`.
pub const MAX_CONNECTIONS_PER_CLIENT: u32 = 10_000;

#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// `None`: in-memory store (loopback only).
    pub redis_url: Option<RedisUrl>,
    /// Replicas that must acknowledge a consuming write; `None`: the
    /// topology's default (1 for Sentinel and Cluster, 0 for one server).
    pub min_replicas_ack: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: mails go to the local outbox (loopback bind only).
    pub smtp_url: Option<SmtpUrl>,
    pub from: String,
    /// Seconds for connect + each SMTP command.
    pub timeout_secs: u64,
    /// Retries and send limits.
    pub delivery: MailDelivery,
}

/// The `[mail]` keys for retries and send limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailDelivery {
    /// Transient failures are retried for at most this long.
    pub retry_for_secs: u64,
    /// At most this many mails to one address per window,
    /// and this many mails in all per window.
    pub per_address_max: u32,
    pub per_address_window_secs: u64,
    pub global_max: u32,
    pub global_window_secs: u64,
}

/// `[mail]` delivery defaults: retries and send limits (docs/configuration.md).
pub const MAIL_DELIVERY_DEFAULTS: MailDelivery = MailDelivery {
    retry_for_secs: 60,
    per_address_max: 10,
    per_address_window_secs: 900,
    global_max: 6000,
    global_window_secs: 60,
};

#[derive(Debug, Clone)]
pub struct SecretsSettings {
    /// The pepper read from `pepper_file`, length-checked. `None` only with
    /// the in-memory store: a random pepper per process.
    pub pepper: Option<Pepper>,
}

/// Bounds and defaults of the code policy; a request's `otp` object is clamped to them.
#[derive(Debug, Clone)]
pub struct OtpSettings {
    pub length: Bound<u8>,
    pub ttl_secs: Bound<u64>,
    pub max_attempts: Bound<u32>,
    pub resend_cooldown_secs: Bound<u64>,
    pub max_resends: Bound<u32>,
    /// Per-user budget across challenges (operator-only; a request cannot change it).
    pub user: UserBudget,
}

/// `[otp] user_max_failures`, `user_max_challenges`, `user_window`: what one
/// user (realm issuer + subject) may spend across all challenges in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserBudget {
    /// Wrong codes per window; once spent, every challenge of the user is `locked`.
    pub max_failures: u32,
    /// New challenges (code mails) per window.
    pub max_challenges: u32,
    pub window_secs: u64,
}

/// Defaults of [`UserBudget`].
pub const USER_BUDGET_DEFAULT: UserBudget = UserBudget {
    max_failures: 10,
    max_challenges: 10,
    window_secs: 3600,
};

#[derive(Debug, Clone, Copy)]
pub struct Bound<T> {
    pub default: T,
    pub min: T,
    pub max: T,
}

/// Prefix of environment overrides: `OTP_SIDECAR__SERVER__BIND` -> `server.bind`.
pub const ENV_PREFIX: &str = "OTP_SIDECAR__";
/// Address of the embedded default, and the default of `server.bind`.
pub const EMBEDDED_BIND: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    8080,
));
/// Default `aud` of request JWTs.
pub const DEFAULT_AUDIENCE: &str = "otp-sidecar";

/// Hard limits of the code policy; `[otp]` may narrow them, never widen them.
pub const OTP_LIMITS: OtpSettings = OtpSettings {
    length: Bound {
        default: 6,
        min: 4,
        max: 10,
    },
    ttl_secs: Bound {
        default: 300,
        min: 60,
        max: 600,
    },
    max_attempts: Bound {
        default: 5,
        min: 1,
        max: 10,
    },
    resend_cooldown_secs: Bound {
        default: 30,
        min: 0,
        max: 600,
    },
    max_resends: Bound {
        default: 3,
        min: 0,
        max: 10,
    },
    user: USER_BUDGET_DEFAULT,
};

/// One configuration problem: the key, what was found, what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path, e.g. `realms[1].issuer`.
    pub key: String,
    /// What is wrong and what was expected instead.
    pub message: String,
    /// Where the value came from: the file, or the environment variable.
    pub origin: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)?;
        if let Some(origin) = &self.origin {
            write!(f, " [{origin}]")?;
        }
        Ok(())
    }
}

/// Every problem found, in file order as far as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} configuration problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Settings {
    /// `--config FILE` (if any) plus `OTP_SIDECAR__*` variables of the process.
    /// Neither present: the embedded default.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigErrors> {
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::load_with_env(path, &env)
    }

    /// As [`Self::load`] with the environment given (variables without the
    /// `OTP_SIDECAR__` prefix are ignored), so tests need not touch the process env.
    pub fn load_with_env(
        path: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigErrors> {
        let read = path.map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read ({e})"));
            (p, text)
        });
        let file = read
            .as_ref()
            .map(|(p, text)| (*p, text.as_deref().map_err(String::as_str)));
        Self::merge(file, env)
    }

    /// As [`Self::load_with_env`] with the file's text already read; `path`
    /// only names the file in errors and origins.
    pub fn from_toml_text(
        path: &Path,
        text: &str,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigErrors> {
        Self::merge(Some((path, Ok(text))), env)
    }

    fn merge(
        file: Option<(&Path, Result<&str, &str>)>,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigErrors> {
        let overrides: Vec<(&str, &str)> = env
            .iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if file.is_none() && overrides.is_empty() {
            return Ok(Self::embedded());
        }
        let mut walk = Walk::new(file.map(|(p, _)| p));
        let mut root = toml::Table::new();
        if let Some((path, text)) = file {
            match text {
                Ok(text) => match text.parse::<toml::Table>() {
                    Ok(table) => root = table,
                    Err(e) => walk.file_error(path, toml_problem(&e)),
                },
                Err(e) => walk.file_error(path, e),
            }
        }
        let file_unusable = !walk.errors.is_empty();
        for (name, value) in overrides {
            walk.apply_env(&mut root, name, value);
        }
        if file_unusable {
            // Walking an empty tree would only add noise ("realms missing").
            return Err(ConfigErrors(walk.errors));
        }
        // `settings` gives `Some` exactly when nothing was reported.
        walk.settings(&root).ok_or(ConfigErrors(walk.errors))
    }

    /// The `cargo run` default: loopback, in-memory store, outbox, ephemeral
    /// ES256 key. No realm here: start-up adds the demo realm the sidecar
    /// serves itself (`add_demo_realm` in `src/lib.rs`), at the URL it really
    /// listens on.
    pub fn embedded() -> Settings {
        Self::embedded_at(EMBEDDED_BIND)
    }

    /// The embedded default on another loopback address (`--demo-bind`;
    /// port 0 picks a free port, which the public URL follows at start-up).
    pub fn embedded_at(bind: SocketAddr) -> Settings {
        let public_url = loopback_url(bind);
        Settings {
            server: ServerSettings {
                bind,
                public_url,
                secure_cookies: false,
                body_timeout_secs: DEFAULT_BODY_TIMEOUT_SECS,
                max_connections_per_client: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            },
            store: StoreSettings {
                redis_url: None,
                min_replicas_ack: None,
            },
            mail: MailSettings {
                smtp_url: None,
                from: DEFAULT_FROM.into(),
                timeout_secs: DEFAULT_MAIL_TIMEOUT_SECS,
                delivery: MAIL_DELIVERY_DEFAULTS,
            },
            realms: Vec::new(),
            signing: SigningSettings {
                key_file: None,
                previous_key_files: Vec::new(),
                algorithm: SigningAlgorithm::Es256,
                audience: DEFAULT_AUDIENCE.into(),
            },
            secrets: SecretsSettings { pepper: None },
            otp: OTP_LIMITS,
            branding: Branding::default(),
            realm_branding: BTreeMap::new(),
            apps: BTreeMap::new(),
            templates_dir: None,
            embedded: true,
        }
    }
}

/// "not valid TOML at line L, column C: what", on one line.
fn toml_problem(e: &toml::de::Error) -> String {
    let what = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    // The parser's own position, as it prints it: "TOML parse error at line 1, column 7".
    let full = e.to_string();
    match full
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("TOML parse error at "))
    {
        Some(at) => format!("not valid TOML at {at}: {what}"),
        None => format!("not valid TOML: {what}"),
    }
}

const DEFAULT_FROM: &str = "Sign-in <no-reply@localhost>";
const DEFAULT_MAIL_TIMEOUT_SECS: u64 = 10;
const MAX_MAIL_TIMEOUT_SECS: u64 = 120;

#[allow(clippy::expect_used)]
fn loopback_url(bind: SocketAddr) -> Url {
    // A SocketAddr always prints as a valid authority (IPv6 in brackets).
    Url::parse(&format!("http://{bind}")).expect("http://{socket address} is a valid URL")
}

impl Settings {
    /// A short summary for `config check` and the start-up log; never a secret.
    pub fn summary(&self) -> String {
        let store = match &self.store.redis_url {
            Some(u) => format!(
                "redis {u} (min_replicas_ack {})",
                self.store
                    .min_replicas_ack
                    .unwrap_or_else(|| crate::challenge::default_min_replicas_ack(u))
            ),
            None => "in-memory".into(),
        };
        let mail = match &self.mail.smtp_url {
            Some(u) => format!("smtp {u}"),
            None => "outbox".into(),
        };
        let key = match &self.signing.key_file {
            Some(p) => format!("{} key {}", self.signing.algorithm, p.display()),
            None => format!("ephemeral {} key", self.signing.algorithm),
        };
        let realms: Vec<&str> = self.realms.iter().map(|r| r.issuer.as_str()).collect();
        format!(
            "bind {}, public_url {}{}, store {store}, mail {mail}, {key} (+{} previous), realms [{}], audience {}",
            self.server.bind,
            self.server.public_url,
            if self.server.public_url.port() == Some(0) {
                " (port 0: the port bound at start-up)"
            } else {
                ""
            },
            self.signing.previous_key_files.len(),
            realms.join(", "),
            self.signing.audience,
        )
    }
}

/// `otp-sidecar config check FILE`: the file plus the process's
/// `OTP_SIDECAR__*` overrides. Returns the text to print and whether it is valid.
pub fn check_file(path: &Path, env: &[(String, String)]) -> Result<String, String> {
    let overrides = env
        .iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .count();
    let with_env = match overrides {
        0 => String::new(),
        n => format!(
            " with {n} OTP_SIDECAR__* override{}",
            if n == 1 { "" } else { "s" }
        ),
    };
    match Settings::load_with_env(Some(path), env) {
        Ok(s) => Ok(format!(
            "ok: {}{with_env}\n  {}\n",
            path.display(),
            s.summary()
        )),
        Err(errors) => Err(format!("{}{with_env}: {errors}", path.display())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
