//! Code mail delivery: SMTP through lettre (pooled, with timeouts), or the
//! in-memory [`Outbox`] of the embedded default.
mod outbox;
mod smtp;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

pub use outbox::{Outbox, OutboxMail};
pub use smtp::SmtpDelivery;

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

/// Why one mail was not delivered. `Smtp` carries the server's reply for the log.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("recipient address refused: {0}")]
    Recipient(String),
    #[error("message could not be built: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("SMTP did not answer within {0:?}")]
    Timeout(Duration),
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
            Some(url) => Delivery::Smtp(SmtpDelivery::from_url(url, timeout)?),
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

    /// Deliver one code mail; bounded by the configured timeout (connect and
    /// every SMTP command each get it, the whole send at most three times it).
    pub async fn send(
        &self,
        to_email: &str,
        to_name: Option<&str>,
        mail: &RenderedMail,
    ) -> Result<(), MailError> {
        let address = to_email
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Recipient(e.to_string()))?;
        let to = Mailbox::new(to_name.map(str::to_string), address);
        match &self.delivery {
            Delivery::Outbox(outbox) => {
                outbox.push(OutboxMail::new(&self.from, &to, mail));
                Ok(())
            }
            Delivery::Smtp(smtp) => {
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(mail.subject.clone())
                    .multipart(MultiPart::alternative_plain_html(
                        mail.text.clone(),
                        mail.html.clone(),
                    ))
                    .map_err(|e| MailError::Build(e.to_string()))?;
                let limit = self.timeout * 3;
                match tokio::time::timeout(limit, smtp.send(message)).await {
                    Ok(result) => result,
                    Err(_) => Err(MailError::Timeout(limit)),
                }
            }
        }
    }
}
