//! Typed values parsed once from configuration strings: [`RedisUrl`] and
//! [`SmtpUrl`]. Consumers take them as given and never parse the string again.
//! (The branding colour is [`crate::templates::brand::Rgb`]; the pepper is
//! [`crate::challenge::Pepper`].)
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::net::is_loopback_host;

/// Why a string is not a valid value: what was found, what was expected.
/// The walk adds the key and the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub found: String,
    pub expected: String,
}

impl ValueError {
    fn new(found: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            found: found.into(),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "found {}, expected {}", self.found, self.expected)
    }
}

/// A URL with its password replaced, for messages.
pub(crate) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

/// `store.redis_url`: one Redis server, or a Redis Cluster given by seed nodes.
///
/// * `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS): one server;
/// * `redis+unix:///path/to/socket` (or `unix://`): one server on a local socket;
/// * `redis+cluster://[user:password@]host:port,host:port` or
///   `rediss+cluster://…`: a cluster, the listed nodes being seeds.
///
/// `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct RedisUrl {
    raw: SecretString,
    tls: bool,
    topology: RedisTopology,
}

#[derive(Clone)]
enum RedisTopology {
    /// One server; `host` is `None` for a Unix socket.
    Single { host: Option<String>, shown: String },
    /// Seed nodes, each a `redis://` / `rediss://` URL (with the credentials).
    Cluster {
        nodes: Vec<SecretString>,
        hosts: Vec<String>,
        shown: String,
    },
}

const REDIS_EXPECTED: &str = "a redis://, rediss://, redis+unix:// URL, or \
     redis+cluster://host:port,host:port (rediss+cluster:// with TLS)";

impl RedisUrl {
    pub fn parse(raw: &str) -> Result<RedisUrl, ValueError> {
        let cluster_scheme = if raw.starts_with("redis+cluster://") {
            Some("redis")
        } else if raw.starts_with("rediss+cluster://") {
            Some("rediss")
        } else {
            None
        };
        let (tls, topology) = match cluster_scheme {
            Some(scheme) => (scheme == "rediss", Self::cluster(scheme, raw)?),
            None => Self::single(raw)?,
        };
        Ok(RedisUrl {
            raw: SecretString::from(raw.to_string()),
            tls,
            topology,
        })
    }

    fn single(raw: &str) -> Result<(bool, RedisTopology), ValueError> {
        let u = Url::parse(raw).map_err(|e| {
            ValueError::new(
                format!("an unparsable URL ({e}; not shown as it may hold a password)"),
                REDIS_EXPECTED,
            )
        })?;
        let host = match u.scheme() {
            "redis" | "rediss" => match u.host_str().filter(|h| !h.is_empty()) {
                Some(h) => Some(h.to_string()),
                None => {
                    return Err(ValueError::new(
                        format!("{} without a host", redact(&u)),
                        REDIS_EXPECTED,
                    ))
                }
            },
            "redis+unix" | "unix" => None,
            other => return Err(ValueError::new(format!("scheme {other}"), REDIS_EXPECTED)),
        };
        check_with_client(raw, &redact(&u))?;
        Ok((
            u.scheme() == "rediss",
            RedisTopology::Single {
                host,
                shown: redact(&u),
            },
        ))
    }

    fn cluster(scheme: &str, raw: &str) -> Result<RedisTopology, ValueError> {
        let expected = format!("{scheme}+cluster://[user:password@]host:port,host:port");
        let rest = raw
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if !(tail.is_empty() || tail == "/") {
            return Err(ValueError::new(
                format!(
                    "{tail:?} after the nodes (a cluster has no database number or URL options)"
                ),
                expected,
            ));
        }
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let mut nodes = Vec::new();
        let mut shown_hosts = Vec::new();
        for (i, host) in hosts.split(',').enumerate() {
            if host.is_empty() {
                return Err(ValueError::new(
                    format!("an empty node address (node {})", i + 1),
                    expected,
                ));
            }
            let node = match userinfo {
                Some(u) => format!("{scheme}://{u}@{host}"),
                None => format!("{scheme}://{host}"),
            };
            let parsed = match Url::parse(&node) {
                Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => u,
                Ok(_) => {
                    return Err(ValueError::new(
                        format!("node {host:?} without a host"),
                        expected,
                    ))
                }
                Err(e) => return Err(ValueError::new(format!("node {host:?} ({e})"), expected)),
            };
            check_with_client(&node, &redact(&parsed))?;
            shown_hosts.push(parsed.host_str().unwrap_or_default().to_string());
            nodes.push(SecretString::from(node));
        }
        let shown_userinfo = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, _)) => format!("{user}:***@"),
                None => format!("{u}@"),
            },
            None => String::new(),
        };
        Ok(RedisTopology::Cluster {
            nodes,
            hosts: shown_hosts,
            shown: format!("{scheme}+cluster://{shown_userinfo}{hosts}"),
        })
    }

    /// True for `redis+cluster://` / `rediss+cluster://`.
    pub fn is_cluster(&self) -> bool {
        matches!(self.topology, RedisTopology::Cluster { .. })
    }

    /// True for `rediss://` and `rediss+cluster://`.
    pub fn uses_tls(&self) -> bool {
        self.tls
    }

    /// True when every host is a loopback host (a Unix socket counts as one).
    pub fn is_loopback(&self) -> bool {
        match &self.topology {
            RedisTopology::Single { host: None, .. } => true,
            RedisTopology::Single { host: Some(h), .. } => is_loopback_host(h),
            RedisTopology::Cluster { hosts, .. } => hosts.iter().all(|h| is_loopback_host(h)),
        }
    }

    /// The hosts, for messages (no credentials).
    pub fn hosts(&self) -> Vec<&str> {
        match &self.topology {
            RedisTopology::Single { host: None, .. } => vec!["(unix socket)"],
            RedisTopology::Single { host: Some(h), .. } => vec![h.as_str()],
            RedisTopology::Cluster { hosts, .. } => hosts.iter().map(String::as_str).collect(),
        }
    }

    /// The seed nodes of a cluster as `redis://` / `rediss://` URLs with the
    /// credentials; empty for a single server.
    pub fn cluster_nodes(&self) -> &[SecretString] {
        match &self.topology {
            RedisTopology::Single { .. } => &[],
            RedisTopology::Cluster { nodes, .. } => nodes,
        }
    }

    /// The URL as configured, credentials included.
    pub fn expose_url(&self) -> &str {
        self.raw.expose_secret()
    }
}

/// The Redis client parses the URL again when it connects: check now that it
/// agrees, so a URL that passes `config check` also connects.
fn check_with_client(url: &str, shown: &str) -> Result<(), ValueError> {
    redis::IntoConnectionInfo::into_connection_info(url)
        .map(|_| ())
        .map_err(|e| ValueError::new(format!("{shown} ({e})"), REDIS_EXPECTED))
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.topology {
            RedisTopology::Single { shown, .. } | RedisTopology::Cluster { shown, .. } => {
                f.write_str(shown)
            }
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// How a [`SmtpUrl`] protects the connection; the scheme and host decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte (default port 465).
    ImplicitTls,
    /// `smtp://` to a host that is not loopback: STARTTLS, and the connection
    /// fails rather than continue in clear text (default port 587).
    StartTls,
    /// `smtp://` to a loopback host: no TLS, for a local relay or test sink
    /// (default port 25).
    Plain,
}

impl SmtpSecurity {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Plain => 25,
        }
    }
}

/// `mail.smtp_url`: `smtps://[user:password@]host[:port]` (implicit TLS) or
/// `smtp://[user:password@]host[:port]` (STARTTLS required; plain only to a
/// loopback host). No query: the scheme and host alone decide the security.
/// User and password are percent-decoded. `Debug` and `Display` never show
/// the password.
#[derive(Clone)]
pub struct SmtpUrl {
    raw: SecretString,
    security: SmtpSecurity,
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<SecretString>,
    shown: String,
}

const SMTP_EXPECTED: &str =
    "smtps://host:465 (implicit TLS), smtp://host:587 (STARTTLS required), or plain smtp:// to a loopback host";

impl SmtpUrl {
    pub fn parse(raw: &str) -> Result<SmtpUrl, ValueError> {
        let u = Url::parse(raw).map_err(|e| {
            ValueError::new(
                format!("an unparsable URL ({e}; not shown as it may hold a password)"),
                SMTP_EXPECTED,
            )
        })?;
        let shown = redact(&u);
        let Some(host) = u.host_str().filter(|h| !h.is_empty()) else {
            return Err(ValueError::new(
                format!("{shown} without a host"),
                SMTP_EXPECTED,
            ));
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_string();
        let security = match u.scheme() {
            "smtps" => SmtpSecurity::ImplicitTls,
            "smtp" if is_loopback_host(&host) => SmtpSecurity::Plain,
            "smtp" => SmtpSecurity::StartTls,
            other => {
                return Err(ValueError::new(
                    format!("scheme {other} in {shown}"),
                    SMTP_EXPECTED,
                ))
            }
        };
        if let Some(query) = u.query() {
            return Err(ValueError::new(
                format!("a query (?{query}) in {shown}"),
                format!(
                    "no query: the scheme decides the security, {SMTP_EXPECTED} \
                     (smtp:// to a host that is not loopback always requires STARTTLS)"
                ),
            ));
        }
        if u.fragment().is_some() || !matches!(u.path(), "" | "/") {
            return Err(ValueError::new(
                format!("a path or fragment in {shown}"),
                SMTP_EXPECTED,
            ));
        }
        let decode = |part: &str, what: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| {
                    ValueError::new(
                        format!("a {what} that is not percent-encoded UTF-8 in {shown}"),
                        SMTP_EXPECTED,
                    )
                })
        };
        let user = match u.username() {
            "" => None,
            name => Some(decode(name, "user name")?),
        };
        let password = match (u.password(), &user) {
            (Some(p), Some(_)) => Some(SecretString::from(decode(p, "password")?)),
            (None, Some(_)) => Some(SecretString::from(String::new())),
            (Some(_), None) => {
                return Err(ValueError::new(
                    format!("a password without a user name in {shown}"),
                    "user:password@host",
                ))
            }
            (None, None) => None,
        };
        Ok(SmtpUrl {
            raw: SecretString::from(raw.to_string()),
            security,
            port: u.port().unwrap_or(security.default_port()),
            host,
            user,
            password,
            shown,
        })
    }

    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    /// The host, without brackets around an IPv6 address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The given port, else the default of [`Self::security`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Percent-decoded user name and password, when the URL has a user.
    pub fn credentials(&self) -> Option<(String, SecretString)> {
        let user = self.user.clone()?;
        let password = self
            .password
            .clone()
            .unwrap_or_else(|| SecretString::from(String::new()));
        Some((user, password))
    }

    /// The URL as configured, credentials included.
    pub fn expose_url(&self) -> &str {
        self.raw.expose_secret()
    }
}

/// The URL as configured, for the transport that still builds itself from
/// the string (`SmtpDelivery::from_url`); new code uses the accessors.
impl std::ops::Deref for SmtpUrl {
    type Target = SecretString;
    fn deref(&self) -> &SecretString {
        &self.raw
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({}, {:?})", self.shown, self.security)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn redis_single_and_cluster() {
        let one = RedisUrl::parse("rediss://u:secret@redis.example.com:6380/0").unwrap();
        assert!(!one.is_cluster() && one.uses_tls() && !one.is_loopback());
        assert_eq!(one.to_string(), "rediss://u:***@redis.example.com:6380/0");
        assert!(!format!("{one:?}").contains("secret"));

        let c = RedisUrl::parse("redis+cluster://h1:6379,h2:6379").unwrap();
        assert!(c.is_cluster() && !c.uses_tls());
        assert_eq!(c.hosts(), ["h1", "h2"]);
        let nodes: Vec<&str> = c
            .cluster_nodes()
            .iter()
            .map(|n| n.expose_secret())
            .collect();
        assert_eq!(nodes, ["redis://h1:6379", "redis://h2:6379"]);

        let c = RedisUrl::parse("rediss+cluster://user:p%40ss@a:7000,b:7001/").unwrap();
        assert!(c.uses_tls());
        let nodes: Vec<&str> = c
            .cluster_nodes()
            .iter()
            .map(|n| n.expose_secret())
            .collect();
        assert_eq!(
            nodes,
            ["rediss://user:p%40ss@a:7000", "rediss://user:p%40ss@b:7001"]
        );
        assert_eq!(c.to_string(), "rediss+cluster://user:***@a:7000,b:7001");

        let local = RedisUrl::parse("redis+cluster://127.0.0.1:7000,localhost:7001").unwrap();
        assert!(local.is_loopback());
        assert!(RedisUrl::parse("redis+unix:///run/redis.sock")
            .unwrap()
            .is_loopback());
    }

    #[test]
    fn redis_refusals_say_what_was_expected() {
        for (bad, says) in [
            ("redis+cluster://", "empty node address"),
            ("redis+cluster://a:1,,b:2", "empty node address"),
            ("redis+cluster://a:1/3", "no database number"),
            ("redis+cluster://a:1?insecure", "no database number"),
            ("redis+cluster://a:notaport", "invalid port"),
            ("http://localhost:6379", "scheme http"),
            ("redis://:pw@", "unparsable"),
        ] {
            let err = RedisUrl::parse(bad).err().map(|e| e.to_string());
            let err = err.unwrap_or_default();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains("pw"), "{bad}: {err}");
        }
    }

    #[test]
    fn smtp_security_from_scheme_and_host() {
        let s = SmtpUrl::parse("smtps://login%40example.com:p%3Ass@smtp.example.com").unwrap();
        assert_eq!(s.security(), SmtpSecurity::ImplicitTls);
        assert_eq!((s.host(), s.port()), ("smtp.example.com", 465));
        let (user, pass) = s.credentials().unwrap();
        assert_eq!(
            (user.as_str(), pass.expose_secret()),
            ("login@example.com", "p:ss")
        );
        assert!(!s.to_string().contains("p%3Ass") && !format!("{s:?}").contains("p%3Ass"));

        let s = SmtpUrl::parse("smtp://smtp.example.com").unwrap();
        assert_eq!((s.security(), s.port()), (SmtpSecurity::StartTls, 587));
        assert!(s.credentials().is_none());

        let s = SmtpUrl::parse("smtp://[::1]:2525").unwrap();
        assert_eq!(
            (s.security(), s.host(), s.port()),
            (SmtpSecurity::Plain, "::1", 2525)
        );
        let s = SmtpUrl::parse("smtp://127.3.0.1").unwrap();
        assert_eq!((s.security(), s.port()), (SmtpSecurity::Plain, 25));
    }

    #[test]
    fn smtp_refusals() {
        for (bad, says) in [
            ("smtp://smtp.example.com:587?tls=required", "no query"),
            ("http://smtp.example.com", "scheme http"),
            ("smtps://:pw@smtp.example.com", "password without a user"),
            ("smtps://smtp.example.com/x", "path"),
            ("smtps://", "without a host"),
        ] {
            let err = SmtpUrl::parse(bad).err().map(|e| e.to_string());
            let err = err.unwrap_or_default();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
