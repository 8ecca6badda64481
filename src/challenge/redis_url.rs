//! [`RedisUrl`]: `store.redis_url`, parsed once; the store connects with it.
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::net::{is_loopback_host, redact, UrlError};

/// `store.redis_url`: one Redis server, a Redis Cluster given by seed nodes,
/// or the master a set of Redis Sentinels names.
///
/// * `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS): one server;
/// * `redis+unix:///path/to/socket` (or `unix://`): one server on a local socket;
/// * `redis+cluster://[user:password@]host:port,host:port` or
///   `rediss+cluster://…`: a cluster, the listed nodes being seeds;
/// * `redis+sentinel://[user:password@]host:port,host:port/master-name` or
///   `rediss+sentinel://…`: the sentinels (port 26379 when left out) and the
///   name of the master they watch; the credentials are the master's.
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
    /// Sentinels and the name of their master.
    Sentinel {
        spec: SentinelSpec,
        hosts: Vec<String>,
        shown: String,
    },
}

/// What `redis+sentinel://` names: where the sentinels listen, which master
/// to ask them for, and the credentials for that master (and its replicas).
#[derive(Clone)]
pub struct SentinelSpec {
    /// `(host, port)` of each sentinel.
    pub sentinels: Vec<(String, u16)>,
    /// The name the sentinels monitor the master under.
    pub master: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

/// The port sentinels listen on unless told otherwise.
const SENTINEL_PORT: u16 = 26379;

const REDIS_EXPECTED: &str = "a redis://, rediss://, redis+unix:// URL, \
     redis+cluster://host:port,host:port (rediss+cluster:// with TLS), or \
     redis+sentinel://host:port,host:port/master-name (rediss+sentinel:// with TLS)";

impl RedisUrl {
    pub fn parse(raw: &str) -> Result<RedisUrl, UrlError> {
        let scheme = raw.split_once("://").map(|(s, _)| s).unwrap_or_default();
        let (tls, topology) = match scheme {
            "redis+cluster" => (false, Self::cluster("redis", raw)?),
            "rediss+cluster" => (true, Self::cluster("rediss", raw)?),
            "redis+sentinel" => (false, Self::sentinels("redis", raw)?),
            "rediss+sentinel" => (true, Self::sentinels("rediss", raw)?),
            _ => Self::single(raw)?,
        };
        Ok(RedisUrl {
            raw: SecretString::from(raw.to_string()),
            tls,
            topology,
        })
    }

    fn single(raw: &str) -> Result<(bool, RedisTopology), UrlError> {
        let u = Url::parse(raw).map_err(|e| {
            UrlError::new(
                format!("an unparsable URL ({e}; not shown as it may hold a password)"),
                REDIS_EXPECTED,
            )
        })?;
        let host = match u.scheme() {
            "redis" | "rediss" => match u.host_str().filter(|h| !h.is_empty()) {
                Some(h) => Some(h.to_string()),
                None => {
                    return Err(UrlError::new(
                        format!("{} without a host", redact(&u)),
                        REDIS_EXPECTED,
                    ))
                }
            },
            "redis+unix" | "unix" => None,
            other => return Err(UrlError::new(format!("scheme {other}"), REDIS_EXPECTED)),
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

    fn cluster(scheme: &str, raw: &str) -> Result<RedisTopology, UrlError> {
        let expected = format!("{scheme}+cluster://[user:password@]host:port,host:port");
        let (authority, tail) = split_authority(raw);
        if !(tail.is_empty() || tail == "/") {
            return Err(UrlError::new(
                format!(
                    "{tail:?} after the nodes (a cluster has no database number or URL options)"
                ),
                expected,
            ));
        }
        let nodes = Nodes::parse(scheme, authority, &expected)?;
        Ok(RedisTopology::Cluster {
            shown: format!(
                "{scheme}+cluster://{}{}",
                nodes.shown_userinfo(),
                nodes.list
            ),
            hosts: nodes.hosts(),
            nodes: nodes.urls.into_iter().map(|(_, u)| u).collect(),
        })
    }

    fn sentinels(scheme: &str, raw: &str) -> Result<RedisTopology, UrlError> {
        let expected =
            format!("{scheme}+sentinel://[user:password@]host:port,host:port/master-name");
        let (authority, tail) = split_authority(raw);
        if tail.contains(['?', '#']) {
            return Err(UrlError::new(
                "URL options (?… or #…) (a sentinel URL has none)",
                expected,
            ));
        }
        // The authority ends at the first `/`: the rest is the master's name.
        let master = tail.strip_prefix('/').unwrap_or_default();
        if master.is_empty() {
            return Err(UrlError::new(
                "no master name (the path names the master the sentinels monitor)",
                expected,
            ));
        }
        if let Some(bad) = master.chars().find(|c| {
            matches!(c, '/' | '?' | '#' | '%' | '@' | ',') || c.is_whitespace() || c.is_control()
        }) {
            return Err(UrlError::new(
                format!("master name {master:?} with {bad:?} in it (a sentinel master name is one plain word)"),
                expected,
            ));
        }
        let nodes = Nodes::parse(scheme, authority, &expected)?;
        let first = nodes.urls.first().map(|(u, _)| u);
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let username = first
            .map(|u| u.username())
            .filter(|u| !u.is_empty())
            .map(decode);
        let password = first
            .and_then(|u| u.password())
            .map(|p| SecretString::from(decode(p)));
        let sentinels = nodes
            .urls
            .iter()
            .map(|(u, _)| {
                (
                    u.host_str().unwrap_or_default().to_string(),
                    u.port().unwrap_or(SENTINEL_PORT),
                )
            })
            .collect();
        Ok(RedisTopology::Sentinel {
            shown: format!(
                "{scheme}+sentinel://{}{}/{master}",
                nodes.shown_userinfo(),
                nodes.list
            ),
            hosts: nodes.hosts(),
            spec: SentinelSpec {
                sentinels,
                master: master.to_string(),
                username,
                password,
            },
        })
    }

    /// True for `redis+cluster://` / `rediss+cluster://`.
    pub fn is_cluster(&self) -> bool {
        matches!(self.topology, RedisTopology::Cluster { .. })
    }

    /// The sentinels and master of `redis+sentinel://` / `rediss+sentinel://`.
    pub fn sentinel(&self) -> Option<&SentinelSpec> {
        match &self.topology {
            RedisTopology::Sentinel { spec, .. } => Some(spec),
            _ => None,
        }
    }

    /// True for `rediss://`, `rediss+cluster://` and `rediss+sentinel://`.
    pub fn uses_tls(&self) -> bool {
        self.tls
    }

    /// True when every host is a loopback host (a Unix socket counts as one).
    pub fn is_loopback(&self) -> bool {
        match &self.topology {
            RedisTopology::Single { host: None, .. } => true,
            RedisTopology::Single { host: Some(h), .. } => is_loopback_host(h),
            RedisTopology::Cluster { hosts, .. } | RedisTopology::Sentinel { hosts, .. } => {
                hosts.iter().all(|h| is_loopback_host(h))
            }
        }
    }

    /// The hosts, for messages (no credentials).
    pub fn hosts(&self) -> Vec<&str> {
        match &self.topology {
            RedisTopology::Single { host: None, .. } => vec!["(unix socket)"],
            RedisTopology::Single { host: Some(h), .. } => vec![h.as_str()],
            RedisTopology::Cluster { hosts, .. } | RedisTopology::Sentinel { hosts, .. } => {
                hosts.iter().map(String::as_str).collect()
            }
        }
    }

    /// The seed nodes of a cluster as `redis://` / `rediss://` URLs with the
    /// credentials; empty for a single server.
    pub fn cluster_nodes(&self) -> &[SecretString] {
        match &self.topology {
            RedisTopology::Single { .. } | RedisTopology::Sentinel { .. } => &[],
            RedisTopology::Cluster { nodes, .. } => nodes,
        }
    }

    /// The URL as configured, credentials included.
    pub fn expose_url(&self) -> &str {
        self.raw.expose_secret()
    }
}

/// `host:port,host:port` and what follows it (from the first `/`, `?` or `#`).
fn split_authority(raw: &str) -> (&str, &str) {
    let rest = raw
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.split_at(authority_end)
}

/// The comma-separated nodes of a cluster or sentinel URL, each checked as a
/// `redis://` / `rediss://` URL of its own with the shared credentials.
struct Nodes<'a> {
    userinfo: Option<&'a str>,
    list: &'a str,
    /// Each node parsed, and as a URL with the credentials.
    urls: Vec<(Url, SecretString)>,
}

impl<'a> Nodes<'a> {
    fn parse(scheme: &str, authority: &'a str, expected: &str) -> Result<Nodes<'a>, UrlError> {
        let (userinfo, list) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let mut urls = Vec::new();
        for (i, host) in list.split(',').enumerate() {
            if host.is_empty() {
                return Err(UrlError::new(
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
                    return Err(UrlError::new(
                        format!("node {host:?} without a host"),
                        expected,
                    ))
                }
                Err(e) => return Err(UrlError::new(format!("node {host:?} ({e})"), expected)),
            };
            check_with_client(&node, &redact(&parsed))?;
            urls.push((parsed, SecretString::from(node)));
        }
        Ok(Nodes {
            userinfo,
            list,
            urls,
        })
    }

    fn hosts(&self) -> Vec<String> {
        self.urls
            .iter()
            .map(|(u, _)| u.host_str().unwrap_or_default().to_string())
            .collect()
    }

    fn shown_userinfo(&self) -> String {
        match self.userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, _)) => format!("{user}:***@"),
                None => format!("{u}@"),
            },
            None => String::new(),
        }
    }
}

/// The Redis client parses the URL again when it connects: check now that it
/// agrees, so a URL that passes `config check` also connects.
fn check_with_client(url: &str, shown: &str) -> Result<(), UrlError> {
    redis::IntoConnectionInfo::into_connection_info(url)
        .map(|_| ())
        .map_err(|e| UrlError::new(format!("{shown} ({e})"), REDIS_EXPECTED))
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.topology {
            RedisTopology::Single { shown, .. }
            | RedisTopology::Cluster { shown, .. }
            | RedisTopology::Sentinel { shown, .. } => f.write_str(shown),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
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
    fn redis_sentinel() {
        let s = RedisUrl::parse("redis+sentinel://127.0.0.1:26379,localhost/mymaster").unwrap();
        assert!(!s.is_cluster() && !s.uses_tls() && s.is_loopback());
        let spec = s.sentinel().unwrap();
        assert_eq!(
            spec.sentinels,
            [("127.0.0.1".into(), 26379), ("localhost".into(), 26379)]
        );
        assert_eq!(spec.master, "mymaster");
        assert!(spec.username.is_none() && spec.password.is_none());
        assert_eq!(
            s.to_string(),
            "redis+sentinel://127.0.0.1:26379,localhost/mymaster"
        );

        let s = RedisUrl::parse("rediss+sentinel://app:p%40ss@s1:5000,s2:5001/otp").unwrap();
        assert!(s.uses_tls() && !s.is_loopback());
        assert_eq!(s.hosts(), ["s1", "s2"]);
        let spec = s.sentinel().unwrap();
        assert_eq!(spec.username.as_deref(), Some("app"));
        assert_eq!(spec.password.as_ref().unwrap().expose_secret(), "p@ss");
        assert_eq!(
            s.to_string(),
            "rediss+sentinel://app:***@s1:5000,s2:5001/otp"
        );
        assert!(!format!("{s:?}").contains("p%40ss"));
        assert!(s.cluster_nodes().is_empty());
        assert!(RedisUrl::parse("redis://h").unwrap().sentinel().is_none());
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
            ("redis+sentinel://a:1,b:2", "no master name"),
            ("redis+sentinel://a:1,b:2/", "no master name"),
            ("redis+sentinel://:pw@a:1/m/0", "master name \"m/0\""),
            ("redis+sentinel://a:1/m?x=1", "URL options"),
            ("redis+sentinel://a:1,,b:2/m", "empty node address"),
            ("rediss+sentinel://:pw@a:port/m", "invalid port"),
            ("redis+sentinel://a:1/m\u{7}", "master name"),
            ("redis+cluster://:1,b:2", "empty host"),
            // What only the Redis client refuses: checked before it connects.
            ("redis://:pw@a:1/x", "Invalid database number"),
        ] {
            let err = RedisUrl::parse(bad).err().map(|e| e.to_string());
            let err = err.unwrap_or_default();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains("pw"), "{bad}: {err}");
        }
    }
}
