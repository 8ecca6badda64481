//! Rendering the three pages, with the response headers each needs.
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::challenge::{ChallengeRecord, DeliveryState};
use crate::error::PageError;
use crate::login::handoff::{Finished, Handoff, FINISHED_COOKIE, FINISHED_SECS, HANDOFF_COOKIE};
use crate::login::ASSERTION_TTL_SECS;
use crate::templates::model::FormField;
use crate::templates::{AppInfo, Page, PageContext, RealmLook};
use crate::tokens::AssertionResult;

use super::{AppState, CHALLENGE_COOKIE};

/// Where a page's forms may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormTarget {
    /// Forms post back to us only (`form-action 'self'`).
    SelfOnly,
    /// The assertion page posts to Keycloak, which answers with a redirect to
    /// the client's redirect URI. Browsers apply `form-action` to that whole
    /// redirect chain, and the client's origin is unknown to us, so this page
    /// carries no `form-action`; its only form has a fixed, checked target.
    ReturnUri,
}

/// CSP of every page.
pub fn content_security_policy(forms: FormTarget) -> String {
    let form_action = match forms {
        FormTarget::SelfOnly => "form-action 'self'; ",
        FormTarget::ReturnUri => "",
    };
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; script-src 'self'; connect-src 'self'; \
         {form_action}frame-ancestors 'none'; base-uri 'none'"
    )
}

/// A context with the fields every page needs.
pub fn base_context(state: &AppState) -> PageContext {
    PageContext {
        static_base: Some(state.paths.at("/static")),
        ..PageContext::default()
    }
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(body)
}

/// The realm a challenge's pages speak for.
pub fn realm_look(record: &ChallengeRecord) -> RealmLook<'_> {
    RealmLook {
        issuer: Some(&record.realm),
        display_name: record.realm_name.as_deref(),
    }
}

fn render(
    state: &AppState,
    page: Page,
    locale: &str,
    ctx: &PageContext,
    realm: RealmLook<'_>,
) -> Option<String> {
    match state.templates.render_page_for(realm, page, locale, ctx) {
        Ok(body) => Some(body),
        Err(e) => {
            tracing::error!(error = %e, "page could not be rendered");
            None
        }
    }
}

/// The language of a page: the sign-in request's `locale` (Keycloak's choice
/// for the user) when there is one, else the browser's `Accept-Language`,
/// else the default.
pub fn page_locale(
    state: &AppState,
    req: &HttpRequest,
    record: Option<&ChallengeRecord>,
) -> String {
    if let Some(requested) = record.and_then(|r| r.locale.as_deref()) {
        return state.templates.resolve_locale(requested);
    }
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| state.templates.negotiate_locale(v))
        .unwrap_or_else(|| state.templates.resolve_locale(""))
}

/// The generic error page, in the browser's language.
pub fn error_page(state: &AppState, req: &HttpRequest, error: PageError) -> HttpResponse {
    let ctx = PageContext {
        error: Some(error.reason().to_string()),
        ..base_context(state)
    };
    let locale = page_locale(state, req, None);
    let body = render(state, Page::Error, &locale, &ctx, RealmLook::default()).unwrap_or_else(|| {
        // Last resort when even the error template fails.
        "<!doctype html><title>Error</title><p>Sign-in could not continue. Go back to the application and sign in again.</p>".to_string()
    });
    html(error.status(), body)
}

/// The code entry page for `record`, with an optional notice.
pub fn code_page(
    state: &AppState,
    req: &HttpRequest,
    record: &ChallengeRecord,
    notice: Option<&str>,
    attempts_left: Option<u32>,
) -> HttpResponse {
    let policy = record.policy;
    let now = state.clock.now();
    let failed = record.delivery == DeliveryState::Failed;
    let expired = record.is_expired(now);
    // After a failed delivery the next code is free: at once, whatever is left.
    // A lapsed code can be replaced at once too (counted as a resend).
    let resend_available_at = if failed && !expired {
        Some(now)
    } else if expired {
        (record.resends_left() > 0).then_some(now)
    } else {
        (record.resends_left() > 0).then(|| record.resend_after())
    };
    let ctx = PageContext {
        csrf_token: Some(state.login.csrf_token(&record.id)),
        verify_action: Some(state.paths.at("/challenge/verify")),
        resend_action: Some(state.paths.at("/challenge/resend")),
        cancel_action: Some(state.paths.at("/challenge/cancel")),
        email_masked: Some(crate::telemetry::mask_email(&record.email)),
        code_length: Some(policy.length),
        expires_at: Some(record.expires_at),
        expired,
        attempts_left: Some(attempts_left.unwrap_or(record.attempts_left())),
        resend_available_at,
        resends_left: Some(record.resends_left()),
        app: Some(state.login.app_info(record)),
        notice: notice.map(str::to_string),
        delivery: Some(record.delivery.as_str().to_string()),
        status_url: Some(state.paths.at("/challenge/status")),
        ..base_context(state)
    };
    match render(
        state,
        Page::Code,
        &page_locale(state, req, Some(record)),
        &ctx,
        realm_look(record),
    ) {
        Some(body) => html(StatusCode::OK, body),
        None => error_page(state, req, PageError::Internal),
    }
}

/// The auto-submitting POST form to `action` with `fields`, in the branding
/// of `realm`.
pub fn redirect_page(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    fields: Vec<FormField>,
    forms: FormTarget,
    locale: &str,
    realm: RealmLook<'_>,
) -> HttpResponse {
    let ctx = PageContext {
        redirect_action: Some(action.to_string()),
        redirect_fields: fields,
        ..base_context(state)
    };
    match render(state, Page::Redirect, locale, &ctx, realm) {
        Some(body) => HttpResponse::Ok()
            .content_type(ContentType::html())
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                content_security_policy(forms),
            ))
            .body(body),
        None => error_page(state, req, PageError::Internal),
    }
}

/// The assertion handed back to Keycloak: auto-POST of the single field
/// `assertion` to the challenge's `return_uri`. Shown once, by
/// `GET /challenge/done`, which clears the hand-off cookie.
pub fn assertion_page(
    state: &AppState,
    req: &HttpRequest,
    handoff: Handoff,
    locale: &str,
) -> HttpResponse {
    let mut response = redirect_page(
        state,
        req,
        &handoff.return_uri,
        vec![FormField {
            name: "assertion".to_string(),
            value: handoff.assertion,
        }],
        FormTarget::ReturnUri,
        locale,
        handoff.realm.look(),
    );
    if response.status().is_success() {
        let mut gone = handoff_cookie(state, String::new());
        gone.make_removal();
        let _ = response.add_cookie(&gone);
    }
    response
}

/// End the step with `result`: `303` to `/challenge/done`, which shows the
/// assertion page once (Post/Redirect/Get: Back finds a `GET`, never a form
/// to resubmit). The challenge cookie is cleared; the finished mark lets
/// Back show how the step ended.
pub fn hand_back(
    state: &AppState,
    req: &HttpRequest,
    record: &ChallengeRecord,
    result: AssertionResult,
) -> HttpResponse {
    match state.login.hand_back(record, result) {
        Ok(cookies) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, state.paths.at("/challenge/done")))
            .cookie(handoff_cookie(state, cookies.handoff))
            .cookie(finished_cookie(state, cookies.finished))
            .cookie(clear_cookie(state))
            .finish(),
        Err(e) => error_page(state, req, super::page_error(&e)),
    }
}

/// The hand-off: only `/challenge/done` sees it, only from our own pages
/// (`SameSite=Strict`), for the assertion's lifetime.
fn handoff_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(HANDOFF_COOKIE, value)
        .path(state.paths.at("/challenge/done"))
        .http_only(true)
        .secure(state.settings.server.secure_cookies)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::seconds(
            ASSERTION_TTL_SECS,
        ))
        .finish()
}

fn finished_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(FINISHED_COOKIE, value)
        .path(state.paths.cookie_path())
        .http_only(true)
        .secure(state.settings.server.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(FINISHED_SECS))
        .finish()
}

/// The finished mark this browser holds, if it is ours and still good.
pub fn finished_mark(state: &AppState, req: &HttpRequest) -> Option<Finished> {
    req.cookie(FINISHED_COOKIE)
        .and_then(|c| state.login.open_finished(c.value()))
}

/// What Back shows after the step: how it ended and the way to the
/// application. No form, nothing to resubmit.
pub fn finished_page(state: &AppState, req: &HttpRequest, mark: &Finished) -> HttpResponse {
    let ctx = PageContext {
        finished: Some(mark.result.clone()),
        app: Some(AppInfo {
            client_id: String::new(),
            name: mark.app_name.clone(),
        }),
        app_url: mark.app_url.clone(),
        ..base_context(state)
    };
    let locale = match &mark.locale {
        Some(requested) => state.templates.resolve_locale(requested),
        None => page_locale(state, req, None),
    };
    match render(state, Page::Finished, &locale, &ctx, mark.realm.look()) {
        Some(body) => html(StatusCode::OK, body),
        None => error_page(state, req, PageError::Internal),
    }
}

/// The cookie binding the browser to challenge `id`.
pub fn challenge_cookie(state: &AppState, id: &str) -> Cookie<'static> {
    Cookie::build(CHALLENGE_COOKIE, id.to_string())
        .path(state.paths.cookie_path())
        .http_only(true)
        .secure(state.settings.server.secure_cookies)
        .same_site(SameSite::Lax)
        .finish()
}

pub fn clear_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = challenge_cookie(state, "");
    cookie.make_removal();
    cookie
}

/// 303 to the code page, binding the browser to `id`.
pub fn see_code_page(state: &AppState, id: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, state.paths.at("/challenge")))
        .cookie(challenge_cookie(state, id))
        .finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn csp_restricts_form_action_except_on_the_assertion_page() {
        let own = content_security_policy(FormTarget::SelfOnly);
        assert!(own.contains("form-action 'self';"), "{own}");
        let assertion = content_security_policy(FormTarget::ReturnUri);
        assert!(!assertion.contains("form-action"), "{assertion}");
        for csp in [own, assertion] {
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        }
    }
}
