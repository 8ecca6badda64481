//! In-memory outbox of the embedded default: the newest mails, newest first.
use std::collections::VecDeque;
use std::sync::Mutex;

use lettre::message::Mailbox;

use crate::templates::RenderedMail;

pub const DEFAULT_CAPACITY: usize = 50;

#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Unix seconds.
    pub sent_at: i64,
}

impl OutboxMail {
    pub fn new(from: &Mailbox, to: &Mailbox, mail: &RenderedMail) -> Self {
        Self {
            from: from.to_string(),
            to: to.to_string(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            html: mail.html.clone(),
            sent_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }
}

#[derive(Debug)]
pub struct Outbox {
    capacity: usize,
    mails: Mutex<VecDeque<OutboxMail>>,
}

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            mails: Mutex::new(VecDeque::new()),
        }
    }

    pub fn push(&self, mail: OutboxMail) {
        let mut mails = self.mails.lock().unwrap_or_else(|p| p.into_inner());
        mails.push_front(mail);
        mails.truncate(self.capacity);
    }

    /// Newest first.
    pub fn list(&self) -> Vec<OutboxMail> {
        let mails = self.mails.lock().unwrap_or_else(|p| p.into_inner());
        mails.iter().cloned().collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn mail(subject: &str) -> OutboxMail {
        OutboxMail {
            from: "a@example.com".into(),
            to: "b@example.com".into(),
            subject: subject.into(),
            text: String::new(),
            html: String::new(),
            sent_at: 0,
        }
    }

    #[test]
    fn keeps_the_newest_first_and_drops_the_oldest() {
        let outbox = Outbox::new(2);
        outbox.push(mail("1"));
        outbox.push(mail("2"));
        outbox.push(mail("3"));
        let subjects: Vec<_> = outbox.list().into_iter().map(|m| m.subject).collect();
        assert_eq!(subjects, ["3", "2"]);
    }
}
