//! `GET /static/{file}`: the templates' static assets (CSS, `otp.js`, the
//! generated `brand.css`), built in and overridable with the templates.
use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::ApiError;

use super::AppState;

/// `GET /favicon.ico`: 204 No Content (with the usual security headers), so
/// a browser that asks for an icon gets a clean answer, not a 404 in its console.
pub async fn favicon() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

pub async fn serve(
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (content_type, bytes) = state
        .templates
        .static_asset(&file)
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(bytes))
}
