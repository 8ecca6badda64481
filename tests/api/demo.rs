//! The embedded default: in-memory store, outbox, ephemeral keys and the demo
//! realm, clicked through like a newcomer would.
use std::net::TcpListener;
use std::sync::Arc;

use otp_sidecar::clock::SystemClock;
use otp_sidecar::config::Settings;
use otp_sidecar::Application;
use reqwest::StatusCode;

use crate::support::{challenge_cookie, field, form_action, input_names, logs};

#[tokio::test]
async fn the_demo_realm_completes_the_whole_flow() {
    logs::install();
    // `--demo-bind 127.0.0.1:0`: the service binds a free port itself, and
    // its public URL (the demo realm's issuer and JWKS URL) follows it.
    let settings = Settings::embedded_at("127.0.0.1:0".parse().unwrap());
    assert!(settings.embedded);
    let app = Application::build(settings).await.unwrap();
    let address = format!("http://{}", app.local_addr());
    assert_eq!(app.public_url().as_str(), format!("{address}/"));
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |p: &str| format!("{address}{p}");

    let page = client.get(url("/demo")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert_eq!(form_action(&html, "").unwrap(), "/demo/start");

    // The demo "realm" signs a request and auto-POSTs it to /authorize; like
    // Keycloak it passes the user's language: here the browser's.
    let html = client
        .post(url("/demo/start"))
        .header("accept-language", "de-DE,de;q=0.9,en;q=0.5")
        .form(&[("email", "newcomer@example.com"), ("name", "New Comer")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(form_action(&html, "").unwrap(), "/authorize");
    let request = field(&html, "request").unwrap();

    let response = client
        .post(url("/authorize"))
        .form(&[("request", request.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let cookie = format!("otp_challenge={}", challenge_cookie(&response).unwrap());

    // The mail is in the outbox: its HTML part in a frame that may run
    // nothing, its text part beside it.
    let response = client.get(url("/dev/outbox")).send().await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let outbox = response.text().await.unwrap();
    assert!(
        outbox.contains("<iframe class=\"mail-frame\" sandbox=\"\"")
            && outbox.contains(" srcdoc=\"&lt;!DOCTYPE html&gt;"),
        "{outbox}"
    );
    assert!(outbox.contains("<pre class=\"mail-text\">"), "{outbox}");
    // Sent in the demo realm's name, for the demo client by its name.
    assert!(
        outbox.contains("Demo &lt;no-reply@localhost&gt;"),
        "{outbox}"
    );
    assert!(outbox.contains("Ihr Anmeldecode für Demo App"), "{outbox}");
    assert!(outbox.contains("newcomer@example.com"), "{outbox}");
    assert!(
        outbox.contains("Ihr Anmeldecode"),
        "the mail is in German: {outbox}"
    );
    let code = outbox
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("code line in the outbox")
        .to_string();

    let html = client
        .get(url("/challenge"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field(&html, "csrf_token").unwrap();
    assert!(
        html.contains("<span class=\"brand-name\">Demo</span>"),
        "{html}"
    );
    assert!(html.contains("Demo App"), "{html}");
    let verified = client
        .post(url("/challenge/verify"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    let html = crate::support::follow_hand_back(&client, verified)
        .await
        .text()
        .await
        .unwrap();
    // The page that hands back speaks for the same realm.
    assert!(
        html.contains("<span class=\"brand-name\">Demo</span>"),
        "{html}"
    );
    let target = form_action(&html, "").unwrap();
    assert_eq!(
        target,
        format!("{address}/demo/realms/demo/login-actions/authenticate")
    );
    assert_eq!(input_names(&html), ["assertion"]);
    let assertion = field(&html, "assertion").unwrap();

    // The demo's return_uri verifies the assertion with our JWKS.
    let html = client
        .post(&target)
        .form(&[("assertion", assertion.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Assertion received: <span class=\"result-success\">success</span>"),
        "{html}"
    );
    assert!(html.contains("&quot;otp_channel&quot;") || html.contains("otp_channel"));

    // A forged assertion is refused by the demo too.
    let html = client
        .post(&target)
        .form(&[("assertion", "eyJhbGciOiJub25lIn0.e30.")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Assertion refused"), "{html}");
    handle.stop(false).await;
}

#[tokio::test]
async fn the_embedded_default_refuses_a_non_loopback_address() {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let settings = Settings::embedded();
    let result = Application::build_on(settings, listener, Arc::new(SystemClock)).await;
    let error = result.err().expect("refused").to_string();
    assert!(error.contains("loopback"), "{error}");
}

#[tokio::test]
async fn dev_routes_do_not_exist_outside_the_embedded_default() {
    let app = crate::support::spawn_app().await;
    for path in ["/dev/outbox", "/demo"] {
        assert_eq!(
            app.get(path, None).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}
