//! HTTP surfaces, one file each. Shared flow logic lives in [`flow`] so the
//! browser pages and the JSON API behave the same.
pub mod api;
pub mod assets;
pub mod authorize;
pub mod challenge;
pub mod demo;
pub mod dev;
pub mod flow;
pub mod health;
pub mod jwks;
pub mod pages;

use std::sync::Arc;

use actix_web::{web, ResponseError as _};

use crate::challenge::{AnyStore, Pepper};
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::templates::Templates;
use crate::tokens::{AssertionSigner, RequestVerifier};

/// Name of the cookie binding a browser to its challenge.
pub const CHALLENGE_COOKIE: &str = "otp_challenge";

/// Everything a request handler needs; built once by `Application::build`.
pub struct AppState {
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub verifier: RequestVerifier,
    pub signer: AssertionSigner,
    pub store: AnyStore,
    pub pepper: Pepper,
    pub templates: Templates,
    pub mailer: Mailer,
    pub metrics: Metrics,
    pub paths: Paths,
    /// The demo realm (embedded default only).
    pub demo: Option<demo::DemoRealm>,
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

async fn method_not_allowed() -> actix_web::HttpResponse {
    ApiError::MethodNotAllowed.error_response()
}

pub async fn not_found() -> actix_web::HttpResponse {
    ApiError::NotFound.error_response()
}

/// Routes under the public URL's path.
pub fn configure(cfg: &mut web::ServiceConfig, with_demo: bool) {
    cfg.service(resource("/authorize").route(web::post().to(authorize::authorize)))
        .service(resource("/challenge").route(web::get().to(challenge::show)))
        .service(resource("/challenge/verify").route(web::post().to(challenge::verify)))
        .service(resource("/challenge/resend").route(web::post().to(challenge::resend)))
        .service(resource("/challenge/cancel").route(web::post().to(challenge::cancel)))
        .service(resource("/api/v1/challenges").route(web::post().to(api::create)))
        .service(resource("/api/v1/challenges/{id}/verify").route(web::post().to(api::verify)))
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
