//! The audit trail: one `audit` event per step of a challenge's life, each
//! with the request's jti as `correlation_id` (what Keycloak's event carries
//! as `otp_correlation_id`), and only masked personal data.
use std::time::{Duration, Instant};

use otp_sidecar::config::SmtpUrl;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::faulty_smtp::{Fault, FaultySmtp, Stage};
use crate::support::{challenge_cookie, field, logs, spawn_app, spawn_app_with, TestApp};

/// The audit events logged so far for `correlation_id`, in order.
fn audit_events(correlation_id: &str) -> Vec<Value> {
    logs::captured()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|e| e["target"] == "audit" && e["correlation_id"] == correlation_id)
        .collect()
}

/// Polls (bounded) until `correlation_id` has exactly the events `expected`.
async fn expect_events(correlation_id: &str, expected: &[&str]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = audit_events(correlation_id);
        let names: Vec<&str> = events
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        if names == expected {
            return events;
        }
        assert!(
            Instant::now() < deadline && names.len() <= expected.len(),
            "audit events of {correlation_id}: {names:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every event names the challenge (masked), realm, client and user, and
/// carries no raw address, code or challenge id.
fn assert_common(app: &TestApp, events: &[Value], cookie: &str, email: &str, codes: &[&str]) {
    let masked = format!("{}***@example.com", &email[..1]);
    for e in events {
        assert_eq!(e["message"], "audit");
        assert_eq!(e["level"], "INFO");
        assert_eq!(e["challenge"], &cookie[..8], "{e}");
        assert_eq!(e["realm"], app.realm.issuer.as_str());
        assert_eq!(e["client"], "test-app");
        assert_eq!(e["subject"], "user-1");
        assert_eq!(e["email"], masked.as_str());
        let line = e.to_string();
        assert!(!line.contains(email), "raw address in {line}");
        assert!(!line.contains(cookie), "full challenge id in {line}");
        for code in codes {
            assert!(!line.contains(code), "a code in {line}");
        }
    }
}

/// A browser flow for `email`: the request's jti, the cookie and the code.
async fn start(app: &TestApp, email: &str) -> (String, String, String) {
    let claims = app.realm.claims(email, app.now());
    let jti = claims["jti"].as_str().unwrap().to_string();
    let response = app.authorize(&app.realm.sign(&claims), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = challenge_cookie(&response).unwrap();
    let code = app.smtp.wait_for(email, 1).await.code(6);
    (jti, cookie, code)
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

#[tokio::test]
async fn a_challenge_s_life_is_audited_step_by_step_under_one_correlation_id() {
    let app = spawn_app().await;
    let email = "audit-life@example.com";
    let (jti, cookie, first) = start(&app, email).await;
    let csrf = app.csrf_token(&cookie).await;

    let bad = app.submit_code(&cookie, &csrf, wrong(&first)).await;
    assert_eq!(bad.status(), StatusCode::SEE_OTHER);
    app.clock
        .advance(app.settings.otp.resend_cooldown_secs.default as i64);
    let resend = app
        .post_form("/challenge/resend", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(resend.status(), StatusCode::SEE_OTHER);
    let second = app.smtp.wait_for(email, 2).await.code(6);
    let done = app.submit_code(&cookie, &csrf, &second).await;
    let assertion = field(&done.text().await.unwrap(), "assertion").unwrap();
    let claims = app.verify_assertion(&assertion).await;
    assert_eq!(claims["result"], "success");
    // What Keycloak's authenticator puts into its event is this very id.
    assert_eq!(claims["req_jti"], jti.as_str());

    let events = expect_events(
        &jti,
        &[
            "created", "mailed", "failed", "resent", "mailed", "verified",
        ],
    )
    .await;
    assert_common(&app, &events, &cookie, email, &[&first, &second]);
    let max = app.settings.otp.max_attempts.default;
    assert_eq!(events[0]["attempts_left"], max);
    assert_eq!(events[0]["generation"], 0);
    assert_eq!(events[1]["generation"], 0);
    assert_eq!(events[2]["attempts_left"], max - 1);
    assert_eq!(events[3]["generation"], 1);
    assert_eq!(events[3]["attempts_left"], max - 1);
    assert_eq!(events[4]["generation"], 1);
}

#[tokio::test]
async fn locked_cancelled_and_expired_challenges_are_audited() {
    // No new code after expiry: a lapsed code ends the challenge (with
    // resends left the page would offer a new code instead).
    let app = spawn_app_with(|s| s.otp.max_resends.default = 0).await;

    let email = "locked-audit@example.com";
    let (jti, cookie, code) = start(&app, email).await;
    let csrf = app.csrf_token(&cookie).await;
    let max = app.settings.otp.max_attempts.default;
    for _ in 0..max {
        app.submit_code(&cookie, &csrf, wrong(&code)).await;
    }
    let mut expected = vec!["created", "mailed"];
    expected.extend(std::iter::repeat_n("failed", max as usize - 1));
    expected.push("locked");
    let events = expect_events(&jti, &expected).await;
    assert_common(&app, &events, &cookie, email, &[&code]);
    let locked = events.last().unwrap();
    assert_eq!(locked["attempts_left"], 0);
    assert_eq!(locked["reason"], "max_attempts");

    let email = "cancel-audit@example.com";
    let (jti, cookie, code) = start(&app, email).await;
    let csrf = app.csrf_token(&cookie).await;
    let cancelled = app
        .post_form("/challenge/cancel", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let events = expect_events(&jti, &["created", "mailed", "cancelled"]).await;
    assert_common(&app, &events, &cookie, email, &[&code]);

    let email = "expire-audit@example.com";
    let (jti, cookie, code) = start(&app, email).await;
    app.clock
        .advance(app.settings.otp.ttl_secs.default as i64 + 1);
    let page = app.get("/challenge", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let assertion = field(&html, "assertion").unwrap();
    assert_eq!(app.verify_assertion(&assertion).await["result"], "expired");
    let events = expect_events(&jti, &["created", "mailed", "expired"]).await;
    assert_common(&app, &events, &cookie, email, &[&code]);
}

/// A user's spent budget is audited as `locked`, with its reason and no
/// attempt left: a challenge refused before it is stored because the
/// user's challenges are spent (`user_budget_exhausted`) or their wrong
/// codes are (`user_locked`); the wrong code that spends them, which closes
/// its challenge, and a code on another challenge, then not evaluated (both
/// `user_locked`).
#[tokio::test]
async fn a_spent_user_budget_is_audited_with_its_reason() {
    let app = spawn_app_with(|s| {
        s.otp.user.max_challenges = 2;
        s.otp.user.max_failures = 1;
    })
    .await;
    // One user (the test realm's `user-1`) on two addresses: each mail is
    // told apart by its address.
    let email = "budget-audit@example.com";
    let other = "budget-audit-2@example.com";
    let (first, first_cookie, first_code) = start(&app, email).await;
    let (second, second_cookie, second_code) = start(&app, other).await;

    // Refused before it is stored: its only event.
    let refused = |reason: &'static str| {
        let app = &app;
        async move {
            let claims = app.realm.claims(email, app.now());
            let jti = claims["jti"].as_str().unwrap().to_string();
            app.authorize(&app.realm.sign(&claims), None).await;
            let events = expect_events(&jti, &["locked"]).await;
            assert_eq!(events[0]["attempts_left"], 0, "{}", events[0]);
            assert_eq!(events[0]["reason"], reason, "{}", events[0]);
        }
    };
    refused("user_budget_exhausted").await;

    for (jti, cookie, address, code) in [
        (&first, &first_cookie, email, wrong(&first_code)),
        (&second, &second_cookie, other, second_code.as_str()),
    ] {
        let csrf = app.csrf_token(cookie).await;
        app.submit_code(cookie, &csrf, code).await;
        let events = expect_events(jti, &["created", "mailed", "locked"]).await;
        assert_common(&app, &events, cookie, address, &[&first_code, &second_code]);
        assert_eq!(events[2]["attempts_left"], 0, "{}", events[2]);
        assert_eq!(events[2]["reason"], "user_locked", "{}", events[2]);
    }

    refused("user_locked").await;
}

#[tokio::test]
async fn a_re_rendered_step_is_audited_with_both_correlation_ids() {
    let app = spawn_app().await;
    let email = "rebind-audit@example.com";
    let claims = app.realm.claims(email, app.now());
    let first_jti = claims["jti"].as_str().unwrap().to_string();
    let response = app.authorize(&app.realm.sign(&claims), None).await;
    let cookie = challenge_cookie(&response).unwrap();
    let code = app.smtp.wait_for(email, 1).await.code(6);

    // Keycloak re-renders its step: a new request (new jti), same nonce.
    let mut newer = app.realm.claims(email, app.now());
    newer["nonce"] = claims["nonce"].clone();
    let newer_jti = newer["jti"].as_str().unwrap().to_string();
    let again = app.authorize(&app.realm.sign(&newer), Some(&cookie)).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let csrf = app.csrf_token(&cookie).await;
    let done = app.submit_code(&cookie, &csrf, &code).await;
    let assertion = field(&done.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(
        app.verify_assertion(&assertion).await["req_jti"],
        newer_jti.as_str()
    );

    let before = expect_events(&first_jti, &["created", "mailed"]).await;
    let after = expect_events(&newer_jti, &["rebound", "verified"]).await;
    assert_eq!(after[0]["previous_correlation_id"], first_jti.as_str());
    // The rebound challenge keeps its attempts: none spent yet.
    assert_eq!(
        after[0]["attempts_left"],
        app.settings.otp.max_attempts.default
    );
    assert_common(&app, &before, &cookie, email, &[&code]);
    assert_common(&app, &after, &cookie, email, &[&code]);
}

#[tokio::test]
async fn a_mail_that_fails_for_good_is_audited() {
    let smtp = FaultySmtp::start().await;
    smtp.set_always(Stage::RcptTo, Some(Fault::Reply(550)));
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = Some(SmtpUrl::parse(&url).unwrap());
        s.mail.timeout_secs = 1;
    })
    .await;
    let email = "bounce-audit@example.com";
    let claims = app.realm.claims(email, app.now());
    let jti = claims["jti"].as_str().unwrap().to_string();
    let response = app.authorize(&app.realm.sign(&claims), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = challenge_cookie(&response).unwrap();
    let events = expect_events(&jti, &["created", "mail_failed"]).await;
    assert_common(&app, &events, &cookie, email, &[]);
    assert_eq!(events[1]["generation"], 0);
}
