//! The browser flow: authorize -> code page -> verify/resend/cancel -> assertion.
use otp_sidecar::challenge::redis_layout::{ATTEMPTS, GENERATION, RESENDS};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    assert_security_headers, challenge_cookie, field, form_action, input_names, set_cookie,
    spawn_app, spawn_app_with, TestApp,
};

#[tokio::test]
async fn full_flow_ends_with_a_verifiable_success_assertion() {
    let app = spawn_app().await;
    let email = "jane@example.com";
    let request_claims = app.realm.claims(email, app.now());
    let request = app.realm.sign(&request_claims);

    // Keycloak's auto-POST lands on /authorize: 303 to the code page, with the cookie.
    let response = app.authorize(&request, None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/challenge");
    let cookie_header = set_cookie(&response).unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie_header.contains(attribute), "{cookie_header}");
    }
    let cookie = challenge_cookie(&response).unwrap();

    // One mail, multipart text + HTML, from the configured sender.
    let mail = app.smtp.wait_for(email, 1).await;
    assert!(mail.from.contains("login@example.com"), "{}", mail.from);
    let from = mail.header("From").unwrap();
    assert!(
        from.contains("Acme Login") && from.contains("<login@example.com>"),
        "{from}"
    );
    assert!(!mail.subject().is_empty());
    assert!(mail.raw.contains("multipart/alternative"));
    assert!(mail.raw.contains("text/plain") && mail.raw.contains("text/html"));
    let code = mail.code(6);

    // The code page, with its security headers and a CSRF token in every form.
    let page = app.get("/challenge", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = assert_security_headers(&page);
    assert!(csp.contains("form-action 'self';"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("j***@example.com"), "{html}");
    assert!(html.contains(r#"autocomplete="one-time-code""#));
    let csrf = field(&html, "csrf_token").unwrap();
    assert_eq!(form_action(&html, "verify").unwrap(), "/challenge/verify");

    // The right code: Post/Redirect/Get to /challenge/done, carrying the
    // sealed hand-off (only there, only from our pages) and the finished mark;
    // the challenge cookie is cleared.
    let posted = app
        .post_form_as_is(
            "/challenge/verify",
            Some(&cookie),
            &[("csrf_token", csrf.as_str()), ("code", code.as_str())],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert_eq!(posted.headers()["location"], "/challenge/done");
    assert!(set_cookie(&posted).is_some_and(|c| c.contains("Max-Age=0") || c.contains("expires")));
    let set_cookies: Vec<String> = posted
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let handoff = set_cookies
        .iter()
        .find(|c| c.starts_with("otp_handoff="))
        .unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/challenge/done",
        "Max-Age=60",
    ] {
        assert!(handoff.contains(attribute), "{handoff}");
    }
    let finished = set_cookies
        .iter()
        .find(|c| c.starts_with("otp_finished="))
        .unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(finished.contains(attribute), "{finished}");
    }
    assert!(!handoff.contains(&code) && !finished.contains(&code));

    // The GET shows the auto-POST page carrying only the assertion, to return_uri.
    let response = crate::support::follow_hand_back(&app.client, posted).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = assert_security_headers(&response);
    // Keycloak redirects on to the client after this POST; a form-action
    // here would make the browser block that redirect.
    assert!(!csp.contains("form-action"), "{csp}");
    let html = response.text().await.unwrap();
    assert_eq!(form_action(&html, "").unwrap(), app.realm.return_uri());
    assert_eq!(input_names(&html), ["assertion"]);
    assert!(!html.contains("authenticationExecution") && !html.contains("tryAnotherWay"));
    let assertion = field(&html, "assertion").unwrap();

    let claims = app.verify_assertion(&assertion).await;
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], app.realm.issuer.as_str());
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["nonce"], request_claims["nonce"]);
    assert_eq!(claims["req_jti"], request_claims["jti"]);
    assert_eq!(claims["result"], "success");
    assert_eq!(claims["amr"], serde_json::json!(["otp"]));
    assert_eq!(claims["otp_channel"], "email");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));

    // One use: the challenge is gone.
    let again = app.submit_code(&cookie, &csrf, &code).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn back_or_refresh_repost_shows_the_code_page_without_a_second_mail() {
    let app = spawn_app().await;
    let email = "back@example.com";
    let request = app.request(email);
    let first = app.authorize(&request, None).await;
    let cookie = challenge_cookie(&first).unwrap();
    app.smtp.wait_for(email, 1).await;

    // Same browser (cookie), same request: back to the code page, no mail.
    let again = app.authorize(&request, Some(&cookie)).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(challenge_cookie(&again).unwrap(), cookie);
    // GETs never send mail either.
    for _ in 0..3 {
        assert_eq!(
            app.get("/challenge", Some(&cookie)).await.status(),
            StatusCode::OK
        );
    }

    // Another browser (no or another cookie) replaying the request: refused.
    let replay = app.authorize(&request, None).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let replay = app
        .authorize(&request, Some("AAAAAAAAAAAAAAAAAAAAAA"))
        .await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);

    app.mail_barrier().await;
    assert_eq!(app.smtp.to(email).len(), 1, "exactly one mail was sent");
}

#[tokio::test]
async fn wrong_codes_count_down_then_lock_with_a_locked_assertion() {
    let app = spawn_app().await;
    let (cookie, code) = app.start_browser_flow("wrong@example.com").await;
    let csrf = app.csrf_token(&cookie).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = app.settings.otp.max_attempts.default;
    for _ in 1..max {
        let response = app.submit_code(&cookie, &csrf, wrong).await;
        // Post/Redirect/Get: a reload repeats the GET, not the wrong code.
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()["location"],
            "/challenge?notice=invalid_code"
        );
        let page = app
            .get("/challenge?notice=invalid_code", Some(&cookie))
            .await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(field(&html, "code").is_none_or(|v| v.is_empty()));
        assert!(
            form_action(&html, "verify").is_some(),
            "still the code page"
        );
    }
    // The last attempt ends the flow: Keycloak gets `locked`.
    let response = app.submit_code(&cookie, &csrf, wrong).await;
    let html = response.text().await.unwrap();
    let assertion = field(&html, "assertion").expect("locked assertion page");
    let claims = app.verify_assertion(&assertion).await;
    assert_eq!(claims["result"], "locked");
    assert!(claims.get("amr").is_none(), "no method proven: {claims}");
    // Even the right code no longer works.
    let response = app.submit_code(&cookie, &csrf, &code).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_malformed_code_costs_no_attempt() {
    let app = spawn_app().await;
    let (cookie, code) = app.start_browser_flow("typo@example.com").await;
    let csrf = app.csrf_token(&cookie).await;
    let max_attempts = app.settings.otp.max_attempts.default;
    // More typos than the cap allows attempts: none of them counts.
    let typos = ["12345", "abcdef", "1234567", "", "12 34 5", "١٢٣٤٥٦"];
    assert!(typos.len() > max_attempts as usize);
    for typo in typos {
        let response = app.submit_code(&cookie, &csrf, typo).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{typo}");
        assert_eq!(
            response.headers()["location"],
            "/challenge?notice=invalid_code"
        );
        assert_eq!(app.challenge_number(&cookie, ATTEMPTS), 0, "{typo}");
    }
    let html = app
        .get("/challenge?notice=invalid_code", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("You have {max_attempts} attempts left.")),
        "{html}"
    );
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let response = app.submit_code(&cookie, &csrf, &spaced).await;
    let assertion = field(&response.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(app.verify_assertion(&assertion).await["result"], "success");
}

#[tokio::test]
async fn csrf_mismatch_is_refused_and_spends_nothing() {
    let app = spawn_app().await;
    let (cookie, code) = app.start_browser_flow("csrf@example.com").await;
    // Another challenge's token is no better than a forged one.
    let (other, _) = app.start_browser_flow("csrf-other@example.com").await;
    let others = app.csrf_token(&other).await;
    for (path, fields) in [
        (
            "/challenge/verify",
            vec![("csrf_token", "forged"), ("code", code.as_str())],
        ),
        (
            "/challenge/verify",
            vec![("csrf_token", others.as_str()), ("code", code.as_str())],
        ),
        ("/challenge/verify", vec![("code", code.as_str())]),
        ("/challenge/resend", vec![("csrf_token", "forged")]),
        ("/challenge/cancel", vec![("csrf_token", "")]),
    ] {
        let response = app.post_form(path, Some(&cookie), &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{path} {fields:?}"
        );
        assert_security_headers(&response);
        assert!(field(&response.text().await.unwrap(), "assertion").is_none());
        // Nothing spent: no attempt, no resend, no new mail.
        assert_eq!(app.challenge_number(&cookie, ATTEMPTS), 0, "{path}");
        assert_eq!(app.challenge_number(&cookie, RESENDS), 0, "{path}");
        assert_eq!(app.challenge_number(&cookie, GENERATION), 0, "{path}");
    }
    // The challenge is intact: the right code with the right token still works.
    let csrf = app.csrf_token(&cookie).await;
    let response = app.submit_code(&cookie, &csrf, &code).await;
    let assertion = field(&response.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(app.verify_assertion(&assertion).await["result"], "success");
}

#[tokio::test]
async fn cancel_hands_back_a_cancelled_assertion() {
    let app = spawn_app().await;
    let (cookie, _) = app.start_browser_flow("cancel@example.com").await;
    let csrf = app.csrf_token(&cookie).await;
    let response = app
        .post_form("/challenge/cancel", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert_eq!(input_names(&html), ["assertion"]);
    let claims = app
        .verify_assertion(&field(&html, "assertion").unwrap())
        .await;
    assert_eq!(claims["result"], "cancelled");
    assert!(claims.get("amr").is_none(), "no method proven: {claims}");
}

#[tokio::test]
async fn resend_waits_for_the_cooldown_and_keeps_the_attempt_count() {
    let app = spawn_app().await;
    let email = "resend@example.com";
    let (cookie, first_code) = app.start_browser_flow(email).await;
    let csrf = app.csrf_token(&cookie).await;
    let wrong = if first_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let response = app.submit_code(&cookie, &csrf, wrong).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Within the cooldown: no mail.
    let response = app
        .post_form("/challenge/resend", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/challenge?notice=cooldown");
    assert_eq!(app.smtp.to(email).len(), 1);
    // Its countdown runs on the service's clock, not the machine's.
    let page = app
        .get("/challenge?notice=cooldown", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let now = otp_sidecar::clock::Clock::now(&*app.clock);
    assert!(page.contains(&format!("data-now=\"{now}\"")), "{page}");

    app.clock
        .advance(app.settings.otp.resend_cooldown_secs.default as i64);
    let response = app
        .post_form("/challenge/resend", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/challenge?notice=resent");
    let second_code = app.smtp.wait_for(email, 2).await.code(6);
    // The page after the redirect says so, and reloading it sends nothing.
    for _ in 0..2 {
        let page = app.get("/challenge?notice=resent", Some(&cookie)).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("We sent a new code"));
    }

    // The old code is dead (if it differs); the new one works.
    if second_code != first_code {
        let response = app.submit_code(&cookie, &csrf, &first_code).await;
        assert!(field(&response.text().await.unwrap(), "assertion").is_none());
    }
    let response = app.submit_code(&cookie, &csrf, &second_code).await;
    let assertion = field(&response.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(app.verify_assertion(&assertion).await["result"], "success");
}

#[tokio::test]
async fn an_expired_code_offers_a_new_one_and_ends_expired_when_none_is_left() {
    let app = spawn_app().await;
    let email = "late@example.com";
    let (cookie, code) = app.start_browser_flow(email).await;
    let csrf = app.csrf_token(&cookie).await;
    let ttl = app.settings.otp.ttl_secs.default as i64;

    // Before: the page tells the time left in words, and the script's
    // sentences for every minute down to "less than a minute".
    let html = app
        .get("/challenge", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let minutes = (ttl + 59) / 60;
    assert!(
        html.contains(&format!("The code expires in {minutes} minutes.")),
        "{html}"
    );
    assert!(
        html.contains(
            "<template data-expiry-minutes=\"1\">The code expires in 1 minute.</template>"
        ),
        "{html}"
    );
    assert!(html.contains("<template data-expiry-minutes=\"0\">The code expires in less than a minute.</template>"), "{html}");
    assert!(!html.contains(" UTC"), "no clock time on the page: {html}");

    // The right code after expiry does not end the sign-in: the page says the
    // code expired and offers a new one (no code field, no attempt spent).
    app.clock.advance(ttl + 1);
    let response = app.submit_code(&cookie, &csrf, &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get("/challenge", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Your code has expired"), "{html}");
    assert!(
        !html.contains("name=\"code\""),
        "no live code field: {html}"
    );
    assert!(field(&html, "assertion").is_none());
    assert_eq!(
        form_action(&html, "resend").as_deref(),
        Some("/challenge/resend"),
        "{html}"
    );

    // A new code: mailed at once (no cooldown), with a fresh lifetime.
    let response = app
        .post_form("/challenge/resend", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let new_code = app.smtp.wait_for(email, 2).await.code(6);
    let html = app
        .get("/challenge", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"code\""), "{html}");
    assert!(
        html.contains(&format!("The code expires in {minutes} minutes.")),
        "{html}"
    );
    let response = app.submit_code(&cookie, &csrf, &new_code).await;
    let assertion = field(&response.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(app.verify_assertion(&assertion).await["result"], "success");
}

#[tokio::test]
async fn an_expired_code_with_no_resend_left_returns_the_expired_assertion() {
    let app = spawn_app_with(|s| s.otp.max_resends.default = 0).await;
    let (cookie, code) = app.start_browser_flow("late@example.com").await;
    let csrf = app.csrf_token(&cookie).await;
    app.clock
        .advance(app.settings.otp.ttl_secs.default as i64 + 1);
    let response = app.submit_code(&cookie, &csrf, &code).await;
    let assertion = field(&response.text().await.unwrap(), "assertion").unwrap();
    let claims = app.verify_assertion(&assertion).await;
    assert_eq!(claims["result"], "expired");
    assert!(claims.get("amr").is_none(), "no method proven: {claims}");
}

#[tokio::test]
async fn no_or_unknown_cookie_gets_the_error_page() {
    let app = spawn_app().await;
    for cookie in [None, Some("not-an-id"), Some("AAAAAAAAAAAAAAAAAAAAAA")] {
        let response = app.get("/challenge", cookie).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{cookie:?}");
        assert_security_headers(&response);
        assert!(response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html")));
    }
}

#[tokio::test]
async fn a_public_url_with_a_path_serves_everything_under_it() {
    let app = crate::support::spawn_app_with(|s| {
        let mut url = s.server.public_url.clone();
        url.set_path("/otp");
        s.server.public_url = url;
    })
    .await;
    let response = app
        .post_form(
            "/otp/authorize",
            None,
            &[("request", &app.request("path@example.com"))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/otp/challenge");
    assert!(set_cookie(&response).unwrap().contains("Path=/otp"));
    let cookie = challenge_cookie(&response).unwrap();
    let html = app
        .get("/otp/challenge", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        form_action(&html, "verify").unwrap(),
        "/otp/challenge/verify"
    );
    assert!(html.contains("/otp/static/"), "assets under the prefix");
    assert_eq!(
        app.get("/otp/static/otp.js", None).await.status(),
        StatusCode::OK
    );
    let favicon = app.get("/otp/favicon.ico", None).await;
    assert_eq!(favicon.status(), StatusCode::NO_CONTENT);
    assert_security_headers(&favicon);
    // The code page's redirects stay under the prefix too.
    let csrf = field(&html, "csrf_token").unwrap();
    let response = app
        .post_form(
            "/otp/challenge/verify",
            Some(&cookie),
            &[("csrf_token", &csrf), ("code", "12345")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/otp/challenge?notice=invalid_code"
    );
    assert_eq!(
        app.get("/otp/.well-known/jwks.json", None).await.status(),
        StatusCode::OK
    );
    // Probes stay at the root.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/challenge", Some(&cookie)).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// The page text without Fluent's bidi isolation marks.
fn plain(html: &str) -> String {
    html.replace(['\u{2068}', '\u{2069}'], "")
}

#[tokio::test]
async fn a_wrong_code_redirects_so_a_reload_spends_no_attempt() {
    let app = spawn_app().await;
    let (cookie, code) = app.start_browser_flow("prg@example.com").await;
    let csrf = app.csrf_token(&cookie).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = app.settings.otp.max_attempts.default;
    let response = app.submit_code(&cookie, &csrf, wrong).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_security_headers(&response);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/challenge?notice=invalid_code");

    // The browser follows, and the user reloads many times: each is a GET
    // showing the attempts left as the store counts them, never spending one.
    let left = format!("You have {} attempts left.", max - 1);
    for _ in 0..(max + 2) {
        let page = app.get(&location, Some(&cookie)).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_security_headers(&page);
        let html = plain(&page.text().await.unwrap());
        assert!(html.contains("That code is not correct."), "{html}");
        assert!(html.contains(&left), "{html}");
    }

    // A notice that is not one of ours is not shown; neither is the text of it.
    for forged in [
        "/challenge?notice=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/challenge?notice=locked",
        "/challenge?notice=invalid_code%22%3E",
    ] {
        let page = app.get(forged, Some(&cookie)).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = plain(&page.text().await.unwrap());
        assert!(!html.contains("<script>alert"), "{forged}");
        assert!(!html.contains("That code is not correct."), "{forged}");
        assert!(html.contains("We sent a 6-digit code"), "{forged}: {html}");
    }

    // The right code still works after all those reloads.
    let response = app.submit_code(&cookie, &csrf, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let assertion = field(&response.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(app.verify_assertion(&assertion).await["result"], "success");
}

#[tokio::test]
async fn resend_outcomes_redirect_with_their_notice() {
    let app = spawn_app_with(|s| s.otp.max_resends.default = 1).await;
    let email = "prg-resend@example.com";
    let (cookie, _) = app.start_browser_flow(email).await;
    let csrf = app.csrf_token(&cookie).await;
    let form = [("csrf_token", csrf.as_str())];
    let resend = || app.post_form("/challenge/resend", Some(&cookie), &form);

    let response = resend().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/challenge?notice=cooldown");
    let page = plain(
        &app.get("/challenge?notice=cooldown", Some(&cookie))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains("before asking for a new code"), "{page}");

    app.clock
        .advance(app.settings.otp.resend_cooldown_secs.default as i64);
    let response = resend().await;
    assert_eq!(response.headers()["location"], "/challenge?notice=resent");
    app.smtp.wait_for(email, 2).await;

    app.clock
        .advance(app.settings.otp.resend_cooldown_secs.default as i64);
    let response = resend().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/challenge?notice=no_resends_left"
    );
    let page = app
        .get("/challenge?notice=no_resends_left", Some(&cookie))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    app.mail_barrier().await;
    assert_eq!(app.smtp.to(email).len(), 2);
}

#[tokio::test]
async fn the_favicon_is_an_empty_answer_with_the_security_headers() {
    let app = spawn_app().await;
    let response = app.get("/favicon.ico", None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_security_headers(&response);
    assert!(response.bytes().await.unwrap().is_empty());
    // Only GET.
    let response = app.post_form("/favicon.ico", None, &[]).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// A browser that navigates (its `Accept` names `text/html`) in `language`.
fn browser_get(app: &TestApp, path: &str, language: &str) -> reqwest::RequestBuilder {
    app.client
        .get(app.url(path))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .header("accept-language", language)
}

async fn html_page(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn browsers_get_error_pages_in_their_language_and_the_api_keeps_json() {
    let app = spawn_app().await;

    // A mistyped address (German), a form's address opened directly by a
    // reload or typing (Japanese), no sign-in in progress (Polish): pages
    // in the browser's language, each with its reason's own text.
    for (path, language, status, lang, text) in [
        (
            "/challeng",
            "de-CH,de;q=0.9,en;q=0.5",
            StatusCode::NOT_FOUND,
            "de",
            "Seite nicht gefunden",
        ),
        (
            "/challenge/verify",
            "ja",
            StatusCode::METHOD_NOT_ALLOWED,
            "ja",
            "ページが見つかりません",
        ),
        (
            "/challenge",
            "pl-PL",
            StatusCode::BAD_REQUEST,
            "pl",
            "Żadne logowanie nie jest w toku",
        ),
    ] {
        let response = browser_get(&app, path, language).send().await.unwrap();
        let (got, content_type, html) = html_page(response).await;
        assert_eq!(got, status, "{path}");
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        assert!(
            html.contains(&format!("<html lang=\"{lang}\"")),
            "{path}: {html}"
        );
        assert!(html.contains(text), "{path}: {html}");
    }

    // A language we do not ship: the default.
    let (_, _, html) = html_page(browser_get(&app, "/nowhere", "tlh").send().await.unwrap()).await;
    assert!(
        html.contains("<html lang=\"en\"") && html.contains("Page not found"),
        "{html}"
    );

    // The JSON API answers JSON even to a browser's Accept.
    for path in ["/api/v1/nowhere", "/api/v1/challenges"] {
        let response = browser_get(&app, path, "de").send().await.unwrap();
        let (status, content_type, body) = html_page(response).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
            "{path}: {status}"
        );
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        assert!(body["error"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn without_a_locale_claim_the_code_page_follows_the_browser() {
    let app = spawn_app().await;
    let mut claims = app.realm.claims("sv@example.com", app.now());
    claims.as_object_mut().unwrap().remove("locale");
    let request = app.realm.sign(&claims);
    let response = app
        .client
        .post(app.url("/authorize"))
        .header("accept-language", "sv-SE,sv;q=0.9")
        .form(&[("request", request.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = challenge_cookie(&response).unwrap();
    let (status, _, html) = html_page(
        browser_get(&app, "/challenge", "sv-SE,sv;q=0.9")
            .header("cookie", format!("otp_challenge={cookie}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"sv\""), "{html}");
    assert!(html.contains("Titta i din e-post"), "{html}");

    // Keycloak's locale wins over the browser's.
    let (cookie, _) = app.start_browser_flow("en@example.com").await;
    let (_, _, html) = html_page(
        browser_get(&app, "/challenge", "sv")
            .header("cookie", format!("otp_challenge={cookie}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(html.contains("<html lang=\"en\""), "{html}");
}

#[tokio::test]
async fn back_after_the_step_shows_the_finished_page_never_a_form() {
    let app = spawn_app().await;
    // Keycloak names the client's home (`client_url`): the finished page links to it.
    let email = "back-after@example.com";
    let mut claims = app.realm.claims(email, app.now());
    claims["client_url"] = "https://app.example.com/home?from=otp".into();
    let started = app.authorize(&app.realm.sign(&claims), None).await;
    let cookie = challenge_cookie(&started).unwrap();
    let code = app.smtp.wait_for(email, 1).await.code(6);
    let both = crate::support::finish_step(&app, &cookie, &code).await;
    let finished = both[1].clone();
    let get_done = |cookies: String| {
        app.client
            .get(app.url("/challenge/done"))
            .header("cookie", cookies)
            .send()
    };

    // The first GET hands the assertion over and drops the hand-off cookie.
    let first = get_done(both.join("; ")).await.unwrap();
    let dropped = crate::support::cookie_pairs(&first, &["otp_handoff"]);
    assert_eq!(dropped, ["otp_handoff="], "the hand-off is cleared");
    let html = first.text().await.unwrap();
    assert_eq!(input_names(&html), ["assertion"]);

    // Back (the browser no longer has the hand-off): the finished page, with
    // the application's name, no form, no code field, nothing to resubmit.
    for path in ["/challenge/done", "/challenge"] {
        let back = app
            .client
            .get(app.url(path))
            .header("cookie", finished.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(back.status(), StatusCode::OK, "{path}");
        let html = back.text().await.unwrap();
        assert!(html.contains("Your code was accepted"), "{path}: {html}");
        assert!(html.contains("test-app"), "{path}: {html}");
        assert!(
            html.contains("href=\"https://app.example.com/home?from&#x3D;otp\""),
            "{path}: a link back to the application: {html}"
        );
        assert!(!html.contains("<form"), "{path}: {html}");
        assert!(field(&html, "assertion").is_none(), "{path}");
    }

    // A finished mark that is not ours, or none: the error page.
    let forged = finished.replace("otp_finished=", "otp_finished=x");
    for cookies in [forged, String::new()] {
        let response = get_done(cookies.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{cookies}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("No sign-in in progress"));
    }

    // After a cancel, Back says the step ended (no success claimed).
    let (cookie, _) = app.start_browser_flow("back-cancel@example.com").await;
    let csrf = app.csrf_token(&cookie).await;
    let posted = app
        .post_form_as_is(
            "/challenge/cancel",
            Some(&cookie),
            &[("csrf_token", csrf.as_str())],
        )
        .await;
    let finished = crate::support::cookie_pairs(&posted, &["otp_finished"]).join("; ");
    let html = get_done(finished).await.unwrap().text().await.unwrap();
    assert!(html.contains("This sign-in step has ended"), "{html}");
    assert!(!html.contains("Your code was accepted"), "{html}");
    // No address in that request: no link, a plain word instead.
    assert!(!html.contains("<a class=\"button"), "{html}");
    assert!(html.contains("You can close this page."), "{html}");
}

/// The hand-off opens only while its assertion is valid, and the finished
/// page only as long as its mark lasts: after that the same cookies open
/// nothing (the finished page, then the error page).
#[tokio::test]
async fn the_hand_off_and_the_finished_page_end_with_their_time() {
    let app = spawn_app().await;
    let email = "late@example.com";
    let (cookie, code) = app.start_browser_flow(email).await;
    let both = crate::support::finish_step(&app, &cookie, &code).await;
    let get_done = || {
        app.client
            .get(app.url("/challenge/done"))
            .header("cookie", both.join("; "))
            .send()
    };

    // Past the assertion's lifetime: no assertion any more, only how it ended.
    app.clock
        .advance(otp_sidecar::login::ASSERTION_TTL_SECS + 1);
    let response = get_done().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(field(&html, "assertion").is_none(), "{html}");
    assert!(html.contains("Your code was accepted"), "{html}");

    // Past the finished mark's lifetime too: nothing in progress.
    app.clock
        .advance(otp_sidecar::login::handoff::FINISHED_SECS);
    let response = get_done().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("No sign-in in progress"), "{html}");
}
