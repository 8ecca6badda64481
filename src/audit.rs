//! The audit trail: one structured event per step of a challenge's life, on
//! the tracing target `audit` (a JSON line like every other event, with
//! `"target":"audit"` and `"message":"audit"`). Each carries the
//! `correlation_id`: the jti of the request JWT the challenge serves, which
//! Keycloak's authenticator puts into its own event for the step as the
//! detail `otp_correlation_id`, so one login can be followed across both
//! logs. Only masked personal data: the address as `j***@example.com`, the
//! challenge as the first 8 characters of its id; never a code.
use crate::challenge::ChallengeRecord;
use crate::telemetry::{challenge_ref, mask_email};

/// The tracing target of audit events (`RUST_LOG=audit=info` keeps them alone).
pub const TARGET: &str = "audit";

/// A step of a challenge's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Stored, its first code on the way.
    Created,
    /// Pointed at a newer request of the same login (Keycloak re-rendered its
    /// step); from here on the events carry the newer request's jti.
    Rebound,
    /// A code mail was accepted by the mail server.
    Mailed,
    /// A code mail could not be delivered, for good.
    MailFailed,
    /// A new code was issued (its mail follows as `mailed`).
    Resent,
    /// The right code: the challenge is used up, `success` goes to Keycloak.
    Verified,
    /// A wrong code, attempts remain.
    Failed,
    /// No attempts left (or the user's budget spent): `locked` goes to Keycloak.
    Locked,
    /// Past its lifetime when it was next used: `expired` goes to Keycloak.
    Expired,
    /// The user gave up: `cancelled` goes to Keycloak.
    Cancelled,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Created => "created",
            Step::Rebound => "rebound",
            Step::Mailed => "mailed",
            Step::MailFailed => "mail_failed",
            Step::Resent => "resent",
            Step::Verified => "verified",
            Step::Failed => "failed",
            Step::Locked => "locked",
            Step::Expired => "expired",
            Step::Cancelled => "cancelled",
        }
    }
}

/// What some steps add.
#[derive(Debug, Default, Clone, Copy)]
pub struct Details<'a> {
    pub attempts_left: Option<u32>,
    /// Which code (0 the first, one more per new code).
    pub generation: Option<u32>,
    /// Why, where a step has several causes (`locked`).
    pub reason: Option<&'static str>,
    /// `rebound`: the jti the events carried until now.
    pub previous_correlation_id: Option<&'a str>,
}

/// Emit the audit event of `step` for `record`.
pub fn event(step: Step, record: &ChallengeRecord, details: Details<'_>) {
    tracing::info!(
        target: TARGET,
        event = step.as_str(),
        correlation_id = %record.request_jti,
        challenge = challenge_ref(record.id.as_str()),
        realm = %record.realm,
        client = record.azp.as_deref().unwrap_or(""),
        subject = %record.subject,
        email = %mask_email(&record.email),
        attempts_left = details.attempts_left,
        generation = details.generation,
        reason = details.reason,
        previous_correlation_id = details.previous_correlation_id,
        "audit"
    );
}
