//! A representative set of the request checks of docs/protocol.md section 2, seen
//! from outside: generic error page / JSON, the specific code in the log and
//! the metric. (The exhaustive list is unit-tested next to the verifier.)
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::realm::{OTHER_KEY, REALM_PUBLIC_KEY};
use crate::support::{assert_security_headers, spawn_app, TestApp, TestRealm};

fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

/// (name, request JWT, expected rejection code)
fn bad_requests(app: &TestApp) -> Vec<(&'static str, String, &'static str)> {
    let now = app.now();
    let email = "refused@example.com";
    let claims = |patch: Value| {
        let mut c = app.realm.claims(email, now);
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let realm = &app.realm;
    let hs256_with_public_key = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(crate::support::realm::KID.into());
        let secret = std::fs::read(REALM_PUBLIC_KEY).unwrap();
        realm.sign_with(
            &header,
            &claims(json!({})),
            &EncodingKey::from_secret(&secret),
        )
    };
    let other_key = realm.sign_with(
        &TestRealm::header(),
        &claims(json!({})),
        &EncodingKey::from_rsa_pem(&std::fs::read(OTHER_KEY).unwrap()).unwrap(),
    );
    let host = realm.issuer.split("/realms").next().unwrap().to_string();
    let port = host.rsplit(':').next().unwrap().to_string();
    vec![
        ("alg none", unsigned(&claims(json!({}))), "alg_not_allowed"),
        ("HS256 keyed with the public key", hs256_with_public_key, "alg_not_allowed"),
        ("signed by another key", other_key, "bad_signature"),
        (
            "unknown issuer",
            realm.sign(&claims(json!({"iss": "http://127.0.0.1:1/realms/evil"}))),
            "unknown_issuer",
        ),
        ("wrong audience", realm.sign(&claims(json!({"aud": "someone-else"}))), "wrong_audience"),
        (
            "expired",
            realm.sign(&claims(json!({"iat": now - 400, "exp": now - 100}))),
            "expired",
        ),
        (
            "issued in the future",
            realm.sign(&claims(json!({"iat": now + 200, "exp": now + 400}))),
            "iat_in_future",
        ),
        (
            "return_uri on another host",
            realm.sign(&claims(json!({"return_uri": format!("http://127.0.0.2:{port}/realms/test/login-actions/authenticate")}))),
            "bad_return_uri",
        ),
        (
            "return_uri with user-info",
            realm.sign(&claims(json!({"return_uri": format!("http://127.0.0.1:{port}@evil.example/realms/test/login-actions/authenticate")}))),
            "bad_return_uri",
        ),
        (
            "return_uri on another port of the realm's host",
            realm.sign(&claims(json!({"return_uri": format!("http://127.0.0.1:{}/realms/test/login-actions/authenticate", other_port(&port))}))),
            "bad_return_uri",
        ),
        (
            "return_uri of another realm",
            realm.sign(&claims(json!({"return_uri": format!("{host}/realms/other/login-actions/authenticate")}))),
            "bad_return_uri",
        ),
        (
            "return_uri with dot segments",
            realm.sign(&claims(json!({"return_uri": format!("{}/login-actions/../../other/login-actions/authenticate", realm.issuer)}))),
            "bad_return_uri",
        ),
        ("garbage", "not.a.jwt".to_string(), "malformed"),
    ]
}

/// A port that is not `port`.
fn other_port(port: &str) -> u16 {
    let port: u16 = port.parse().unwrap();
    if port == 65535 {
        port - 1
    } else {
        port + 1
    }
}

fn rejection_count(metrics: &str, reason: &str) -> u64 {
    let prefix = format!("request_rejections_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn bad_requests_get_the_generic_error_page() {
    let app = spawn_app().await;
    let mut before = app.get("/metrics", None).await.text().await.unwrap();
    for (name, jwt, code) in bad_requests(&app) {
        let response = app.authorize(&jwt, None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(response.headers().get("set-cookie").is_none(), "{name}");
        assert_security_headers(&response);
        let html = response.text().await.unwrap();
        assert!(
            !html.contains(code) || code == "expired",
            "{name}: the page stays generic"
        );
        // Exactly this refusal, counted once under its own reason: every
        // other reason stays where it was.
        let after = app.get("/metrics", None).await.text().await.unwrap();
        for (_, _, other) in bad_requests(&app) {
            let expected = rejection_count(&before, other) + u64::from(other == code);
            assert_eq!(
                rejection_count(&after, other),
                expected,
                "{name}: metric for {other}"
            );
        }
        before = after;
    }
    assert_eq!(app.smtp.count(), 0, "no mail for a refused request");
}

#[tokio::test]
async fn bad_requests_get_the_json_error() {
    let app = spawn_app().await;
    for (name, jwt, _) in bad_requests(&app) {
        let response = app.api_create(&jwt).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{name}");
        assert!(body["message"].is_string());
    }
    assert_eq!(app.smtp.count(), 0);
}

#[tokio::test]
async fn a_replayed_request_is_refused() {
    let app = spawn_app().await;
    let request = app.request("replay@example.com");
    assert_eq!(app.api_create(&request).await.status(), StatusCode::CREATED);
    let replay = app.api_create(&request).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let replay = app.authorize(&request, None).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(rejection_count(&metrics, "replayed"), 2);
    assert_eq!(app.smtp.to("replay@example.com").len(), 1);
}

#[tokio::test]
async fn a_request_replayed_within_the_clock_leeway_after_exp_is_refused() {
    let app = spawn_app().await;
    let now = app.now();
    let mut claims = app.realm.claims("late-replay@example.com", now);
    claims["exp"] = json!(now + 10);
    let request = app.realm.sign(&claims);
    assert_eq!(app.api_create(&request).await.status(), StatusCode::CREATED);
    // Past exp but inside the 60 s leeway the signature checks still accept:
    // the jti must still be remembered.
    app.clock.advance(40);
    let replay = app.api_create(&request).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(rejection_count(&metrics, "replayed"), 1);
    // The last second the leeway accepts (exp + 60): still remembered.
    app.clock.advance(30);
    let replay = app.api_create(&request).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(rejection_count(&metrics, "replayed"), 2);
    // One second later the request itself is refused as expired.
    app.clock.advance(1);
    let late = app.api_create(&request).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(rejection_count(&metrics, "replayed"), 2);
    assert_eq!(rejection_count(&metrics, "expired"), 1);
    assert_eq!(app.smtp.to("late-replay@example.com").len(), 1);
}
