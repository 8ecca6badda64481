//! The code page, its status poll and its three forms (verify, resend,
//! cancel). Each form carries the challenge's CSRF token; the browser is
//! bound by the cookie.
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::challenge::{csrf_token_matches, ChallengeId, ChallengeRecord};
use crate::error::PageError;
use crate::login::{Checked, LoginError, Resent};
use crate::telemetry::challenge_ref;
use crate::tokens::AssertionResult;

use super::pages::{
    assertion_page, clear_cookie, code_page, error_page, finished_mark, finished_page, hand_back,
    page_locale,
};
use super::{page_error, AppState, CHALLENGE_COOKIE};
use crate::login::handoff::HANDOFF_COOKIE;

/// A form without its token is refused like one with a wrong token (403),
/// not as malformed input.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

/// The notices the code page knows (`GET /challenge?notice=...`, the outcome
/// of the form just posted: Post/Redirect/Get). `sent` is the default.
pub const NOTICES: [&str; 6] = [
    "sent",
    "invalid_code",
    "resent",
    "cooldown",
    "no_resends_left",
    "send_limited",
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
    #[serde(default)]
    csrf_token: String,
    code: String,
}

/// No live challenge for this browser: the finished page when the step
/// ended here a moment ago (Back after it), else the error page.
fn no_challenge(state: &AppState, req: &HttpRequest) -> HttpResponse {
    let mut response = match finished_mark(state, req) {
        Some(mark) => finished_page(state, req, &mark),
        None => error_page(state, req, PageError::NoChallenge),
    };
    let _ = response.add_cookie(&clear_cookie(state));
    response
}

/// The challenge id in this browser's cookie, if it parses.
fn cookie_challenge(req: &HttpRequest) -> Option<ChallengeId> {
    req.cookie(CHALLENGE_COOKIE)
        .and_then(|cookie| ChallengeId::parse(cookie.value()).ok())
}

/// The challenge this browser is bound to, if it still exists; a delivery
/// whose process died is taken over on the way.
async fn bound_challenge(
    req: &HttpRequest,
    state: &AppState,
) -> Result<ChallengeRecord, HttpResponse> {
    let Some(id) = cookie_challenge(req) else {
        return Err(no_challenge(state, req));
    };
    match state.login.status(&id).await {
        Ok(Some(record)) => Ok(record),
        Ok(None) => Err(no_challenge(state, req)),
        Err(e) => Err(error_page(state, req, page_error(&e))),
    }
}

/// [`bound_challenge`] plus the CSRF check of a form.
async fn bound_form(
    req: &HttpRequest,
    state: &AppState,
    csrf_token: &str,
) -> Result<ChallengeRecord, HttpResponse> {
    let record = bound_challenge(req, state).await?;
    if !csrf_token_matches(&state.login.csrf_token(&record.id), csrf_token) {
        tracing::warn!(
            challenge = challenge_ref(record.id.as_str()),
            reason = "csrf_mismatch",
            "form refused"
        );
        return Err(error_page(state, req, PageError::Csrf));
    }
    Ok(record)
}

/// Hand the browser back to Keycloak with a final assertion.
fn finish(
    state: &AppState,
    req: &HttpRequest,
    record: &ChallengeRecord,
    result: AssertionResult,
) -> HttpResponse {
    hand_back(state, req, record, result)
}

/// `GET /challenge/done`: the assertion page, once; afterwards (Back, a
/// reload) the finished page.
pub async fn done(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let handoff = req
        .cookie(HANDOFF_COOKIE)
        .and_then(|c| state.login.open_handoff(c.value()));
    match handoff {
        Some(handoff) => {
            let locale = match finished_mark(&state, &req).and_then(|m| m.locale) {
                Some(requested) => state.templates.resolve_locale(&requested),
                None => page_locale(&state, &req, None),
            };
            assertion_page(&state, &req, handoff, &locale)
        }
        None => no_challenge(&state, &req),
    }
}

/// An expired challenge: drop it and tell Keycloak.
async fn expired(state: &AppState, req: &HttpRequest, record: &ChallengeRecord) -> HttpResponse {
    state.login.discard(record).await;
    finish(state, req, record, AssertionResult::Expired)
}

/// A lapsed code that cannot be replaced any more: the step is over and
/// Keycloak gets `expired`. While a new code may still be sent, the code
/// page shows the expired state and offers one instead.
fn is_over(state: &AppState, record: &ChallengeRecord) -> bool {
    record.is_expired(state.login.now()) && record.resends_left() == 0
}

/// `GET /challenge`: the code form, with the notice of the last form posted
/// and where the mail stands. Never sends a new code.
pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match bound_challenge(&req, &state).await {
        Ok(record) if is_over(&state, &record) => expired(&state, &req, &record).await,
        Ok(record) => code_page(
            &state,
            &req,
            &record,
            Some(known_notice(req.query_string())),
            None,
        ),
        Err(response) => response,
    }
}

/// `GET /challenge/status`: where the mail stands, for the page's script
/// (JSON; the same fields as the API's challenge status).
pub async fn status(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let gone = || HttpResponse::Gone().json(json!({ "error": "expired" }));
    let Some(id) = cookie_challenge(&req) else {
        return gone();
    };
    let now = state.login.now();
    match state.login.status(&id).await {
        Ok(Some(record)) if !record.is_expired(now) => HttpResponse::Ok().json(json!({
            "delivery": record.delivery.as_str(),
            "expires_in": record.expires_at.saturating_sub(now),
        })),
        Ok(_) => gone(),
        Err(e) => actix_web::ResponseError::error_response(&super::api_error(&e)),
    }
}

/// `POST /challenge/verify`.
pub async fn submit_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<VerifyForm>,
) -> HttpResponse {
    let record = match bound_form(&req, &state, &form.csrf_token).await {
        Ok(bound) => bound,
        Err(response) => return response,
    };
    match state.login.check_code(record, &form.code).await {
        Ok(Checked::Success(record)) => finish(&state, &req, &record, AssertionResult::Success),
        Ok(Checked::Invalid { .. }) | Err(LoginError::MalformedCode(_)) => {
            see_notice(&state, "invalid_code")
        }
        Ok(Checked::Locked(record)) => finish(&state, &req, &record, AssertionResult::Locked),
        // The page shows the expired state and offers a new code.
        Ok(Checked::Expired(Some(record))) if !is_over(&state, &record) => {
            see_notice(&state, "sent")
        }
        Ok(Checked::Expired(Some(record))) => expired(&state, &req, &record).await,
        Ok(Checked::Expired(None)) => no_challenge(&state, &req),
        Err(e) => error_page(&state, &req, page_error(&e)),
    }
}

/// `POST /challenge/resend`: a new code, after the cooldown; attempts are kept.
pub async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let record = match bound_form(&req, &state, &form.csrf_token).await {
        Ok(bound) => bound,
        Err(response) => return response,
    };
    match state.login.resend(&record).await {
        Ok(Resent::Sent(_)) => see_notice(&state, "resent"),
        Ok(Resent::Cooldown { .. }) => see_notice(&state, "cooldown"),
        Ok(Resent::Exhausted) => see_notice(&state, "no_resends_left"),
        Ok(Resent::Expired) => expired(&state, &req, &record).await,
        Err(LoginError::SendLimited { .. }) => see_notice(&state, "send_limited"),
        Err(e) => error_page(&state, &req, page_error(&e)),
    }
}

/// `POST /challenge/cancel`: the user gives up; Keycloak gets `cancelled`.
pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let record = match bound_form(&req, &state, &form.csrf_token).await {
        Ok(bound) => bound,
        Err(response) => return response,
    };
    match state.login.cancel(&record.id).await {
        Ok(Some(record)) => finish(&state, &req, &record, AssertionResult::Cancelled),
        Ok(None) => error_page(&state, &req, PageError::NoChallenge),
        Err(e) => error_page(&state, &req, page_error(&e)),
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
