//! The test plays the realm: it signs request JWTs with the fixture realm key
//! and serves the realm's JWKS over HTTP on a free loopback port.
use std::net::TcpListener;

use actix_web::{web, App, HttpResponse, HttpServer};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub const REALM_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keys/realm-rs256.pem"
);
pub const OTHER_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keys/other-rs256.pem"
);
pub const REALM_PUBLIC_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keys/realm-rs256.pub.pem"
);
pub const KID: &str = "test-realm-key";

pub struct TestRealm {
    /// `http://127.0.0.1:<port>/realms/test`
    pub issuer: String,
    pub jwks_uri: String,
    key: EncodingKey,
}

impl TestRealm {
    pub fn start() -> Self {
        let pem = std::fs::read(REALM_KEY).unwrap();
        let key = EncodingKey::from_rsa_pem(&pem).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(KID.to_string());
        let jwks = serde_json::to_value(JwkSet { keys: vec![jwk] }).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let jwks = jwks.clone();
            App::new().route(
                "/realms/test/protocol/openid-connect/certs",
                web::get().to(move || {
                    let jwks = jwks.clone();
                    async move { HttpResponse::Ok().json(jwks) }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        let issuer = format!("http://127.0.0.1:{port}/realms/test");
        Self {
            jwks_uri: format!("{issuer}/protocol/openid-connect/certs"),
            issuer,
            key,
        }
    }

    pub fn return_uri(&self) -> String {
        format!("{}/login-actions/authenticate", self.issuer)
    }

    /// The claims Keycloak's authenticator sends, for `email`, valid now.
    pub fn claims(&self, email: &str, now: i64) -> Value {
        json!({
            "iss": self.issuer,
            "aud": "otp-sidecar",
            "sub": "user-1",
            "email": email,
            "name": "Test User",
            "locale": "en",
            "azp": "test-app",
            "nonce": random(),
            "return_uri": self.return_uri(),
            "iat": now,
            "exp": now + 300,
            "jti": random(),
        })
    }

    pub fn header() -> Header {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.to_string());
        header.typ = Some("JWT".to_string());
        header
    }

    pub fn sign(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Self::header(), claims, &self.key).unwrap()
    }

    pub fn sign_with(&self, header: &Header, claims: &Value, key: &EncodingKey) -> String {
        jsonwebtoken::encode(header, claims, key).unwrap()
    }

    /// A request for `email` signed now.
    pub fn request(&self, email: &str, now: i64) -> String {
        self.sign(&self.claims(email, now))
    }
}

pub fn random() -> String {
    use base64::Engine as _;
    use rand_core::RngCore as _;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
