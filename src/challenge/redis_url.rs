//! [`RedisUrl`]: `store.redis_url`, parsed once; the store connects with it.
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::net::{is_loopback_host, redact, UrlError};

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
    pub fn parse(raw: &str) -> Result<RedisUrl, UrlError> {
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
        let rest = raw
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if !(tail.is_empty() || tail == "/") {
            return Err(UrlError::new(
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
fn check_with_client(url: &str, shown: &str) -> Result<(), UrlError> {
    redis::IntoConnectionInfo::into_connection_info(url)
        .map(|_| ())
        .map_err(|e| UrlError::new(format!("{shown} ({e})"), REDIS_EXPECTED))
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
}
