//! Rendering the three pages, with the response headers each needs.
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::challenge::ChallengeRecord;
use crate::error::PageError;
use crate::templates::model::FormField;
use crate::templates::{Page, PageContext};

use super::flow::{app_info, locale};
use super::{AppState, CHALLENGE_COOKIE};

/// CSP of every page; `form_action` adds one origin (the redirect page's target).
pub fn content_security_policy(form_action: Option<&str>) -> String {
    let extra = form_action.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; script-src 'self'; \
         form-action 'self'{extra}; frame-ancestors 'none'; base-uri 'none'"
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

fn render(state: &AppState, page: Page, locale: &str, ctx: &PageContext) -> Option<String> {
    match state.templates.render_page(page, locale, ctx) {
        Ok(body) => Some(body),
        Err(e) => {
            tracing::error!(error = %e, "page could not be rendered");
            None
        }
    }
}

/// The generic error page.
pub fn error_page(state: &AppState, error: PageError) -> HttpResponse {
    let ctx = PageContext {
        error: Some(error.reason().to_string()),
        ..base_context(state)
    };
    let body = render(state, Page::Error, "en", &ctx).unwrap_or_else(|| {
        // Last resort when even the error template fails.
        "<!doctype html><title>Error</title><p>Sign-in could not continue. Go back to the application and sign in again.</p>".to_string()
    });
    html(error.status(), body)
}

/// "Could not send, try again" (502). The browser stays bound to the
/// challenge, and the page's button cancels it, so Keycloak restarts the step.
pub fn send_failed_page(state: &AppState, record: &ChallengeRecord) -> HttpResponse {
    let ctx = PageContext {
        error: Some(PageError::SendFailed.reason().to_string()),
        cancel_action: Some(state.paths.at("/challenge/cancel")),
        csrf_token: Some(record.csrf_token.clone()),
        app: Some(app_info(state, record)),
        ..base_context(state)
    };
    let mut response = match render(state, Page::Error, locale(record), &ctx) {
        Some(body) => html(PageError::SendFailed.status(), body),
        None => return error_page(state, PageError::SendFailed),
    };
    let _ = response.add_cookie(&challenge_cookie(state, record.id.as_str()));
    response
}

/// The code entry page for `record`, with an optional notice.
pub fn code_page(
    state: &AppState,
    record: &ChallengeRecord,
    notice: Option<&str>,
    attempts_left: Option<u32>,
) -> HttpResponse {
    let policy = record.policy;
    let resend_available_at = (record.resends_left() > 0).then(|| record.resend_after());
    let ctx = PageContext {
        csrf_token: Some(record.csrf_token.clone()),
        verify_action: Some(state.paths.at("/challenge/verify")),
        resend_action: Some(state.paths.at("/challenge/resend")),
        cancel_action: Some(state.paths.at("/challenge/cancel")),
        email_masked: Some(crate::telemetry::mask_email(&record.email)),
        code_length: Some(policy.length),
        expires_at: Some(record.expires_at),
        attempts_left: Some(attempts_left.unwrap_or(record.attempts_left())),
        resend_available_at,
        resends_left: Some(record.resends_left()),
        app: Some(app_info(state, record)),
        notice: notice.map(str::to_string),
        ..base_context(state)
    };
    match render(state, Page::Code, locale(record), &ctx) {
        Some(body) => html(StatusCode::OK, body),
        None => error_page(state, PageError::Internal),
    }
}

/// The auto-submitting POST form to `action` with `fields`. `target_origin`
/// is added to the CSP's `form-action` when the target is not us.
pub fn redirect_page(
    state: &AppState,
    action: &str,
    fields: Vec<FormField>,
    target_origin: Option<&str>,
    locale: &str,
) -> HttpResponse {
    let ctx = PageContext {
        redirect_action: Some(action.to_string()),
        redirect_fields: fields,
        ..base_context(state)
    };
    match render(state, Page::Redirect, locale, &ctx) {
        Some(body) => HttpResponse::Ok()
            .content_type(ContentType::html())
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                content_security_policy(target_origin),
            ))
            .body(body),
        None => error_page(state, PageError::Internal),
    }
}

/// The assertion handed back to Keycloak: auto-POST of the single field
/// `assertion` to the challenge's `return_uri`; the challenge cookie is cleared.
pub fn assertion_page(
    state: &AppState,
    record: &ChallengeRecord,
    assertion: String,
) -> HttpResponse {
    let origin = match url::Url::parse(&record.return_uri) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(e) => {
            tracing::error!(error = %e, "stored return_uri does not parse");
            return error_page(state, PageError::Internal);
        }
    };
    let mut response = redirect_page(
        state,
        &record.return_uri,
        vec![FormField {
            name: "assertion".to_string(),
            value: assertion,
        }],
        Some(&origin),
        locale(record),
    );
    if response.status().is_success() {
        let _ = response.add_cookie(&clear_cookie(state));
    }
    response
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
    fn csp_adds_only_the_given_origin_to_form_action() {
        let csp = content_security_policy(Some("https://id.example.com"));
        assert!(csp.contains("form-action 'self' https://id.example.com;"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(content_security_policy(None).contains("form-action 'self';"));
    }
}
