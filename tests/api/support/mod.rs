//! `spawn_app()`: the service on a free port with a real Redis, a real SMTP
//! server, a test realm and a clock the test moves.
pub mod binary;
pub mod faulty_smtp;
pub mod ha;
pub mod logs;
pub mod realm;
pub mod redis;
pub mod smtp;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use otp_sidecar::challenge::{redis_layout, Pepper};
use otp_sidecar::clock::{Clock as _, ManualClock};
use otp_sidecar::config::{RedisUrl, Settings, SmtpUrl};
use otp_sidecar::tokens::Issuer;
use otp_sidecar::tokens::RealmSettings;
use otp_sidecar::Application;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

pub use realm::TestRealm;
pub use redis::RedisServer;
pub use smtp::SmtpSink;

pub const SIDECAR_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keys/sidecar-es256.pem"
);
pub const FROM: &str = "Acme Login <login@example.com>";

pub struct TestApp {
    /// `http://127.0.0.1:<port>`, also the sidecar's public URL (issuer).
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub realm: TestRealm,
    pub smtp: SmtpSink,
    pub redis: RedisServer,
    pub settings: Settings,
    handle: ServerHandle,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent at once; no need to wait for completion.
        drop(self.handle.stop(false));
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with a chance to adjust the settings first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    logs::install();
    let redis = RedisServer::start();
    let smtp = SmtpSink::start();
    let realm = TestRealm::start();
    let dir = tempfile::tempdir().unwrap();
    let pepper = dir.path().join("pepper");
    std::fs::write(&pepper, realm::random() + &realm::random()).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let address = format!("http://127.0.0.1:{port}");

    let mut settings = Settings::embedded();
    settings.embedded = false;
    settings.server.bind = listener.local_addr().unwrap();
    settings.server.public_url = url::Url::parse(&address).unwrap();
    settings.server.secure_cookies = true;
    settings.store.redis_url = Some(RedisUrl::parse(&redis.url()).unwrap());
    settings.mail.smtp_url = Some(SmtpUrl::parse(&smtp.url()).unwrap());
    settings.mail.from = FROM.to_string();
    settings.mail.timeout_secs = 5;
    settings.realms = vec![RealmSettings {
        issuer: Issuer::parse(&realm.issuer).unwrap(),
        jwks_uri: url::Url::parse(&realm.jwks_uri).unwrap(),
    }];
    settings.signing.key_file = Some(SIDECAR_KEY.into());
    settings.secrets.pepper = Some(Pepper::from_file(&pepper).unwrap());
    adjust(&mut settings);

    let clock = Arc::new(ManualClock::starting_now());
    let app = Application::build_on(settings.clone(), listener, clock.clone())
        .await
        .unwrap();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        realm,
        smtp,
        redis,
        settings,
        handle,
        _dir: dir,
    }
}

impl TestApp {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// `field` of the Redis hash `key` as a number (0 when absent).
    pub fn redis_hash_number(&self, key: &str, field: &str) -> i64 {
        let client = ::redis::Client::open(self.redis.url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        let value: Option<i64> = ::redis::cmd("HGET")
            .arg(key)
            .arg(field)
            .query(&mut conn)
            .unwrap();
        value.unwrap_or(0)
    }

    /// A number field of the live challenge the browser with `cookie` is
    /// bound to (`field` one of [`redis_layout`]'s challenge fields);
    /// panics when the challenge is not in the store.
    pub fn challenge_number(&self, cookie: &str, field: &str) -> i64 {
        let id = otp_sidecar::challenge::ChallengeId::parse(cookie).unwrap();
        let key = redis_layout::challenge_key(&id);
        assert!(
            self.redis_hash_number(&key, redis_layout::EXPIRES_AT) > 0,
            "challenge {cookie} is not in the store"
        );
        self.redis_hash_number(&key, field)
    }

    /// What the realm user `sub` was charged in the current window.
    pub fn user_charged(&self, sub: &str, kind: otp_sidecar::challenge::UserCharge) -> i64 {
        let user = otp_sidecar::challenge::UserKey::new(&self.realm.issuer, sub);
        self.redis_hash_number(&redis_layout::user_key(&user), kind.field())
    }

    /// Submits `code` through the code page's form, as the browser with `cookie`.
    pub async fn submit_code(&self, cookie: &str, csrf: &str, code: &str) -> reqwest::Response {
        self.post_form(
            "/challenge/verify",
            Some(cookie),
            &[("csrf_token", csrf), ("code", code)],
        )
        .await
    }

    /// The CSRF token of the code page the browser with `cookie` is shown.
    pub async fn csrf_token(&self, cookie: &str) -> String {
        let page = self.get("/challenge", Some(cookie)).await;
        assert_eq!(page.status(), reqwest::StatusCode::OK);
        field(&page.text().await.unwrap(), "csrf_token").unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request JWT for `email`, valid at the app's clock.
    pub fn request(&self, email: &str) -> String {
        self.realm.request(email, self.now())
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(c) = cookie {
            req = req.header(COOKIE, format!("otp_challenge={c}"));
        }
        follow_hand_back(&self.client, req.send().await.unwrap()).await
    }

    pub async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Response {
        let response = self.post_form_as_is(path, cookie, fields).await;
        follow_hand_back(&self.client, response).await
    }

    /// [`TestApp::post_form`] without following the hand-back: the `303`
    /// itself, with the cookies it sets.
    pub async fn post_form_as_is(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Response {
        let mut req = self.client.post(self.url(path)).form(fields);
        if let Some(c) = cookie {
            req = req.header(COOKIE, format!("otp_challenge={c}"));
        }
        req.send().await.unwrap()
    }

    pub async fn authorize(&self, request: &str, cookie: Option<&str>) -> Response {
        self.post_form("/authorize", cookie, &[("request", request)])
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn api_create(&self, request: &str) -> Response {
        self.post_json("/api/v1/challenges", &json!({ "request": request }))
            .await
    }

    pub async fn api_verify(&self, id: &str, code: &str) -> Response {
        self.post_json(
            &format!("/api/v1/challenges/{id}/verify"),
            &json!({ "code": code }),
        )
        .await
    }

    pub async fn api_resend(&self, id: &str) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/challenges/{id}/resend")))
            .send()
            .await
            .unwrap()
    }

    /// Starts a browser flow for `email`: returns the challenge cookie and the code.
    pub async fn start_browser_flow(&self, email: &str) -> (String, String) {
        let before = self.smtp.to(email).len();
        let response = self.authorize(&self.request(email), None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = challenge_cookie(&response).expect("challenge cookie");
        let mail = self.smtp.wait_for(email, before + 1).await;
        (cookie, mail.code(6))
    }

    /// Starts an API challenge for `email`: returns the id and the code.
    pub async fn start_api_challenge(&self, email: &str) -> (String, String) {
        let before = self.smtp.to(email).len();
        let response = self.api_create(&self.request(email)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let mail = self.smtp.wait_for(email, before + 1).await;
        (
            body["challenge_id"].as_str().unwrap().to_string(),
            mail.code(6),
        )
    }

    /// A positive barrier before counting "no further mail": starts a
    /// challenge for an address and a realm user of its own and waits until
    /// its mail arrived; returns that address. The service sends a mail from
    /// a task it starts while answering the request that causes it, and that
    /// request waits for the first attempt (up to 2 s, src/login/delivery.rs);
    /// a mail caused by a request answered before this one is in the sink by
    /// the time this one is. Not for tests that count every mail or mail
    /// metric afterwards, nor under a spent global send limit.
    pub async fn mail_barrier(&self) -> String {
        static BARRIERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = BARRIERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!("barrier-{n}@example.com");
        let mut claims = self.realm.claims(&email, self.now());
        claims["sub"] = json!(format!("barrier-user-{n}"));
        let response = self.api_create(&self.realm.sign(&claims)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "the barrier's mail");
        self.smtp.wait_for(&email, 1).await;
        email
    }

    /// Checks an assertion like Keycloak does, against our published JWKS.
    pub async fn verify_assertion(&self, assertion: &str) -> Value {
        let jwks: JwkSet = self
            .client
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let header = jsonwebtoken::decode_header(assertion).unwrap();
        let kid = header.kid.clone().expect("assertion has a kid");
        let jwk = jwks.find(&kid).expect("kid published in our JWKS");
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[&self.realm.issuer]);
        validation.set_issuer(&[&self.address]);
        // The app's clock may run ahead of the wall clock in a test.
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
            .unwrap()
            .claims;
        let exp = claims["exp"].as_i64().unwrap();
        let iat = claims["iat"].as_i64().unwrap();
        assert!(exp > iat && exp - iat <= 60, "exp at most 60 s after iat");
        assert!(iat <= self.now() && exp > self.now());
        claims
    }
}

/// The hand-back (`303` to `/challenge/done`) followed as a browser does,
/// with the cookies it set; any other response as it is.
pub async fn follow_hand_back(client: &reqwest::Client, response: Response) -> Response {
    let Some(location) = hand_back_location(&response) else {
        return response;
    };
    let target = response.url().join(&location).unwrap();
    let cookies = cookie_pairs(&response, &["otp_handoff", "otp_finished"]);
    client
        .get(target)
        .header(COOKIE, cookies.join("; "))
        .send()
        .await
        .unwrap()
}

/// Where a hand-back response sends the browser, if it is one.
pub fn hand_back_location(response: &Response) -> Option<String> {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    (response.status() == reqwest::StatusCode::SEE_OTHER && location.ends_with("/challenge/done"))
        .then(|| location.to_string())
}

/// The right `code` submitted through the form of challenge `cookie`: the
/// two cookies that end the step, `[hand-off, finished mark]`, each as
/// `name=value`.
pub async fn finish_step(app: &TestApp, cookie: &str, code: &str) -> [String; 2] {
    let csrf = app.csrf_token(cookie).await;
    let posted = app
        .post_form_as_is(
            "/challenge/verify",
            Some(cookie),
            &[("csrf_token", csrf.as_str()), ("code", code)],
        )
        .await;
    let handoff = cookie_pairs(&posted, &["otp_handoff"]);
    let finished = cookie_pairs(&posted, &["otp_finished"]);
    match (handoff.as_slice(), finished.as_slice()) {
        ([h], [f]) => [h.clone(), f.clone()],
        _ => panic!("the step did not end: {handoff:?} {finished:?}"),
    }
}

/// `name=value` of each cookie named in `names` that the response sets.
pub fn cookie_pairs(response: &Response, names: &[&str]) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .filter(|pair| names.iter().any(|n| pair.starts_with(&format!("{n}="))))
        .map(str::to_string)
        .collect()
}

/// Value of the `otp_challenge` cookie a response sets.
pub fn challenge_cookie(response: &Response) -> Option<String> {
    set_cookie(response).and_then(|c| {
        c.split(';')
            .next()
            .and_then(|kv| kv.trim().strip_prefix("otp_challenge="))
            .map(str::to_string)
    })
}

/// The whole `Set-Cookie` header of the challenge cookie.
pub fn set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("otp_challenge="))
        .map(str::to_string)
}

fn unescape(s: &str) -> String {
    s.replace("&#x3D;", "=")
        .replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&#x60;", "`")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The tag (from `<` to `>`) containing `needle`.
fn tag_with<'a>(html: &'a str, needle: &str) -> Option<&'a str> {
    let at = html.find(needle)?;
    let start = html[..=at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    Some(&html[start..=end])
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// Value of the (hidden) input named `name`.
pub fn field(html: &str, name: &str) -> Option<String> {
    attribute(tag_with(html, &format!("name=\"{name}\""))?, "value")
}

/// `action` of the first form (or of the form whose action contains `contains`).
pub fn form_action(html: &str, contains: &str) -> Option<String> {
    let mut rest = html;
    while let Some(at) = rest.find("<form") {
        let tag = tag_with(&rest[at..], "<form")?;
        if let Some(action) = attribute(tag, "action") {
            if action.contains(contains) {
                return Some(action);
            }
        }
        rest = &rest[at + 5..];
    }
    None
}

/// Every `name` of the inputs inside the page's forms.
pub fn input_names(html: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<input") {
        if let Some(tag) = tag_with(&rest[at..], "<input") {
            if let Some(name) = attribute(tag, "name") {
                names.push(name);
            }
        }
        rest = &rest[at + 6..];
    }
    names
}

/// Security headers every page carries; returns the CSP.
pub fn assert_security_headers(response: &Response) -> String {
    let h = response.headers();
    let get = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(get("cache-control"), "no-store");
    assert_eq!(get("pragma"), "no-cache");
    assert_eq!(get("referrer-policy"), "no-referrer");
    assert_eq!(get("x-content-type-options"), "nosniff");
    // For browsers that predate CSP's frame-ancestors.
    assert_eq!(get("x-frame-options"), "DENY");
    let csp = get("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    csp
}
