//! Mail failures: the user gets "could not send, try again" (502), the log
//! gets the SMTP reply.
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{assert_security_headers, logs, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_refusing_smtp_server_gives_a_502_page_and_logs_its_reply() {
    let app = spawn_app().await;
    app.smtp.refuse_mail(true);
    let response = app
        .authorize(&app.request("refused-mail@example.com"), None)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_security_headers(&response);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(logs::captured().contains("Test sink is refusing mail"));
    // "Try again": the page's button cancels the challenge, so Keycloak
    // gets `cancelled` and restarts the step.
    let cookie = crate::support::challenge_cookie(&response).expect("still bound");
    let html = response.text().await.unwrap();
    let csrf = crate::support::field(&html, "csrf_token").unwrap();
    assert_eq!(
        crate::support::form_action(&html, "").unwrap(),
        "/challenge/cancel"
    );
    let response = app
        .post_form("/challenge/cancel", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    let assertion = crate::support::field(&response.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(
        app.verify_assertion(&assertion).await["result"],
        "cancelled"
    );

    let response = app
        .api_create(&app.request("refused-mail@example.com"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "send_failed");

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("mails_total{outcome=\"failed\"} 2"),
        "{metrics}"
    );

    // Once the server accepts mail again, a new login works.
    app.smtp.refuse_mail(false);
    let (id, code) = app.start_api_challenge("refused-mail@example.com").await;
    assert_eq!(app.api_verify(&id, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stopped_smtp_server_gives_a_502_page() {
    // A port nobody listens on: the SMTP server is down.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let app = spawn_app_with(|s| {
        s.mail.smtp_url =
            Some(otp_sidecar::config::SmtpUrl::parse(&format!("smtp://127.0.0.1:{port}")).unwrap());
    })
    .await;
    let response = app.authorize(&app.request("down@example.com"), None).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(crate::support::challenge_cookie(&response).is_some());
}
