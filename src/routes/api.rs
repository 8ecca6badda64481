//! JSON API (PROTOCOL.md section 6) for non-browser clients.
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::challenge::{ChallengeId, Store as _, VerifyOutcome};
use crate::error::ApiError;
use crate::tokens::AssertionResult;

use super::flow::{self, Resent, Started};
use super::AppState;

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

/// `POST /api/v1/challenges` -> 201.
pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    match flow::start(&state, &body.request, None).await {
        Ok(Started::Created(record)) => Ok(HttpResponse::Created().json(json!({
            "challenge_id": record.id.as_str(),
            "expires_at": record.expires_at,
            "resend_after": record.resend_after(),
        }))),
        // Without a browser cookie a seen jti is always refused.
        Ok(Started::Resumed(_)) => Err(ApiError::InvalidRequest),
        Err(e) => Err(e.api()),
    }
}

/// `POST /api/v1/challenges/{id}/verify`.
pub async fn verify(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<VerifyBody>,
) -> Result<HttpResponse, ApiError> {
    let id = challenge_id(&path)?;
    let record = state
        .store
        .get(&id, state.clock.now())
        .await
        .map_err(|e| flow::FlowError::from(e).api())?
        .ok_or(ApiError::Expired)?;
    match flow::verify(&state, &id, record.policy.length, &body.code).await {
        Ok(VerifyOutcome::Success(record)) => {
            let assertion =
                flow::assertion(&state, &record, AssertionResult::Success).map_err(|e| e.api())?;
            Ok(HttpResponse::Ok().json(json!({ "result": "success", "assertion": assertion })))
        }
        Ok(VerifyOutcome::Invalid { attempts_left }) => {
            Err(ApiError::InvalidCode { attempts_left })
        }
        Ok(VerifyOutcome::Locked(_)) => Err(ApiError::Locked),
        Ok(VerifyOutcome::Expired(_)) => Err(ApiError::Expired),
        Err(e) => Err(e.api()),
    }
}

/// `POST /api/v1/challenges/{id}/resend` -> 202.
pub async fn resend(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = challenge_id(&path)?;
    match flow::resend(&state, &id).await {
        Ok(Resent::Sent(record)) => Ok(HttpResponse::Accepted().json(json!({
            "expires_at": record.expires_at,
            "resend_after": record.resend_after(),
            "resends_left": record.resends_left(),
        }))),
        Ok(Resent::Cooldown { retry_after_secs }) => Err(ApiError::Cooldown {
            retry_after: retry_after_secs,
        }),
        Ok(Resent::Exhausted) => Err(ApiError::ResendLimit),
        Ok(Resent::Expired) => Err(ApiError::Expired),
        Err(e) => Err(e.api()),
    }
}
