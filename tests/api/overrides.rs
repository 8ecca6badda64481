//! The designers' promise, end to end: the service started with a
//! `[templates] dir` override mails and shows the overridden text, and a
//! broken override stops start-up with the file and line.
use std::net::TcpListener;
use std::sync::Arc;

use otp_sidecar::clock::ManualClock;
use otp_sidecar::Application;
use reqwest::StatusCode;

use crate::support::{challenge_cookie, spawn_app_with};

#[tokio::test]
async fn an_override_directory_changes_the_mail_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mail")).unwrap();
    std::fs::create_dir_all(dir.path().join("pages")).unwrap();
    std::fs::write(
        dir.path().join("mail/code.subject.hbs"),
        "Acme override: {{ctx.app.name}} code",
    )
    .unwrap();
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/pages/code.hbs"
    ))
    .unwrap()
    .replace(
        "<h1>{{t \"code-heading\"}}",
        "<h1>Overridden heading {{t \"code-heading\"}}",
    );
    assert!(page.contains("Overridden heading"));
    std::fs::write(dir.path().join("pages/code.hbs"), page).unwrap();

    let templates = dir.path().to_path_buf();
    let app = spawn_app_with(move |s| s.templates_dir = Some(templates)).await;
    let email = "override@example.com";
    let response = app.authorize(&app.request(email), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = challenge_cookie(&response).unwrap();
    let mail = app.smtp.wait_for(email, 1).await;
    assert_eq!(mail.subject(), "Acme override: test-app code");
    let html = app
        .get("/challenge", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<h1>Overridden heading Check your email"),
        "{html}"
    );
    // What is not overridden stays built in.
    assert!(html.contains("We sent a 6-digit code"), "{html}");
}

#[tokio::test]
async fn a_broken_override_stops_start_up_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mail")).unwrap();
    std::fs::write(
        dir.path().join("mail/code.txt.hbs"),
        "Hello,\n\nYour code: {{ctx.code}\n",
    )
    .unwrap();
    let mut settings = otp_sidecar::config::Settings::embedded();
    settings.templates_dir = Some(dir.path().to_path_buf());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    settings.server.bind = listener.local_addr().unwrap();
    let error = match Application::build_on(
        settings,
        listener,
        Arc::new(ManualClock::starting_now()),
    )
    .await
    {
        Ok(_) => panic!("a broken override must stop start-up"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("mail/code.txt.hbs:3"), "{error}");
}
