//! `/healthz` (process up), `/readyz` (store reachable, signing key usable),
//! `/metrics` (Prometheus text format).
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::challenge::Store as _;
use crate::error::ApiError;
use crate::tokens::{AssertionClaims, AssertionResult};

use super::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.ping().await;
    let now = state.clock.now();
    let probe = AssertionClaims {
        iss: state.paths.issuer.clone(),
        aud: "readiness-probe".into(),
        sub: "readiness-probe".into(),
        nonce: String::new(),
        req_jti: String::new(),
        jti: String::new(),
        iat: now,
        exp: now,
        result: AssertionResult::Cancelled,
        amr: Vec::new(),
        otp_channel: "email".into(),
    };
    let signer = state.signer.sign(&probe);
    match (store, signer) {
        (Ok(()), Ok(_)) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        (store, signer) => {
            let mut problems = Vec::new();
            if let Err(e) = store {
                tracing::warn!(error = %e, "not ready: store unreachable");
                problems.push("store unreachable");
            }
            if let Err(e) = signer {
                tracing::warn!(error = %e, "not ready: signing key unusable");
                problems.push("signing key unusable");
            }
            let message = problems.join("; ");
            HttpResponse::ServiceUnavailable().json(json!({
                "error": "not_ready",
                "message": message,
            }))
        }
    }
}

pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = state.metrics.encode().map_err(|_| ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body))
}
