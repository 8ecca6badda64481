//! `POST /authorize`: the request JWT arrives from Keycloak's auto-POST form.
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::tokens::AssertionResult;

use super::flow::{self, FlowError, Started};
use super::pages::{assertion_page, error_page, see_code_page, send_failed_page};
use super::{AppState, CHALLENGE_COOKIE};

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
    match flow::start(&state, &form.request, cookie.as_ref().map(|c| c.value())).await {
        Ok(Started::Created(record)) => see_code_page(&state, record.id.as_str()),
        Ok(Started::Resumed(id)) => see_code_page(&state, id.as_str()),
        Err(FlowError::SendFailed(record)) => send_failed_page(&state, &record),
        // The user's budget is spent: Keycloak gets `locked` and counts a failure.
        Err(FlowError::UserLocked(_, record)) => {
            match flow::assertion(&state, &record, AssertionResult::Locked) {
                Ok(assertion) => assertion_page(&state, &record, assertion),
                Err(e) => error_page(&state, e.page()),
            }
        }
        Err(e) => error_page(&state, e.page()),
    }
}
