//! A Redis stall while a request is being started: the jti claim is queued
//! and runs once Redis resumes, after the user already got a 503. The same
//! browser retrying the same request lands on its challenge; any other
//! browser replaying it is still refused.
use std::time::{Duration, Instant};

use otp_sidecar::challenge::{redis_layout, UserKey};
use reqwest::StatusCode;

use crate::support::{challenge_cookie, field, spawn_app, TestApp};

/// True once `sub`'s request `jti` is claimed in Redis.
fn jti_claimed(app: &TestApp, sub: &str, jti: &str) -> bool {
    let user = UserKey::new(&app.realm.issuer, sub);
    let client = ::redis::Client::open(app.redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    ::redis::cmd("HEXISTS")
        .arg(redis_layout::user_key(&user))
        .arg(redis_layout::jti_field(jti))
        .query::<i64>(&mut conn)
        .unwrap()
        == 1
}

async fn wait_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.get("/readyz", None).await.status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "readyz did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_retry_after_a_redis_stall_lands_on_its_challenge_and_replays_stay_refused() {
    let app = spawn_app().await;
    // A Redis that has run a while: the scripts are loaded (a stalled EVALSHA
    // of a script Redis does not know yet would only run into NOSCRIPT).
    app.start_browser_flow("earlier@example.com").await;
    let email = "stalled@example.com";
    let claims = app.realm.claims(email, app.now());
    let jti = claims["jti"].as_str().unwrap().to_string();
    let sub = claims["sub"].as_str().unwrap().to_string();
    let request = app.realm.sign(&claims);

    app.redis.pause();
    let started = Instant::now();
    let first = app.authorize(&request, None).await;
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "answered within the store's timeout"
    );
    let cookie = challenge_cookie(&first).expect("the 503 binds the browser");
    app.redis.resume();
    wait_ready(&app).await;
    // The queued claim ran after the 503: the situation of the issue.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !jti_claimed(&app, &sub, &jti) {
        assert!(Instant::now() < deadline, "the stalled claim never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.smtp.to(email).is_empty(), "no mail for the failed try");

    // Other browsers replaying the request: refused, nothing mailed.
    let replay = app.authorize(&request, None).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let replay = app
        .authorize(&request, Some("AAAAAAAAAAAAAAAAAAAAAA"))
        .await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);

    // The same browser retrying: its challenge, a code mailed, and it verifies.
    let retry = app.authorize(&request, Some(&cookie)).await;
    assert_eq!(retry.status(), StatusCode::SEE_OTHER);
    let bound = challenge_cookie(&retry).unwrap();
    let mail = app.smtp.wait_for(email, 1).await;
    let code = mail.code(6);
    let csrf = app.csrf_token(&bound).await;
    let done = app.submit_code(&bound, &csrf, &code).await;
    assert_eq!(done.status(), StatusCode::OK);
    let assertion = field(&done.text().await.unwrap(), "assertion").unwrap();
    let claims = app.verify_assertion(&assertion).await;
    assert_eq!(claims["result"], "success");
    assert_eq!(claims["req_jti"], jti.as_str());

    // Used: the same browser re-posting it once more makes no second challenge.
    let again = app.authorize(&request, Some(&cookie)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let again = app.authorize(&request, Some(&bound)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    app.mail_barrier().await;
    assert_eq!(app.smtp.to(email).len(), 1, "exactly one mail was sent");
}
