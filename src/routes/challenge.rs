//! The code page and its three forms (verify, resend, cancel). Each form
//! carries the challenge's CSRF token; the browser is bound by the cookie.
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::challenge::{
    csrf_token_matches, ChallengeId, ChallengeRecord, Store as _, VerifyOutcome,
};
use crate::error::PageError;
use crate::telemetry::challenge_ref;
use crate::tokens::AssertionResult;

use super::flow::{self, FlowError, Resent};
use super::pages::{assertion_page, clear_cookie, code_page, error_page, send_failed_page};
use super::{AppState, CHALLENGE_COOKIE};

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

/// The notices the code page knows (`GET /challenge?notice=...`, the outcome
/// of the form just posted: Post/Redirect/Get). `sent` is the default.
pub const NOTICES: [&str; 5] = [
    "sent",
    "invalid_code",
    "resent",
    "cooldown",
    "no_resends_left",
];

/// The `notice` of the query if it is one of [`NOTICES`], else `sent`: any
/// other value (or query) is ignored, and what a notice says (attempts left,
/// cooldown) is read from the store, never from the URL.
fn known_notice(query: &str) -> &'static str {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "notice")
        .and_then(|(_, given)| NOTICES.iter().copied().find(|known| *known == given))
        .unwrap_or("sent")
}

/// 303 to the code page with `notice`, so a reload repeats a GET, never the
/// form (a wrong code must not be spent twice by a refresh).
fn see_notice(state: &AppState, notice: &'static str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("{}?notice={notice}", state.paths.at("/challenge")),
        ))
        .finish()
}

#[derive(Deserialize)]
pub struct VerifyForm {
    csrf_token: String,
    code: String,
}

/// The challenge this browser is bound to, if it still exists.
async fn bound_challenge(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(ChallengeId, ChallengeRecord), HttpResponse> {
    let no_challenge = || {
        let mut response = error_page(state, PageError::NoChallenge);
        let _ = response.add_cookie(&clear_cookie(state));
        response
    };
    let Some(cookie) = req.cookie(CHALLENGE_COOKIE) else {
        return Err(no_challenge());
    };
    let Ok(id) = ChallengeId::parse(cookie.value()) else {
        return Err(no_challenge());
    };
    match state.store.get(&id, state.clock.now()).await {
        Ok(Some(record)) => Ok((id, record)),
        Ok(None) => Err(no_challenge()),
        Err(e) => Err(error_page(state, FlowError::from(e).page())),
    }
}

/// [`bound_challenge`] plus the CSRF check of a form.
async fn bound_form(
    req: &HttpRequest,
    state: &AppState,
    csrf_token: &str,
) -> Result<(ChallengeId, ChallengeRecord), HttpResponse> {
    let (id, record) = bound_challenge(req, state).await?;
    if !csrf_token_matches(&record.csrf_token, csrf_token) {
        tracing::warn!(
            challenge = challenge_ref(id.as_str()),
            reason = "csrf_mismatch",
            "form refused"
        );
        return Err(error_page(state, PageError::Csrf));
    }
    Ok((id, record))
}

/// Hand the browser back to Keycloak with a final assertion.
fn finish(state: &AppState, record: &ChallengeRecord, result: AssertionResult) -> HttpResponse {
    match flow::assertion(state, record, result) {
        Ok(assertion) => assertion_page(state, record, assertion),
        Err(e) => error_page(state, e.page()),
    }
}

/// An expired challenge: drop it and tell Keycloak.
async fn expired(state: &AppState, id: &ChallengeId, record: &ChallengeRecord) -> HttpResponse {
    let _ = state.store.take(id, state.clock.now()).await;
    finish(state, record, AssertionResult::Expired)
}

fn is_expired(state: &AppState, record: &ChallengeRecord) -> bool {
    record.is_expired(state.clock.now())
}

/// `GET /challenge`: the code form, with the notice of the last form posted.
/// Never sends mail.
pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match bound_challenge(&req, &state).await {
        Ok((id, record)) if is_expired(&state, &record) => expired(&state, &id, &record).await,
        Ok((_, record)) => code_page(
            &state,
            &record,
            Some(known_notice(req.query_string())),
            None,
        ),
        Err(response) => response,
    }
}

/// `POST /challenge/verify`.
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<VerifyForm>,
) -> HttpResponse {
    let (id, record) = match bound_form(&req, &state, &form.csrf_token).await {
        Ok(bound) => bound,
        Err(response) => return response,
    };
    match flow::verify(&state, &id, record.policy.length, &form.code).await {
        Ok(VerifyOutcome::Success(record)) => finish(&state, &record, AssertionResult::Success),
        // The last attempt is spent: end here instead of showing a form that cannot work.
        Ok(VerifyOutcome::Invalid { attempts_left: 0 }) => {
            match state.store.take(&id, state.clock.now()).await {
                Ok(Some(record)) => finish(&state, &record, AssertionResult::Locked),
                Ok(None) => error_page(&state, PageError::NoChallenge),
                Err(e) => error_page(&state, FlowError::from(e).page()),
            }
        }
        Ok(VerifyOutcome::Invalid { .. }) | Err(FlowError::MalformedCode(_)) => {
            see_notice(&state, "invalid_code")
        }
        Ok(VerifyOutcome::Locked(record)) => finish(&state, &record, AssertionResult::Locked),
        Ok(VerifyOutcome::Expired(Some(record))) => {
            finish(&state, &record, AssertionResult::Expired)
        }
        Ok(VerifyOutcome::Expired(None)) => {
            let mut response = error_page(&state, PageError::NoChallenge);
            let _ = response.add_cookie(&clear_cookie(&state));
            response
        }
        Err(e) => error_page(&state, e.page()),
    }
}

/// `POST /challenge/resend`: a new code, after the cooldown; attempts are kept.
pub async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let (id, record) = match bound_form(&req, &state, &form.csrf_token).await {
        Ok(bound) => bound,
        Err(response) => return response,
    };
    if is_expired(&state, &record) {
        return expired(&state, &id, &record).await;
    }
    match flow::resend(&state, &id).await {
        Ok(Resent::Sent(_)) => see_notice(&state, "resent"),
        Ok(Resent::Cooldown { .. }) => see_notice(&state, "cooldown"),
        Ok(Resent::Exhausted) => see_notice(&state, "no_resends_left"),
        Ok(Resent::Expired) => expired(&state, &id, &record).await,
        Err(FlowError::SendFailed(updated)) => send_failed_page(&state, &updated),
        Err(e) => error_page(&state, e.page()),
    }
}

/// `POST /challenge/cancel`: the user gives up; Keycloak gets `cancelled`.
pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let (id, _) = match bound_form(&req, &state, &form.csrf_token).await {
        Ok(bound) => bound,
        Err(response) => return response,
    };
    match state.store.take(&id, state.clock.now()).await {
        Ok(Some(record)) => {
            tracing::info!(
                challenge = challenge_ref(id.as_str()),
                "challenge cancelled"
            );
            finish(&state, &record, AssertionResult::Cancelled)
        }
        Ok(None) => error_page(&state, PageError::NoChallenge),
        Err(e) => error_page(&state, FlowError::from(e).page()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn only_known_notices_come_through() {
        for notice in NOTICES {
            assert_eq!(known_notice(&format!("notice={notice}")), notice);
        }
        assert_eq!(known_notice("x=1&notice=cooldown"), "cooldown");
        for other in [
            "",
            "notice=",
            "notice=%3Cscript%3E",
            "notice=invalid_code%00",
            "notice=INVALID_CODE",
            "notic=invalid_code",
            "%ZZ",
        ] {
            assert_eq!(known_notice(other), "sent", "{other}");
        }
    }
}
