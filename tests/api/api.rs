//! The JSON API of docs/protocol.md section 6.
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{spawn_app, spawn_app_with, TestApp};

#[tokio::test]
async fn create_verify_returns_a_success_assertion() {
    let app = spawn_app().await;
    let now = app.now();
    let response = app.api_create(&app.request("api@example.com")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let id = body["challenge_id"].as_str().unwrap();
    let ttl = app.settings.otp.ttl_secs.default as i64;
    let cooldown = app.settings.otp.resend_cooldown_secs.default as i64;
    assert_eq!(body["expires_at"], now + ttl);
    assert_eq!(body["resend_after"], now + cooldown);
    let code = app.smtp.wait_for("api@example.com", 1).await.code(6);

    let response = app.api_verify(id, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"], "success");
    let claims = app
        .verify_assertion(body["assertion"].as_str().unwrap())
        .await;
    assert_eq!(claims["result"], "success");

    let again = app.api_verify(id, &code).await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert_eq!(again.json::<Value>().await.unwrap()["error"], "expired");
}

#[tokio::test]
async fn fifty_concurrent_correct_submissions_succeed_exactly_once() {
    let app = Arc::new(spawn_app().await);
    let (id, code) = app.start_api_challenge("race@example.com").await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, id, code) = (app.clone(), id.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            app.api_verify(&id, &code).await.status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let successes = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(successes, 1, "{statuses:?}");
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::GONE));
}

#[tokio::test]
async fn hundred_concurrent_wrong_guesses_evaluate_at_most_max_attempts() {
    let app = Arc::new(spawn_app().await);
    let (id, code) = app.start_api_challenge("guess@example.com").await;
    let max = app.settings.otp.max_attempts.default as usize;
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let (app, id) = (app.clone(), id.clone());
        let mut guess = format!("{:06}", (i * 7919) % 1_000_000);
        if guess == code {
            guess = format!("{:06}", (i * 7919 + 1) % 1_000_000);
        }
        tasks.push(tokio::spawn(async move {
            let response = app.api_verify(&id, &guess).await;
            (response.status(), response.json::<Value>().await.unwrap())
        }));
    }
    let mut invalid = 0;
    let mut locked = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::BAD_REQUEST => {
                assert_eq!(body["error"], "invalid_code");
                invalid += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(body["error"], "locked");
                locked += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    // The max-th wrong code closes the challenge (429 locked): exactly
    // max - 1 are answered as wrong with attempts left, every other guess
    // (evaluated last or arriving after the lock) as locked.
    assert_eq!(invalid, max - 1, "{invalid} wrong guesses answered invalid");
    assert_eq!(locked, 100 - (max - 1));
    // Locked for good: the right code no longer helps.
    assert_locked(app.api_verify(&id, &code).await).await;
}

#[tokio::test]
async fn wrong_code_reports_attempts_left() {
    let app = spawn_app().await;
    let (id, code) = app.start_api_challenge("left@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let response = app.api_verify(&id, wrong).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_code");
    assert_eq!(
        body["attempts_left"],
        app.settings.otp.max_attempts.default - 1
    );
    assert!(body["message"].is_string());
    // Something that cannot be a code is refused without spending an attempt.
    let response = app.api_verify(&id, "12ab").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "malformed_code"
    );
    let response = app.api_verify(&id, wrong).await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["attempts_left"],
        app.settings.otp.max_attempts.default - 2
    );
}

#[tokio::test]
async fn resend_has_a_cooldown_a_maximum_and_keeps_attempts() {
    let app = spawn_app().await;
    let email = "cool@example.com";
    let (id, first) = app.start_api_challenge(email).await;
    let wrong = if first == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(
        app.api_verify(&id, wrong).await.status(),
        StatusCode::BAD_REQUEST
    );

    let cooldown = app.settings.otp.resend_cooldown_secs.default;
    let response = app.api_resend(&id).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "cooldown");
    assert_eq!(body["retry_after"], cooldown);
    assert_eq!(app.smtp.to(email).len(), 1);

    app.clock.advance(cooldown as i64);
    let response = app.api_resend(&id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let second = app.smtp.wait_for(email, 2).await.code(6);
    // The new code's mail says it is a new one.
    let subjects: Vec<String> = app.smtp.to(email).iter().map(|m| m.subject()).collect();
    assert_eq!(
        subjects,
        [
            "Your sign-in code for test-app",
            "Your new sign-in code for test-app"
        ]
    );

    // Attempts were not reset by the resend.
    let response = app.api_verify(&id, wrong).await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["attempts_left"],
        app.settings.otp.max_attempts.default - 2
    );

    // Up to the maximum, then refused.
    let max_resends = app.settings.otp.max_resends.default;
    for n in 1..max_resends {
        app.clock.advance(cooldown as i64);
        assert_eq!(
            app.api_resend(&id).await.status(),
            StatusCode::ACCEPTED,
            "resend {n}"
        );
    }
    app.clock.advance(cooldown as i64);
    let response = app.api_resend(&id).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "resend_limit"
    );
    let newest = app
        .smtp
        .wait_for(email, 1 + max_resends as usize)
        .await
        .code(6);
    let _ = second;
    let response = app.api_verify(&id, &newest).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_challenge_expires_with_the_clock() {
    let app = spawn_app().await;
    let (id, code) = app.start_api_challenge("expire@example.com").await;
    app.clock
        .advance(app.settings.otp.ttl_secs.default as i64 + 1);
    let response = app.api_verify(&id, &code).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "expired");
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn policy_in_the_request_is_clamped() {
    let app = spawn_app().await;
    let email = "policy@example.com";
    let mut claims = app.realm.claims(email, app.now());
    claims["otp"] = json!({ "length": 8, "ttl": 100000, "max_attempts": 2 });
    let response = app.api_create(&app.realm.sign(&claims)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let max_ttl = app.settings.otp.ttl_secs.max as i64;
    assert_eq!(body["expires_at"], app.now() + max_ttl);
    let code = app.smtp.wait_for(email, 1).await.code(8);
    let id = body["challenge_id"].as_str().unwrap();
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let body: Value = app.api_verify(id, wrong).await.json().await.unwrap();
    assert_eq!(body["attempts_left"], 1);
    // The clamped value is logged with the request's jti; those within the
    // bounds (length 8, two attempts) are not.
    let jti = claims["jti"].as_str().unwrap();
    let clamped: Vec<Value> = crate::support::logs::captured()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|e| {
            e["req_jti"] == jti
                && e["message"] == "request otp policy clamped to the configured bounds"
        })
        .collect();
    assert_eq!(clamped.len(), 1, "{clamped:?}");
    assert_eq!(clamped[0]["policy"], "ttl");
    assert_eq!(clamped[0]["requested"], "100000");
    assert_eq!(clamped[0]["applied"], max_ttl.to_string());
}

#[tokio::test]
async fn errors_are_json_everywhere() {
    let app = spawn_app().await;
    let cases = [
        (
            app.client.get(app.url("/nowhere")),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            app.client.get(app.url("/api/v1/challenges")),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            app.client
                .post(app.url("/api/v1/challenges"))
                .header("content-type", "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            app.client
                .post(app.url("/api/v1/challenges"))
                .json(&json!({"req": "x"})),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            app.client
                .post(app.url("/api/v1/challenges/AAAAAAAAAAAAAAAAAAAAAA/verify"))
                .json(&json!({"code": "123456"})),
            StatusCode::GONE,
            "expired",
        ),
        (
            app.client
                .post(app.url("/api/v1/challenges/..%2F..%2Fetc/verify"))
                .json(&json!({"code": "123456"})),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (request, status, error) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{error}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

/// `ACL SETUSER default <rule>` on the app's Redis (the service connects as
/// `default`).
fn redis_acl(app: &TestApp, rule: &str) {
    let client = ::redis::Client::open(app.redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let _: () = ::redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg(rule)
        .query(&mut conn)
        .unwrap();
}

/// `max - 1` wrong codes on a fresh API challenge; its id and right code.
async fn one_attempt_left(app: &TestApp, email: &str) -> (String, String, String) {
    let (id, code) = app.start_api_challenge(email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = app.settings.otp.max_attempts.default;
    for left in (1..max).rev() {
        let response = app.api_verify(&id, wrong).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.json::<Value>().await.unwrap()["attempts_left"],
            left
        );
    }
    (id, code, wrong.to_string())
}

/// The 429 `locked` answer, with no assertion in it.
async fn assert_locked(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "locked", "{body}");
    assert!(body.get("assertion").is_none(), "{body}");
}

#[tokio::test]
async fn the_right_code_after_the_attempt_cap_is_refused_and_nothing_is_signed() {
    // The user's own wrong-code budget is far away: only the challenge's cap counts.
    let app = spawn_app_with(|s| s.otp.user.max_failures = 1000).await;
    let max = app.settings.otp.max_attempts.default;

    // As a user meets it: the max-th wrong code answers 429 and closes the
    // challenge; the right code after it (and a wrong one) still gets 429
    // locked, not 410: the mark the challenge left says it was locked.
    let (id, code, wrong) = one_attempt_left(&app, "cap@example.com").await;
    assert_locked(app.api_verify(&id, &wrong).await).await;
    assert_locked(app.api_verify(&id, &code).await).await;
    assert_locked(app.api_verify(&id, &wrong).await).await;

    // The store's own cap holds when closing the challenge failed after its
    // last attempt (Redis refuses DEL for that one request, as a store that
    // fails between two commands would): the right code is answered 429.
    let (id, code, wrong) = one_attempt_left(&app, "cap-store@example.com").await;
    redis_acl(&app, "-del");
    let response = app.api_verify(&id, &wrong).await;
    redis_acl(&app, "+del");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.challenge_number(&id, otp_sidecar::challenge::redis_layout::ATTEMPTS),
        i64::from(max)
    );
    assert_locked(app.api_verify(&id, &code).await).await;
    // That submission closed it, locked: so is the next one answered.
    assert_locked(app.api_verify(&id, &code).await).await;
    // Twice max wrong codes and the one right code that found the store's
    // cap: the submissions to a closed challenge cost nothing, the user's
    // budget was never the reason, and no verification succeeded.
    assert_eq!(
        app.user_charged("user-1", otp_sidecar::challenge::UserCharge::Failure),
        2 * i64::from(max) + 1
    );
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        !metrics.contains("verifications_total{result=\"success\"}"),
        "{metrics}"
    );

    // A used challenge is no locked one: the right code again gets 410.
    let (used, used_code) = app.start_api_challenge("cap-used@example.com").await;
    assert_eq!(
        app.api_verify(&used, &used_code).await.status(),
        StatusCode::OK
    );
    let response = app.api_verify(&used, &used_code).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "expired", "{body}");
    assert!(body.get("assertion").is_none(), "{body}");
}
