//! Each section of the configuration: its keys, their types, bounds and
//! defaults, read through the [`Walk`].
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;

use toml::Value;
use url::Url;

use super::rules::Facts;
use super::values::SmtpUrl;
use super::walk::{type_name, Walk};
use super::*;
use crate::challenge::RedisUrl;
use crate::challenge::{Pepper, PepperError, MIN_PEPPER_LEN};
use crate::net::is_loopback_host;
use crate::net::redact;
use crate::templates::brand::Rgb;

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
const SERVER_KEYS: &[&str] = &[
    "bind",
    "public_url",
    "body_timeout_secs",
    "max_connections_per_client",
];
const STORE_KEYS: &[&str] = &["redis_url", "redis_plaintext", "min_replicas_ack"];
/// The most replicas `store.min_replicas_ack` may ask for.
pub const MAX_MIN_REPLICAS_ACK: u32 = 16;
const MAIL_KEYS: &[&str] = &[
    "smtp_url",
    "from",
    "timeout_secs",
    "retry_for_secs",
    "per_address_max",
    "per_address_window_secs",
    "global_max",
    "global_window_secs",
];
const REALM_KEYS: &[&str] = &["issuer", "jwks_uri", "jwks_plain_http", "branding"];
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

impl Walk {
    pub(super) fn settings(&mut self, root: &toml::Table) -> Option<Settings> {
        self.unknown_keys("", root, TOP_KEYS);
        let empty = Value::Table(toml::Table::new());
        let section = |name: &str| root.get(name).unwrap_or(&empty);

        let (bind, public_url, limits) = self.server(section("server"));
        let store = self.store(section("store"));
        let redis_url = store.as_ref().map(|s| s.redis_url.clone());
        let mail = self.mail(section("mail"));
        let realms = self.realms(root.get("realms"));
        let realm_branding = self.realm_branding(root.get("realms"));
        let signing = self.signing(section("signing"));
        let pepper = self.secrets(section("secrets"));
        let otp = self.otp(section("otp"));
        let mut branding = self.branding(section("branding"));
        // Without a product name of its own, the product is the one the mail
        // comes from: the display name of `mail.from`.
        let named = root
            .get("branding")
            .and_then(|b| b.get("product_name"))
            .is_some();
        if let (Some(b), Some(m), false) = (branding.as_mut(), mail.as_ref(), named) {
            if let Some(name) = sender_name(&m.from) {
                b.product_name = name;
            }
        }
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
                body_timeout_secs: limits?.0,
                max_connections_per_client: limits?.1,
            },
            store: store?,
            mail: mail?,
            realms: realms?,
            signing: signing?,
            secrets: SecretsSettings { pepper: pepper? },
            otp: otp?,
            branding: branding?,
            realm_branding: realm_branding?,
            apps: apps?,
            templates_dir: templates_dir?,
            embedded: false,
        };
        self.errors.is_empty().then_some(settings)
    }

    fn server(&mut self, v: &Value) -> (Option<SocketAddr>, Option<Url>, Option<(u64, u32)>) {
        let Some(t) = self.table("server", v, SERVER_KEYS) else {
            return (None, None, None);
        };
        let body_timeout_secs = match t.get("body_timeout_secs") {
            Some(_) => self
                .bounded(
                    t,
                    "server",
                    "body_timeout_secs",
                    1,
                    MAX_BODY_TIMEOUT_SECS as i64,
                )
                .map(|v| v as u64),
            None => Some(DEFAULT_BODY_TIMEOUT_SECS),
        };
        let max_connections_per_client = match t.get("max_connections_per_client") {
            Some(_) => self
                .bounded(
                    t,
                    "server",
                    "max_connections_per_client",
                    0,
                    i64::from(MAX_CONNECTIONS_PER_CLIENT),
                )
                .map(|v| v as u32),
            None => Some(DEFAULT_MAX_CONNECTIONS_PER_CLIENT),
        };
        let limits = body_timeout_secs.zip(max_connections_per_client);
        let bind = match self.string(t, "server", "bind") {
            Some(s) => match s.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.found(
                        "server.bind",
                        format!("{s:?}"),
                        format!("an address:port such as {EMBEDDED_BIND} or [::]:8080"),
                    );
                    None
                }
            },
            None if t.contains_key("bind") => None,
            None => Some(EMBEDDED_BIND),
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
                if u.port() == Some(0) {
                    // Port 0 in the derived URL stands for the port bound at
                    // start-up; given here it would be a URL nobody reaches.
                    self.found(
                        "server.public_url",
                        u.as_str(),
                        "a port other than 0 (left out on a loopback bind, public_url follows the port bound at start-up)",
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
        (bind, public_url, limits)
    }

    /// `None`: an error was recorded.
    fn store(&mut self, v: &Value) -> Option<StoreSettings> {
        let t = self.table("store", v, STORE_KEYS)?;
        let min_replicas_ack = match t.get("min_replicas_ack") {
            Some(_) => self
                .bounded(
                    t,
                    "store",
                    "min_replicas_ack",
                    0,
                    i64::from(MAX_MIN_REPLICAS_ACK),
                )
                .map(|n| Some(n as u32)),
            None => Some(None),
        };
        let redis_url = self.redis_url(t);
        let (redis_url, min_replicas_ack) = (redis_url?, min_replicas_ack?);
        if redis_url.is_none() && min_replicas_ack.is_some() {
            self.error(
                "store.min_replicas_ack",
                "set without store.redis_url; the in-memory store has no replicas \
                 (remove it, or set a Redis URL)",
            );
            return None;
        }
        Some(StoreSettings {
            redis_url,
            min_replicas_ack,
        })
    }

    /// `Some(None)`: no Redis; `None`: an error was recorded.
    fn redis_url(&mut self, t: &toml::Table) -> Option<Option<RedisUrl>> {
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
                "rediss://, rediss+cluster:// or rediss+sentinel:// (TLS), or redis:// to a loopback host; \
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
        let delivery = self.mail_delivery(t);
        let (from, timeout_secs, delivery) = (from?, timeout_secs?, delivery?);
        ok.then_some(MailSettings {
            smtp_url,
            from,
            timeout_secs,
            delivery,
        })
    }

    /// Retries and send limits of `[mail]`, each key checked on its own.
    fn mail_delivery(&mut self, t: &toml::Table) -> Option<MailDelivery> {
        let d = MAIL_DELIVERY_DEFAULTS;
        let mut key = |name: &str, default: u64, lo: i64, hi: i64| match t.get(name) {
            Some(_) => self.bounded(t, "mail", name, lo, hi).map(|v| v as u64),
            None => Some(default),
        };
        let retry_for_secs = key("retry_for_secs", d.retry_for_secs, 0, 600);
        let per_address_max = key("per_address_max", u64::from(d.per_address_max), 1, 100_000);
        let per_address_window_secs = key(
            "per_address_window_secs",
            d.per_address_window_secs,
            1,
            86_400,
        );
        let global_max = key("global_max", u64::from(d.global_max), 1, 10_000_000);
        let global_window_secs = key("global_window_secs", d.global_window_secs, 1, 86_400);
        Some(MailDelivery {
            retry_for_secs: retry_for_secs?,
            per_address_max: u32::try_from(per_address_max?).ok()?,
            per_address_window_secs: per_address_window_secs?,
            global_max: u32::try_from(global_max?).ok()?,
            global_window_secs: global_window_secs?,
        })
    }

    fn smtp_url(&mut self, raw: &str) -> Option<SmtpUrl> {
        self.value("mail.smtp_url", SmtpUrl::parse(raw))
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
                    let jwks_uri = jwks_uri.unwrap_or_else(|| issuer.default_jwks_uri());
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
        // The key files are checked whatever else is wrong: an invalid
        // algorithm must not hide a key file in the wrong format.
        self.check_keys(
            algorithm,
            key_file.as_ref().and_then(|k| k.as_deref()),
            previous_key_files.as_deref().unwrap_or_default(),
        );
        let (algorithm, audience, key_file, previous_key_files) =
            (algorithm?, audience?, key_file?, previous_key_files?);
        Some(SigningSettings {
            key_file,
            previous_key_files,
            algorithm,
            audience,
        })
    }

    /// Loads the configured keys now so a bad file fails `config check`, not
    /// the first login; each problem under the key that names the file.
    fn check_keys(
        &mut self,
        algorithm: Option<SigningAlgorithm>,
        key_file: Option<&std::path::Path>,
        previous: &[PathBuf],
    ) {
        use crate::tokens::{AssertionSigner, KeyError};
        for e in AssertionSigner::check_key_files(algorithm, key_file, previous) {
            let key = match &e {
                KeyError::Read { path, .. }
                | KeyError::Invalid { path, .. }
                | KeyError::AlgorithmMismatch { path, .. } => {
                    match previous.iter().position(|p| p == path) {
                        Some(i) if key_file != Some(path.as_path()) => {
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
        let own = self.branding_keys("branding", v)?;
        let d = Branding::default();
        Some(Branding {
            product_name: own.product_name.unwrap_or(d.product_name),
            logo_url: own.logo_url.or(d.logo_url),
            primary_color: own.primary_color.unwrap_or(d.primary_color),
        })
    }

    /// `[realms.branding]` of each `[[realms]]` entry, by issuer. Problems of
    /// the entries themselves are reported by [`Self::realms`].
    fn realm_branding(&mut self, v: Option<&Value>) -> Option<BTreeMap<String, RealmBranding>> {
        let mut out = BTreeMap::new();
        let Some(Value::Array(items)) = v else {
            return Some(out);
        };
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let Some(b) = item.get("branding") else {
                continue;
            };
            let Some(own) = self.branding_keys(&format!("realms[{i}].branding"), b) else {
                ok = false;
                continue;
            };
            let issuer = item
                .get("issuer")
                .and_then(Value::as_str)
                .and_then(|raw| Issuer::parse(raw).ok());
            if let Some(issuer) = issuer {
                out.insert(issuer.as_str().to_string(), own);
            }
        }
        ok.then_some(out)
    }

    /// The keys of a `[branding]` table at `path`, each checked; absent keys are `None`.
    fn branding_keys(&mut self, path: &str, v: &Value) -> Option<RealmBranding> {
        let t = self.table(path, v, BRANDING_KEYS)?;
        let mut b = RealmBranding::default();
        let mut ok = true;
        if let Some(name) = self.string(t, path, "product_name") {
            if name.trim().is_empty()
                || name.chars().count() > 100
                || name.chars().any(char::is_control)
            {
                self.found(
                    &format!("{path}.product_name"),
                    format!("{name:?}"),
                    "1 to 100 characters without control characters",
                );
                ok = false;
            } else {
                b.product_name = Some(name.to_string());
            }
        } else {
            ok &= !t.contains_key("product_name");
        }
        if let Some(logo) = self.string(t, path, "logo_url") {
            let is_path = logo.starts_with('/') && !logo.starts_with("//");
            // Written out as `https://host`: the URL parser would mend
            // `https:logo.svg` into a host, where a browser on an https page
            // reads a relative path.
            let is_https = logo.starts_with("https://")
                && Url::parse(logo).is_ok_and(|u| u.host_str().is_some());
            if (is_path || is_https)
                && !logo
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
            {
                b.logo_url = Some(logo.to_string());
            } else {
                self.found(
                    &format!("{path}.logo_url"),
                    format!("{logo:?}"),
                    "an https:// URL or an absolute path such as /static/logo.svg",
                );
                ok = false;
            }
        } else {
            ok &= !t.contains_key("logo_url");
        }
        if let Some(color) = self.string(t, path, "primary_color") {
            if let Some(rgb) = Rgb::parse(color) {
                b.primary_color = Some(rgb);
            } else {
                self.found(
                    &format!("{path}.primary_color"),
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
            let key = super::walk::join("apps", client);
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
}

/// The display name of a mailbox such as `Acme Login <login@example.com>`.
fn sender_name(from: &str) -> Option<String> {
    let mailbox = from.parse::<lettre::message::Mailbox>().ok()?;
    mailbox
        .name
        .filter(|n| !n.trim().is_empty() && n.chars().count() <= 100)
        .filter(|n| !n.chars().any(char::is_control))
}

impl<T: Copy> Bound<T> {
    /// The same bound with each value converted.
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Bound<U> {
        Bound {
            default: f(self.default),
            min: f(self.min),
            max: f(self.max),
        }
    }
}
