//! HTTP surfaces, one file each. The login logic they share lives in
//! [`crate::login`], so the browser pages and the JSON API behave the same;
//! what each of its errors means as a page or a JSON error is said here.
pub mod api;
pub mod assets;
pub mod authorize;
pub mod code_page;
pub mod demo;
pub mod dev;
pub mod health;
pub mod jwks;
pub mod pages;

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError as _};

use crate::challenge::{AnyStore, StoreError};
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::{ApiError, PageError};
use crate::login::{Login, LoginError};
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::templates::Templates;
use crate::tokens::{AssertionSigner, RequestRejection};

/// Name of the cookie binding a browser to its challenge.
pub const CHALLENGE_COOKIE: &str = "otp_challenge";

/// Everything a request handler needs; built once by `Application::build`.
pub struct AppState {
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub login: Arc<Login>,
    pub signer: Arc<AssertionSigner>,
    pub store: Arc<AnyStore>,
    pub templates: Arc<Templates>,
    pub mailer: Arc<Mailer>,
    pub metrics: Arc<Metrics>,
    pub paths: Paths,
    /// The demo realm (embedded default only).
    pub demo: Option<demo::DemoRealm>,
}

/// The error page for a login error.
pub fn page_error(error: &LoginError) -> PageError {
    match error {
        LoginError::Rejected(RequestRejection::JwksUnavailable(_)) => PageError::Unavailable,
        LoginError::Rejected(_) | LoginError::UserLocked(..) | LoginError::MalformedCode(_) => {
            PageError::InvalidRequest
        }
        LoginError::SendLimited { .. } => PageError::SendLimited,
        LoginError::Store(StoreError::Unavailable(_)) | LoginError::Stalled { .. } => {
            PageError::Unavailable
        }
        LoginError::Store(_) | LoginError::Internal(_) => PageError::Internal,
    }
}

/// The JSON error for a login error.
pub fn api_error(error: &LoginError) -> ApiError {
    match error {
        LoginError::Rejected(RequestRejection::JwksUnavailable(_)) => ApiError::RealmUnavailable,
        LoginError::Rejected(_) => ApiError::InvalidRequest,
        LoginError::UserLocked(..) => ApiError::Locked,
        LoginError::MalformedCode(e) => ApiError::MalformedCode(e.to_string()),
        LoginError::SendLimited {
            retry_after_secs, ..
        } => ApiError::SendLimited {
            retry_after: *retry_after_secs,
        },
        LoginError::Store(StoreError::Unavailable(_)) | LoginError::Stalled { .. } => {
            ApiError::Unavailable
        }
        LoginError::Store(_) | LoginError::Internal(_) => ApiError::Internal,
    }
}

/// Where things live under the public URL.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Path of `public_url` without trailing slash: `""` or `/otp`.
    pub prefix: String,
    /// `public_url` without trailing slash: our issuer.
    pub issuer: String,
}

impl Paths {
    pub fn new(public_url: &url::Url) -> Self {
        Self {
            prefix: public_url.path().trim_end_matches('/').to_string(),
            issuer: public_url.as_str().trim_end_matches('/').to_string(),
        }
    }

    /// Absolute path of one of our routes.
    pub fn at(&self, route: &str) -> String {
        format!("{}{route}", self.prefix)
    }

    /// Path attribute of the challenge cookie.
    pub fn cookie_path(&self) -> String {
        if self.prefix.is_empty() {
            "/".to_string()
        } else {
            self.prefix.clone()
        }
    }
}

/// A resource whose unsupported methods get the JSON 405.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Whether an error for `req` is shown as a page: a browser navigating
/// (its `Accept` names `text/html`) outside the JSON API. API clients, probes
/// and scripts keep the JSON errors of docs/protocol.md.
fn wants_page(req: &HttpRequest) -> bool {
    let api = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.paths.at("/api/"))
        .is_some_and(|api| req.path().starts_with(&api));
    !api && req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|range| range.split(';').next().unwrap_or("").trim() == "text/html")
        })
}

/// An error as a page for browsers (in their language) or as JSON.
fn negotiated(req: &HttpRequest, page: PageError, json: ApiError) -> HttpResponse {
    match req.app_data::<web::Data<AppState>>() {
        Some(state) if wants_page(req) => pages::error_page(state, req, page),
        _ => json.error_response(),
    }
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    negotiated(
        &req,
        PageError::MethodNotAllowed,
        ApiError::MethodNotAllowed,
    )
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    negotiated(&req, PageError::NotFound, ApiError::NotFound)
}

/// Routes under the public URL's path.
pub fn configure(cfg: &mut web::ServiceConfig, with_demo: bool) {
    cfg.service(resource("/authorize").route(web::post().to(authorize::authorize)))
        .service(resource("/challenge").route(web::get().to(code_page::show)))
        .service(resource("/challenge/status").route(web::get().to(code_page::status)))
        .service(resource("/challenge/verify").route(web::post().to(code_page::submit_code)))
        .service(resource("/challenge/resend").route(web::post().to(code_page::resend)))
        .service(resource("/challenge/cancel").route(web::post().to(code_page::cancel)))
        .service(resource("/challenge/done").route(web::get().to(code_page::done)))
        .service(resource("/api/v1/challenges").route(web::post().to(api::create)))
        .service(resource("/api/v1/challenges/{id}").route(web::get().to(api::status)))
        .service(resource("/api/v1/challenges/{id}/verify").route(web::post().to(api::check_code)))
        .service(resource("/api/v1/challenges/{id}/resend").route(web::post().to(api::resend)))
        .service(resource("/.well-known/jwks.json").route(web::get().to(jwks::jwks)))
        .service(resource("/static/{file}").route(web::get().to(assets::serve)))
        .service(resource("/favicon.ico").route(web::get().to(assets::favicon)));
    if with_demo {
        cfg.service(resource("/dev/outbox").route(web::get().to(dev::outbox)))
            .service(resource("/demo").route(web::get().to(demo::start_page)))
            .service(resource("/demo/start").route(web::post().to(demo::start)))
            .service(
                resource("/demo/realms/demo/protocol/openid-connect/certs")
                    .route(web::get().to(demo::certs)),
            )
            .service(
                resource("/demo/realms/demo/login-actions/authenticate")
                    .route(web::post().to(demo::finish)),
            );
    }
}

/// Operator routes, always at the root (probes talk to the process directly).
pub fn configure_ops(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(health::healthz)))
        .service(resource("/readyz").route(web::get().to(health::readyz)))
        .service(resource("/metrics").route(web::get().to(health::metrics)));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_public_url() {
        let root = Paths::new(&url::Url::parse("https://id.example.com").unwrap());
        assert_eq!(root.prefix, "");
        assert_eq!(root.issuer, "https://id.example.com");
        assert_eq!(root.at("/challenge"), "/challenge");
        assert_eq!(root.cookie_path(), "/");

        let sub = Paths::new(&url::Url::parse("https://id.example.com/otp/").unwrap());
        assert_eq!(sub.prefix, "/otp");
        assert_eq!(sub.issuer, "https://id.example.com/otp");
        assert_eq!(sub.at("/challenge/verify"), "/otp/challenge/verify");
        assert_eq!(sub.cookie_path(), "/otp");
    }
}
