//! Delivering a code mail: at least once, with the outcome on the record.
//!
//! The record is the outbox entry. `create`/`resend` store the new code's
//! MAC, its sealed copy, delivery `Sending` and a lease (one attempt's bound
//! plus a margin) in the same atomic step, before any mail goes out. The
//! process that stored it delivers right away in a task of its own:
//!
//! * 2xx -> `Sent`;
//! * a permanent failure (5xx, an address the server cannot take) -> `Failed`;
//! * a transient one (4xx, connection, TLS, timeout) is retried with
//!   exponential backoff (1 s, 2 s, 4 s, ... at most 15 s apart) until the
//!   retry budget (`[mail] retry_for_secs`, at most half the code's remaining
//!   lifetime) is spent -> `Failed`; before each wait the lease is renewed
//!   to cover the wait and the next attempt;
//! * `Failed` refunds the user's challenge charge (first code) and the send
//!   limits, and makes the next code free (no cooldown, no resend counted).
//!
//! If the process dies mid-delivery its lease runs out while the record
//! still says `Sending`. The page or API client that waits for the code
//! polls the challenge's status; whichever process answers that poll claims
//! the delivery atomically ([`DeliveryStep::Claim`]), unseals the same code
//! and delivers it. A mail the dead process had got accepted may arrive
//! twice; both carry the same code, so nothing the user sees is wrong.
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::audit::{self, Details, Step};
use crate::challenge::{
    unseal_code, ChallengeRecord, Code, DeliveryState, DeliveryStep, Store as _,
};
use crate::mail::MailError;
use crate::telemetry::{challenge_ref, mask_email};
use crate::templates::MailContext;

use super::{locale, Login, LoginError};

/// How long starting a challenge or asking for a new code waits for the
/// first attempt's answer before the page says "sending".
const FIRST_WAIT: Duration = Duration::from_secs(2);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

impl Login {
    /// Deliver `record`'s current `code` in a task of its own (it outlives
    /// the request); wait at most the first wait for the first attempt's
    /// answer and return the state known then.
    pub(super) async fn deliver(
        self: &Arc<Self>,
        record: ChallengeRecord,
        code: Code,
    ) -> DeliveryState {
        let (first_tx, first_rx) = oneshot::channel();
        let login = Arc::clone(self);
        tokio::spawn(async move { login.run_delivery(record, code, Some(first_tx)).await });
        match tokio::time::timeout(FIRST_WAIT, first_rx).await {
            Ok(Ok(state)) => state,
            _ => DeliveryState::Sending,
        }
    }

    /// Take over a delivery whose lease ran out (its process died) and
    /// deliver the same code again. The record as it is after the claim
    /// (or as it was, when another process claimed it first).
    pub(super) async fn take_over(
        self: &Arc<Self>,
        record: ChallengeRecord,
        now: i64,
    ) -> Result<ChallengeRecord, LoginError> {
        let step = DeliveryStep::Claim {
            lease_until: self.lease_until(now),
        };
        let Some(claimed) = self.store.delivery(&record.id, step, now).await? else {
            return Ok(record);
        };
        self.metrics.mail("taken_over");
        tracing::warn!(
            challenge = challenge_ref(claimed.id.as_str()),
            req_jti = %claimed.request_jti,
            generation = claimed.generation,
            "code mail delivery taken over: its lease ran out while sending"
        );
        let code = unseal_code(
            &self.pepper,
            &claimed.id,
            claimed.generation,
            &claimed.sealed_code,
            claimed.policy.length,
        );
        let Some(code) = code else {
            tracing::error!(
                challenge = challenge_ref(claimed.id.as_str()),
                "the sealed code does not open (another pepper?); delivery failed"
            );
            let failed = self.fail(&claimed).await;
            return Ok(failed.unwrap_or(claimed));
        };
        let login = Arc::clone(self);
        let task = claimed.clone();
        tokio::spawn(async move { login.run_delivery(task, code, None).await });
        Ok(claimed)
    }

    async fn run_delivery(
        self: Arc<Self>,
        record: ChallengeRecord,
        code: Code,
        mut first: Option<oneshot::Sender<DeliveryState>>,
    ) {
        let mut tell = |state: DeliveryState| {
            if let Some(tx) = first.take() {
                let _ = tx.send(state);
            }
        };
        let _in_flight = self.metrics.delivery_started();
        let started = Instant::now();
        let now = self.now();
        let remaining = u64::try_from(record.expires_at.saturating_sub(now)).unwrap_or(0);
        let budget = Duration::from_secs(self.rules.mail.retry_for_secs.min(remaining / 2));
        let context = MailContext {
            code: code.expose().to_string(),
            app: self.app_info(&record),
            name: record.name.clone(),
            email: record.email.clone(),
            expires_at: record.expires_at,
            expires_in_minutes: remaining.div_ceil(60),
            resent: record.generation > 0,
        };
        let realm = crate::templates::RealmLook {
            issuer: Some(&record.realm),
            display_name: record.realm_name.as_deref(),
        };
        let mail = match self
            .templates
            .render_mail_for(realm, locale(&record), &context)
        {
            Ok(mail) => mail,
            Err(e) => {
                tracing::error!(error = %e, "code mail could not be rendered");
                self.fail(&record).await;
                return tell(DeliveryState::Failed);
            }
        };
        let recipient = match self.recipient(&record) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "code mail cannot be addressed");
                self.fail(&record).await;
                return tell(DeliveryState::Failed);
            }
        };
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1u32.. {
            let t0 = Instant::now();
            let result = match tokio::time::timeout(
                self.mailer.attempt_limit(),
                self.mailer.send(&recipient, record.name.as_deref(), &mail),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => Err(MailError::Timeout),
            };
            let took = t0.elapsed();
            let outcome = match &result {
                Ok(_) => "sent",
                Err(e) => e.kind(),
            };
            self.metrics.mail_attempt(outcome, took.as_secs_f64());
            let reply = match &result {
                Ok(delivered) => Some(delivered.reply),
                Err(e) => e.reply(),
            };
            let error = result.as_ref().err().map(ToString::to_string);
            tracing::info!(
                challenge = challenge_ref(record.id.as_str()),
                req_jti = %record.request_jti,
                email = %mask_email(&record.email),
                generation = record.generation,
                attempt,
                outcome,
                smtp_reply = reply,
                error,
                duration_ms = took.as_millis() as u64,
                "code mail delivery attempt"
            );
            match result {
                Ok(_) => {
                    let step = DeliveryStep::Finish {
                        generation: record.generation,
                        state: DeliveryState::Sent,
                    };
                    if let Err(e) = self.store.delivery(&record.id, step, self.now()).await {
                        tracing::error!(error = %e, "delivery outcome not stored");
                    }
                    self.metrics.mail("sent");
                    audit::event(
                        Step::Mailed,
                        &record,
                        Details {
                            generation: Some(record.generation),
                            ..Details::default()
                        },
                    );
                    return tell(DeliveryState::Sent);
                }
                Err(e) if e.is_permanent() => {
                    self.fail(&record).await;
                    return tell(DeliveryState::Failed);
                }
                Err(_) => {
                    if started.elapsed() + backoff > budget {
                        self.fail(&record).await;
                        return tell(DeliveryState::Failed);
                    }
                    tell(DeliveryState::Sending);
                    // Hold the lease through the wait and the next attempt,
                    // so that no other process takes over a live delivery.
                    let now = self.now();
                    let step = DeliveryStep::Extend {
                        generation: record.generation,
                        lease_until: self
                            .lease_until(now)
                            .saturating_add_unsigned(backoff.as_secs()),
                    };
                    match self.store.delivery(&record.id, step, now).await {
                        Ok(Some(_)) => {}
                        // A newer code, or another process finished it: not ours any more.
                        Ok(None) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "delivery lease not renewed; trying anyway");
                        }
                    }
                    self.metrics.mail_retry();
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Mark the delivery failed for good and give back what it was charged:
    /// the user's challenge charge (first code) and the send limits. The
    /// next code is then free (the store's resend rule).
    async fn fail(&self, record: &ChallengeRecord) -> Option<ChallengeRecord> {
        let now = self.now();
        let step = DeliveryStep::Finish {
            generation: record.generation,
            state: DeliveryState::Failed,
        };
        let failed = match self.store.delivery(&record.id, step, now).await {
            Ok(Some(failed)) => failed,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!(error = %e, "delivery failure not stored");
                return None;
            }
        };
        self.metrics.mail("failed");
        if record.generation == 0 {
            self.refund_challenge(record, now).await;
        }
        if let Ok(recipient) = self.recipient(record) {
            self.refund_send_limits(&recipient, now).await;
        }
        tracing::error!(
            challenge = challenge_ref(record.id.as_str()),
            req_jti = %record.request_jti,
            email = %mask_email(&record.email),
            generation = record.generation,
            "code mail not delivered; nothing charged, the next code is free"
        );
        audit::event(
            Step::MailFailed,
            record,
            Details {
                generation: Some(record.generation),
                ..Details::default()
            },
        );
        Some(failed)
    }
}
