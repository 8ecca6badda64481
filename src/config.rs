//! Configuration: raw TOML + `OTP_SIDECAR__SECTION__KEY` overrides ->
//! validated [`Settings`]. Every problem is reported at once, with its key path.
//!
//! Loading is a walk over the TOML tree rather than one serde pass, because
//! serde stops at the first problem and an operator should see all of them.
//! The walk knows every section's keys (so unknown keys are errors, with the
//! closest valid key suggested), every value's type and bounds, and then
//! refuses unsafe combinations.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use toml::Value;
use url::Url;

use crate::challenge::{Pepper, PepperError, MIN_PEPPER_LEN};
use crate::net::is_loopback_host;
use crate::templates::brand::Rgb;
use crate::templates::Branding;
use crate::tokens::Issuer;

mod values;
use values::redact;
pub use values::{RedisUrl, SmtpSecurity, SmtpUrl, ValueError};

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
    pub redis_url: Option<RedisUrl>,
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: mails go to the local outbox (loopback bind only).
    pub smtp_url: Option<SmtpUrl>,
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
/// Path of the demo realm below the sidecar's public URL (embedded default).
pub const DEMO_REALM_PATH: &str = "/demo/realms/demo";
/// Address of the embedded default.
pub const EMBEDDED_BIND: &str = "127.0.0.1:8080";
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
        let overrides: Vec<(&str, &str)> = env
            .iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if path.is_none() && overrides.is_empty() {
            return Ok(Self::embedded());
        }
        let mut walk = Walk::new(path);
        let mut root = toml::Table::new();
        if let Some(path) = path {
            match std::fs::read_to_string(path) {
                Ok(text) => match text.parse::<toml::Table>() {
                    Ok(table) => root = table,
                    Err(e) => walk.error(
                        "--config",
                        format!(
                            "{} is not valid TOML: {}",
                            path.display(),
                            e.to_string().trim()
                        ),
                    ),
                },
                Err(e) => walk.error("--config", format!("cannot read {}: {e}", path.display())),
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
        let settings = walk.settings(&root);
        match settings {
            Some(s) if walk.errors.is_empty() => Ok(s),
            _ => Err(ConfigErrors(walk.errors)),
        }
    }

    /// The `cargo run` default: loopback, in-memory store, outbox, ephemeral
    /// ES256 key and the demo realm the sidecar serves itself.
    pub fn embedded() -> Settings {
        let bind = SocketAddr::from(([127, 0, 0, 1], 8080));
        Self::embedded_at(bind)
    }

    /// The embedded default on another loopback address (tests bind a free port
    /// first, then pass its address here so the demo realm's issuer matches).
    pub fn embedded_at(bind: SocketAddr) -> Settings {
        let public_url = loopback_url(bind);
        let issuer = demo_issuer(&public_url);
        let jwks_uri = default_jwks_uri(&issuer);
        Settings {
            server: ServerSettings {
                bind,
                public_url,
                secure_cookies: false,
            },
            store: StoreSettings { redis_url: None },
            mail: MailSettings {
                smtp_url: None,
                from: DEFAULT_FROM.into(),
                timeout_secs: DEFAULT_MAIL_TIMEOUT_SECS,
            },
            realms: vec![RealmSettings { issuer, jwks_uri }],
            signing: SigningSettings {
                key_file: None,
                previous_key_files: Vec::new(),
                algorithm: SigningAlgorithm::Es256,
                audience: DEFAULT_AUDIENCE.into(),
            },
            secrets: SecretsSettings { pepper: None },
            otp: OTP_LIMITS,
            branding: Branding::default(),
            apps: BTreeMap::new(),
            templates_dir: None,
            embedded: true,
        }
    }

    /// The public URL without trailing slash, as the assertion `iss`.
    pub fn issuer(&self) -> &str {
        self.server.public_url.as_str().trim_end_matches('/')
    }
}

impl<T: Copy + PartialOrd> Bound<T> {
    /// `requested` limited to `min..=max`; `None` gives the default.
    pub fn clamp(&self, requested: Option<T>) -> T {
        match requested {
            None => self.default,
            Some(v) if v < self.min => self.min,
            Some(v) if v > self.max => self.max,
            Some(v) => v,
        }
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

fn demo_issuer(public_url: &Url) -> Issuer {
    let base = public_url.path().trim_end_matches('/');
    Issuer::with_path(public_url, &format!("{base}{DEMO_REALM_PATH}"))
}

fn default_jwks_uri(issuer: &Issuer) -> Url {
    let mut url = issuer.url().clone();
    let path = format!(
        "{}/protocol/openid-connect/certs",
        url.path().trim_end_matches('/')
    );
    url.set_path(&path);
    url
}

fn url_is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(is_loopback_host)
}

/// Every key the walk knows, by section, for "unknown key" suggestions.
const TOP_KEYS: &[&str] = &[
    "server",
    "store",
    "mail",
    "realms",
    "signing",
    "secrets",
    "otp",
    "branding",
    "apps",
    "templates",
];
const SERVER_KEYS: &[&str] = &["bind", "public_url"];
const STORE_KEYS: &[&str] = &["redis_url", "redis_plaintext"];
const MAIL_KEYS: &[&str] = &["smtp_url", "from", "timeout_secs"];
const REALM_KEYS: &[&str] = &["issuer", "jwks_uri", "jwks_plain_http"];
const SIGNING_KEYS: &[&str] = &["key_file", "previous_key_files", "algorithm", "audience"];
const SECRETS_KEYS: &[&str] = &["pepper_file"];
const OTP_KEYS: &[&str] = &[
    "length",
    "ttl",
    "max_attempts",
    "resend_cooldown",
    "max_resends",
    "user_max_failures",
    "user_max_challenges",
    "user_window",
];
const BOUND_KEYS: &[&str] = &["default", "min", "max"];
const BRANDING_KEYS: &[&str] = &["product_name", "logo_url", "primary_color"];
const TEMPLATES_KEYS: &[&str] = &["dir"];

/// Collects errors while walking the merged TOML tree.
struct Walk {
    file: Option<PathBuf>,
    /// Paths set from the environment, with the variable that set them.
    env_paths: BTreeMap<String, String>,
    errors: Vec<ConfigError>,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

impl Walk {
    fn new(file: Option<&Path>) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            env_paths: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    fn origin(&self, key: &str) -> Option<String> {
        // The variable that set this key or a table containing it.
        let mut probe = key.to_string();
        loop {
            if let Some(var) = self.env_paths.get(&probe) {
                return Some(format!("environment variable {var}"));
            }
            match probe.rfind(['.', '[']) {
                Some(i) => probe.truncate(i),
                None => break,
            }
        }
        self.file.as_ref().map(|f| f.display().to_string())
    }

    fn set_by_env(&self, key: &str) -> bool {
        self.env_paths.contains_key(key)
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        let origin = if key == "--config" {
            None
        } else {
            self.origin(key)
        };
        self.errors.push(ConfigError {
            key: key.to_string(),
            message: message.into(),
            origin,
        });
    }

    fn found(&mut self, key: &str, found: impl fmt::Display, expected: impl fmt::Display) {
        self.error(key, format!("found {found}, expected {expected}"));
    }

    /// `OTP_SIDECAR__A__B=v` sets `a.b`. Values starting with `[` or `{` are
    /// TOML arrays or inline tables; everything else is text, converted to the
    /// key's type when the key is read.
    fn apply_env(&mut self, root: &mut toml::Table, name: &str, raw: &str) {
        let rest = &name[ENV_PREFIX.len()..];
        let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if segments.iter().any(String::is_empty) {
            self.errors.push(ConfigError {
                key: name.to_string(),
                message: "found an empty segment, expected OTP_SIDECAR__SECTION__KEY".into(),
                origin: Some(format!("environment variable {name}")),
            });
            return;
        }
        let value = if raw.trim_start().starts_with(['[', '{']) {
            match format!("v = {raw}").parse::<toml::Table>() {
                Ok(mut t) => t.remove("v").unwrap_or(Value::String(raw.to_string())),
                Err(e) => {
                    self.errors.push(ConfigError {
                        key: segments.join("."),
                        message: format!(
                            "found a value starting with [ or {{ that is not a TOML array or inline table ({})",
                            e.to_string().lines().next().unwrap_or_default()
                        ),
                        origin: Some(format!("environment variable {name}")),
                    });
                    return;
                }
            }
        } else {
            Value::String(raw.to_string())
        };
        let path = segments.join(".");
        let mut table = root;
        for (i, seg) in segments.iter().enumerate() {
            if i + 1 == segments.len() {
                table.insert(seg.clone(), value);
                self.env_paths.insert(path, name.to_string());
                return;
            }
            let entry = table
                .entry(seg.clone())
                .or_insert_with(|| Value::Table(toml::Table::new()));
            match entry {
                Value::Table(t) => table = t,
                other => {
                    let at = segments[..=i].join(".");
                    let found = type_name(other);
                    self.errors.push(ConfigError {
                        key: path.clone(),
                        message: format!("cannot override: {at} is {found}, not a table"),
                        origin: Some(format!("environment variable {name}")),
                    });
                    return;
                }
            }
        }
    }

    /// The table at `key`, reporting unknown keys (with a suggestion).
    fn table<'a>(&mut self, key: &str, v: &'a Value, known: &[&str]) -> Option<&'a toml::Table> {
        let Value::Table(t) = v else {
            self.found(key, type_name(v), "a table");
            return None;
        };
        self.unknown_keys(key, t, known);
        Some(t)
    }

    fn unknown_keys(&mut self, prefix: &str, t: &toml::Table, known: &[&str]) {
        for k in t.keys() {
            if !known.contains(&k.as_str()) {
                let hint = match closest(k, known) {
                    Some(c) => format!("did you mean {}?", join(prefix, c)),
                    None => format!("valid keys here: {}", known.join(", ")),
                };
                self.error(&join(prefix, k), format!("unknown key; {hint}"));
            }
        }
    }

    fn string<'a>(&mut self, t: &'a toml::Table, prefix: &str, key: &str) -> Option<&'a str> {
        let path = join(prefix, key);
        match t.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.found(&path, type_name(other), "a string");
                None
            }
        }
    }

    fn integer(&mut self, t: &toml::Table, prefix: &str, key: &str) -> Option<i64> {
        let path = join(prefix, key);
        match t.get(key)? {
            Value::Integer(i) => Some(*i),
            Value::String(s) if self.set_by_env(&path) => match s.trim().parse::<i64>() {
                Ok(i) => Some(i),
                Err(_) => {
                    self.found(&path, format!("{s:?}"), "an integer");
                    None
                }
            },
            other => {
                self.found(&path, type_name(other), "an integer");
                None
            }
        }
    }

    fn boolean(&mut self, t: &toml::Table, prefix: &str, key: &str) -> Option<bool> {
        let path = join(prefix, key);
        match t.get(key)? {
            Value::Boolean(b) => Some(*b),
            Value::String(s) if self.set_by_env(&path) => match s.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    self.found(&path, format!("{s:?}"), "true or false");
                    None
                }
            },
            other => {
                self.found(&path, type_name(other), "true or false");
                None
            }
        }
    }

    /// An integer within `lo..=hi`.
    fn bounded(
        &mut self,
        t: &toml::Table,
        prefix: &str,
        key: &str,
        lo: i64,
        hi: i64,
    ) -> Option<i64> {
        let v = self.integer(t, prefix, key)?;
        if v < lo || v > hi {
            self.found(&join(prefix, key), v, format!("a value in {lo}..={hi}"));
            return None;
        }
        Some(v)
    }

    fn path(&mut self, t: &toml::Table, prefix: &str, key: &str) -> Option<PathBuf> {
        let s = self.string(t, prefix, key)?;
        if s.trim().is_empty() {
            self.found(&join(prefix, key), "an empty string", "a file path");
            return None;
        }
        Some(PathBuf::from(s))
    }

    fn http_url(&mut self, key: &str, raw: &str) -> Option<Url> {
        match Url::parse(raw) {
            Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host_str().is_some() => {
                if !u.username().is_empty() || u.password().is_some() {
                    self.found(
                        key,
                        "a URL with user-info",
                        "an http(s) URL without user-info",
                    );
                    return None;
                }
                Some(u)
            }
            Ok(u) => {
                self.found(
                    key,
                    format!("{} with scheme {}", redact(&u), u.scheme()),
                    "an https:// or http:// URL",
                );
                None
            }
            Err(e) => {
                self.found(key, format!("{raw:?} ({e})"), "an https:// or http:// URL");
                None
            }
        }
    }

    /// Walks the whole tree; `None` (with errors recorded) when anything is wrong.
    fn settings(&mut self, root: &toml::Table) -> Option<Settings> {
        self.unknown_keys("", root, TOP_KEYS);
        let empty = Value::Table(toml::Table::new());
        let section = |name: &str| root.get(name).unwrap_or(&empty);

        let (bind, public_url) = self.server(section("server"));
        let redis_url = self.store(section("store"));
        let mail = self.mail(section("mail"));
        let realms = self.realms(root.get("realms"));
        let signing = self.signing(section("signing"));
        let pepper = self.secrets(section("secrets"));
        let otp = self.otp(section("otp"));
        let branding = self.branding(section("branding"));
        let apps = self.apps(section("apps"));
        let templates_dir = self.templates(section("templates"));

        self.combinations(&Facts {
            bind,
            public_url: public_url.clone(),
            redis: redis_url.as_ref().map(Option::is_some),
            smtp: mail.as_ref().map(|m| m.smtp_url.is_some()),
            key_file: signing.as_ref().map(|s| s.key_file.is_some()),
            pepper: pepper.as_ref().map(Option::is_some),
        });

        let settings = Settings {
            server: ServerSettings {
                bind: bind?,
                secure_cookies: public_url.as_ref()?.scheme() == "https",
                public_url: public_url?,
            },
            store: StoreSettings {
                redis_url: redis_url?,
            },
            mail: mail?,
            realms: realms?,
            signing: signing?,
            secrets: SecretsSettings { pepper: pepper? },
            otp: otp?,
            branding: branding?,
            apps: apps?,
            templates_dir: templates_dir?,
            embedded: false,
        };
        self.errors.is_empty().then_some(settings)
    }

    fn server(&mut self, v: &Value) -> (Option<SocketAddr>, Option<Url>) {
        let Some(t) = self.table("server", v, SERVER_KEYS) else {
            return (None, None);
        };
        let bind = match self.string(t, "server", "bind") {
            Some(s) => match s.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.found(
                        "server.bind",
                        format!("{s:?}"),
                        "an address:port such as 127.0.0.1:8080 or [::]:8080",
                    );
                    None
                }
            },
            None if t.contains_key("bind") => None,
            None => Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
        };
        let public_url = match self.string(t, "server", "public_url") {
            Some(raw) => self.http_url("server.public_url", raw).and_then(|u| {
                if u.query().is_some() || u.fragment().is_some() {
                    self.found(
                        "server.public_url",
                        u.as_str(),
                        "a URL without query or fragment",
                    );
                    return None;
                }
                let mut u = u;
                let path = u.path().trim_end_matches('/').to_string();
                u.set_path(&path);
                Some(u)
            }),
            None if t.contains_key("public_url") => None,
            None => match bind {
                Some(b) if b.ip().is_loopback() => Some(loopback_url(b)),
                Some(_) => {
                    self.error("server.public_url", "missing; required when server.bind is not a loopback address (the https URL users reach the sidecar at)");
                    None
                }
                None => None,
            },
        };
        (bind, public_url)
    }

    /// `Some(None)`: no Redis; `None`: an error was recorded.
    fn store(&mut self, v: &Value) -> Option<Option<RedisUrl>> {
        let t = self.table("store", v, STORE_KEYS)?;
        if !t.contains_key("redis_url") {
            return Some(None);
        }
        let plaintext_allowed = self.boolean(t, "store", "redis_plaintext").unwrap_or(false);
        let raw = self.string(t, "store", "redis_url")?;
        let url = self.value("store.redis_url", RedisUrl::parse(raw))?;
        // Whoever can write to Redis can rewrite challenges (attempts,
        // address, return target): plaintext only where no one else is on the path.
        if !url.uses_tls() && !url.is_loopback() && !plaintext_allowed {
            self.found(
                "store.redis_url",
                format!("plaintext Redis to {}", url.hosts().join(", ")),
                "rediss:// or rediss+cluster:// (TLS), or redis:// to a loopback host; \
                 for an in-cluster Redis behind a NetworkPolicy, set store.redis_plaintext = true",
            );
            return None;
        }
        Some(Some(url))
    }

    fn mail(&mut self, v: &Value) -> Option<MailSettings> {
        let t = self.table("mail", v, MAIL_KEYS)?;
        let mut ok = true;
        let smtp_url = match self.string(t, "mail", "smtp_url") {
            Some(raw) => match self.smtp_url(raw) {
                Some(s) => Some(s),
                None => {
                    ok = false;
                    None
                }
            },
            None => {
                ok &= !t.contains_key("smtp_url");
                None
            }
        };
        let from = match self.string(t, "mail", "from") {
            Some(f) => match f.parse::<lettre::message::Mailbox>() {
                Ok(m) => Some(m.to_string()),
                Err(e) => {
                    self.found(
                        "mail.from",
                        format!("{f:?} ({e})"),
                        "a mailbox such as \"Acme Login <login@example.com>\"",
                    );
                    None
                }
            },
            None if t.contains_key("from") => None,
            None if smtp_url.is_some() => {
                self.error(
                    "mail.from",
                    "missing; required with mail.smtp_url (the sender address of the code mails)",
                );
                None
            }
            None => Some(DEFAULT_FROM.to_string()),
        };
        let timeout_secs = match t.get("timeout_secs") {
            Some(_) => self
                .bounded(t, "mail", "timeout_secs", 1, MAX_MAIL_TIMEOUT_SECS as i64)
                .map(|v| v as u64),
            None => Some(DEFAULT_MAIL_TIMEOUT_SECS),
        };
        let (from, timeout_secs) = (from?, timeout_secs?);
        ok.then_some(MailSettings {
            smtp_url,
            from,
            timeout_secs,
        })
    }

    fn smtp_url(&mut self, raw: &str) -> Option<SmtpUrl> {
        self.value("mail.smtp_url", SmtpUrl::parse(raw))
    }

    /// A typed value, or its error recorded under `key`.
    fn value<T>(&mut self, key: &str, parsed: Result<T, ValueError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.found(key, e.found, e.expected);
                None
            }
        }
    }

    fn realms(&mut self, v: Option<&Value>) -> Option<Vec<RealmSettings>> {
        let Some(v) = v else {
            self.error(
                "realms",
                "missing; expected at least one [[realms]] table with an issuer",
            );
            return None;
        };
        let Value::Array(items) = v else {
            self.found("realms", type_name(v), "an array of tables ([[realms]])");
            return None;
        };
        if items.is_empty() {
            self.found(
                "realms",
                "an empty array",
                "at least one [[realms]] table with an issuer",
            );
            return None;
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let prefix = format!("realms[{i}]");
            let Some(t) = self.table(&prefix, item, REALM_KEYS) else {
                ok = false;
                continue;
            };
            let issuer = match self.string(t, &prefix, "issuer") {
                Some(raw) => match Issuer::parse(raw) {
                    Ok(iss) => {
                        if !seen.insert(iss.as_str().to_string()) {
                            self.found(
                                &format!("{prefix}.issuer"),
                                iss.as_str(),
                                "each realm issuer once",
                            );
                            None
                        } else {
                            Some(iss)
                        }
                    }
                    Err(why) => {
                        self.found(
                            &format!("{prefix}.issuer"),
                            format!("{raw:?}: {why}"),
                            "a realm issuer such as https://id.example.com/realms/acme",
                        );
                        None
                    }
                },
                None => {
                    if !t.contains_key("issuer") {
                        self.error(&format!("{prefix}.issuer"), "missing; expected the realm issuer such as https://id.example.com/realms/acme");
                    }
                    None
                }
            };
            let jwks_uri = match self.string(t, &prefix, "jwks_uri") {
                Some(raw) => self.http_url(&format!("{prefix}.jwks_uri"), raw).map(Some),
                None if t.contains_key("jwks_uri") => None,
                None => Some(None),
            };
            let plain_http_allowed = self.boolean(t, &prefix, "jwks_plain_http").unwrap_or(false);
            match (issuer, jwks_uri) {
                (Some(issuer), Some(jwks_uri)) => {
                    let jwks_uri = jwks_uri.unwrap_or_else(|| default_jwks_uri(&issuer));
                    // Whoever can change the realm's keys in transit can forge
                    // requests: plain http only where no one else is on the path.
                    let plain_remote = jwks_uri.scheme() == "http"
                        && !jwks_uri.host_str().is_some_and(is_loopback_host);
                    if plain_remote && !plain_http_allowed {
                        self.found(
                            &format!("{prefix}.jwks_uri"),
                            redact(&jwks_uri),
                            "an https:// URL, or http:// to a loopback host; for an \
                             in-cluster address you trust, set jwks_plain_http = true",
                        );
                        ok = false;
                    } else {
                        out.push(RealmSettings { issuer, jwks_uri });
                    }
                }
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn signing(&mut self, v: &Value) -> Option<SigningSettings> {
        let t = self.table("signing", v, SIGNING_KEYS)?;
        let algorithm = match self.string(t, "signing", "algorithm") {
            Some(s) => match SigningAlgorithm::parse(s) {
                Some(a) => Some(a),
                None => {
                    self.found(
                        "signing.algorithm",
                        format!("{s:?}"),
                        "one of \"ES256\", \"EdDSA\", \"RS256\"",
                    );
                    None
                }
            },
            None if t.contains_key("algorithm") => None,
            None => Some(SigningAlgorithm::Es256),
        };
        let audience = match self.string(t, "signing", "audience") {
            Some(a) if !a.trim().is_empty() && !a.chars().any(char::is_control) => {
                Some(a.to_string())
            }
            Some(a) => {
                self.found("signing.audience", format!("{a:?}"), "a non-empty audience");
                None
            }
            None if t.contains_key("audience") => None,
            None => Some(DEFAULT_AUDIENCE.to_string()),
        };
        let key_file = match t.get("key_file") {
            Some(_) => self.path(t, "signing", "key_file").map(Some),
            None => Some(None),
        };
        let previous_key_files = match t.get("previous_key_files") {
            None => Some(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    let key = format!("signing.previous_key_files[{i}]");
                    match item {
                        Value::String(s) if !s.trim().is_empty() => out.push(PathBuf::from(s)),
                        other => {
                            self.found(&key, type_name(other), "a file path");
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
            Some(Value::String(s)) if self.set_by_env("signing.previous_key_files") => {
                // From the environment: comma-separated paths.
                Some(
                    s.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(PathBuf::from)
                        .collect(),
                )
            }
            Some(other) => {
                self.found(
                    "signing.previous_key_files",
                    type_name(other),
                    "an array of file paths",
                );
                None
            }
        };
        let (algorithm, audience, key_file, previous_key_files) =
            (algorithm?, audience?, key_file?, previous_key_files?);
        let settings = SigningSettings {
            key_file,
            previous_key_files,
            algorithm,
            audience,
        };
        self.check_keys(&settings);
        Some(settings)
    }

    /// Loads the configured keys now so a bad file fails `config check`, not the first login.
    fn check_keys(&mut self, s: &SigningSettings) {
        if s.key_file.is_none() && s.previous_key_files.is_empty() {
            return;
        }
        if let Err(e) = crate::tokens::AssertionSigner::from_settings(s) {
            let key = match &e {
                crate::tokens::KeyError::Read { path, .. }
                | crate::tokens::KeyError::Invalid { path, .. }
                | crate::tokens::KeyError::AlgorithmMismatch { path, .. } => {
                    match s.previous_key_files.iter().position(|p| p == path) {
                        Some(i) if s.key_file.as_ref() != Some(path) => {
                            format!("signing.previous_key_files[{i}]")
                        }
                        _ => "signing.key_file".to_string(),
                    }
                }
                _ => "signing.key_file".to_string(),
            };
            self.error(&key, e.to_string());
        }
    }

    /// `Some(None)`: no pepper file; `None`: an error was recorded.
    fn secrets(&mut self, v: &Value) -> Option<Option<Pepper>> {
        let t = self.table("secrets", v, SECRETS_KEYS)?;
        if !t.contains_key("pepper_file") {
            return Some(None);
        }
        let path = self.path(t, "secrets", "pepper_file")?;
        match Pepper::from_file(&path) {
            Ok(pepper) => Some(Some(pepper)),
            Err(PepperError::TooShort { got }) => {
                self.found(
                    "secrets.pepper_file",
                    format!("{} holding {got} bytes", path.display()),
                    format!("at least {MIN_PEPPER_LEN} random bytes (e.g. `head -c 32 /dev/urandom | base64 > FILE`)"),
                );
                None
            }
            Err(PepperError::Read { source, .. }) => {
                self.found(
                    "secrets.pepper_file",
                    format!("{} which cannot be read ({source})", path.display()),
                    "a readable file",
                );
                None
            }
            Err(e @ PepperError::InvalidKey) => {
                self.error("secrets.pepper_file", e.to_string());
                None
            }
        }
    }

    fn otp(&mut self, v: &Value) -> Option<OtpSettings> {
        let t = self.table("otp", v, OTP_KEYS)?;
        let l = OTP_LIMITS;
        let length = self.bound(t, "length", l.length.map(i64::from));
        let ttl = self.bound(t, "ttl", l.ttl_secs.map(|v| v as i64));
        let attempts = self.bound(t, "max_attempts", l.max_attempts.map(i64::from));
        let cooldown = self.bound(
            t,
            "resend_cooldown",
            l.resend_cooldown_secs.map(|v| v as i64),
        );
        let resends = self.bound(t, "max_resends", l.max_resends.map(i64::from));
        let user = self.user_budget(t);
        let (length, ttl, attempts, cooldown, resends, user) =
            (length?, ttl?, attempts?, cooldown?, resends?, user?);
        // Each value was checked against limits that fit the target type.
        Some(OtpSettings {
            length: length.map(|v| u8::try_from(v).unwrap_or(l.length.default)),
            ttl_secs: ttl.map(|v| u64::try_from(v).unwrap_or(l.ttl_secs.default)),
            max_attempts: attempts.map(|v| u32::try_from(v).unwrap_or(l.max_attempts.default)),
            resend_cooldown_secs: cooldown
                .map(|v| u64::try_from(v).unwrap_or(l.resend_cooldown_secs.default)),
            max_resends: resends.map(|v| u32::try_from(v).unwrap_or(l.max_resends.default)),
            user,
        })
    }

    /// `[otp] user_max_failures` (1..=100), `user_max_challenges` (1..=100),
    /// `user_window` (60..=86400 s); plain integers, absent keys keep their defaults.
    fn user_budget(&mut self, t: &toml::Table) -> Option<UserBudget> {
        let d = USER_BUDGET_DEFAULT;
        let mut scalar = |key: &str, lo: i64, hi: i64, default: i64| -> Option<i64> {
            if t.contains_key(key) {
                self.bounded(t, "otp", key, lo, hi)
            } else {
                Some(default)
            }
        };
        let failures = scalar("user_max_failures", 1, 100, i64::from(d.max_failures));
        let challenges = scalar("user_max_challenges", 1, 100, i64::from(d.max_challenges));
        let window = scalar("user_window", 60, 86_400, d.window_secs as i64);
        let (failures, challenges, window) = (failures?, challenges?, window?);
        // Each value was checked against bounds that fit the target type.
        Some(UserBudget {
            max_failures: u32::try_from(failures).unwrap_or(d.max_failures),
            max_challenges: u32::try_from(challenges).unwrap_or(d.max_challenges),
            window_secs: u64::try_from(window).unwrap_or(d.window_secs),
        })
    }

    /// `key = N` (default only) or `[otp.key] default/min/max`, all within `limits`.
    fn bound(&mut self, t: &toml::Table, key: &str, limits: Bound<i64>) -> Option<Bound<i64>> {
        let path = format!("otp.{key}");
        let mut b = limits;
        match t.get(key) {
            None => return Some(b),
            Some(Value::Table(inner)) => {
                self.unknown_keys(&path, inner, BOUND_KEYS);
                let mut ok = true;
                for (name, slot) in [
                    ("default", &mut b.default),
                    ("min", &mut b.min),
                    ("max", &mut b.max),
                ] {
                    if inner.contains_key(name) {
                        match self.bounded(inner, &path, name, limits.min, limits.max) {
                            Some(v) => *slot = v,
                            None => ok = false,
                        }
                    }
                }
                if !ok {
                    return None;
                }
                if b.min > b.max {
                    self.found(
                        &format!("{path}.min"),
                        format!("min {} above max {}", b.min, b.max),
                        "min <= max",
                    );
                    return None;
                }
                if !inner.contains_key("default") {
                    b.default = b.default.clamp(b.min, b.max);
                } else if b.default < b.min || b.default > b.max {
                    self.found(
                        &format!("{path}.default"),
                        b.default,
                        format!("a value in min..=max ({}..={})", b.min, b.max),
                    );
                    return None;
                }
            }
            Some(_) => {
                b.default = self.bounded(t, "otp", key, limits.min, limits.max)?;
            }
        }
        Some(b)
    }

    fn branding(&mut self, v: &Value) -> Option<Branding> {
        let t = self.table("branding", v, BRANDING_KEYS)?;
        let mut b = Branding::default();
        let mut ok = true;
        if let Some(name) = self.string(t, "branding", "product_name") {
            if name.trim().is_empty()
                || name.chars().count() > 100
                || name.chars().any(char::is_control)
            {
                self.found(
                    "branding.product_name",
                    format!("{name:?}"),
                    "1 to 100 characters without control characters",
                );
                ok = false;
            } else {
                b.product_name = name.to_string();
            }
        } else {
            ok &= !t.contains_key("product_name");
        }
        if let Some(logo) = self.string(t, "branding", "logo_url") {
            let is_path = logo.starts_with('/') && !logo.starts_with("//");
            let is_https =
                Url::parse(logo).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
            if (is_path || is_https)
                && !logo
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
            {
                b.logo_url = Some(logo.to_string());
            } else {
                self.found(
                    "branding.logo_url",
                    format!("{logo:?}"),
                    "an https:// URL or an absolute path such as /static/logo.svg",
                );
                ok = false;
            }
        } else {
            ok &= !t.contains_key("logo_url");
        }
        if let Some(color) = self.string(t, "branding", "primary_color") {
            if let Some(rgb) = Rgb::parse(color) {
                b.primary_color = rgb;
            } else {
                self.found(
                    "branding.primary_color",
                    format!("{color:?}"),
                    "a colour as #rrggbb",
                );
                ok = false;
            }
        } else {
            ok &= !t.contains_key("primary_color");
        }
        ok.then_some(b)
    }

    fn apps(&mut self, v: &Value) -> Option<BTreeMap<String, String>> {
        let Value::Table(t) = v else {
            self.found(
                "apps",
                type_name(v),
                "a table of client id = \"display name\"",
            );
            return None;
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (client, name) in t {
            let key = format!("apps.{client}");
            match name {
                Value::String(n)
                    if !n.trim().is_empty()
                        && n.chars().count() <= 100
                        && !n.chars().any(char::is_control) =>
                {
                    out.insert(client.clone(), n.clone());
                }
                Value::String(n) => {
                    self.found(
                        &key,
                        format!("{n:?}"),
                        "a display name of 1 to 100 characters",
                    );
                    ok = false;
                }
                other => {
                    self.found(&key, type_name(other), "a display name (string)");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn templates(&mut self, v: &Value) -> Option<Option<PathBuf>> {
        let t = self.table("templates", v, TEMPLATES_KEYS)?;
        if !t.contains_key("dir") {
            return Some(None);
        }
        let dir = self.path(t, "templates", "dir")?;
        if !dir.is_dir() {
            self.found(
                "templates.dir",
                format!("{} which is not a readable directory", dir.display()),
                "a directory of template overrides",
            );
            return None;
        }
        Some(Some(dir))
    }

    /// Refuses combinations that are only safe on loopback, with the reason.
    /// Runs on whatever parsed, so these show up alongside other errors.
    fn combinations(&mut self, f: &Facts) {
        let exposed = f.bind.map(|b| (!b.ip().is_loopback(), b));
        if let Some((true, bind)) = exposed {
            let why = format!("while server.bind is {bind} (not loopback)");
            if f.redis == Some(false) {
                self.error("store.redis_url", format!("missing {why}; the in-memory store is for one local process only, set a redis:// or rediss:// URL"));
            }
            if f.key_file == Some(false) {
                self.error("signing.key_file", format!("missing {why}; an ephemeral key changes on every restart and breaks Keycloak's cached JWKS, set a PKCS#8 PEM key file"));
            }
            if f.pepper == Some(false) {
                self.error(
                    "secrets.pepper_file",
                    format!("missing {why}; set a file of at least {MIN_PEPPER_LEN} random bytes"),
                );
            }
            if f.smtp == Some(false) {
                self.error("mail.smtp_url", format!("missing {why}; the local outbox is for development only, set smtps:// or smtp:// (STARTTLS required)"));
            }
            if let Some(u) = f.public_url.as_ref().filter(|u| u.scheme() != "https") {
                self.found(
                    "server.public_url",
                    u.as_str(),
                    format!("an https:// URL {why}, so the challenge cookie can be Secure"),
                );
            }
        } else {
            if f.redis == Some(true) && f.pepper == Some(false) {
                self.error("secrets.pepper_file", format!("missing while store.redis_url is set; every instance sharing Redis must use the same pepper, set a file of at least {MIN_PEPPER_LEN} random bytes"));
            }
            if let Some(u) = f
                .public_url
                .as_ref()
                .filter(|u| u.scheme() != "https" && !url_is_loopback(u))
            {
                self.found(
                    "server.public_url",
                    u.as_str(),
                    "an https:// URL (plain http only for a loopback host)",
                );
            }
        }
    }
}

/// What the combination checks need; `None` where the value itself was wrong.
struct Facts {
    bind: Option<SocketAddr>,
    public_url: Option<Url>,
    redis: Option<bool>,
    smtp: Option<bool>,
    key_file: Option<bool>,
    pepper: Option<bool>,
}

impl<T: Copy> Bound<T> {
    fn map<U>(self, f: impl Fn(T) -> U) -> Bound<U> {
        Bound {
            default: f(self.default),
            min: f(self.min),
            max: f(self.max),
        }
    }
}

impl Settings {
    /// A short summary for `config check` and the start-up log; never a secret.
    pub fn summary(&self) -> String {
        let store = match &self.store.redis_url {
            Some(u) => format!("redis {u}"),
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
            "bind {}, public_url {}, store {store}, mail {mail}, {key} (+{} previous), realms [{}], audience {}",
            self.server.bind,
            self.server.public_url,
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
