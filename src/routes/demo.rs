//! `/demo`: a stand-in for Keycloak so the whole flow can be clicked through
//! with `cargo run`. It signs request JWTs with its own ephemeral realm key
//! (published like a Keycloak realm, verified by the normal request checks
//! over HTTP) and, as the return_uri, verifies the assertion with our JWKS.
//! Mounted only in the embedded default.
use actix_web::{web, HttpRequest, HttpResponse};
use handlebars::html_escape;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::tokens::AssertionSigner;
use crate::tokens::SigningAlgorithm;

use crate::error::PageError;
use crate::templates::model::FormField;
use crate::templates::RealmLook;

use super::dev::dev_page;
use super::pages::{error_page, page_locale, redirect_page, FormTarget};
use super::AppState;
use crate::login::random_token;

/// Path of the demo realm under the public URL.
pub const REALM_PATH: &str = "/demo/realms/demo";

/// The display names the demo realm sends, as Keycloak sends its realm's and
/// client's.
pub const DEMO_REALM_NAME: &str = "Demo";
pub const DEMO_CLIENT_NAME: &str = "Demo App";

/// The demo realm's issuer for a sidecar issuer (public URL).
pub fn issuer(public_issuer: &str) -> String {
    format!("{public_issuer}{REALM_PATH}")
}

/// The demo realm's ephemeral ES256 key; it signs requests the way a realm does.
pub struct DemoRealm {
    pub issuer: String,
    key: AssertionSigner,
}

impl DemoRealm {
    pub fn generate(public_issuer: &str) -> Result<Self, String> {
        let key = AssertionSigner::ephemeral(SigningAlgorithm::Es256)
            .map_err(|e| format!("demo realm key: {e}"))?;
        Ok(Self {
            issuer: issuer(public_issuer),
            key,
        })
    }
}

#[derive(Serialize)]
struct DemoRequest<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    locale: &'a str,
    azp: &'a str,
    realm_display_name: &'a str,
    client_name: &'a str,
    client_url: String,
    nonce: String,
    return_uri: String,
    iat: i64,
    exp: i64,
    jti: String,
}

fn realm<'a>(state: &'a AppState, req: &HttpRequest) -> Result<&'a DemoRealm, Box<HttpResponse>> {
    state
        .demo
        .as_ref()
        .ok_or_else(|| Box::new(error_page(state, req, PageError::InvalidRequest)))
}

/// `GET /demo`.
pub async fn start_page(state: web::Data<AppState>) -> HttpResponse {
    let body = format!(
        r#"<h1>Try the sign-in</h1>
<p>This page plays Keycloak's part: it signs a request for the address you type and hands your browser to the sidecar, which mails a code. Mails land in the <a href="{outbox}">outbox</a>.</p>
<form method="post" action="{start}">
  <div class="field"><label for="email">Email address</label>
  <input id="email" name="email" type="email" class="input" autocomplete="email" required value="jane@example.com"></div>
  <div class="field"><label for="name">Name (optional)</label>
  <input id="name" name="name" type="text" class="input" autocomplete="name" value="Jane"></div>
  <button type="submit" class="button primary">Sign in with a code</button>
</form>"#,
        outbox = html_escape(&state.paths.at("/dev/outbox")),
        start = html_escape(&state.paths.at("/demo/start")),
    );
    dev_page(&state, "otp-sidecar demo", &body, false)
}

#[derive(Deserialize)]
pub struct StartForm {
    email: String,
    #[serde(default)]
    name: String,
}

/// `POST /demo/start`: sign a request JWT and auto-POST it to `/authorize`.
/// The request's `locale` is the browser's language, as Keycloak would pass
/// the user's.
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<StartForm>,
) -> HttpResponse {
    let realm = match realm(&state, &req) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let email = form.email.trim();
    let name = form.name.trim();
    let now = state.clock.now();
    let locale = page_locale(&state, &req, None);
    let claims = DemoRequest {
        iss: &realm.issuer,
        aud: &state.settings.signing.audience,
        sub: format!("demo:{email}"),
        email,
        name: (!name.is_empty()).then_some(name),
        locale: &locale,
        azp: "demo-app",
        realm_display_name: DEMO_REALM_NAME,
        client_name: DEMO_CLIENT_NAME,
        // The demo "application" is the demo page itself.
        client_url: format!("{}{}", state.paths.issuer, "/demo"),
        nonce: random_token(16),
        return_uri: format!("{}/login-actions/authenticate", realm.issuer),
        iat: now,
        exp: now + 300,
        jti: random_token(16),
    };
    match realm.key.sign_payload(&claims) {
        Ok(request) => redirect_page(
            &state,
            &req,
            &state.paths.at("/authorize"),
            vec![FormField {
                name: "request".into(),
                value: request,
            }],
            FormTarget::SelfOnly,
            &locale,
            RealmLook::default(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "demo request could not be signed");
            error_page(&state, &req, PageError::Internal)
        }
    }
}

/// `GET /demo/realms/demo/protocol/openid-connect/certs`.
pub async fn certs(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match realm(&state, &req) {
        Ok(realm) => HttpResponse::Ok().json(realm.key.jwks()),
        Err(response) => *response,
    }
}

#[derive(Deserialize)]
pub struct FinishForm {
    assertion: String,
}

/// Verify an assertion the way Keycloak's `action()` does (signature by kid
/// from our JWKS, iss, aud, exp) and decode it.
fn check_assertion(
    state: &AppState,
    realm: &DemoRealm,
    assertion: &str,
) -> Result<serde_json::Value, String> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| format!("header: {e}"))?;
    if !matches!(
        header.alg,
        Algorithm::ES256 | Algorithm::EdDSA | Algorithm::RS256
    ) {
        return Err(format!("alg {:?} not accepted", header.alg));
    }
    let kid = header.kid.ok_or("no kid in the header")?;
    let set: JwkSet =
        serde_json::from_value(state.signer.jwks()).map_err(|e| format!("our JWKS: {e}"))?;
    let jwk = set.find(&kid).ok_or(format!("kid {kid} not in our JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("JWK: {e}"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[&realm.issuer]);
    validation.set_issuer(&[&state.paths.issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = 5;
    jsonwebtoken::decode::<serde_json::Value>(assertion, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| format!("verification: {e}"))
}

/// `POST /demo/realms/demo/login-actions/authenticate`: the return_uri.
pub async fn finish(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<FinishForm>,
) -> HttpResponse {
    let realm = match realm(&state, &req) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let again = html_escape(&state.paths.at("/demo"));
    let body = match check_assertion(&state, realm, &form.assertion) {
        Ok(claims) => {
            let result = claims["result"].as_str().unwrap_or("?").to_string();
            let pretty = serde_json::to_string_pretty(&claims).unwrap_or_default();
            format!(
                "<h1>Assertion received: <span class=\"result-{result}\">{result}</span></h1>\n\
                 <p class=\"notice {notice}\">The signature verified against the sidecar's JWKS; \
                 issuer and audience match. Keycloak would now check the nonce and the jti and \
                 {outcome}.</p>\n<h2>Claims</h2>\n<pre>{claims}</pre>\n\
                 <p class=\"actions\"><a class=\"button\" href=\"{again}\">Start again</a> \
                 <a href=\"{outbox}\">Outbox</a></p>",
                notice = if result == "success" {
                    "notice-ok"
                } else {
                    "notice-warn"
                },
                outbox = html_escape(&state.paths.at("/dev/outbox")),
                result = html_escape(&result),
                outcome = if result == "success" {
                    "complete the login"
                } else {
                    "show its error page"
                },
                claims = html_escape(&pretty),
            )
        }
        Err(problem) => format!(
            "<h1>Assertion refused</h1>\n<p class=\"notice notice-error\">{}</p>\n\
             <p class=\"actions\"><a class=\"button\" href=\"{again}\">Start again</a></p>",
            html_escape(&problem)
        ),
    };
    dev_page(&state, "otp-sidecar demo: assertion", &body, false)
}
