//! `GET /.well-known/jwks.json`: our public keys (current and previous).
use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::AppState;

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.signer.jwks())
}
