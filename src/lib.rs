//! otp-sidecar: an email one-time-code step for Keycloak.
//!
//! Keycloak hands the browser over with a signed request JWT; we mail a code,
//! keep its MAC in a store with a TTL and a one-use guarantee, and hand the
//! browser back with a signed assertion JWT. See `docs/protocol.md`.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod audit;
pub mod challenge;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod lint;
pub mod login;
pub mod mail;
pub mod metrics;
pub mod net;
pub mod routes;
pub mod server_limits;
pub mod telemetry;
pub mod templates;
pub mod tokens;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle, Service as _};
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpServer};

use crate::challenge::{AnyStore, Pepper, StoreOptions};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::error::{ApiError, PageError};
use crate::login::{Login, LoginParts, LoginRules};
use crate::mail::Mailer;
use crate::metrics::{HttpLabels, Metrics};
use crate::routes::{demo::DemoRealm, pages, AppState, Paths};
use crate::server_limits::ClientSlots;
use crate::templates::Templates;
use crate::tokens::{AssertionSigner, RequestVerifier};

/// Largest form or JSON body we read (a request JWT is a few KiB).
const BODY_LIMIT: usize = 32 * 1024;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("refusing to listen on {0}: {1}")]
    Unsafe(String, &'static str),
    #[error("templates: {0}")]
    Templates(String),
    #[error("signing key: {0}")]
    Signing(String),
    #[error("store: {0}")]
    Store(String),
    #[error("mail: {0}")]
    Mail(#[from] mail::MailSetupError),
    #[error("demo realm: {0}")]
    Demo(String),
}

/// A bound, not yet running server.
pub struct Application {
    local: SocketAddr,
    public_url: url::Url,
    server: Server,
}

impl Application {
    /// Bind `settings.server.bind` (port 0 picks a free one) with the wall clock.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(settings.server.bind).map_err(|source| StartupError::Bind {
                addr: settings.server.bind.to_string(),
                source,
            })?;
        Self::build_on(settings, listener, Arc::new(SystemClock)).await
    }

    /// Serve on an already bound listener with the given clock (tests).
    /// A public URL derived from a `bind` with port 0 gets the port bound.
    pub async fn build_on(
        mut settings: Settings,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let local = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.server.bind.to_string(),
            source,
        })?;
        if !local.ip().is_loopback() {
            // Defence in depth: configuration validation refuses these too.
            if settings.embedded {
                return Err(StartupError::Unsafe(
                    local.to_string(),
                    "the embedded default only listens on loopback",
                ));
            }
            if settings.store.redis_url.is_none() {
                return Err(StartupError::Unsafe(
                    local.to_string(),
                    "the in-memory store is for loopback only; set store.redis_url",
                ));
            }
            if settings.mail.smtp_url.is_none() {
                return Err(StartupError::Unsafe(
                    local.to_string(),
                    "the outbox is for loopback only; set mail.smtp_url",
                ));
            }
        }
        // Before anything reads it: issuer, links, cookie path, demo realm.
        settings.server.bound_at(local);
        let public_url = settings.server.public_url.clone();
        let state = web::Data::new(app_state(settings, clock).await?);
        let with_demo = state.demo.is_some();
        let prefix = state.paths.prefix.clone();
        let body_timeout = Duration::from_secs(state.settings.server.body_timeout_secs);
        let slots = ClientSlots::new(state.settings.server.max_connections_per_client);
        let connect_metrics = state.metrics.clone();
        let server =
            HttpServer::new(move || {
                // Runs on each worker thread as it starts.
                state.store.prepare_thread();
                let observed = state.clone();
                let guarded = state.metrics.clone();
                App::new()
                    .app_data(state.clone())
                    .app_data(
                        web::JsonConfig::default()
                            .limit(BODY_LIMIT)
                            .error_handler(|e, _| ApiError::BadJson(e.to_string()).into()),
                    )
                    .app_data(web::FormConfig::default().limit(BODY_LIMIT).error_handler(
                        |e, req| {
                            tracing::warn!(error = %e, "form refused");
                            let response = match req.app_data::<web::Data<AppState>>() {
                                Some(state) => {
                                    pages::error_page(state, req, PageError::InvalidRequest)
                                }
                                None => actix_web::HttpResponse::BadRequest().finish(),
                            };
                            actix_web::error::InternalError::from_response(e, response).into()
                        },
                    ))
                    .app_data(
                        web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()),
                    )
                    .wrap(security_headers())
                    .wrap_fn(move |req, srv| {
                        let started = Instant::now();
                        let method = req.method().to_string();
                        let state = observed.clone();
                        let response = srv.call(req);
                        async move {
                            let response = response.await?;
                            let route = response
                                .request()
                                .match_pattern()
                                .unwrap_or_else(|| "unmatched".to_string());
                            let status = response.status().as_u16();
                            let elapsed = started.elapsed();
                            state.metrics.observe_http(
                                HttpLabels {
                                    method: method.clone(),
                                    route: route.clone(),
                                    status,
                                },
                                elapsed.as_secs_f64(),
                            );
                            tracing::info!(
                                method,
                                route,
                                status,
                                latency_ms = elapsed.as_millis() as u64,
                                "http request"
                            );
                            Ok(response)
                        }
                    })
                    .configure(routes::configure_ops)
                    .service(web::scope(&prefix).configure(|cfg| routes::configure(cfg, with_demo)))
                    .default_service(web::to(routes::not_found))
                    // Outermost: runs first.
                    .wrap_fn(move |req, srv| {
                        server_limits::guard_request(req, srv, body_timeout, guarded.clone())
                    })
            })
            .on_connect(server_limits::on_connect(slots, connect_metrics))
            .shutdown_timeout(10)
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                addr: local.to_string(),
                source,
            })?
            .run();
        Ok(Self {
            local,
            public_url,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.local.port()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// `server.public_url` as served (port 0 replaced by the port bound).
    pub fn public_url(&self) -> &url::Url {
        &self.public_url
    }

    /// Stops the server gracefully (tests; SIGTERM does the same).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serve until SIGTERM/SIGINT (graceful: in-flight requests finish).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Headers every response gets unless the handler set its own (the redirect
/// page drops `form-action`; static assets and the JWKS may be cached).
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::PRAGMA, "no-cache"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            pages::content_security_policy(pages::FormTarget::SelfOnly),
        ))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

async fn app_state(
    mut settings: Settings,
    clock: Arc<dyn Clock>,
) -> Result<AppState, StartupError> {
    let paths = Paths::new(&settings.server.public_url);
    let demo = if settings.embedded {
        let realm = DemoRealm::generate(&paths.issuer).map_err(StartupError::Demo)?;
        add_demo_realm(&mut settings, &realm.issuer)?;
        Some(realm)
    } else {
        None
    };
    let templates = Templates::load(settings.templates_dir.as_deref(), settings.branding.clone())
        .map_err(|errors| {
            StartupError::Templates(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?
        .with_realm_branding(settings.realm_branding.clone())
        .with_clock(clock.clone());
    let signer = AssertionSigner::from_settings(&settings.signing)
        .map_err(|e| StartupError::Signing(e.to_string()))?;
    let verifier =
        RequestVerifier::with_clock(&settings.realms, &settings.signing.audience, clock.clone());
    let pepper = settings
        .secrets
        .pepper
        .clone()
        .unwrap_or_else(Pepper::random);
    let metrics = Arc::new(Metrics::new());
    let store_options = StoreOptions {
        min_replicas_ack: settings.store.min_replicas_ack,
        counters: metrics.store_counters(),
        ..StoreOptions::default()
    };
    let store = AnyStore::connect_with(settings.store.redis_url.as_ref(), &store_options)
        .await
        .map_err(|e| StartupError::Store(e.to_string()))?;
    let mailer = Arc::new(Mailer::from_settings(&settings.mail)?);
    let signer = Arc::new(signer);
    let store = Arc::new(store);
    let templates = Arc::new(templates);
    let rules = LoginRules {
        otp: settings.otp.clone(),
        mail: settings.mail.delivery,
        apps: settings.apps.clone(),
        product_name: settings.branding.product_name.clone(),
        issuer: paths.issuer.clone(),
    };
    let login = Arc::new(Login::new(
        LoginParts {
            clock: clock.clone(),
            verifier,
            signer: signer.clone(),
            store: store.clone(),
            pepper,
            templates: templates.clone(),
            mailer: mailer.clone(),
            metrics: metrics.clone(),
        },
        rules,
    ));
    Ok(AppState {
        settings,
        clock,
        login,
        signer,
        store,
        templates,
        mailer,
        metrics,
        paths,
        demo,
    })
}

/// The embedded default trusts its own demo realm, at the URL it really serves.
fn add_demo_realm(settings: &mut Settings, issuer: &str) -> Result<(), StartupError> {
    let issuer = tokens::Issuer::parse(issuer).map_err(StartupError::Demo)?;
    let jwks_uri = issuer.default_jwks_uri();
    settings.realms.retain(|r| r.issuer != issuer);
    settings
        .realms
        .push(tokens::RealmSettings { issuer, jwks_uri });
    Ok(())
}
