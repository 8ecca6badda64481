//! Keycloak re-rendering its step (a reload) sends a new request for the same
//! login: new `jti`, new `return_uri`, same nonce. The browser that already
//! has the challenge keeps it: no second mail, attempts kept, and the
//! assertion goes to the newest `return_uri`.
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::spawn_app;
use crate::support::{challenge_cookie, field, form_action, realm::random, TestApp};

/// Keycloak's next rendering of the same step: new jti and access code.
fn rerendered(first: &Value) -> Value {
    let mut next = first.clone();
    next["jti"] = Value::String(random());
    next["return_uri"] = Value::String(format!(
        "{}?session_code={}&execution=otp&tab_id=t1",
        first["return_uri"].as_str().unwrap(),
        random()
    ));
    next
}

/// Submits `code` through the code page's form; returns the assertion's
/// claims and the form's target when the flow ended, `None` when the code
/// page is shown again.
async fn submit(app: &TestApp, cookie: &str, code: &str) -> Option<(Value, String)> {
    let csrf = app.csrf_token(cookie).await;
    let response = app.submit_code(cookie, &csrf, code).await;
    let html = response.text().await.unwrap();
    let assertion = field(&html, "assertion")?;
    let target = form_action(&html, "").unwrap();
    Some((app.verify_assertion(&assertion).await, target))
}

/// Mails to `email`, counted once a later mail (the barrier's) has arrived.
async fn settle_and_count(app: &TestApp, email: &str) -> usize {
    app.mail_barrier().await;
    app.smtp.to(email).len()
}

#[tokio::test]
async fn a_rerendered_request_from_the_same_browser_keeps_the_challenge_and_sends_no_mail() {
    let app = spawn_app().await;
    let email = "reload@example.com";
    let first = app.realm.claims(email, app.now());
    let response = app.authorize(&app.realm.sign(&first), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = challenge_cookie(&response).unwrap();
    let code = app.smtp.wait_for(email, 1).await.code(6);
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // One wrong code before the reload.
    assert!(submit(&app, &cookie, wrong).await.is_none());

    // Keycloak re-renders its step: a new request, same nonce.
    let second = rerendered(&first);
    let response = app.authorize(&app.realm.sign(&second), Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/challenge");
    assert_eq!(challenge_cookie(&response).unwrap(), cookie);
    // And once more (a second reload).
    let third = rerendered(&first);
    let third_jwt = app.realm.sign(&third);
    let response = app.authorize(&third_jwt, Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(challenge_cookie(&response).unwrap(), cookie);
    // Back/refresh re-POST of that newest request resumes as well.
    let response = app.authorize(&third_jwt, Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(settle_and_count(&app, email).await, 1, "no second mail");

    // The attempt spent before the reload still counts: with max attempts
    // M, M - 2 more wrong codes leave one, and the next ends the flow.
    let max = app.settings.otp.max_attempts.default;
    for _ in 0..max - 2 {
        assert!(submit(&app, &cookie, wrong).await.is_none());
    }
    // The mailed code still works; the assertion answers the newest request.
    let (claims, target) = submit(&app, &cookie, &code).await.expect("assertion");
    assert_eq!(claims["result"], "success");
    assert_eq!(claims["nonce"], first["nonce"]);
    assert_eq!(claims["req_jti"], third["jti"]);
    assert_eq!(target, third["return_uri"].as_str().unwrap());
}

#[tokio::test]
async fn attempts_are_not_reset_by_a_rerender() {
    let app = spawn_app().await;
    let email = "reload-lock@example.com";
    let first = app.realm.claims(email, app.now());
    let response = app.authorize(&app.realm.sign(&first), None).await;
    let cookie = challenge_cookie(&response).unwrap();
    let code = app.smtp.wait_for(email, 1).await.code(6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = app.settings.otp.max_attempts.default;
    for _ in 1..max {
        assert!(submit(&app, &cookie, wrong).await.is_none());
    }
    let second = rerendered(&first);
    let response = app.authorize(&app.realm.sign(&second), Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(challenge_cookie(&response).unwrap(), cookie);
    // The last attempt is the last one: locked, reported to the newest request.
    let (claims, target) = submit(&app, &cookie, wrong).await.expect("locked");
    assert_eq!(claims["result"], "locked");
    assert_eq!(claims["req_jti"], second["jti"]);
    assert_eq!(target, second["return_uri"].as_str().unwrap());
    assert_eq!(settle_and_count(&app, email).await, 1);
}

#[tokio::test]
async fn another_nonce_or_another_browser_gets_a_new_challenge_and_mail() {
    let app = spawn_app().await;
    let email = "newlogin@example.com";
    let first = app.realm.claims(email, app.now());
    let response = app.authorize(&app.realm.sign(&first), None).await;
    let cookie = challenge_cookie(&response).unwrap();
    let first_code = app.smtp.wait_for(email, 1).await.code(6);

    // A new login (new nonce) in the same browser: new challenge, new mail.
    let mut other_login = rerendered(&first);
    other_login["nonce"] = Value::String(random());
    let response = app
        .authorize(&app.realm.sign(&other_login), Some(&cookie))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let new_cookie = challenge_cookie(&response).unwrap();
    assert_ne!(new_cookie, cookie);
    app.smtp.wait_for(email, 2).await;

    // Same nonce but no cookie: new challenge, new mail.
    let response = app
        .authorize(&app.realm.sign(&rerendered(&first)), None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let no_cookie = challenge_cookie(&response).unwrap();
    assert!(no_cookie != cookie && no_cookie != new_cookie);
    app.smtp.wait_for(email, 3).await;

    // Same nonce but the cookie of another challenge (the new login's): new
    // challenge, new mail; the other challenge is untouched.
    let response = app
        .authorize(&app.realm.sign(&rerendered(&first)), Some(&new_cookie))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let other_cookie = challenge_cookie(&response).unwrap();
    assert!(![&cookie, &new_cookie, &no_cookie].contains(&&other_cookie));
    // Same nonce, a well-formed cookie naming no challenge: new mail too.
    let response = app
        .authorize(
            &app.realm.sign(&rerendered(&first)),
            Some("AAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(settle_and_count(&app, email).await, 5);

    // The first challenge still answers its own request.
    let (claims, target) = submit(&app, &cookie, &first_code).await.expect("assertion");
    assert_eq!(claims["result"], "success");
    assert_eq!(claims["req_jti"], first["jti"]);
    assert_eq!(target, first["return_uri"].as_str().unwrap());
}

#[tokio::test]
async fn another_user_with_the_same_nonce_gets_a_new_challenge() {
    let app = spawn_app().await;
    let first = app.realm.claims("one@example.com", app.now());
    let response = app.authorize(&app.realm.sign(&first), None).await;
    let cookie = challenge_cookie(&response).unwrap();
    app.smtp.wait_for("one@example.com", 1).await;

    let mut other_user = rerendered(&first);
    other_user["sub"] = Value::String("user-2".into());
    other_user["email"] = Value::String("two@example.com".into());
    let response = app
        .authorize(&app.realm.sign(&other_user), Some(&cookie))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_ne!(challenge_cookie(&response).unwrap(), cookie);
    app.smtp.wait_for("two@example.com", 1).await;
}

#[tokio::test]
async fn the_same_user_with_a_changed_address_gets_a_new_challenge_and_mail() {
    let app = spawn_app().await;
    let first = app.realm.claims("old@example.com", app.now());
    let response = app.authorize(&app.realm.sign(&first), None).await;
    let cookie = challenge_cookie(&response).unwrap();
    app.smtp.wait_for("old@example.com", 1).await;

    // Same login (same sub and nonce), but Keycloak now knows another address:
    // the code must go there, not stay with the old one.
    let mut moved = rerendered(&first);
    moved["email"] = Value::String("new@example.com".into());
    let response = app.authorize(&app.realm.sign(&moved), Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_ne!(challenge_cookie(&response).unwrap(), cookie);
    app.smtp.wait_for("new@example.com", 1).await;
    assert_eq!(settle_and_count(&app, "old@example.com").await, 1);
}
