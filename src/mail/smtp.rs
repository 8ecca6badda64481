//! lettre SMTP transport built from `mail.smtp_url`.
use std::net::IpAddr;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{MailError, MailSetupError};

pub struct SmtpDelivery {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// `smtp:` is not a special URL scheme, so the host comes back as an opaque
/// string even when it is an IP address: parse it ourselves.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SmtpDelivery {
    /// `smtps://` = implicit TLS (465); `smtp://` = STARTTLS required (587),
    /// except to loopback, where it is plain (25) for a local relay or test sink.
    pub fn from_url(secret_url: &SecretString, timeout: Duration) -> Result<Self, MailSetupError> {
        let url = Url::parse(secret_url.expose_secret())
            .map_err(|e| MailSetupError::SmtpUrl(format!("not a URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| MailSetupError::SmtpUrl("has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls_error = |e: lettre::transport::smtp::Error| {
            MailSetupError::SmtpUrl(format!("TLS setup for {host}: {e}"))
        };
        let mut builder = match url.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(tls_error)?,
            "smtp" if is_loopback(&host) => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
            }
            "smtp" => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host).map_err(tls_error)?
            }
            other => {
                return Err(MailSetupError::SmtpUrl(format!(
                    "scheme {other:?}: expected smtps:// or smtp://"
                )))
            }
        };
        if let Some(port) = url.port() {
            builder = builder.port(port);
        }
        if !url.username().is_empty() {
            let decode = |s: &str| {
                percent_decode(s).map_err(|_| {
                    MailSetupError::SmtpUrl(
                        "credentials are not valid percent-encoded UTF-8".into(),
                    )
                })
            };
            let user = decode(url.username())?;
            let pass = decode(url.password().unwrap_or(""))?;
            builder = builder.credentials(Credentials::new(user, pass));
        }
        let transport = builder
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(8))
            .build();
        Ok(Self { transport })
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::Smtp(e.to_string()))
    }
}

fn percent_decode(s: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(value as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn url(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    // The pooled transport starts its reaper task on the current runtime.
    #[tokio::test]
    async fn accepts_the_documented_schemes() {
        let t = Duration::from_secs(5);
        assert!(SmtpDelivery::from_url(&url("smtps://u:p@smtp.example.com:465"), t).is_ok());
        assert!(SmtpDelivery::from_url(&url("smtp://smtp.example.com:587"), t).is_ok());
        assert!(SmtpDelivery::from_url(&url("smtp://127.0.0.1:2525"), t).is_ok());
        assert!(SmtpDelivery::from_url(&url("smtp://[::1]:2525"), t).is_ok());
    }

    #[test]
    fn knows_loopback_hosts() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("LOCALHOST"));
        assert!(!is_loopback("smtp.example.com"));
        assert!(!is_loopback("127.0.0.1.example.com"));
    }

    #[tokio::test]
    async fn refuses_other_schemes() {
        let t = Duration::from_secs(5);
        let err = SmtpDelivery::from_url(&url("http://smtp.example.com"), t)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("expected smtps:// or smtp://"), "{err}");
    }

    #[test]
    fn decodes_credentials() {
        assert_eq!(percent_decode("a%40b%3Ac").unwrap(), "a@b:c");
        assert_eq!(percent_decode("100%").unwrap(), "100%");
    }
}
