//! The properties every fuzzed input must keep, shared by the property-based
//! run (`tests/fuzz`, part of `make test`) and the coverage-guided targets
//! (`fuzz/fuzz_targets`, `make fuzz`). Each `check_*` panics when a property
//! is broken; an `Err` the code under test returns is not a failure as long as
//! it is the specific refusal the property asks for.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use otp_sidecar::clock::ManualClock;
use otp_sidecar::config::Settings;
use otp_sidecar::lint;
use otp_sidecar::templates::{
    AppInfo, Branding, FormField, MailContext, Page, PageContext, Templates,
};
use otp_sidecar::tokens::{
    AssertionSigner, Issuer, RealmSettings, RequestRejection, RequestVerifier, ReturnUri,
    SigningAlgorithm, MAX_REQUEST_LIFETIME_SECS,
};
use serde_json::{Map, Value};
use url::Url;

pub const NOW: i64 = 1_800_000_000;
pub const ISSUER: &str = "https://id.example.com/realms/acme";
pub const AUDIENCE: &str = "otp-sidecar";
pub const ACTION_PATH: &str = "/login-actions/authenticate";
pub const RETURN_URI: &str = "https://id.example.com/realms/acme/login-actions/authenticate?session_code=s-1&execution=e1&client_id=app&tab_id=t1&client_data=eyJ9";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(crate_root_to_repo())
        .join("tests/fixtures/keys")
        .join(name)
}

/// The fuzz crate lives in `fuzz/`, the test crate at the repository root.
fn crate_root_to_repo() -> &'static str {
    if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz_targets")
        .is_dir()
    {
        ".."
    } else {
        "."
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------- request JWT

/// How the third part of a fuzzed token is made.
#[derive(Debug, Clone)]
pub enum Signature {
    /// By the realm's RSA key, with the algorithm named (RS256 or PS256).
    RealmRsa(Algorithm),
    /// By the realm's P-256 key (ES256).
    RealmEc,
    /// By a key the realm never published, with RS256.
    Stranger,
    /// HS256 keyed with the realm's public key: the classic alg confusion.
    HmacWithRealmPublicKey,
    /// These bytes, base64url-encoded.
    Raw(Vec<u8>),
    /// This text verbatim (need not be base64url).
    Text(String),
}

/// A realm JWKS on loopback (a plain thread, one request at a time), and a
/// verifier that trusts it. The keys are fetched once; with the refetch
/// interval at an hour, an unknown kid costs no further request.
pub struct RequestOracle {
    runtime: tokio::runtime::Runtime,
    verifier: RequestVerifier,
    rsa: EncodingKey,
    ec: EncodingKey,
    stranger: EncodingKey,
    rsa_public_pem: Vec<u8>,
    rsa_public: DecodingKey,
    ec_public: DecodingKey,
    pub kid_rsa: String,
    pub kid_ec: String,
}

fn serve_jwks(body: String) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                match sock.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(response.as_bytes());
        }
    });
    Url::parse(&format!(
        "http://{addr}/realms/acme/protocol/openid-connect/certs"
    ))
    .unwrap()
}

impl RequestOracle {
    pub fn new() -> Self {
        let rsa_signer =
            AssertionSigner::from_pem_file(SigningAlgorithm::Rs256, &fixture("realm-rs256.pem"))
                .unwrap();
        let ec_signer =
            AssertionSigner::from_pem_file(SigningAlgorithm::Es256, &fixture("realm-es256.pem"))
                .unwrap();
        let mut jwks = rsa_signer.jwks();
        let ec_keys = ec_signer.jwks()["keys"].as_array().unwrap().clone();
        jwks["keys"].as_array_mut().unwrap().extend(ec_keys);
        // The RSA JWK names RS256; drop it so PS256 with the same key is also legitimate.
        jwks["keys"][0].as_object_mut().unwrap().remove("alg");
        let jwks_uri = serve_jwks(jwks.to_string());
        let realms = vec![RealmSettings {
            issuer: Issuer::parse(ISSUER).unwrap(),
            jwks_uri,
        }];
        let verifier =
            RequestVerifier::with_refetch_interval(&realms, AUDIENCE, Duration::from_secs(3600));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let read = |name: &str| std::fs::read(fixture(name)).unwrap();
        let oracle = Self {
            runtime,
            verifier,
            rsa: EncodingKey::from_rsa_pem(&read("realm-rs256.pem")).unwrap(),
            ec: EncodingKey::from_ec_pem(&read("realm-es256.pem")).unwrap(),
            stranger: EncodingKey::from_rsa_pem(&read("other-rs256.pem")).unwrap(),
            rsa_public_pem: read("realm-rs256.pub.pem"),
            rsa_public: DecodingKey::from_rsa_pem(&read("realm-rs256.pub.pem")).unwrap(),
            ec_public: ec_public_key(&ec_signer),
            kid_rsa: rsa_signer.kid().to_string(),
            kid_ec: ec_signer.kid().to_string(),
        };
        // The harness itself must work: a well-formed request passes.
        let header = oracle.header("RS256", &oracle.kid_rsa.clone());
        let claims = serde_json::to_vec(&valid_claims()).unwrap();
        let jwt = oracle.token(&header, &claims, &Signature::RealmRsa(Algorithm::RS256));
        let verified = oracle.verify(&jwt);
        assert!(
            verified.is_ok(),
            "the reference request is refused: {verified:?}"
        );
        oracle
    }

    pub fn header(&self, alg: &str, kid: &str) -> Map<String, Value> {
        let mut h = Map::new();
        h.insert("alg".into(), Value::String(alg.into()));
        h.insert("typ".into(), Value::String("JWT".into()));
        h.insert("kid".into(), Value::String(kid.into()));
        h
    }

    pub fn verify(
        &self,
        jwt: &str,
    ) -> Result<otp_sidecar::tokens::VerifiedRequest, RequestRejection> {
        self.runtime.block_on(self.verifier.verify(jwt, NOW))
    }

    /// `header.payload.signature` with the header serialised as given.
    pub fn token(&self, header: &Map<String, Value>, payload: &[u8], sig: &Signature) -> String {
        let header = serde_json::to_vec(header).unwrap();
        self.token_raw(&header, payload, sig)
    }

    pub fn token_raw(&self, header: &[u8], payload: &[u8], sig: &Signature) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = match sig {
            Signature::RealmRsa(alg) => {
                jsonwebtoken::crypto::sign(input.as_bytes(), &self.rsa, *alg).unwrap()
            }
            Signature::RealmEc => {
                jsonwebtoken::crypto::sign(input.as_bytes(), &self.ec, Algorithm::ES256).unwrap()
            }
            Signature::Stranger => {
                jsonwebtoken::crypto::sign(input.as_bytes(), &self.stranger, Algorithm::RS256)
                    .unwrap()
            }
            Signature::HmacWithRealmPublicKey => jsonwebtoken::crypto::sign(
                input.as_bytes(),
                &EncodingKey::from_secret(&self.rsa_public_pem),
                Algorithm::HS256,
            )
            .unwrap(),
            Signature::Raw(bytes) => b64(bytes),
            Signature::Text(text) => text.clone(),
        };
        format!("{input}.{signature}")
    }

    /// Whether the realm really signed this header: the signature is the
    /// realm key's, made with the algorithm and under the kid the header names.
    fn genuine(&self, header: &Map<String, Value>, sig: &Signature) -> bool {
        let alg = header.get("alg").and_then(Value::as_str);
        let kid = header.get("kid").and_then(Value::as_str);
        match sig {
            Signature::RealmRsa(Algorithm::RS256) => {
                alg == Some("RS256") && kid == Some(&self.kid_rsa)
            }
            Signature::RealmRsa(Algorithm::PS256) => {
                alg == Some("PS256") && kid == Some(&self.kid_rsa)
            }
            Signature::RealmEc => alg == Some("ES256") && kid == Some(&self.kid_ec),
            _ => false,
        }
    }

    /// A structured case: header and payload as given, signed as `sig` says.
    pub fn check_signed(&self, header: &Map<String, Value>, payload: &[u8], sig: &Signature) {
        let jwt = self.token(header, payload, sig);
        let result = self.verify(&jwt);
        let alg = header.get("alg");
        match &result {
            Ok(request) => {
                assert!(
                    self.genuine(header, sig),
                    "accepted a token the realm did not sign ({sig:?}, header {header:?}): {request:?}"
                );
                check_verified(request);
            }
            Err(rejection) => check_rejection(rejection),
        }
        // The allow-list decides before any key is looked at.
        if let Some(Value::String(a)) = alg {
            let three_parts = jwt.split('.').count() == 3;
            if !["RS256", "PS256", "ES256", "EdDSA"].contains(&a.as_str())
                && three_parts
                && jwt.len() <= 16 * 1024
            {
                assert!(
                    matches!(result, Err(RequestRejection::AlgNotAllowed(_))),
                    "alg {a:?} must be refused as not allowed, got {result:?}"
                );
            }
        }
    }

    /// Anything at all as the token: a specific refusal, or accepted only when
    /// the realm's key really signed it (checked here independently).
    pub fn check_raw(&self, jwt: &str) {
        match self.verify(jwt) {
            Ok(request) => {
                assert!(
                    self.really_signed(jwt),
                    "accepted a token the realm did not sign {jwt:?}: {request:?}"
                );
                check_verified(&request);
            }
            Err(rejection) => check_rejection(&rejection),
        }
    }

    /// The signature verifies with the realm's public key that the header's
    /// alg and kid name.
    fn really_signed(&self, jwt: &str) -> bool {
        use base64::Engine;
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, payload, signature] = parts[..] else {
            return false;
        };
        let Some(header) = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice::<Map<String, Value>>(&h).ok())
        else {
            return false;
        };
        let kid = header.get("kid").and_then(Value::as_str);
        let (alg, key) = match (header.get("alg").and_then(Value::as_str), kid) {
            (Some("RS256"), Some(k)) if k == self.kid_rsa => (Algorithm::RS256, &self.rsa_public),
            (Some("PS256"), Some(k)) if k == self.kid_rsa => (Algorithm::PS256, &self.rsa_public),
            (Some("ES256"), Some(k)) if k == self.kid_ec => (Algorithm::ES256, &self.ec_public),
            _ => return false,
        };
        let input = format!("{header_b64}.{payload}", header_b64 = parts[0]);
        jsonwebtoken::crypto::verify(signature, input.as_bytes(), key, alg).unwrap_or(false)
    }

    /// Libfuzzer's entry: the first byte picks the shape, the rest is the case.
    pub fn check_bytes(&self, data: &[u8]) {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        match mode % 4 {
            0 => self.check_raw(&String::from_utf8_lossy(rest)),
            _ => {
                // header JSON, NUL, payload JSON (what follows a second NUL is the signature)
                let mut parts = rest.splitn(3, |b| *b == 0);
                let header = parts.next().unwrap_or_default();
                let payload = parts.next().unwrap_or_default();
                let tail = parts.next().map(<[u8]>::to_vec);
                let sig = match (mode % 4, tail) {
                    (_, Some(bytes)) => Signature::Raw(bytes),
                    (1, None) => Signature::RealmRsa(Algorithm::RS256),
                    (2, None) => Signature::RealmEc,
                    _ => Signature::HmacWithRealmPublicKey,
                };
                match serde_json::from_slice::<Map<String, Value>>(header) {
                    Ok(h) => self.check_signed(&h, payload, &sig),
                    Err(_) => {
                        let jwt = self.token_raw(header, payload, &sig);
                        match self.verify(&jwt) {
                            Ok(r) => panic!("accepted a token whose header is not JSON: {r:?}"),
                            Err(e) => check_rejection(&e),
                        }
                    }
                }
            }
        }
    }
}

impl Default for RequestOracle {
    fn default() -> Self {
        Self::new()
    }
}

/// The realm's P-256 public key, from its JWK.
fn ec_public_key(signer: &AssertionSigner) -> DecodingKey {
    let jwk = &signer.jwks()["keys"][0];
    let coord = |c: &str| jwk[c].as_str().unwrap().to_string();
    DecodingKey::from_ec_components(&coord("x"), &coord("y")).unwrap()
}

pub fn valid_claims() -> Value {
    serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "0b5e4c7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d",
        "email": "jane@example.com",
        "name": "Jane Doe",
        "locale": "en",
        "azp": "account-console",
        "nonce": "q1w2e3r4t5y6u7i8o9p0aZ",
        "return_uri": RETURN_URI,
        "iat": NOW - 10,
        "exp": NOW + 290,
        "jti": "a5f6e7d8-0000-4000-8000-000000000001",
        "otp": {"length": 8, "ttl": 120}
    })
}

const CLAIMS: &[&str] = &[
    "aud",
    "exp",
    "iat",
    "nbf",
    "sub",
    "email",
    "nonce",
    "jti",
    "return_uri",
    "name",
    "locale",
    "azp",
    "otp",
    "iss",
];

/// A refusal names what is wrong, stably and boundedly (it is logged).
pub fn check_rejection(r: &RequestRejection) {
    let message = r.to_string();
    assert!(!r.code().is_empty() && !message.is_empty());
    // Untrusted text is echoed truncated; nothing near the 16 KiB input.
    assert!(
        message.chars().count() <= 1024,
        "rejection message of {} characters: {}",
        message.chars().count(),
        message.chars().take(200).collect::<String>()
    );
    if let RequestRejection::InvalidClaim { claim, problem } = r {
        assert!(CLAIMS.contains(claim), "unknown claim name {claim}");
        assert!(!problem.is_empty());
    }
    assert!(
        !matches!(r, RequestRejection::Replayed),
        "verification never decides replay"
    );
}

/// What an accepted request guarantees to the code after it.
pub fn check_verified(r: &otp_sidecar::tokens::VerifiedRequest) {
    assert_eq!(r.issuer.as_str(), ISSUER);
    let action = format!("{ISSUER}{ACTION_PATH}");
    let uri = r.return_uri.as_str();
    assert!(
        uri == action || uri.starts_with(&format!("{action}?")),
        "return_uri {uri} outside the realm's action URL"
    );
    assert!(
        r.exp >= NOW - 60,
        "expired request accepted (exp {})",
        r.exp
    );
    assert!(r.exp <= NOW + 60 + MAX_REQUEST_LIFETIME_SECS);
    assert!(r.nonce.len() >= 16 && r.nonce.bytes().all(|b| b.is_ascii_graphic()));
    assert!(!r.jti.is_empty() && r.jti.bytes().all(|b| b.is_ascii_graphic()));
    assert!(r.email.contains('@'));
    for text in [Some(&r.sub), r.name.as_ref(), r.azp.as_ref()]
        .into_iter()
        .flatten()
    {
        assert!(!text.trim().is_empty() && !text.chars().any(char::is_control));
    }
    if let Some(locale) = &r.locale {
        assert!(locale.len() <= 35);
    }
}

// ---------------------------------------------------------------- return_uri

/// Whatever the raw string, an accepted return_uri is the issuer's action URL
/// (same scheme, host, port and path, however a browser parses it), and
/// what we hand back is that URL with the query kept verbatim.
pub fn check_return_uri(issuer_raw: &str, raw: &str) {
    let Ok(issuer) = Issuer::parse(issuer_raw) else {
        return;
    };
    match ReturnUri::for_issuer(&issuer, raw) {
        Err(RequestRejection::BadReturnUri(why)) => assert!(!why.is_empty()),
        Err(other) => panic!("return_uri refused with {other:?}, not BadReturnUri"),
        Ok(accepted) => {
            let expected = issuer.url();
            let expected_path = format!("{}{ACTION_PATH}", expected.path().trim_end_matches('/'));
            // WHATWG parsing, as a browser would follow the redirect; also as a
            // link on a foreign page (relative forms must not slip through).
            let foreign = Url::parse("https://attacker.example/x/y").unwrap();
            for parsed in [
                Url::parse(raw),
                foreign.join(raw),
                Url::parse(accepted.as_str()),
            ] {
                let parsed =
                    parsed.unwrap_or_else(|e| panic!("accepted {raw:?} does not parse: {e}"));
                assert_eq!(parsed.scheme(), expected.scheme(), "scheme of {raw:?}");
                assert_eq!(parsed.host_str(), expected.host_str(), "host of {raw:?}");
                assert_eq!(
                    parsed.port_or_known_default(),
                    expected.port_or_known_default(),
                    "port of {raw:?}"
                );
                assert_eq!(parsed.path(), expected_path, "path of {raw:?}");
                assert!(parsed.username().is_empty() && parsed.password().is_none());
                assert!(parsed.fragment().is_none(), "fragment in {raw:?}");
            }
            let canonical = format!("{}{ACTION_PATH}", issuer.as_str());
            let out = accepted.as_str();
            match raw.split_once('?') {
                Some((_, query)) => assert_eq!(out, format!("{canonical}?{query}")),
                None => assert_eq!(out, canonical),
            }
            assert!(!raw.contains('\\') && raw.bytes().all(|b| b.is_ascii_graphic()));
        }
    }
}

/// The issuer's own action URL with a query of URL-safe characters is never refused.
pub fn check_return_uri_accepts(issuer_raw: &str, query: &str) {
    let Ok(issuer) = Issuer::parse(issuer_raw) else {
        return;
    };
    let raw = if query.is_empty() {
        format!("{}{ACTION_PATH}", issuer.as_str())
    } else {
        format!("{}{ACTION_PATH}?{query}", issuer.as_str())
    };
    let got = ReturnUri::for_issuer(&issuer, &raw);
    if raw.len() > 4096 {
        // The documented bound (an issuer of kilobytes gets there on its own).
        assert!(
            matches!(got, Err(RequestRejection::BadReturnUri(ref why)) if why.starts_with("length"))
        );
        return;
    }
    assert_eq!(
        got.as_ref().map(ReturnUri::as_str),
        Ok(raw.as_str()),
        "the issuer's own action URL was refused"
    );
}

/// The libFuzzer entry: the issuer, a newline, the raw URI; the raw URI's
/// URL-safe characters also serve as a query that must be accepted.
pub fn check_return_uri_bytes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (issuer, raw) = text.split_once('\n').unwrap_or((&text, ""));
    check_return_uri(issuer, raw);
    let query: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._~=&%/?:@!$'()*+,;-".contains(*c))
        .collect();
    check_return_uri_accepts(issuer, &query);
}

// ---------------------------------------------------------------- config

pub const CONFIG_FILE: &str = "/etc/otp-sidecar/fuzz.toml";

/// Any text and any `OTP_SIDECAR__*` variables: a result, never a panic; every
/// problem names a key, says what is wrong, and where the value came from.
pub fn check_config(
    text: &str,
    env: &[(String, String)],
) -> Result<Settings, Vec<(String, String)>> {
    let result = Settings::from_toml_text(Path::new(CONFIG_FILE), text, env);
    match result {
        Ok(settings) => {
            let _ = settings.summary();
            Ok(settings)
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            let not_toml = text.parse::<toml::Table>().is_err();
            for e in errors.iter() {
                assert!(!e.key.trim().is_empty(), "an error without its key: {e:?}");
                assert!(
                    !e.message.trim().is_empty(),
                    "an error without a message: {e:?}"
                );
                if let Some(origin) = &e.origin {
                    assert!(
                        origin == CONFIG_FILE
                            || env
                                .iter()
                                .any(|(k, _)| *origin == format!("environment variable {k}")),
                        "origin {origin:?} is neither the file nor a variable that was set"
                    );
                }
            }
            if not_toml {
                assert!(
                    errors
                        .iter()
                        .any(|e| e.key == CONFIG_FILE && e.message.starts_with("not valid TOML")),
                    "a file that is not TOML must be refused as such: {errors:?}"
                );
            }
            let _ = errors.to_string();
            Err(errors
                .iter()
                .map(|e| (e.key.clone(), e.message.clone()))
                .collect())
        }
    }
}

/// The libFuzzer entry: file text, then after a NUL byte, NAME=VALUE lines
/// (each name gets the `OTP_SIDECAR__` prefix).
pub fn check_config_bytes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (file, env) = text.split_once('\0').unwrap_or((&text, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (format!("OTP_SIDECAR__{k}"), v.to_string()))
        .collect();
    let _ = check_config(file, &env);
}

// ---------------------------------------------------------------- templates

/// Placeholders: text no escaping or message formatting touches.
fn placeholder(i: usize) -> String {
    format!("Zq{i}qZ")
}

pub struct TemplateOracle {
    templates: Templates,
    product_name: String,
}

/// The user-controlled strings of a mail or a page, in a fixed order.
#[derive(Debug, Clone)]
pub struct Hostile {
    pub name: String,
    pub email: String,
    pub client_id: String,
    pub app_name: String,
    pub email_masked: String,
    pub field_name: String,
    pub field_value: String,
    pub action: String,
}

impl Hostile {
    fn all(&self) -> [&String; 8] {
        [
            &self.name,
            &self.email,
            &self.client_id,
            &self.app_name,
            &self.email_masked,
            &self.field_name,
            &self.field_value,
            &self.action,
        ]
    }

    fn twin(&self) -> Hostile {
        let p = |i| placeholder(i);
        Hostile {
            name: p(0),
            email: p(1),
            client_id: p(2),
            app_name: p(3),
            email_masked: p(4),
            field_name: p(5),
            field_value: p(6),
            action: p(7),
        }
    }

    /// Replaces each placeholder in `out` by what `escape` makes of the hostile value.
    fn substitute(&self, out: &str, escape: impl Fn(&str) -> String) -> String {
        let mut s = out.to_string();
        // Highest index first, so `Zq1qZ` never eats into `Zq10qZ`.
        for (i, v) in self.all().iter().enumerate().rev() {
            s = s.replace(&placeholder(i), &escape(v));
        }
        s
    }
}

/// HTML-escaping as handlebars does it for `{{value}}`.
pub fn html_escape(s: &str) -> String {
    handlebars::html_escape(s)
}

fn count_markup(s: &str) -> (usize, usize) {
    (s.matches('<').count(), s.matches('>').count())
}

impl TemplateOracle {
    /// The built-in templates with this product name (which the operator sets).
    pub fn new(product_name: &str) -> Self {
        let branding = Branding {
            product_name: product_name.to_string(),
            ..Branding::default()
        };
        let templates = Templates::load(None, branding)
            .unwrap_or_else(|e| {
                panic!("built-in templates refused with product name {product_name:?}: {e:?}")
            })
            // Two renders compared must see the same "now" (countdowns).
            .with_clock(Arc::new(ManualClock::new(1_796_177_141)));
        Self {
            templates,
            product_name: product_name.to_string(),
        }
    }

    fn mail_ctx(h: &Hostile, resent: bool, code: &str) -> MailContext {
        MailContext {
            code: code.to_string(),
            app: AppInfo {
                client_id: h.client_id.clone(),
                name: h.app_name.clone(),
            },
            name: Some(h.name.clone()),
            email: h.email.clone(),
            expires_at: NOW + 300,
            expires_in_minutes: 5,
            resent,
        }
    }

    fn page_ctx(h: &Hostile, shape: &PageShape) -> PageContext {
        PageContext {
            csrf_token: Some("csrf-token".into()),
            verify_action: Some(h.action.clone()),
            resend_action: Some("/otp/resend".into()),
            cancel_action: Some("/otp/cancel".into()),
            email_masked: Some(h.email_masked.clone()),
            code_length: Some(shape.code_length),
            // The expiry sentence is counted from the clock at rendering (no
            // user data in it): left out, so the page and its twin, rendered
            // a moment apart, compare equal.
            expires_at: None,
            expired: false,
            attempts_left: Some(shape.attempts_left),
            resend_available_at: shape.resend_available_at,
            resends_left: Some(2),
            app: Some(AppInfo {
                client_id: h.client_id.clone(),
                name: h.app_name.clone(),
            }),
            notice: shape.notice.map(str::to_string),
            delivery: shape.delivery.map(str::to_string),
            status_url: Some("/otp/status".into()),
            error: shape.error.map(str::to_string),
            finished: Some("success".into()),
            app_url: None,
            redirect_action: Some(h.action.clone()),
            redirect_fields: vec![FormField {
                name: h.field_name.clone(),
                value: h.field_value.clone(),
            }],
            static_base: None,
        }
    }

    /// Every locale tag renders (falling back), and hostile user data comes
    /// out exactly as the same data would, escaped: never as markup, never
    /// re-read as a template or a message.
    pub fn check_mail(&self, locale: &str, h: &Hostile, resent: bool) {
        let resolved = self.templates.resolve_locale(locale);
        assert!(
            self.templates.locales().contains(&resolved),
            "{locale:?} resolved to {resolved:?}, which has no messages"
        );
        let code = "493817";
        let real = self
            .templates
            .render_mail(locale, &Self::mail_ctx(h, resent, code))
            .unwrap_or_else(|e| panic!("mail for {h:?} in {locale:?} not rendered: {e}"));
        let twin = self
            .templates
            .render_mail(locale, &Self::mail_ctx(&h.twin(), resent, code))
            .unwrap();
        // Plain text and subject: verbatim (the subject on one line).
        assert_eq!(
            real.text,
            h.substitute(&twin.text, str::to_string),
            "text body"
        );
        let subject = h.substitute(&twin.subject, |v| {
            v.split_whitespace().collect::<Vec<_>>().join(" ")
        });
        assert_eq!(
            real.subject.split_whitespace().collect::<Vec<_>>(),
            subject.split_whitespace().collect::<Vec<_>>(),
            "subject"
        );
        assert!(!real.subject.contains(['\r', '\n']), "subject spans lines");
        // HTML (after CSS inlining re-serialised it): no markup from the data.
        assert_eq!(
            count_markup(&real.html),
            count_markup(&twin.html),
            "markup in the mail's HTML changed with the data {h:?}"
        );
        assert!(real.text.contains(code) && real.html.contains(code));
        assert!(real.text.contains(&self.product_name));
    }

    pub fn check_page(&self, page: Page, locale: &str, h: &Hostile, shape: &PageShape) {
        let real = self
            .templates
            .render_page(page, locale, &Self::page_ctx(h, shape))
            .unwrap_or_else(|e| panic!("{page:?} for {h:?} in {locale:?} not rendered: {e}"));
        let twin = self
            .templates
            .render_page(page, locale, &Self::page_ctx(&h.twin(), shape))
            .unwrap();
        assert_eq!(
            real,
            h.substitute(&twin, html_escape),
            "{page:?} page: data not escaped as expected"
        );
    }
}

impl TemplateOracle {
    /// The libFuzzer entry: split at NUL bytes into locale, name, email,
    /// client id, app name, masked email, form field name and value, form
    /// action; the first byte picks the page, notice and delivery state.
    pub fn check_bytes(&self, data: &[u8]) {
        let Some((&shape, rest)) = data.split_first() else {
            return;
        };
        let text = String::from_utf8_lossy(rest);
        let mut parts = text.split('\0').map(|s| {
            // What a request's checks let through: printable, not blank.
            let s: String = s.chars().filter(|c| !c.is_control()).collect();
            if s.trim().is_empty() {
                format!("x{s}")
            } else {
                s
            }
        });
        let mut next = || parts.next().unwrap_or_else(|| "x".into());
        let locale = next();
        let h = Hostile {
            name: next(),
            email: next(),
            client_id: next(),
            app_name: next(),
            email_masked: next(),
            field_name: next(),
            field_value: next(),
            action: next(),
        };
        let pick =
            |list: &[&'static str], n: u8| list.get(usize::from(n) % (list.len() + 1)).copied();
        let page_shape = PageShape {
            code_length: shape,
            attempts_left: u32::from(shape),
            resend_available_at: (shape & 1 == 1).then_some(NOW + i64::from(shape)),
            notice: pick(NOTICES, shape >> 2),
            delivery: pick(DELIVERIES, shape >> 5),
            error: pick(ERRORS, shape >> 4),
        };
        let page = Page::ALL[usize::from(shape) % Page::ALL.len()];
        self.check_page(page, &locale, &h, &page_shape);
        self.check_mail(&locale, &h, shape & 2 == 2);
    }
}

/// The fields of a page context that choose its branches (never user data).
#[derive(Debug, Clone)]
pub struct PageShape {
    pub code_length: u8,
    pub attempts_left: u32,
    pub resend_available_at: Option<i64>,
    pub notice: Option<&'static str>,
    pub delivery: Option<&'static str>,
    pub error: Option<&'static str>,
}

pub const NOTICES: &[&str] = &[
    "sent",
    "resent",
    "invalid_code",
    "cooldown",
    "no_resends_left",
    "send_limited",
];
pub const DELIVERIES: &[&str] = &["sending", "sent", "failed"];
pub const ERRORS: &[&str] = &[
    "invalid_request",
    "send_limited",
    "no_challenge",
    "internal",
    "expired",
    "locked",
];

// ---------------------------------------------------------------- realm linter

/// Any text as a realm file: findings or a positioned input error, never a panic.
pub fn check_lint(name: &str, text: &str) {
    match lint::lint_text(name, text) {
        Ok(findings) => {
            for f in &findings {
                assert!(!f.message.is_empty() && !f.rule.id.is_empty());
                assert_eq!(f.file, name);
                if let Some(p) = f.pos {
                    assert!(p.line >= 1 && p.column >= 1, "position {p:?}");
                }
            }
            for format in [
                lint::report::OutputFormat::Human,
                lint::report::OutputFormat::Json,
                lint::report::OutputFormat::Sarif,
            ] {
                let _ = lint::report::render(format, &findings, 1);
            }
        }
        Err(e) => {
            assert!(!e.error.message.is_empty(), "input error without a message");
            assert_eq!(e.file, name);
            if let Some(p) = e.error.pos {
                assert!(p.line >= 1 && p.column >= 1, "position {p:?}");
            }
            let _ = e.to_string();
        }
    }
}

/// The libFuzzer entry: the first byte picks JSON or YAML.
pub fn check_lint_bytes(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let name = match mode % 3 {
        0 => "realm.json",
        1 => "realm.yaml",
        _ => "realm",
    };
    check_lint(name, &text);
}
