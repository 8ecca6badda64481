//! Code mail delivery: SMTP through our own connection handling around
//! lettre's protocol client ([`smtp`]), or the in-memory [`Outbox`] of the
//! embedded default. One call is one attempt; retries, leases and send
//! limits belong to the login's delivery (`crate::login::delivery`).
mod address;
mod outbox;
mod smtp;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

pub use address::Recipient;
pub use outbox::{Outbox, OutboxMail};
pub use smtp::{dot_stuffed, SmtpDelivery};

use crate::config::MailSettings;
use crate::templates::RenderedMail;

/// Why the mailer could not be set up (bad `[mail]` values).
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error(
        "mail.from {0:?} is not a mailbox (\"Name <addr@example.com>\" or \"addr@example.com\")"
    )]
    From(String),
    #[error("mail.smtp_url: {0}")]
    SmtpUrl(String),
}

/// Why one attempt did not deliver a mail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MailError {
    /// The server refused for good (5xx), or the message cannot be sent as
    /// it is: retrying will not help.
    #[error("refused ({}): {detail}", reply_label(*.reply))]
    Permanent { reply: Option<u16>, detail: String },
    /// 4xx, a connection or TLS failure: worth another attempt.
    #[error("failed ({}): {detail}", reply_label(*.reply))]
    Transient { reply: Option<u16>, detail: String },
    /// No answer in time; the message was not accepted (it may still arrive,
    /// which is why a retry sends the same code).
    #[error("no answer within the timeout")]
    Timeout,
}

fn reply_label(reply: Option<u16>) -> String {
    reply.map_or_else(|| "no reply code".to_string(), |c| c.to_string())
}

impl MailError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Permanent { .. })
    }

    /// The server's reply code, if it gave one.
    pub fn reply(&self) -> Option<u16> {
        match self {
            MailError::Permanent { reply, .. } | MailError::Transient { reply, .. } => *reply,
            MailError::Timeout => None,
        }
    }

    /// Short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            MailError::Permanent { .. } => "permanent",
            MailError::Transient { .. } => "transient",
            MailError::Timeout => "timeout",
        }
    }
}

/// The server's accepting reply to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub reply: u16,
}

enum Delivery {
    Smtp(SmtpDelivery),
    Outbox(Arc<Outbox>),
}

pub struct Mailer {
    from: Mailbox,
    delivery: Delivery,
    timeout: Duration,
}

impl Mailer {
    /// SMTP when `smtp_url` is set, else a fresh outbox.
    pub fn from_settings(settings: &MailSettings) -> Result<Self, MailSetupError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|_| MailSetupError::From(settings.from.clone()))?;
        let timeout = Duration::from_secs(settings.timeout_secs.max(1));
        let delivery = match &settings.smtp_url {
            Some(url) => Delivery::Smtp(SmtpDelivery::new(url, timeout)?),
            None => Delivery::Outbox(Arc::new(Outbox::new(outbox::DEFAULT_CAPACITY))),
        };
        Ok(Self {
            from,
            delivery,
            timeout,
        })
    }

    /// The outbox, when mail is not sent over SMTP.
    pub fn outbox(&self) -> Option<Arc<Outbox>> {
        match &self.delivery {
            Delivery::Outbox(o) => Some(o.clone()),
            Delivery::Smtp(_) => None,
        }
    }

    /// The longest one attempt can take: connect, greeting, TLS, AUTH,
    /// MAIL, RCPT, DATA and the message's reply, each bounded by the timeout.
    pub fn attempt_limit(&self) -> Duration {
        self.timeout * 4
    }

    /// One attempt to deliver one code mail.
    pub async fn send(
        &self,
        to: &Recipient,
        to_name: Option<&str>,
        mail: &RenderedMail,
    ) -> Result<Delivered, MailError> {
        let to = Mailbox::new(to_name.map(str::to_string), to.address().clone());
        let from = match &mail.sender_name {
            Some(name) => Mailbox::new(Some(name.clone()), self.from.email.clone()),
            None => self.from.clone(),
        };
        match &self.delivery {
            Delivery::Outbox(outbox) => {
                outbox.push(OutboxMail::new(&from, &to, mail));
                Ok(Delivered { reply: 250 })
            }
            Delivery::Smtp(smtp) => {
                let message = Message::builder()
                    .from(from)
                    .to(to)
                    .subject(mail.subject.clone())
                    .multipart(MultiPart::alternative_plain_html(
                        mail.text.clone(),
                        mail.html.clone(),
                    ))
                    .map_err(|e| MailError::Permanent {
                        reply: None,
                        detail: format!("message could not be built: {e}"),
                    })?;
                let accepted = smtp.send(message.envelope(), &message.formatted()).await?;
                Ok(Delivered {
                    reply: accepted.code,
                })
            }
        }
    }
}
