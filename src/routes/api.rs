//! JSON API (docs/protocol.md section 6) for non-browser clients.
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::challenge::{ChallengeId, ChallengeRecord, DeliveryState};
use crate::error::ApiError;
use crate::login::{Checked, Resent, Started};
use crate::tokens::AssertionResult;

use super::{api_error, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    request: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    code: String,
}

fn challenge_id(raw: &str) -> Result<ChallengeId, ApiError> {
    ChallengeId::parse(raw).map_err(|_| ApiError::NotFound)
}

/// What a client polls: the delivery of the current code and the limits.
fn status_json(record: &ChallengeRecord, now: i64) -> serde_json::Value {
    let free = record.delivery == DeliveryState::Failed;
    json!({
        "challenge_id": record.id.as_str(),
        "delivery": record.delivery.as_str(),
        "expires_at": record.expires_at,
        "expires_in": record.expires_at.saturating_sub(now).max(0),
        "resend_after": if free { now } else { record.resend_after() },
        "resends_left": record.resends_left(),
        "attempts_left": record.attempts_left(),
    })
}

/// `POST /api/v1/challenges` -> 201 (or 502 when the mail failed for good
/// within the first wait; the challenge stays, and a new code is free).
pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    match state.login.start(&body.request, None).await {
        Ok(Started::Created(record)) => {
            let body = status_json(&record, state.login.now());
            if record.delivery == DeliveryState::Failed {
                let failed = ApiError::SendFailed;
                let mut error = json!({ "error": failed.code(), "message": failed.message() });
                if let (Some(error), Some(status)) = (error.as_object_mut(), body.as_object()) {
                    error.extend(status.clone());
                }
                return Ok(HttpResponse::BadGateway().json(error));
            }
            Ok(HttpResponse::Created().json(body))
        }
        // Without a browser cookie a seen jti is always refused.
        Ok(Started::Resumed(_)) => Err(ApiError::InvalidRequest),
        Err(e) => Err(api_error(&e)),
    }
}

/// `GET /api/v1/challenges/{id}`: the challenge's state; a delivery whose
/// process died is taken over by this call.
pub async fn status(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = challenge_id(&path)?;
    let record = state
        .login
        .status(&id)
        .await
        .map_err(|e| api_error(&e))?
        .filter(|r| !r.is_expired(state.login.now()))
        .ok_or(ApiError::Expired)?;
    Ok(HttpResponse::Ok().json(status_json(&record, state.login.now())))
}

/// `POST /api/v1/challenges/{id}/verify`.
pub async fn check_code(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<VerifyBody>,
) -> Result<HttpResponse, ApiError> {
    let id = challenge_id(&path)?;
    let Some(record) = state.login.get(&id).await.map_err(|e| api_error(&e))? else {
        // Gone: locked (while the mark of that is kept), or used,
        // cancelled, past its grace period, unknown.
        let locked = state
            .login
            .was_locked(&id)
            .await
            .map_err(|e| api_error(&e))?;
        return Err(if locked {
            ApiError::Locked
        } else {
            ApiError::Expired
        });
    };
    match state.login.check_code(record, &body.code).await {
        Ok(Checked::Success(record)) => {
            let assertion = state
                .login
                .assertion(&record, AssertionResult::Success)
                .map_err(|e| api_error(&e))?;
            Ok(HttpResponse::Ok().json(json!({ "result": "success", "assertion": assertion })))
        }
        Ok(Checked::Invalid { attempts_left }) => Err(ApiError::InvalidCode { attempts_left }),
        Ok(Checked::Locked(_)) => Err(ApiError::Locked),
        Ok(Checked::Expired(_)) => Err(ApiError::Expired),
        Err(e) => Err(api_error(&e)),
    }
}

/// `POST /api/v1/challenges/{id}/resend` -> 202.
pub async fn resend(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = challenge_id(&path)?;
    let Some(record) = state.login.get(&id).await.map_err(|e| api_error(&e))? else {
        return Err(ApiError::Expired);
    };
    match state.login.resend(&record).await {
        Ok(Resent::Sent(record)) => {
            Ok(HttpResponse::Accepted().json(status_json(&record, state.login.now())))
        }
        Ok(Resent::Cooldown { retry_after_secs }) => Err(ApiError::Cooldown {
            retry_after: retry_after_secs,
        }),
        Ok(Resent::Exhausted) => Err(ApiError::ResendLimit),
        Ok(Resent::Expired) => Err(ApiError::Expired),
        Err(e) => Err(api_error(&e)),
    }
}
