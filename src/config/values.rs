//! [`SmtpUrl`]: `mail.smtp_url`, parsed once into the security, host, port
//! and credentials the transport needs.
use std::fmt;

use secrecy::SecretString;
use url::Url;

use crate::net::{is_loopback_host, redact, UrlError};

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
    pub fn parse(raw: &str) -> Result<SmtpUrl, UrlError> {
        let u = Url::parse(raw).map_err(|e| {
            UrlError::new(
                format!("an unparsable URL ({e}; not shown as it may hold a password)"),
                SMTP_EXPECTED,
            )
        })?;
        let shown = redact(&u);
        let Some(host) = u.host_str().filter(|h| !h.is_empty()) else {
            return Err(UrlError::new(
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
                return Err(UrlError::new(
                    format!("scheme {other} in {shown}"),
                    SMTP_EXPECTED,
                ))
            }
        };
        if let Some(query) = u.query() {
            return Err(UrlError::new(
                format!("a query (?{query}) in {shown}"),
                format!(
                    "no query: the scheme decides the security, {SMTP_EXPECTED} \
                     (smtp:// to a host that is not loopback always requires STARTTLS)"
                ),
            ));
        }
        if u.fragment().is_some() || !matches!(u.path(), "" | "/") {
            return Err(UrlError::new(
                format!("a path or fragment in {shown}"),
                SMTP_EXPECTED,
            ));
        }
        let decode = |part: &str, what: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| {
                    UrlError::new(
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
                return Err(UrlError::new(
                    format!("a password without a user name in {shown}"),
                    "user:password@host",
                ))
            }
            (None, None) => None,
        };
        Ok(SmtpUrl {
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
    use secrecy::ExposeSecret as _;

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
