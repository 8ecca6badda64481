//! Operator surface: health, readiness (with Redis going away and back),
//! metrics, the JWKS, static assets.
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::spawn_app;

#[tokio::test]
async fn readiness_follows_redis_and_recovers_by_itself() {
    let mut app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);

    app.redis.stop();
    let response = app.get("/readyz", None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_ready");
    // Liveness is not readiness.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    // A request while Redis is down: a clear 503, not a hang or a panic.
    let response = app.api_create(&app.request("down@example.com")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    app.redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.get("/readyz", None).await.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "readyz did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (id, code) = app.start_api_challenge("back@example.com").await;
    assert_eq!(app.api_verify(&id, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_challenges_verifications_and_mails() {
    let app = spawn_app().await;
    let (id, code) = app.start_api_challenge("metrics@example.com").await;
    app.api_verify(&id, &code).await;
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for line in [
        "challenges_created_total 1",
        "verifications_total{result=\"success\"} 1",
        "mails_total{outcome=\"sent\"} 1",
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("route=\"/api/v1/challenges/{id}/verify\""));
    assert!(!text.contains(&id), "raw paths never become labels");
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let app = spawn_app().await;
    let response = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    for key in keys {
        assert!(key["kid"].is_string());
        assert!(key.get("d").is_none(), "no private parts");
    }
}

#[tokio::test]
async fn the_autosubmit_script_is_served_from_our_origin() {
    let app = spawn_app().await;
    let response = app.get("/static/otp.js", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(response.text().await.unwrap().contains("submit()"));
    let css = app.get("/static/page.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(
        app.get("/static/..%2FCargo.toml", None).await.status(),
        StatusCode::NOT_FOUND
    );
}
