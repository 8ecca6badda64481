//! SMTP delivery: lettre speaks the protocol, this module owns the sockets.
//!
//! lettre's pooled transport returns a connection to its pool after a
//! timeout with the server's reply still unread, so the next message can be
//! "answered" by a stale reply; and it writes a message's body and its
//! `<CRLF>.<CRLF>` terminator as two writes on a socket with Nagle's
//! algorithm on, which stalls every send by a delayed-ACK round (about
//! 40 ms). So we keep lettre's [`AsyncSmtpConnection`] (greeting, EHLO,
//! STARTTLS, AUTH, reply parsing) and wrap it:
//!
//! * our own TCP socket with `TCP_NODELAY` (plain and STARTTLS; implicit TLS
//!   goes through lettre's connector, and the body is one write anyway);
//! * the dot-stuffed body and its terminator in one write;
//! * a small pool that takes a connection back only after the server
//!   answered the message with 2xx; any error, timeout or unexpected reply
//!   drops (closes) the connection, so every outcome is the server's reply
//!   to that message;
//! * an idle connection is checked with `NOOP` before reuse once it has been
//!   idle for a while, and closed after [`MAX_IDLE`].
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use secrecy::{ExposeSecret, SecretString};

use super::{MailError, MailSetupError};
use crate::config::{SmtpSecurity, SmtpUrl};

/// Idle connections kept for reuse.
const POOL_SIZE: usize = 8;
/// An idle connection older than this is closed instead of reused.
const MAX_IDLE: Duration = Duration::from_secs(50);
/// An idle connection older than this is checked with `NOOP` before reuse.
const CHECK_AFTER: Duration = Duration::from_secs(5);

/// The server's accepting reply to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The reply code, e.g. 250.
    pub code: u16,
    /// Whether the message went over a reused connection.
    pub reused: bool,
}

pub struct SmtpDelivery {
    host: String,
    port: u16,
    security: SmtpSecurity,
    credentials: Option<(String, SecretString)>,
    hello: ClientId,
    timeout: Duration,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl std::fmt::Debug for SmtpDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpDelivery")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

/// A lettre error as ours: permanent (5xx, or a client-side refusal such as
/// an address the server cannot take) or transient (4xx, I/O, TLS).
fn classify(e: lettre::transport::smtp::Error) -> MailError {
    let reply = e.status().map(u16::from);
    if e.is_permanent() || e.is_client() {
        MailError::Permanent {
            reply,
            detail: e.to_string(),
        }
    } else if e.is_timeout() {
        MailError::Timeout
    } else {
        MailError::Transient {
            reply,
            detail: e.to_string(),
        }
    }
}

/// The message with leading dots doubled and every line ending CRLF,
/// followed by the `<CRLF>.<CRLF>` terminator (RFC 5321 section 4.5.2).
pub fn dot_stuffed(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 64);
    for piece in message.split_inclusive('\n') {
        let (text, ended) = match piece.strip_suffix('\n') {
            Some(line) => (line.strip_suffix('\r').unwrap_or(line), true),
            None => (piece, false),
        };
        if text.starts_with('.') {
            out.push('.');
        }
        out.push_str(text);
        if ended {
            out.push_str("\r\n");
        }
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

impl SmtpDelivery {
    /// The transport for `url` (security, host, port and credentials as
    /// the configuration parsed them); fails when TLS cannot be set up.
    pub fn new(url: &SmtpUrl, timeout: Duration) -> Result<Self, MailSetupError> {
        let host = url.host().to_string();
        if url.security() != SmtpSecurity::Plain {
            // Fail at start-up, not at the first mail, when TLS cannot be set up.
            TlsParameters::new(host.clone())
                .map_err(|e| MailSetupError::SmtpUrl(format!("TLS setup for {host}: {e}")))?;
        }
        Ok(Self {
            host,
            port: url.port(),
            security: url.security(),
            credentials: url.credentials(),
            hello: ClientId::default(),
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    /// Deliver one message. Every step is bounded by the timeout; the
    /// connection is reused only after a 2xx answer to the whole message.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Accepted, MailError> {
        let (mut conn, reused) = match self.checkout().await {
            Some(conn) => (conn, true),
            None => (self.connect().await?, false),
        };
        let reply = self.transaction(&mut conn, envelope, message).await?;
        self.checkin(conn);
        Ok(Accepted {
            code: reply,
            reused,
        })
    }

    async fn bounded<T>(
        &self,
        step: impl std::future::Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, MailError> {
        match tokio::time::timeout(self.timeout, step).await {
            Ok(result) => result.map_err(classify),
            Err(_) => Err(MailError::Timeout),
        }
    }

    /// MAIL, RCPT, DATA and the message; the server's reply to the message.
    /// On any error `conn` must be dropped: its state is unknown.
    async fn transaction(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<u16, MailError> {
        let mut params = Vec::new();
        let non_ascii = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(MailError::Permanent {
                    reply: None,
                    detail: "the address is not ASCII and the server does not offer SMTPUTF8"
                        .into(),
                });
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if !message.is_ascii() {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let body = std::str::from_utf8(message).map_err(|_| MailError::Permanent {
            reply: None,
            detail: "message is not UTF-8".into(),
        })?;
        let payload = dot_stuffed(body);
        self.bounded(conn.command(Mail::new(envelope.from().cloned(), params)))
            .await?;
        for to in envelope.to() {
            self.bounded(conn.command(Rcpt::new(to.clone(), vec![])))
                .await?;
        }
        self.bounded(conn.command(Data)).await?;
        // Body and terminator in one write: no Nagle stall between them.
        let reply = self.bounded(conn.command(RawData(&payload))).await?;
        Ok(u16::from(reply.code()))
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let tls = || {
            TlsParameters::new(self.host.clone()).map_err(|e| MailError::Permanent {
                reply: None,
                detail: format!("TLS setup: {e}"),
            })
        };
        let mut conn = match self.security {
            SmtpSecurity::ImplicitTls => {
                self.bounded(AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(self.timeout),
                    &self.hello,
                    Some(tls()?),
                    None,
                ))
                .await?
            }
            SmtpSecurity::StartTls | SmtpSecurity::Plain => {
                let stream = match tokio::time::timeout(
                    self.timeout,
                    tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
                )
                .await
                {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        return Err(MailError::Transient {
                            reply: None,
                            detail: format!("connect to {}:{}: {e}", self.host, self.port),
                        })
                    }
                    Err(_) => return Err(MailError::Timeout),
                };
                let _ = stream.set_nodelay(true);
                let mut conn = self
                    .bounded(AsyncSmtpConnection::connect_with_transport(
                        Box::new(stream),
                        &self.hello,
                    ))
                    .await?;
                if self.security == SmtpSecurity::StartTls {
                    self.bounded(conn.starttls(tls()?, &self.hello)).await?;
                }
                conn
            }
        };
        if let Some((user, pass)) = &self.credentials {
            let credentials = Credentials::new(user.clone(), pass.expose_secret().to_string());
            self.bounded(conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials))
                .await?;
        }
        Ok(conn)
    }

    /// An idle connection that still answers, if any.
    async fn checkout(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                idle.pop()?
            };
            let age = since.elapsed();
            if age > MAX_IDLE || conn.has_broken() {
                continue;
            }
            if age < CHECK_AFTER {
                return Some(conn);
            }
            if let Ok(true) = tokio::time::timeout(self.timeout, conn.test_connected()).await {
                return Some(conn);
            }
        }
    }

    fn checkin(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < POOL_SIZE {
            idle.push((conn, Instant::now()));
        }
    }
}

/// The dot-stuffed message and its terminator, written as one command.
struct RawData<'a>(&'a str);

impl std::fmt::Display for RawData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn delivery(s: &str) -> SmtpDelivery {
        SmtpDelivery::new(&SmtpUrl::parse(s).unwrap(), Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn takes_security_port_and_credentials_from_the_url() {
        let tls = delivery("smtps://u%40x:p@smtp.example.com");
        assert_eq!((tls.security(), tls.port), (SmtpSecurity::ImplicitTls, 465));
        let (user, pass) = tls.credentials.clone().unwrap();
        assert_eq!((user.as_str(), pass.expose_secret()), ("u@x", "p"));
        let start = delivery("smtp://smtp.example.com");
        assert_eq!(
            (start.security(), start.port),
            (SmtpSecurity::StartTls, 587)
        );
        let plain = delivery("smtp://127.0.0.1:2525");
        assert_eq!((plain.security(), plain.port), (SmtpSecurity::Plain, 2525));
        assert!(plain.credentials.is_none());
        assert_eq!(
            delivery("smtp://[::1]:2525").security(),
            SmtpSecurity::Plain
        );
    }

    #[test]
    fn stuffs_dots_and_terminates_once() {
        assert_eq!(dot_stuffed("a\r\n.b\r\n"), "a\r\n..b\r\n.\r\n");
        assert_eq!(dot_stuffed(".\nx"), "..\r\nx\r\n.\r\n");
        assert_eq!(dot_stuffed(""), "\r\n.\r\n");
        assert_eq!(dot_stuffed("last"), "last\r\n.\r\n");
    }
}
