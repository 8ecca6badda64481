//! The login use case, shared by the browser pages and the JSON API: start
//! a challenge from a request JWT, deliver its code mail, verify codes,
//! send new codes, and sign the assertion. It knows nothing of HTTP; the
//! error-to-response mapping is the web layer's (`routes/`).
mod delivery;
pub mod handoff;
mod limits;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::RngCore as _;

use crate::audit::{self, Details, Step};
use crate::challenge::{
    mac, seal_code, AnyStore, ChallengeId, ChallengeRecord, Code, CodeError, DeliveryState,
    JtiClaim, NewChallenge, Pepper, Policy, Rebind, ResendOutcome, Store as _, StoreError,
    UserCharge, UserKey, VerifyOutcome,
};
use crate::clock::Clock;
use crate::config::{Bound, MailDelivery, OtpSettings};
use crate::mail::{Mailer, Recipient};
use crate::metrics::Metrics;
use crate::telemetry::{challenge_ref, mask_email};
use crate::templates::model::AppInfo;
use crate::templates::Templates;
use crate::tokens::{
    expired_from, AssertionClaims, AssertionResult, AssertionSigner, RequestRejection,
    RequestVerifier, RequestedPolicy,
};

/// Lifetime of an assertion (docs/protocol.md section 4: at most 60 s).
pub const ASSERTION_TTL_SECS: i64 = 60;

/// Why the login stopped; the web layer maps each to a page and a JSON error.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("request refused: {0}")]
    Rejected(RequestRejection),
    /// What was typed cannot be a code (not counted as an attempt).
    #[error("{0}")]
    MalformedCode(CodeError),
    /// The user's budget (failures or challenges in the window) is spent: no
    /// challenge was stored and no mail sent. The record (never stored) carries
    /// what the `locked` assertion needs.
    #[error("user budget spent ({0})")]
    UserLocked(&'static str, Box<ChallengeRecord>),
    /// A send limit (this address, or all mail) is reached: no mail sent and
    /// nothing charged; a new code can be asked for after `retry_after_secs`.
    #[error("send limit {limit} reached")]
    SendLimited {
        limit: &'static str,
        retry_after_secs: u64,
    },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The store did not answer while a request was being started; the jti
    /// may have been claimed for a challenge that was never created. The
    /// browser keeps `binding` (its challenge cookie): the same request
    /// retried with it completes that challenge instead of being refused as
    /// a replay.
    #[error("store unavailable while starting: {detail}")]
    Stalled {
        binding: ChallengeId,
        detail: String,
    },
    #[error("{0}")]
    Internal(String),
}

/// What starting from a request JWT did.
#[derive(Debug)]
pub enum Started {
    /// New challenge; its first code is being delivered (`record.delivery`
    /// says how far it got within the first wait).
    Created(Box<ChallengeRecord>),
    /// The same request again from the browser already bound to its
    /// challenge (back/refresh): no new mail.
    Resumed(ChallengeId),
}

/// What checking a code did.
#[derive(Debug)]
pub enum Checked {
    Success(Box<ChallengeRecord>),
    /// Wrong code; more attempts remain.
    Invalid {
        attempts_left: u32,
    },
    /// The challenge is closed: its cap or the user's budget is spent (the
    /// last wrong code closes it at once).
    Locked(Box<ChallengeRecord>),
    /// Past its TTL (the record while it is kept), or unknown.
    Expired(Option<Box<ChallengeRecord>>),
}

/// What asking for a new code did.
#[derive(Debug)]
pub enum Resent {
    Sent(Box<ChallengeRecord>),
    Cooldown { retry_after_secs: u64 },
    Exhausted,
    Expired,
}

/// The login's own settings, taken from `Settings` once.
#[derive(Debug, Clone)]
pub struct LoginRules {
    pub otp: OtpSettings,
    /// Retries and send limits.
    pub mail: MailDelivery,
    /// Client id -> display name.
    pub apps: BTreeMap<String, String>,
    /// Shown when a request names no client.
    pub product_name: String,
    /// Our issuer (the assertion's `iss`).
    pub issuer: String,
}

/// The login use case. Cheap to share: hold it in an `Arc`, because
/// deliveries run as tasks of their own and outlive the request that
/// started them.
pub struct Login {
    clock: Arc<dyn Clock>,
    verifier: RequestVerifier,
    signer: Arc<AssertionSigner>,
    store: Arc<AnyStore>,
    pepper: Pepper,
    templates: Arc<Templates>,
    mailer: Arc<Mailer>,
    metrics: Arc<Metrics>,
    rules: LoginRules,
}

/// Sealed cookie values from [`Login::hand_back`].
#[derive(Debug, Clone)]
pub struct HandBack {
    pub handoff: String,
    pub finished: String,
}

/// The parts a [`Login`] works with.
pub struct LoginParts {
    pub clock: Arc<dyn Clock>,
    pub verifier: RequestVerifier,
    pub signer: Arc<AssertionSigner>,
    pub store: Arc<AnyStore>,
    pub pepper: Pepper,
    pub templates: Arc<Templates>,
    pub mailer: Arc<Mailer>,
    pub metrics: Arc<Metrics>,
}

/// `n` random bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand_core::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn clamp<T>(name: &'static str, requested: Option<T>, bound: &Bound<T>, jti: &str) -> T
where
    T: Ord + Copy + std::fmt::Display,
{
    let Some(value) = requested else {
        return bound.default;
    };
    let applied = value.max(bound.min).min(bound.max);
    if applied != value {
        tracing::info!(
            policy = name,
            requested = %value,
            applied = %applied,
            min = %bound.min,
            max = %bound.max,
            req_jti = jti,
            "request otp policy clamped to the configured bounds"
        );
    }
    applied
}

/// The request's `otp` object clamped to the configured bounds, each clamp logged.
pub fn effective_policy(
    requested: Option<&RequestedPolicy>,
    otp: &OtpSettings,
    jti: &str,
) -> Policy {
    let r = requested.cloned().unwrap_or_default();
    Policy {
        length: clamp("length", r.length, &otp.length, jti),
        ttl_secs: clamp("ttl", r.ttl, &otp.ttl_secs, jti),
        max_attempts: clamp("max_attempts", r.max_attempts, &otp.max_attempts, jti),
        resend_cooldown_secs: clamp(
            "resend_cooldown",
            r.resend_cooldown,
            &otp.resend_cooldown_secs,
            jti,
        ),
        max_resends: clamp("max_resends", r.max_resends, &otp.max_resends, jti),
    }
}

/// The realm a challenge's pages speak for, as the sealed cookies carry it.
fn realm_of(record: &ChallengeRecord) -> handoff::RealmOf {
    handoff::RealmOf {
        issuer: Some(record.realm.clone()),
        name: record.realm_name.clone(),
    }
}

pub fn locale(record: &ChallengeRecord) -> &str {
    record.locale.as_deref().unwrap_or("en")
}

impl Login {
    pub fn new(parts: LoginParts, rules: LoginRules) -> Login {
        Login {
            clock: parts.clock,
            verifier: parts.verifier,
            signer: parts.signer,
            store: parts.store,
            pepper: parts.pepper,
            templates: parts.templates,
            mailer: parts.mailer,
            metrics: parts.metrics,
            rules,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Verify the request, claim its jti, create the challenge and start
    /// delivering the first code; waits at most the first-attempt wait for
    /// the mail server's answer. `browser_challenge` is the challenge
    /// cookie, when a browser sent one.
    pub async fn start(
        self: &Arc<Self>,
        request_jwt: &str,
        browser_challenge: Option<&str>,
    ) -> Result<Started, LoginError> {
        let cookie = browser_challenge.and_then(|c| ChallengeId::parse(c).ok());
        let binding = cookie.clone().unwrap_or_else(ChallengeId::generate);
        self.start_bound(request_jwt, cookie.as_ref(), &binding)
            .await
            .map_err(|e| match e {
                LoginError::Store(StoreError::Unavailable(detail)) => {
                    LoginError::Stalled { binding, detail }
                }
                other => other,
            })
    }

    /// [`Login::start`] for a browser bound by `binding`: its cookie, or a
    /// fresh id it is given with a 503 if the store does not answer.
    async fn start_bound(
        self: &Arc<Self>,
        request_jwt: &str,
        cookie: Option<&ChallengeId>,
        binding: &ChallengeId,
    ) -> Result<Started, LoginError> {
        let now = self.now();
        let request = match self.verifier.verify(request_jwt, now).await {
            Ok(r) => r,
            Err(rejection) => return Err(self.reject(rejection)),
        };
        let newer = Rebind {
            realm: request.issuer.as_str(),
            subject: &request.sub,
            nonce: &request.nonce,
            return_uri: request.return_uri.as_str(),
            request_jti: &request.jti,
        };
        // Keycloak re-rendered its step (a reload): a new request for the login
        // this browser already has a live challenge for. Its jti is bound to that
        // challenge, so a back/refresh re-POST of it resumes too.
        let same_login = self
            .same_login_challenge(cookie, &newer, &request.email, now)
            .await?;
        // A browser with a cookie proposes an id derived from it and the jti,
        // so each of its retries of this request proposes the same one.
        let proposed = match cookie {
            Some(c) => ChallengeId::derived(&self.pepper, c, &request.jti),
            None => binding.clone(),
        };
        let id = same_login
            .as_ref()
            .map_or_else(|| proposed.clone(), |r| r.id.clone());
        // Remember the jti for as long as the verifier would still accept the
        // request: `exp` plus the clock leeway, that last second included.
        let accepted_until = expired_from(request.exp);
        let completing = match self
            .store
            .claim_jti(
                &UserKey::new(request.issuer.as_str(), &request.sub),
                &request.jti,
                &id,
                accepted_until,
                now,
            )
            .await?
        {
            JtiClaim::Fresh => None,
            JtiClaim::Seen(previous) => {
                let same = |a: &ChallengeId| -> bool {
                    subtle::ConstantTimeEq::ct_eq(
                        a.as_str().as_bytes(),
                        previous.as_str().as_bytes(),
                    )
                    .into()
                };
                // Bound to the challenge this browser's cookie names, or to
                // the id one of its earlier tries proposed.
                let same_browser = cookie.is_some_and(same) | same(&proposed);
                if !same_browser {
                    return Err(self.reject(RequestRejection::Replayed));
                }
                if self.store.get(&previous, now).await?.is_some() {
                    tracing::info!(
                        challenge = challenge_ref(previous.as_str()),
                        "request re-posted by its own browser; showing the code page again, no new mail"
                    );
                    return Ok(Started::Resumed(previous));
                }
                // Claimed for this browser but no challenge: the store stalled
                // between the claim and the create, or the challenge is gone
                // (used, cancelled, expired). Create it now; the store creates
                // an id only once, which refuses the latter as a replay.
                Some(previous)
            }
        };
        let id = match same_login {
            Some(existing) => match self.store.rebind(&existing.id, &newer, now).await? {
                Some(record) => {
                    tracing::info!(
                        challenge = challenge_ref(existing.id.as_str()),
                        attempts = record.attempts,
                        "newer request of the same login (re-rendered step); challenge rebound, no new mail"
                    );
                    audit::event(
                        Step::Rebound,
                        &record,
                        Details {
                            attempts_left: Some(record.attempts_left()),
                            previous_correlation_id: Some(&existing.request_jti),
                            ..Details::default()
                        },
                    );
                    return Ok(Started::Resumed(existing.id));
                }
                // Expired or used in the meantime: a new challenge after all.
                None => ChallengeId::generate(),
            },
            None => completing.clone().unwrap_or(id),
        };
        let policy = effective_policy(request.otp.as_ref(), &self.rules.otp, &request.jti);
        let code = Code::generate(policy.length);
        let new = NewChallenge {
            subject: request.sub.clone(),
            email: request.email.clone(),
            name: request.name.clone(),
            locale: request.locale.clone(),
            realm: request.issuer.as_str().to_string(),
            azp: request.azp.clone(),
            realm_name: request.realm_display_name.clone(),
            client_name: request.client_name.clone(),
            client_url: request.client_url.clone(),
            nonce: request.nonce.clone(),
            request_jti: request.jti.clone(),
            return_uri: request.return_uri.as_str().to_string(),
        };
        let sealed = seal_code(&self.pepper, &id, 0, &code);
        let record = ChallengeRecord::new(id.clone(), new, policy, now)
            .with_delivery(sealed, self.lease_until(now));
        let recipient = self.recipient(&record)?;
        self.charge_challenge(&record, now).await?;
        if let Err(limited) = self.charge_send_limits(&recipient, now).await {
            self.refund_challenge(&record, now).await;
            return Err(limited);
        }
        match self
            .store
            .create(&record, &mac(&self.pepper, &id, &code), now)
            .await
        {
            Ok(()) => {}
            Err(StoreError::AlreadyCreated(_)) if completing.is_some() => {
                self.refund_challenge(&record, now).await;
                self.refund_send_limits(&recipient, now).await;
                return Err(self.reject(RequestRejection::Replayed));
            }
            Err(e) => return Err(e.into()),
        }
        if completing.is_some() {
            tracing::info!(
                challenge = challenge_ref(id.as_str()),
                req_jti = %record.request_jti,
                "request retried by its own browser after the store did not answer; its challenge is created now"
            );
        }
        self.metrics.challenges_created.inc();
        tracing::info!(
            challenge = challenge_ref(id.as_str()),
            req_jti = %record.request_jti,
            realm = %record.realm,
            azp = record.azp.as_deref().unwrap_or(""),
            email = %mask_email(&record.email),
            length = policy.length,
            ttl = policy.ttl_secs,
            max_attempts = policy.max_attempts,
            "challenge created"
        );
        audit::event(
            Step::Created,
            &record,
            Details {
                attempts_left: Some(record.attempts_left()),
                generation: Some(0),
                ..Details::default()
            },
        );
        let delivery = self.deliver(record.clone(), code).await;
        Ok(Started::Created(Box::new(ChallengeRecord {
            delivery,
            ..record
        })))
    }

    /// The challenge named by the browser's cookie, if it is live and was made
    /// for the same login (realm, subject, nonce) as `newer`.
    async fn same_login_challenge(
        &self,
        cookie: Option<&ChallengeId>,
        newer: &Rebind<'_>,
        email: &str,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, LoginError> {
        let Some(id) = cookie else {
            return Ok(None);
        };
        Ok(self
            .store
            .get(id, now)
            .await?
            // The mailed code went to the record's address: a request for another
            // address is another login, with its own mail.
            .filter(|record| record.email == email && newer.matches(record, now)))
    }

    /// The record's address, parsed as the mailer will take it. The request
    /// check already parsed it this way; a record that fails here is corrupt.
    fn recipient(&self, record: &ChallengeRecord) -> Result<Recipient, LoginError> {
        Recipient::parse(&record.email)
            .map_err(|e| LoginError::Internal(format!("stored recipient address {e}")))
    }

    /// The per-user budget, before a challenge is stored or mailed: refused when
    /// the user's wrong codes in the window are spent (`user_locked`) or when this
    /// challenge would exceed the challenges allowed in the window
    /// (`user_budget_exhausted`). The challenge charge is taken atomically first,
    /// so concurrent requests cannot all slip under the cap.
    async fn charge_challenge(&self, record: &ChallengeRecord, now: i64) -> Result<(), LoginError> {
        let budget = self.rules.otp.user;
        let user = UserKey::of(record);
        let usage = self.store.user_usage(&user, now).await?;
        let refused = if usage.failures >= budget.max_failures {
            Some("user_locked")
        } else {
            let challenges = self
                .store
                .charge_user(&user, UserCharge::Challenge, budget.window_secs, now)
                .await?;
            (challenges > budget.max_challenges).then_some("user_budget_exhausted")
        };
        let Some(reason) = refused else {
            return Ok(());
        };
        self.metrics.rejection(reason);
        tracing::warn!(
            reason,
            realm = %record.realm,
            req_jti = %record.request_jti,
            email = %mask_email(&record.email),
            max_failures = budget.max_failures,
            max_challenges = budget.max_challenges,
            window = budget.window_secs,
            "challenge refused: the user's budget for this window is spent; answering locked, no mail"
        );
        audit::event(
            Step::Locked,
            record,
            Details {
                attempts_left: Some(0),
                reason: Some(reason),
                ..Details::default()
            },
        );
        Err(LoginError::UserLocked(reason, Box::new(record.clone())))
    }

    /// Give the challenge charge back: the code never reached the user.
    async fn refund_challenge(&self, record: &ChallengeRecord, now: i64) {
        let user = UserKey::of(record);
        if let Err(e) = self
            .store
            .refund_user(&user, UserCharge::Challenge, now)
            .await
        {
            tracing::error!(error = %e, "the user's challenge charge could not be refunded");
        }
    }

    fn reject(&self, rejection: RequestRejection) -> LoginError {
        self.metrics.rejection(rejection.code());
        tracing::warn!(reason = rejection.code(), detail = %rejection, "request refused");
        LoginError::Rejected(rejection)
    }

    /// The application the user signs in to, by its display name: the
    /// request's `client_name`, else `[apps]`, else the client id.
    pub fn app_info(&self, record: &ChallengeRecord) -> AppInfo {
        let client_id = record.azp.clone().unwrap_or_default();
        let name = record
            .client_name
            .clone()
            .or_else(|| {
                record
                    .azp
                    .as_ref()
                    .and_then(|azp| self.rules.apps.get(azp).cloned())
            })
            .or_else(|| record.azp.clone())
            .unwrap_or_else(|| self.rules.product_name.clone());
        AppInfo { client_id, name }
    }

    /// The challenge `id` as it is now.
    pub async fn get(&self, id: &ChallengeId) -> Result<Option<ChallengeRecord>, LoginError> {
        let now = self.now();
        Ok(self.store.get(id, now).await?)
    }

    /// For a code submitted for `id` when no challenge is kept under it:
    /// true while the mark of a challenge locked under it is kept, so the
    /// answer is `locked` rather than `expired`. Nothing is evaluated or
    /// charged (the mark names no user).
    pub async fn was_locked(&self, id: &ChallengeId) -> Result<bool, LoginError> {
        let locked = self.store.was_locked(id, self.now()).await?;
        if locked {
            self.metrics.verification("locked");
            tracing::info!(
                challenge = challenge_ref(id.as_str()),
                result = "locked",
                "code not evaluated: the challenge was locked before"
            );
        }
        Ok(locked)
    }

    /// [`Login::get`], taking over a delivery whose process died (its lease
    /// ran out while still `Sending`): it is resumed with the same code. The
    /// page or client that waits for the code is what drives the recovery.
    pub async fn status(
        self: &Arc<Self>,
        id: &ChallengeId,
    ) -> Result<Option<ChallengeRecord>, LoginError> {
        let now = self.now();
        let Some(record) = self.store.get(id, now).await? else {
            return Ok(None);
        };
        if record.delivery == DeliveryState::Sending
            && record.lease_until < now
            && !record.is_expired(now)
        {
            return Ok(Some(self.take_over(record, now).await?));
        }
        Ok(Some(record))
    }

    /// Check a submitted code against `record` (read once by the caller) in
    /// one atomic store step, and count the result. Every wrong code is
    /// charged to the user's wrong-code budget; once it is spent the code is
    /// not evaluated and the answer is `Locked`. The wrong code that uses up
    /// the challenge's last attempt closes it at once (`Locked`), for the
    /// browser and the API alike. Input that cannot be a code of the
    /// challenge's length is refused without spending an attempt.
    pub async fn check_code(
        &self,
        record: ChallengeRecord,
        submitted: &str,
    ) -> Result<Checked, LoginError> {
        let now = self.now();
        let id = record.id.clone();
        let code = Code::parse(submitted, record.policy.length).map_err(|e| {
            self.metrics.verification("malformed");
            LoginError::MalformedCode(e)
        })?;
        let budget = self.rules.otp.user;
        let user = UserKey::of(&record);
        let usage = self.store.user_usage(&user, now).await?;
        if usage.failures >= budget.max_failures {
            self.metrics.verification("locked");
            tracing::warn!(
                challenge = challenge_ref(id.as_str()),
                req_jti = %record.request_jti,
                reason = "user_locked",
                max_failures = budget.max_failures,
                window = budget.window_secs,
                "code not evaluated: the user's wrong-code budget is spent; answering locked"
            );
            audit::event(
                Step::Locked,
                &record,
                Details {
                    attempts_left: Some(0),
                    reason: Some("user_locked"),
                    ..Details::default()
                },
            );
            // The challenge is left to its own cap and TTL; while the window
            // lasts every submission to it is answered like this.
            return Ok(Checked::Locked(Box::new(record)));
        }
        let outcome = self
            .store
            .check_code(&id, &mac(&self.pepper, &id, &code), now)
            .await?;
        // Locked before this submission, after the caller read the record
        // (a submission racing the one that closed it): nothing was
        // evaluated, nothing is charged, and the lock was recorded when it
        // happened.
        let mut locked_before = outcome == VerifyOutcome::Locked(None);
        let checked = match outcome {
            VerifyOutcome::Success(record) => Checked::Success(record),
            VerifyOutcome::Expired(record) => Checked::Expired(record),
            // This submission found the cap reached: the closing `lock`
            // after the last wrong code did not happen (a store error).
            VerifyOutcome::Locked(Some(record)) => {
                self.store
                    .charge_user(&user, UserCharge::Failure, budget.window_secs, now)
                    .await?;
                Checked::Locked(record)
            }
            // The record as read: the browser hands `locked` back with it.
            VerifyOutcome::Locked(None) => Checked::Locked(Box::new(record.clone())),
            VerifyOutcome::Invalid { attempts_left } => {
                let failures = self
                    .store
                    .charge_user(&user, UserCharge::Failure, budget.window_secs, now)
                    .await?;
                // The user's budget can end a challenge before its own cap does.
                let left = attempts_left.min(budget.max_failures.saturating_sub(failures));
                if left == 0 {
                    // The last attempt is spent: close the challenge now
                    // instead of leaving a form or an id that cannot work.
                    match self.store.lock(&id, now).await? {
                        Some(record) => Checked::Locked(Box::new(record)),
                        // A submission in between closed it: locked (and
                        // recorded so by that one), or used.
                        None if self.store.was_locked(&id, now).await? => {
                            locked_before = true;
                            Checked::Locked(Box::new(record.clone()))
                        }
                        None => Checked::Expired(None),
                    }
                } else {
                    Checked::Invalid {
                        attempts_left: left,
                    }
                }
            }
        };
        let result = match &checked {
            Checked::Success(_) => "success",
            Checked::Invalid { .. } => "invalid",
            Checked::Locked(_) => "locked",
            Checked::Expired(_) => "expired",
        };
        self.metrics.verification(result);
        tracing::info!(
            challenge = challenge_ref(id.as_str()),
            req_jti = %record.request_jti,
            result,
            "code verified"
        );
        match &checked {
            Checked::Locked(_) if locked_before => {}
            Checked::Success(done) => audit::event(Step::Verified, done, Details::default()),
            Checked::Invalid { attempts_left } => audit::event(
                Step::Failed,
                &record,
                Details {
                    attempts_left: Some(*attempts_left),
                    ..Details::default()
                },
            ),
            Checked::Locked(closed) => audit::event(
                Step::Locked,
                closed,
                Details {
                    attempts_left: Some(0),
                    reason: Some(if closed.attempts_left() == 0 {
                        "max_attempts"
                    } else {
                        "user_locked"
                    }),
                    ..Details::default()
                },
            ),
            Checked::Expired(Some(gone)) => audit::event(Step::Expired, gone, Details::default()),
            Checked::Expired(None) => {}
        }
        Ok(checked)
    }

    /// A new code for `record` (read once by the caller; cooldown and
    /// maximum enforced by the store; free after a delivery that failed for
    /// good), within the send limits.
    pub async fn resend(self: &Arc<Self>, record: &ChallengeRecord) -> Result<Resent, LoginError> {
        let now = self.now();
        let id = &record.id;
        // A lapsed code may still be replaced (the store decides, atomically):
        // the page that says "expired" offers a new code.
        let recipient = self.recipient(record)?;
        self.charge_send_limits(&recipient, now).await?;
        let code = Code::generate(record.policy.length);
        let sealed = seal_code(&self.pepper, id, record.generation.saturating_add(1), &code);
        let outcome = self
            .store
            .resend(
                id,
                &mac(&self.pepper, id, &code),
                &sealed,
                self.lease_until(now),
                now,
            )
            .await;
        let resent = match outcome {
            Ok(ResendOutcome::Resent(record)) => record,
            other => {
                // No new code: the mail it was charged for is not sent.
                self.refund_send_limits(&recipient, now).await;
                return match other? {
                    ResendOutcome::Cooldown { retry_after_secs } => {
                        Ok(Resent::Cooldown { retry_after_secs })
                    }
                    ResendOutcome::Exhausted => Ok(Resent::Exhausted),
                    ResendOutcome::Expired | ResendOutcome::Resent(_) => Ok(Resent::Expired),
                };
            }
        };
        tracing::info!(
            challenge = challenge_ref(id.as_str()),
            req_jti = %resent.request_jti,
            generation = resent.generation,
            resends = resent.resends,
            "new code issued"
        );
        audit::event(
            Step::Resent,
            &resent,
            Details {
                attempts_left: Some(resent.attempts_left()),
                generation: Some(resent.generation),
                ..Details::default()
            },
        );
        let delivery = self.deliver((*resent).clone(), code).await;
        Ok(Resent::Sent(Box::new(ChallengeRecord {
            delivery,
            ..*resent
        })))
    }

    /// Delete and return the challenge (the user cancelled).
    pub async fn cancel(&self, id: &ChallengeId) -> Result<Option<ChallengeRecord>, LoginError> {
        let record = self.store.take(id, self.now()).await?;
        if let Some(record) = &record {
            tracing::info!(
                challenge = challenge_ref(id.as_str()),
                req_jti = %record.request_jti,
                "challenge cancelled"
            );
            audit::event(Step::Cancelled, record, Details::default());
        }
        Ok(record)
    }

    /// Drop an expired challenge (its `expired` assertion is being sent).
    pub async fn discard(&self, record: &ChallengeRecord) {
        if let Ok(Some(gone)) = self.store.take(&record.id, self.now()).await {
            audit::event(Step::Expired, &gone, Details::default());
        }
    }

    /// Sign the assertion for `record` (docs/protocol.md section 4).
    pub fn assertion(
        &self,
        record: &ChallengeRecord,
        result: AssertionResult,
    ) -> Result<String, LoginError> {
        let now = self.now();
        let claims = AssertionClaims {
            iss: self.rules.issuer.clone(),
            aud: record.realm.clone(),
            sub: record.subject.clone(),
            nonce: record.nonce.clone(),
            req_jti: record.request_jti.clone(),
            jti: random_token(16),
            iat: now,
            exp: now + ASSERTION_TTL_SECS,
            amr: if result == AssertionResult::Success {
                vec!["otp".to_string()]
            } else {
                Vec::new()
            },
            result,
            otp_channel: "email".to_string(),
        };
        self.signer.sign(&claims).map_err(|e| {
            tracing::error!(error = %e, "assertion could not be signed");
            LoginError::Internal("signing".into())
        })
    }

    /// The two cookies that hand `record` back to Keycloak with `result`
    /// through `GET /challenge/done` (see [`handoff`]): the sealed assertion
    /// with its target, and the finished mark that Back shows.
    pub fn hand_back(
        &self,
        record: &ChallengeRecord,
        result: AssertionResult,
    ) -> Result<HandBack, LoginError> {
        let assertion = self.assertion(record, result)?;
        let now = self.now();
        let app = self.app_info(record);
        Ok(HandBack {
            handoff: handoff::seal(
                &self.pepper,
                &handoff::Handoff {
                    return_uri: record.return_uri.clone(),
                    assertion,
                    until: now + ASSERTION_TTL_SECS,
                    realm: realm_of(record),
                },
            ),
            finished: handoff::seal(
                &self.pepper,
                &handoff::Finished {
                    result: result.as_str().to_string(),
                    app_name: app.name,
                    app_url: record.client_url.clone(),
                    locale: record.locale.clone(),
                    until: now + handoff::FINISHED_SECS,
                    realm: realm_of(record),
                },
            ),
        })
    }

    /// The CSRF token of challenge `id`'s forms (derived, never stored).
    pub fn csrf_token(&self, id: &ChallengeId) -> String {
        crate::challenge::csrf_token(&self.pepper, id)
    }

    /// A hand-off cookie of ours that is still good.
    pub fn open_handoff(&self, raw: &str) -> Option<handoff::Handoff> {
        handoff::open(&self.pepper, raw, self.now())
    }

    /// A finished mark of ours that is still good.
    pub fn open_finished(&self, raw: &str) -> Option<handoff::Finished> {
        handoff::open(&self.pepper, raw, self.now())
    }

    /// Unix seconds until which a delivery started at `now` holds its lease.
    fn lease_until(&self, now: i64) -> i64 {
        let secs = self.mailer.attempt_limit().as_secs() + LEASE_MARGIN.as_secs();
        now.saturating_add_unsigned(secs)
    }
}

/// Time a lease holds past one attempt's bound, so a live process renews
/// it before anyone may take the delivery over.
const LEASE_MARGIN: Duration = Duration::from_secs(2);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The hard limits, with a narrower resend policy for the clamping tests.
    fn otp() -> OtpSettings {
        OtpSettings {
            resend_cooldown_secs: Bound {
                default: 30,
                min: 10,
                max: 300,
            },
            max_resends: Bound {
                default: 3,
                min: 0,
                max: 5,
            },
            ..crate::config::OTP_LIMITS
        }
    }

    #[test]
    fn defaults_apply_without_a_policy() {
        let p = effective_policy(None, &otp(), "j");
        assert_eq!(
            p,
            Policy {
                length: 6,
                ttl_secs: 300,
                max_attempts: 5,
                resend_cooldown_secs: 30,
                max_resends: 3
            }
        );
    }

    #[test]
    fn requested_values_are_clamped_to_the_bounds() {
        let requested = RequestedPolicy {
            length: Some(2),
            ttl: Some(3600),
            max_attempts: Some(3),
            resend_cooldown: None,
            max_resends: Some(99),
        };
        let p = effective_policy(Some(&requested), &otp(), "j");
        assert_eq!(p.length, 4);
        assert_eq!(p.ttl_secs, 600);
        assert_eq!(p.max_attempts, 3);
        assert_eq!(p.resend_cooldown_secs, 30);
        assert_eq!(p.max_resends, 5);
    }

    #[test]
    fn random_tokens_differ_and_have_the_right_size() {
        let a = random_token(16);
        assert_eq!(a.len(), 22);
        assert_ne!(a, random_token(16));
    }
}
