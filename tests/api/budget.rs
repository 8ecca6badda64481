//! The per-user budget: wrong codes and new challenges are counted per realm
//! user across all of their challenges, so re-issuing the step does not buy
//! fresh guesses or fresh mails.
use otp_sidecar::challenge::UserCharge;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{field, spawn_app_with, TestApp};

const EMAIL: &str = "budget@example.com";

/// An app whose users may spend `failures` wrong codes and `challenges`
/// challenges per `window` seconds (challenges themselves allow 5 attempts).
async fn app(failures: u32, challenges: u32, window: u64) -> TestApp {
    spawn_app_with(|s| {
        s.otp.user.max_failures = failures;
        s.otp.user.max_challenges = challenges;
        s.otp.user.window_secs = window;
    })
    .await
}

/// A request for `email` as the realm user `sub`.
fn request_for(app: &TestApp, email: &str, sub: &str) -> String {
    let mut claims = app.realm.claims(email, app.now());
    claims["sub"] = Value::from(sub);
    app.realm.sign(&claims)
}

/// A code that is not `code` (same length).
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

/// POST /authorize must answer the auto-POST `locked` assertion page, with no
/// challenge cookie and no mail.
async fn assert_authorize_locked(app: &TestApp, request: &str) {
    let mails = app.smtp.count();
    let response = app.authorize(request, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bound = crate::support::challenge_cookie(&response).filter(|c| !c.is_empty());
    assert!(bound.is_none(), "no challenge may be bound: {bound:?}");
    let html = response.text().await.unwrap();
    let assertion = field(&html, "assertion").expect("locked assertion page");
    assert!(html.contains(&app.realm.return_uri()), "{html}");
    let claims = app.verify_assertion(&assertion).await;
    assert_eq!(claims["result"], "locked");
    assert_eq!(claims["aud"], app.realm.issuer.as_str());
    // A (wrongly) sent mail would be in before the barrier's.
    app.mail_barrier().await;
    assert_eq!(
        app.smtp.count(),
        mails + 1,
        "a refused challenge sends no mail"
    );
}

fn rejections(metrics: &str, reason: &str) -> u64 {
    let prefix = format!("request_rejections_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn wrong_codes_across_challenges_lock_the_user_until_the_window_ends() {
    let app = app(3, 100, 600).await;
    // Two wrong codes on a first challenge, then Keycloak re-issues the step.
    let (first, first_code) = app.start_api_challenge(EMAIL).await;
    for left in [2, 1] {
        let response = app.api_verify(&first, &wrong(&first_code)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_code");
        assert_eq!(body["attempts_left"], left, "the user's budget caps it");
    }
    // A fresh challenge does not bring fresh guesses: one is left.
    let (second, code) = app.start_api_challenge(EMAIL).await;
    // The wrong code that spends the user's last attempt closes the challenge.
    let response = app.api_verify(&second, &wrong(&code)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "locked");
    // Spent: a new challenge is refused (locked assertion, no mail) ...
    assert_authorize_locked(&app, &app.request(EMAIL)).await;
    // ... and even the right code on a live challenge is refused, as locked.
    let response = app.api_verify(&first, &first_code).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "locked");
    // The JSON API refuses a new challenge the same way, without mail.
    let mails = app.smtp.count();
    let response = app.api_create(&app.request(EMAIL)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "locked");
    assert_eq!(app.smtp.count(), mails);

    // Another user of the same realm is unaffected.
    let other = "other@example.com";
    let response = app
        .authorize(&request_for(&app, other, "user-2"), None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.smtp.wait_for(other, 1).await;
    // That mail came after every refusal above: none of them sent one.
    assert_eq!(
        app.smtp.to(EMAIL).len(),
        2,
        "only the two challenges mailed"
    );

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(rejections(&metrics, "user_locked"), 2, "{metrics}");
    assert!(crate::support::logs::captured().contains("user_locked"));

    // The window closes (injected clock, no sleeping): the user may try again.
    app.clock.advance(601);
    let (id, code) = app.start_api_challenge(EMAIL).await;
    let response = app.api_verify(&id, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn browser_verify_on_a_live_challenge_answers_locked_once_the_budget_is_spent() {
    let app = app(2, 100, 600).await;
    let (cookie, code) = app.start_browser_flow(EMAIL).await;
    let (id, api_code) = app.start_api_challenge(EMAIL).await;
    // Spend the budget on the API challenge.
    for _ in 0..2 {
        app.api_verify(&id, &wrong(&api_code)).await;
    }
    // The browser's own challenge never saw a wrong code, yet the right code
    // is not evaluated: Keycloak gets `locked`.
    let page = app
        .get("/challenge", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let csrf = field(&page, "csrf_token").unwrap();
    let response = app.submit_code(&cookie, &csrf, &code).await;
    let html = response.text().await.unwrap();
    let assertion = field(&html, "assertion").expect("locked assertion page");
    assert_eq!(app.verify_assertion(&assertion).await["result"], "locked");
}

#[tokio::test]
async fn right_codes_do_not_spend_the_failure_budget() {
    let app = app(1, 100, 600).await;
    for _ in 0..3 {
        let (id, code) = app.start_api_challenge(EMAIL).await;
        assert_eq!(app.api_verify(&id, &code).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn challenge_budget_stops_mails_per_user_and_window() {
    let app = app(100, 3, 3600).await;
    for n in 1..=3 {
        let response = app.authorize(&app.request(EMAIL), None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        app.smtp.wait_for(EMAIL, n).await;
    }
    // The fourth re-issue of the step (reload, "send a new code") sends nothing.
    assert_authorize_locked(&app, &app.request(EMAIL)).await;
    assert_eq!(app.smtp.to(EMAIL).len(), 3);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(
        rejections(&metrics, "user_budget_exhausted"),
        1,
        "{metrics}"
    );
    assert!(crate::support::logs::captured().contains("user_budget_exhausted"));
    // Another user still gets mail.
    let response = app
        .authorize(&request_for(&app, "other@example.com", "user-2"), None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.smtp.wait_for("other@example.com", 1).await;
    // An hour later the user gets mail again.
    app.clock.advance(3600);
    let response = app.authorize(&app.request(EMAIL), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.smtp.wait_for(EMAIL, 4).await;
}

#[tokio::test]
async fn a_request_cannot_raise_the_budget() {
    let app = app(100, 1, 3600).await;
    // The budget is not part of the request's `otp` policy: asking is refused.
    let mut claims = app.realm.claims(EMAIL, app.now());
    claims["otp"] = serde_json::json!({ "user_max_challenges": 100 });
    let response = app.api_create(&app.realm.sign(&claims)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.smtp.count(), 0);
    // A policy the request may set leaves the budget as configured.
    for expected in [StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS] {
        let mut claims = app.realm.claims(EMAIL, app.now());
        claims["otp"] = serde_json::json!({ "max_attempts": 10, "max_resends": 10 });
        let response = app.api_create(&app.realm.sign(&claims)).await;
        assert_eq!(response.status(), expected);
    }
    app.smtp.wait_for(EMAIL, 1).await;
    app.mail_barrier().await;
    assert_eq!(app.smtp.to(EMAIL).len(), 1);
}

#[tokio::test]
async fn the_wrong_code_that_locks_a_challenge_is_charged_like_any_other() {
    let app = spawn_app_with(|s| {
        s.otp.max_attempts.default = 3;
        s.otp.user.max_failures = 10;
    })
    .await;
    // Browser: the third wrong code ends the flow with `locked` ...
    let (cookie, code) = app.start_browser_flow(EMAIL).await;
    let csrf = app.csrf_token(&cookie).await;
    for _ in 0..2 {
        let response = app.submit_code(&cookie, &csrf, &wrong(&code)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let response = app.submit_code(&cookie, &csrf, &wrong(&code)).await;
    let assertion = field(&response.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(app.verify_assertion(&assertion).await["result"], "locked");
    // ... and is charged: three wrong codes, three failures.
    assert_eq!(app.user_charged("user-1", UserCharge::Failure), 3);
    // The API: the same rule, one more charge per wrong code.
    let (id, code) = app.start_api_challenge(EMAIL).await;
    for left in [2, 1] {
        let body: Value = app
            .api_verify(&id, &wrong(&code))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["attempts_left"], left);
    }
    let response = app.api_verify(&id, &wrong(&code)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.user_charged("user-1", UserCharge::Failure), 6);
    // Closed: the right code is refused as locked and costs nothing more.
    let response = app.api_verify(&id, &code).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "locked");
    assert_eq!(app.user_charged("user-1", UserCharge::Failure), 6);
}
