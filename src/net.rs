//! Network facts shared by configuration, the realm linter and the transports.
use std::fmt;
use std::net::IpAddr;

use url::Url;

/// `localhost` (any case), any address of 127.0.0.0/8, or `::1`; an IPv6
/// address may be given in brackets, as it appears in a URL.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// [`is_loopback_host`] for the host of a parsed URL.
pub fn is_loopback_url_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => is_loopback_host(d),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Why a configured URL is not valid: what was found, what was expected.
/// Configuration adds the key and where the value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    pub found: String,
    pub expected: String,
}

impl UrlError {
    pub(crate) fn new(found: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            found: found.into(),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "found {}, expected {}", self.found, self.expected)
    }
}

/// A URL with its password replaced, for messages.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "smtp.example.com",
            "127.0.0.1.example.com",
            "128.0.0.1",
            "::2",
            "[::1",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn url_hosts_cover_all_of_127_0_0_0_8() {
        let host = |s: &str| url::Url::parse(s).map(|u| u.host().map(|h| h.to_owned()));
        for (url, loopback) in [
            ("http://127.0.0.1/", true),
            ("http://127.5.6.7/", true),
            ("http://[::1]/", true),
            ("http://LocalHost/", true),
            ("http://10.0.0.1/", false),
            ("http://example.com/", false),
        ] {
            let Ok(Some(h)) = host(url) else {
                continue;
            };
            let h = match &h {
                url::Host::Domain(d) => url::Host::Domain(d.as_str()),
                url::Host::Ipv4(a) => url::Host::Ipv4(*a),
                url::Host::Ipv6(a) => url::Host::Ipv6(*a),
            };
            assert_eq!(is_loopback_url_host(&h), loopback, "{url}");
        }
    }
}
