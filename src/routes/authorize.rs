//! `POST /authorize`: the request JWT arrives from Keycloak's auto-POST form.
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::error::PageError;
use crate::login::{LoginError, Started};
use crate::tokens::AssertionResult;

use super::pages::{challenge_cookie, error_page, hand_back, see_code_page};
use super::{page_error, AppState, CHALLENGE_COOKIE};

#[derive(Deserialize)]
pub struct AuthorizeForm {
    request: String,
}

pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<AuthorizeForm>,
) -> HttpResponse {
    let cookie = req.cookie(CHALLENGE_COOKIE);
    match state
        .login
        .start(&form.request, cookie.as_ref().map(|c| c.value()))
        .await
    {
        // The code page says whether the mail is sent, still sending, or failed.
        Ok(Started::Created(record)) => see_code_page(&state, record.id.as_str()),
        Ok(Started::Resumed(id)) => see_code_page(&state, id.as_str()),
        // The user's budget is spent: Keycloak gets `locked` and counts a failure.
        Err(LoginError::UserLocked(_, record)) => {
            hand_back(&state, &req, &record, AssertionResult::Locked)
        }
        Err(LoginError::SendLimited {
            retry_after_secs, ..
        }) => {
            let mut response = error_page(&state, &req, PageError::SendLimited);
            if let Ok(value) = retry_after_secs.to_string().parse() {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
            response
        }
        // The store did not answer: the browser keeps (or gets) the cookie its
        // retry of this same request needs to land on its challenge.
        Err(e @ LoginError::Stalled { .. }) => {
            let mut response = error_page(&state, &req, page_error(&e));
            if let LoginError::Stalled { binding, .. } = &e {
                let _ = response.add_cookie(&challenge_cookie(&state, binding.as_str()));
            }
            response
        }
        Err(e) => error_page(&state, &req, page_error(&e)),
    }
}
