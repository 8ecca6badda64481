//! The flow shared by the browser pages and the JSON API: start a challenge
//! from a request JWT, mail codes, verify, and sign assertions.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::RngCore as _;

use crate::challenge::{
    generate_csrf_token, mac, ChallengeId, ChallengeRecord, Code, CodeError, JtiClaim, Policy,
    Rebind, ResendOutcome, Store as _, StoreError, UserCharge, UserKey, VerifyOutcome,
};
use crate::config::{Bound, OtpSettings};
use crate::error::{ApiError, PageError};
use crate::telemetry::{challenge_ref, mask_email};
use crate::templates::model::AppInfo;
use crate::templates::MailContext;
use crate::tokens::{
    AssertionClaims, AssertionResult, RequestRejection, RequestedPolicy, CLOCK_LEEWAY_SECS,
};

use super::AppState;

/// Lifetime of an assertion (PROTOCOL.md section 4: at most 60 s).
pub const ASSERTION_TTL_SECS: i64 = 60;

/// Why the flow stopped; each maps to a page and a JSON error.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("request refused: {0}")]
    Rejected(RequestRejection),
    /// The challenge exists (and can be cancelled); its mail did not go out.
    #[error("code mail not sent")]
    SendFailed(Box<ChallengeRecord>),
    /// What was typed cannot be a code (not counted as an attempt).
    #[error("{0}")]
    MalformedCode(CodeError),
    /// The user's budget (failures or challenges in the window) is spent: no
    /// challenge was stored and no mail sent. The record (never stored) carries
    /// what the `locked` assertion needs.
    #[error("user budget spent ({0})")]
    UserLocked(&'static str, Box<ChallengeRecord>),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl FlowError {
    pub fn page(&self) -> PageError {
        match self {
            Self::Rejected(RequestRejection::JwksUnavailable(_)) => PageError::Unavailable,
            Self::Rejected(_) => PageError::InvalidRequest,
            Self::SendFailed(_) => PageError::SendFailed,
            Self::UserLocked(..) => PageError::InvalidRequest,
            Self::MalformedCode(_) => PageError::InvalidRequest,
            Self::Store(StoreError::Unavailable(_)) => PageError::Unavailable,
            Self::Store(_) | Self::Internal(_) => PageError::Internal,
        }
    }

    pub fn api(&self) -> ApiError {
        match self {
            Self::Rejected(RequestRejection::JwksUnavailable(_)) => ApiError::RealmUnavailable,
            Self::Rejected(_) => ApiError::InvalidRequest,
            Self::SendFailed(_) => ApiError::SendFailed,
            Self::UserLocked(..) => ApiError::Locked,
            Self::MalformedCode(e) => ApiError::MalformedCode(e.to_string()),
            Self::Store(StoreError::Unavailable(_)) => ApiError::Unavailable,
            Self::Store(_) | Self::Internal(_) => ApiError::Internal,
        }
    }
}

/// What starting from a request JWT did.
#[derive(Debug)]
pub enum Started {
    /// New challenge, first code mailed.
    Created(Box<ChallengeRecord>),
    /// The same request again from the browser already bound to its
    /// challenge (back/refresh): no new mail.
    Resumed(ChallengeId),
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

/// Verify the request, claim its jti, create the challenge and mail the first code.
/// `browser_challenge` is the challenge cookie, when a browser sent one.
pub async fn start(
    state: &AppState,
    request_jwt: &str,
    browser_challenge: Option<&str>,
) -> Result<Started, FlowError> {
    let now = state.clock.now();
    let request = match state.verifier.verify(request_jwt, now).await {
        Ok(r) => r,
        Err(rejection) => return Err(reject(state, rejection)),
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
    let same_login =
        same_login_challenge(state, browser_challenge, &newer, &request.email, now).await?;
    let id = same_login.clone().unwrap_or_else(ChallengeId::generate);
    // Remember the jti for as long as the verifier would still accept the
    // request: `exp` plus the clock leeway.
    let accepted_until = request.exp.saturating_add(CLOCK_LEEWAY_SECS);
    match state
        .store
        .claim_jti(&request.jti, &id, accepted_until, now)
        .await?
    {
        JtiClaim::Fresh => {}
        JtiClaim::Seen(previous) => {
            let same_browser = browser_challenge.is_some_and(|c| {
                subtle::ConstantTimeEq::ct_eq(c.as_bytes(), previous.as_str().as_bytes()).into()
            });
            if same_browser && state.store.get(&previous, now).await?.is_some() {
                tracing::info!(
                    challenge = challenge_ref(previous.as_str()),
                    "request re-posted by its own browser; showing the code page again, no new mail"
                );
                return Ok(Started::Resumed(previous));
            }
            return Err(reject(state, RequestRejection::Replayed));
        }
    }
    let id = match same_login {
        Some(existing) => match state.store.rebind(&existing, &newer, now).await? {
            Some(record) => {
                tracing::info!(
                    challenge = challenge_ref(existing.as_str()),
                    attempts = record.attempts,
                    "newer request of the same login (re-rendered step); challenge rebound, no new mail"
                );
                return Ok(Started::Resumed(existing));
            }
            // Expired or used in the meantime: a new challenge after all.
            None => ChallengeId::generate(),
        },
        None => id,
    };
    let policy = effective_policy(request.otp.as_ref(), &state.settings.otp, &request.jti);
    let code = Code::generate(policy.length);
    let record = ChallengeRecord {
        id: id.clone(),
        subject: request.sub.clone(),
        email: request.email.clone(),
        name: request.name.clone(),
        locale: request.locale.clone(),
        realm: request.issuer.as_str().to_string(),
        azp: request.azp.clone(),
        nonce: request.nonce.clone(),
        request_jti: request.jti.clone(),
        return_uri: request.return_uri.as_str().to_string(),
        csrf_token: generate_csrf_token(),
        policy,
        attempts: 0,
        resends: 0,
        created_at: now,
        last_sent_at: now,
        expires_at: now.saturating_add_unsigned(policy.ttl_secs),
    };
    charge_challenge(state, &record, now).await?;
    state
        .store
        .create(&record, &mac(&state.pepper, &id, &code), now)
        .await?;
    state.metrics.challenges_created.inc();
    tracing::info!(
        challenge = challenge_ref(id.as_str()),
        realm = %record.realm,
        azp = record.azp.as_deref().unwrap_or(""),
        email = %mask_email(&record.email),
        length = policy.length,
        ttl = policy.ttl_secs,
        max_attempts = policy.max_attempts,
        "challenge created"
    );
    deliver(state, &record, &code, false).await?;
    Ok(Started::Created(Box::new(record)))
}

/// The challenge named by the browser's cookie, if it is live and was made
/// for the same login (realm, subject, nonce) as `newer`.
async fn same_login_challenge(
    state: &AppState,
    browser_challenge: Option<&str>,
    newer: &Rebind<'_>,
    email: &str,
    now: i64,
) -> Result<Option<ChallengeId>, FlowError> {
    let Some(id) = browser_challenge.and_then(|c| ChallengeId::parse(c).ok()) else {
        return Ok(None);
    };
    Ok(state
        .store
        .get(&id, now)
        .await?
        // The mailed code went to the record's address: a request for another
        // address is another login, with its own mail.
        .filter(|record| record.email == email && newer.matches(record, now))
        .map(|_| id))
}

/// The per-user budget, before a challenge is stored or mailed: refused when
/// the user's wrong codes in the window are spent (`user_locked`) or when this
/// challenge would exceed the challenges allowed in the window
/// (`user_budget_exhausted`). The challenge charge is taken atomically first,
/// so concurrent requests cannot all slip under the cap.
async fn charge_challenge(
    state: &AppState,
    record: &ChallengeRecord,
    now: i64,
) -> Result<(), FlowError> {
    let budget = state.settings.otp.user;
    let user = UserKey::of(record);
    let usage = state.store.user_usage(&user, now).await?;
    let refused = if usage.failures >= budget.max_failures {
        Some("user_locked")
    } else {
        let challenges = state
            .store
            .charge_user(&user, UserCharge::Challenge, budget.window_secs, now)
            .await?;
        (challenges > budget.max_challenges).then_some("user_budget_exhausted")
    };
    let Some(reason) = refused else {
        return Ok(());
    };
    state.metrics.rejection(reason);
    tracing::warn!(
        reason,
        realm = %record.realm,
        email = %mask_email(&record.email),
        max_failures = budget.max_failures,
        max_challenges = budget.max_challenges,
        window = budget.window_secs,
        "challenge refused: the user's budget for this window is spent; answering locked, no mail"
    );
    Err(FlowError::UserLocked(reason, Box::new(record.clone())))
}

fn reject(state: &AppState, rejection: RequestRejection) -> FlowError {
    state.metrics.rejection(rejection.code());
    tracing::warn!(reason = rejection.code(), detail = %rejection, "request refused");
    FlowError::Rejected(rejection)
}

/// The application the user signs in to, with its configured display name.
pub fn app_info(state: &AppState, record: &ChallengeRecord) -> AppInfo {
    match &record.azp {
        Some(azp) => AppInfo {
            client_id: azp.clone(),
            name: state
                .settings
                .apps
                .get(azp)
                .cloned()
                .unwrap_or_else(|| azp.clone()),
        },
        None => AppInfo {
            client_id: String::new(),
            name: state.settings.branding.product_name.clone(),
        },
    }
}

pub fn locale(record: &ChallengeRecord) -> &str {
    record.locale.as_deref().unwrap_or("en")
}

/// Render and send one code mail.
async fn deliver(
    state: &AppState,
    record: &ChallengeRecord,
    code: &Code,
    resent: bool,
) -> Result<(), FlowError> {
    let now = state.clock.now();
    let remaining = u64::try_from(record.expires_at.saturating_sub(now)).unwrap_or(0);
    let context = MailContext {
        code: code.expose().to_string(),
        app: app_info(state, record),
        name: record.name.clone(),
        email: record.email.clone(),
        expires_at: record.expires_at,
        expires_in_minutes: remaining.div_ceil(60),
        resent,
    };
    let mail = state
        .templates
        .render_mail(locale(record), &context)
        .map_err(|e| {
            tracing::error!(error = %e, "code mail could not be rendered");
            state.metrics.mail("failed");
            FlowError::Internal("mail template".into())
        })?;
    match state
        .mailer
        .send(&record.email, record.name.as_deref(), &mail)
        .await
    {
        Ok(()) => {
            state.metrics.mail("sent");
            tracing::info!(
                challenge = challenge_ref(record.id.as_str()),
                email = %mask_email(&record.email),
                resent,
                "code mail sent"
            );
            Ok(())
        }
        Err(e) => {
            state.metrics.mail("failed");
            tracing::error!(
                challenge = challenge_ref(record.id.as_str()),
                email = %mask_email(&record.email),
                smtp_reply = %e,
                "code mail not sent"
            );
            Err(FlowError::SendFailed(Box::new(record.clone())))
        }
    }
}

/// Check a submitted code (one atomic store step) and count the result.
/// Every `Invalid` (and the submission the challenge's own cap locks) is
/// charged to the user's wrong-code budget; once it is spent the code is not
/// evaluated and the answer is `Locked` (the challenge itself is left to its
/// own cap and TTL, so it may still be kept).
/// `length` is the challenge's code length: input that cannot be a code of
/// that length is refused without spending an attempt.
pub async fn verify(
    state: &AppState,
    id: &ChallengeId,
    length: u8,
    submitted: &str,
) -> Result<VerifyOutcome, FlowError> {
    let now = state.clock.now();
    let code = Code::parse(submitted, length).map_err(|e| {
        state.metrics.verification("malformed");
        FlowError::MalformedCode(e)
    })?;
    let budget = state.settings.otp.user;
    let known = state.store.get(id, now).await?;
    let user = known.as_ref().map(UserKey::of);
    if let (Some(user), Some(record)) = (&user, known) {
        let usage = state.store.user_usage(user, now).await?;
        if usage.failures >= budget.max_failures {
            state.metrics.verification("locked");
            tracing::warn!(
                challenge = challenge_ref(id.as_str()),
                reason = "user_locked",
                max_failures = budget.max_failures,
                window = budget.window_secs,
                "code not evaluated: the user's wrong-code budget is spent; answering locked"
            );
            // The challenge is left to its own cap and TTL; while the window
            // lasts every submission to it is answered like this.
            return Ok(VerifyOutcome::Locked(Box::new(record)));
        }
    }
    let mut outcome = state
        .store
        .verify(id, &mac(&state.pepper, id, &code), now)
        .await?;
    if let Some(user) = &user {
        match &mut outcome {
            // The user's budget can end a challenge before its own cap does.
            VerifyOutcome::Invalid { attempts_left } => {
                let failures = state
                    .store
                    .charge_user(user, UserCharge::Failure, budget.window_secs, now)
                    .await?;
                *attempts_left = (*attempts_left).min(budget.max_failures.saturating_sub(failures));
            }
            VerifyOutcome::Locked(_) => {
                state
                    .store
                    .charge_user(user, UserCharge::Failure, budget.window_secs, now)
                    .await?;
            }
            VerifyOutcome::Success(_) | VerifyOutcome::Expired(_) => {}
        }
    }
    let result = match &outcome {
        VerifyOutcome::Success(_) => "success",
        VerifyOutcome::Invalid { .. } => "invalid",
        VerifyOutcome::Locked(_) => "locked",
        VerifyOutcome::Expired(_) => "expired",
    };
    state.metrics.verification(result);
    tracing::info!(
        challenge = challenge_ref(id.as_str()),
        result,
        "code verified"
    );
    Ok(outcome)
}

/// What a resend did.
pub enum Resent {
    Sent(Box<ChallengeRecord>),
    Cooldown { retry_after_secs: u64 },
    Exhausted,
    Expired,
}

/// New code for the same challenge (cooldown and maximum enforced by the store).
pub async fn resend(state: &AppState, id: &ChallengeId) -> Result<Resent, FlowError> {
    let now = state.clock.now();
    let Some(record) = state.store.get(id, now).await? else {
        return Ok(Resent::Expired);
    };
    let code = Code::generate(record.policy.length);
    match state
        .store
        .resend(id, &mac(&state.pepper, id, &code), now)
        .await?
    {
        ResendOutcome::Resent(record) => {
            deliver(state, &record, &code, true).await?;
            Ok(Resent::Sent(record))
        }
        ResendOutcome::Cooldown { retry_after_secs } => Ok(Resent::Cooldown { retry_after_secs }),
        ResendOutcome::Exhausted => Ok(Resent::Exhausted),
        ResendOutcome::Expired => Ok(Resent::Expired),
    }
}

/// Sign the assertion for `record` (PROTOCOL.md section 4).
pub fn assertion(
    state: &AppState,
    record: &ChallengeRecord,
    result: AssertionResult,
) -> Result<String, FlowError> {
    let now = state.clock.now();
    let claims = AssertionClaims {
        iss: state.paths.issuer.clone(),
        aud: record.realm.clone(),
        sub: record.subject.clone(),
        nonce: record.nonce.clone(),
        req_jti: record.request_jti.clone(),
        jti: random_token(16),
        iat: now,
        exp: now + ASSERTION_TTL_SECS,
        result,
        amr: vec!["otp".to_string()],
        otp_channel: "email".to_string(),
    };
    state.signer.sign(&claims).map_err(|e| {
        tracing::error!(error = %e, "assertion could not be signed");
        FlowError::Internal("signing".into())
    })
}

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
