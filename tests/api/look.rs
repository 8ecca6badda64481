//! Who the pages and the mail speak for: the realm's display name and the
//! client's name from the request, `[apps]`, and `[branding]` per realm.
use otp_sidecar::templates::brand::Rgb;
use otp_sidecar::templates::RealmBranding;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::smtp::ReceivedMail;
use crate::support::{challenge_cookie, spawn_app, spawn_app_with, TestApp};

/// Starts a browser sign-in with `extra` claims; returns the code page and the mail.
async fn sign_in(app: &TestApp, email: &str, extra: Value) -> (String, ReceivedMail) {
    let mut claims = app.realm.claims(email, app.now());
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let response = app.authorize(&app.realm.sign(&claims), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = challenge_cookie(&response).unwrap();
    let mail = app.smtp.wait_for(email, 1).await;
    let page = app.get("/challenge", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    (page.text().await.unwrap(), mail)
}

/// The mail's MIME parts as text (quoted-printable soft breaks and escapes undone).
fn body(mail: &ReceivedMail) -> String {
    let unfolded = mail.raw.replace("=\r\n", "");
    let bytes = unfolded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The text of the header band (`<span class="brand-name">`).
fn header_name(page: &str) -> &str {
    let start = page.find("class=\"brand-name\">").expect("brand-name") + 19;
    let end = start + page[start..].find('<').unwrap();
    &page[start..end]
}

#[tokio::test]
async fn the_realm_and_client_names_of_the_request_show_on_the_page_and_in_the_mail() {
    let app = spawn_app_with(|s| {
        s.apps.insert("test-app".into(), "Configured Name".into());
    })
    .await;
    let (page, mail) = sign_in(
        &app,
        "names@example.com",
        json!({"realm_display_name": "ACME Corp", "client_name": "Payroll & Pensions"}),
    )
    .await;
    assert_eq!(header_name(&page), "ACME Corp");
    assert!(
        page.contains("<title>Enter your code – ACME Corp</title>"),
        "{page}"
    );
    assert!(
        page.contains("to sign in to Payroll &amp; Pensions"),
        "{page}"
    );
    assert!(!page.contains("test-app") && !page.contains("Configured Name"));

    assert_eq!(mail.subject(), "Your sign-in code for Payroll & Pensions");
    let from = mail.header("From").unwrap();
    assert!(
        from.contains("ACME Corp")
            && from.contains("<login@example.com>")
            && !from.contains("Acme Login"),
        "From: {from}"
    );
    let body = body(&mail);
    // The text part signs with the realm's name; both parts name the client.
    assert!(body.contains("--\r\nACME Corp\r\n"), "{body}");
    assert!(
        body.contains("started signing in to Payroll & Pensions with"),
        "{body}"
    );
    assert!(
        body.contains("class=\"product\"") && body.contains(">ACME Corp</span>"),
        "{body}"
    );
    assert!(!body.contains("Sign-in</span>"), "{body}");
}

#[tokio::test]
async fn without_names_in_the_request_the_configuration_names_them() {
    let app = spawn_app_with(|s| {
        s.apps.insert("test-app".into(), "Test Portal".into());
        s.branding.product_name = "Acme ID".into();
    })
    .await;
    let (page, mail) = sign_in(&app, "plain@example.com", json!({})).await;
    assert_eq!(header_name(&page), "Acme ID");
    assert!(page.contains("to sign in to Test Portal"), "{page}");
    assert_eq!(mail.subject(), "Your sign-in code for Test Portal");
    // The sender keeps the configured name.
    assert!(mail.header("From").unwrap().contains("Acme Login"));
    assert!(body(&mail).contains("--\r\nAcme ID\r\n"));

    // Neither a client name nor [apps]: the client id.
    let app = spawn_app().await;
    let (page, _) = sign_in(&app, "bare@example.com", json!({})).await;
    assert!(page.contains("to sign in to test-app"), "{page}");
}

/// The test realm branded "Acme Staff", in green.
async fn spawn_branded_app() -> TestApp {
    spawn_app_with(|s| {
        let issuer = s.realms[0].issuer.as_str().to_string();
        s.realm_branding.insert(
            issuer,
            RealmBranding {
                product_name: Some("Acme Staff".into()),
                logo_url: None,
                primary_color: Some(Rgb(0x0b, 0x6e, 0x4f)),
            },
        );
    })
    .await
}

#[tokio::test]
async fn a_realms_branding_wins_over_the_request_and_the_global_branding() {
    let app = spawn_branded_app().await;
    let (page, mail) = sign_in(
        &app,
        "staff@example.com",
        json!({"realm_display_name": "ACME Corp"}),
    )
    .await;
    assert_eq!(header_name(&page), "Acme Staff");
    // The realm's colour comes in its own stylesheet, under the same CSP.
    assert!(page.contains("href=\"/static/brand-0b6e4f.css\""), "{page}");
    let css = app.get("/static/brand-0b6e4f.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.text().await.unwrap().contains("--brand: #0b6e4f;"));
    // Colours nobody configured are not served.
    let other = app.get("/static/brand-123456.css", None).await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    assert!(mail.header("From").unwrap().contains("Acme Staff"));
    let body = body(&mail);
    assert!(body.contains("#0b6e4f"), "the mail's accent: {body}");
    assert!(body.contains(">Acme Staff</span>"), "{body}");
}

#[tokio::test]
async fn overlong_or_control_character_names_are_refused() {
    let app = spawn_app().await;
    for (claim, value) in [
        ("realm_display_name", json!("A".repeat(201))),
        ("client_name", json!("Pay\u{7}roll")),
    ] {
        let mut claims = app.realm.claims("refused@example.com", app.now());
        claims[claim] = value;
        let response = app.api_create(&app.realm.sign(&claims)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{claim}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{claim}: {body}");
    }
    // 200 characters are fine.
    let mut claims = app.realm.claims("long@example.com", app.now());
    claims["client_name"] = json!("B".repeat(200));
    let response = app.api_create(&app.realm.sign(&claims)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("request_rejections_total{reason=\"invalid_claim\"} 2"),
        "{metrics}"
    );
}

/// The mail speaks the language Keycloak sent (`locale`), as the pages do;
/// a language we do not ship gets the default.
#[tokio::test]
async fn the_mail_speaks_the_language_of_the_request() {
    let app = spawn_app().await;
    let (_, mail) = sign_in(&app, "de@example.com", json!({ "locale": "de" })).await;
    let text = body(&mail);
    assert!(text.contains("<html lang=\"de\""), "{text}");
    assert!(text.contains("Ihr Anmeldecode"), "{text}");
    assert!(!text.contains("Your sign-in code"), "{text}");

    let (_, mail) = sign_in(&app, "tlh@example.com", json!({ "locale": "tlh" })).await;
    let text = body(&mail);
    assert!(text.contains("<html lang=\"en\""), "{text}");
    assert!(text.contains("Your sign-in code"), "{text}");
}

/// The pages after the step (the hand-off, and the finished page that Back
/// shows) keep the realm's branding: their sealed cookies name the realm.
#[tokio::test]
async fn the_pages_after_the_step_keep_the_realms_branding() {
    let app = spawn_branded_app().await;
    let (cookie, code) = app.start_browser_flow("after@example.com").await;
    let both = crate::support::finish_step(&app, &cookie, &code).await;
    let finished = both[1].clone();
    for (what, cookies) in [("hand-off", both.join("; ")), ("finished", finished)] {
        let page = app
            .client
            .get(app.url("/challenge/done"))
            .header("cookie", cookies)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{what}");
        let page = page.text().await.unwrap();
        assert_eq!(header_name(&page), "Acme Staff", "{what}: {page}");
    }
}
