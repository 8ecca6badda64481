//! What must never reach a log: the code (and the request JWT).
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{field, logs, spawn_app};

/// `needle` occurs in `haystack` as a whole number (no digit right before or after).
fn contains_number(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[tokio::test]
async fn the_code_and_the_request_never_reach_the_log() {
    let app = spawn_app().await;
    let email = "secret@example.com";
    // A long code, so it cannot collide with timestamps in the log.
    let mut claims = app.realm.claims(email, app.now());
    claims["otp"] = json!({ "length": 10 });
    let request = app.realm.sign(&claims);
    let response = app.authorize(&request, None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = crate::support::challenge_cookie(&response).unwrap();
    let code = app.smtp.wait_for(email, 1).await.code(10);

    let csrf = app.csrf_token(&cookie).await;
    let wrong = if code.starts_with('0') {
        "1111111111"
    } else {
        "0000000000"
    };
    app.post_form(
        "/challenge/verify",
        Some(&cookie),
        &[("csrf_token", &csrf), ("code", wrong)],
    )
    .await;
    let response = app.submit_code(&cookie, &csrf, &code).await;
    let assertion = field(&response.text().await.unwrap(), "assertion").unwrap();

    let log = logs::captured();
    // The capture works: this flow's events are there, with the masked address.
    assert!(
        log.contains("s***@example.com"),
        "log capture is not working"
    );
    assert!(log.contains("challenge created"));
    assert!(!log.contains(email), "the address is masked");
    assert!(!contains_number(&log, &code), "the code reached the log");
    assert!(
        !contains_number(&log, wrong),
        "a submitted code reached the log"
    );
    assert!(!log.contains(&request), "the request JWT reached the log");
    assert!(!log.contains(&assertion), "the assertion reached the log");
    assert!(!log.contains(&csrf), "the CSRF token reached the log");
    assert!(!log.contains(&cookie), "the challenge id reached the log");
}
