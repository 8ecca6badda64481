//! The code mail against a fault-injecting SMTP server. Each case checks
//! three things: what the user sees (page or JSON), what the server
//! accepted, and what the user was charged (the per-user challenge counter
//! and the per-address send-limit counter, read from Redis).
use std::time::Duration;

use otp_sidecar::challenge::{redis_layout, RateKey, UserCharge};
use otp_sidecar::config::SmtpUrl;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::faulty_smtp::{Fault, FaultySmtp, Outcome, Stage};
use crate::support::{challenge_cookie, logs, spawn_app_with, TestApp};

/// An app that mails through `smtp`, with a 1 s SMTP timeout and a retry
/// budget of `retry_for` seconds.
async fn app_with(smtp: &FaultySmtp, retry_for: u64) -> TestApp {
    let url = smtp.url();
    spawn_app_with(move |s| {
        s.mail.smtp_url = Some(SmtpUrl::parse(&url).unwrap());
        s.mail.timeout_secs = 1;
        s.mail.delivery.retry_for_secs = retry_for;
    })
    .await
}

/// Challenges charged to the test realm's user (`sub` user-1).
fn challenges_charged(app: &TestApp) -> i64 {
    app.user_charged("user-1", UserCharge::Challenge)
}

/// Mails counted against `email`'s send limit.
fn mails_counted(app: &TestApp, email: &str) -> i64 {
    let key = RateKey::recipient(email);
    app.redis_hash_number(&redis_layout::rate_key(&key), redis_layout::MAILS)
}

/// The API's view of challenge `id`, polled until its delivery is no
/// longer `sending` (bounded).
async fn settled(app: &TestApp, id: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body: Value = app
            .get(&format!("/api/v1/challenges/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        if body["delivery"] != "sending" {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still sending: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn metrics(app: &TestApp) -> String {
    app.get("/metrics", None).await.text().await.unwrap()
}

/// Starts a challenge over the API; its id and the JSON answer.
async fn create(app: &TestApp, email: &str) -> (StatusCode, Value) {
    let response = app.api_create(&app.request(email)).await;
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_reply_that_comes_after_the_timeout_is_never_taken_for_the_next_mail() {
    let smtp = FaultySmtp::start().await;
    // The server answers the first message only after 2.5 s (the client
    // gives up after 1 s), with a 250 that belongs to that first message.
    smtp.push_fault(
        Stage::EndOfData,
        Fault::StallThenReply(Duration::from_millis(2500), 250),
    );
    // The next message is refused for good.
    smtp.push_fault(Stage::RcptTo, Fault::Reply(550));
    let app = app_with(&smtp, 20).await;

    let (status, first) = create(&app, "first@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first_id = first["challenge_id"].as_str().unwrap().to_string();
    // The 550 lands on the first mail's retry (a new connection): refused.
    let first = settled(&app, &first_id).await;
    assert_eq!(first["delivery"], "failed", "{first}");
    // A second user's mail is answered by its own reply, not the stale 250.
    let (status, second) = create(&app, "second@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second = settled(&app, second["challenge_id"].as_str().unwrap()).await;
    assert_eq!(second["delivery"], "sent");
    // The stalled first message gets its late 250 out before counting.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !smtp
        .transactions()
        .iter()
        .any(|t| !t.stalls.is_empty() && t.outcome == Outcome::Replied(Stage::EndOfData, 250))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled reply never came: {:?}",
            smtp.transactions()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Delivered: only the second user's mail, each on a connection of its own.
    let delivered = smtp.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].to, ["second@example.com"]);
    let transactions = smtp.transactions();
    assert!(transactions.len() >= 3, "{transactions:?}");
    let connections: std::collections::HashSet<u64> =
        transactions.iter().map(|t| t.connection).collect();
    assert_eq!(connections.len(), transactions.len(), "{transactions:?}");
    // Charged: the failed mail was refunded, the delivered one counts.
    assert_eq!(mails_counted(&app, "first@example.com"), 0);
    assert_eq!(mails_counted(&app, "second@example.com"), 1);
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "mail_send_total{result=\"timeout\"}"),
        1.0,
        "{m}"
    );
    assert_eq!(metric(&m, "mail_send_total{result=\"permanent\"}"), 1.0);
    assert_eq!(metric(&m, "mail_send_total{result=\"sent\"}"), 1.0);
}

#[tokio::test]
async fn transient_failures_are_retried_until_the_mail_is_delivered() {
    for (stage, fault, connection_level) in [
        (Stage::Greeting, Fault::Reply(421), true),
        (Stage::Greeting, Fault::NeverGreet, true),
        (Stage::Ehlo, Fault::Reply(421), true),
        (Stage::MailFrom, Fault::Reply(421), false),
        (Stage::MailFrom, Fault::Reply(451), false),
        (Stage::RcptTo, Fault::Reply(451), false),
        (Stage::Data, Fault::Reply(451), false),
        (Stage::EndOfData, Fault::Reply(451), false),
        (Stage::EndOfData, Fault::Drop, false),
    ] {
        let smtp = FaultySmtp::start().await;
        if connection_level {
            smtp.push_connection_fault(stage, fault.clone());
        } else {
            smtp.push_fault(stage, fault.clone());
        }
        let app = app_with(&smtp, 20).await;
        let email = "retry@example.com";
        let response = app.authorize(&app.request(email), None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{fault:?}");
        let cookie = challenge_cookie(&response).unwrap();
        // The user sees the state on the code page, and then the mail.
        let delivered = smtp.wait_delivered(1, Duration::from_secs(15)).await;
        assert_eq!(delivered.len(), 1, "{fault:?}");
        let code = delivered[0].code(6);
        let page = app
            .get("/challenge", Some(&cookie))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("We sent a 6-digit code"), "{fault:?}: {page}");
        // Exactly one retry, and the code in the mail works.
        let m = metrics(&app).await;
        assert_eq!(metric(&m, "mail_retries_total"), 1.0, "{fault:?}: {m}");
        let csrf = crate::support::field(&page, "csrf_token").unwrap();
        let done = app.submit_code(&cookie, &csrf, &code).await;
        let assertion = crate::support::field(&done.text().await.unwrap(), "assertion").unwrap();
        assert_eq!(app.verify_assertion(&assertion).await["result"], "success");
        assert_eq!(challenges_charged(&app), 1, "{fault:?}");
        assert_eq!(mails_counted(&app, email), 1, "{fault:?}");
        assert!(logs::captured().contains("code mail delivery attempt"));
    }
}

#[tokio::test]
async fn a_slow_server_within_the_timeout_gets_one_attempt() {
    let smtp = FaultySmtp::start().await;
    smtp.push_fault(Stage::EndOfData, Fault::Stall(Duration::from_millis(400)));
    let app = app_with(&smtp, 20).await;
    let (status, body) = create(&app, "slow@example.com").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["delivery"], "sent", "{body}");
    assert_eq!(smtp.delivered().len(), 1);
    assert_eq!(smtp.transactions().len(), 1);
    assert_eq!(metric(&metrics(&app).await, "mail_retries_total"), 0.0);
}

#[tokio::test]
async fn a_refused_mail_is_not_retried_costs_nothing_and_the_next_code_is_free() {
    let smtp = FaultySmtp::start().await;
    smtp.set_always(Stage::RcptTo, Some(Fault::Reply(550)));
    let app = app_with(&smtp, 20).await;
    let email = "refused@example.com";
    let response = app.authorize(&app.request(email), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = challenge_cookie(&response).unwrap();
    let page = app
        .get("/challenge", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("We could not send the email with your code"),
        "{page}"
    );
    assert!(page.contains("data-delivery=\"failed\""));
    // Not retried; nothing delivered; nothing charged.
    assert_eq!(smtp.transactions().len(), 1);
    assert!(matches!(
        smtp.transactions()[0].outcome,
        Outcome::Replied(Stage::RcptTo, 550)
    ));
    assert!(smtp.delivered().is_empty());
    assert_eq!(challenges_charged(&app), 0);
    assert_eq!(mails_counted(&app, email), 0);
    assert!(logs::captured().contains("\"smtp_reply\":550"));

    // The server heals: a new code at once (no cooldown), not counted as a resend.
    smtp.set_always(Stage::RcptTo, None);
    let csrf = crate::support::field(&page, "csrf_token").unwrap();
    let response = app
        .post_form("/challenge/resend", Some(&cookie), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let delivered = smtp.wait_delivered(1, Duration::from_secs(10)).await;
    let page = app.get("/challenge?notice=resent", Some(&cookie)).await;
    let page = page.text().await.unwrap();
    assert!(page.contains("We sent a new code"), "{page}");
    let done = app.submit_code(&cookie, &csrf, &delivered[0].code(6)).await;
    let assertion = crate::support::field(&done.text().await.unwrap(), "assertion").unwrap();
    assert_eq!(app.verify_assertion(&assertion).await["result"], "success");
    assert_eq!(
        challenges_charged(&app),
        0,
        "the challenge was never issued"
    );
    assert_eq!(mails_counted(&app, email), 1);
}

#[tokio::test]
async fn a_permanent_refusal_at_any_stage_is_reported_at_once_and_refunded() {
    for (stage, code, connection_level) in [
        (Stage::Greeting, 554, true),
        (Stage::MailFrom, 550, false),
        (Stage::RcptTo, 550, false),
        (Stage::Data, 554, false),
        (Stage::EndOfData, 552, false),
    ] {
        let smtp = FaultySmtp::start().await;
        if connection_level {
            smtp.push_connection_fault(stage, Fault::Reply(code));
        } else {
            smtp.push_fault(stage, Fault::Reply(code));
        }
        let app = app_with(&smtp, 20).await;
        let email = "permanent@example.com";
        let (status, body) = create(&app, email).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{stage:?} {code}: {body}");
        assert_eq!(body["delivery"], "failed");
        assert!(smtp.delivered().is_empty());
        assert!(smtp.transactions().len() <= 1, "{stage:?}: not retried");
        assert_eq!(smtp.connections(), 1, "{stage:?}: not retried");
        assert_eq!(challenges_charged(&app), 0, "{stage:?}");
        assert_eq!(mails_counted(&app, email), 0, "{stage:?}");
        assert!(
            logs::captured().contains(&format!("\"smtp_reply\":{code}")),
            "{stage:?}: the server's reply is logged"
        );
        // The free new code goes out once the server takes mail.
        let id = body["challenge_id"].as_str().unwrap();
        let response = app.api_resend(id).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{stage:?}");
        let resent: Value = response.json().await.unwrap();
        assert_eq!(resent["delivery"], "sent", "{stage:?}: {resent}");
        let delivered = smtp.wait_delivered(1, Duration::from_secs(10)).await;
        assert_eq!(
            app.api_verify(id, &delivered[0].code(6)).await.status(),
            StatusCode::OK
        );
        assert_eq!(mails_counted(&app, email), 1, "{stage:?}");
    }
}

#[tokio::test]
async fn failed_mails_never_lock_the_user() {
    let smtp = FaultySmtp::start().await;
    smtp.set_always(Stage::EndOfData, Some(Fault::Reply(550)));
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = Some(SmtpUrl::parse(&url).unwrap());
        s.mail.timeout_secs = 1;
        s.otp.user.max_challenges = 3;
    })
    .await;
    let email = "unlucky@example.com";
    for _ in 0..10 {
        let (status, body) = create(&app, email).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        assert_eq!(body["error"], "send_failed");
        assert_eq!(body["delivery"], "failed");
    }
    assert!(smtp.delivered().is_empty());
    assert_eq!(challenges_charged(&app), 0);
    // Once the server is healthy, the user signs in as if nothing happened.
    smtp.set_always(Stage::EndOfData, None);
    let (status, body) = create(&app, email).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let code = smtp.wait_delivered(1, Duration::from_secs(10)).await[0].code(6);
    let id = body["challenge_id"].as_str().unwrap();
    assert_eq!(app.api_verify(id, &code).await.status(), StatusCode::OK);
    assert_eq!(challenges_charged(&app), 1);
}

#[tokio::test]
async fn a_server_that_stays_down_is_reported_once_the_retry_budget_is_spent() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let app = spawn_app_with(|s| {
        s.mail.smtp_url = Some(SmtpUrl::parse(&format!("smtp://127.0.0.1:{port}")).unwrap());
        s.mail.timeout_secs = 1;
        s.mail.delivery.retry_for_secs = 5;
    })
    .await;
    let response = app.authorize(&app.request("down@example.com"), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = challenge_cookie(&response).unwrap();
    let page = app
        .get("/challenge", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-delivery=\"sending\""), "{page}");
    assert!(
        page.contains("http-equiv=\"refresh\""),
        "no-script pages refresh"
    );
    let id = {
        let status: Value = app
            .get("/challenge/status", Some(&cookie))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(status["delivery"], "sending");
        cookie.clone()
    };
    let body = settled(&app, &id).await;
    assert_eq!(body["delivery"], "failed");
    // Refused at once each time, so the back-off alone sets the pace: tries
    // at 0 s, 1 s (then 2 s more still fits in 5 s) and 3 s (4 s more would
    // not): two retries, with 2 s to spare either way.
    let m = metrics(&app).await;
    assert_eq!(metric(&m, "mail_retries_total"), 2.0, "{m}");
    assert_eq!(challenges_charged(&app), 0);
}

#[tokio::test]
async fn one_address_is_not_flooded_through_many_users() {
    let smtp = FaultySmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = Some(SmtpUrl::parse(&url).unwrap());
        s.mail.delivery.per_address_max = 3;
        s.mail.delivery.global_max = 5;
    })
    .await;
    let victim = "Victim@Example.com";
    let mut limited = 0;
    for n in 0..20 {
        let email = if n % 2 == 0 {
            victim
        } else {
            "victim@example.COM"
        };
        let mut claims = app.realm.claims(email, app.now());
        claims["sub"] = Value::from(format!("user-{n}"));
        let response = app.api_create(&app.realm.sign(&claims)).await;
        let status = response.status();
        let retry_after = response.headers().get("retry-after").cloned();
        let body: Value = response.json().await.unwrap();
        match status {
            StatusCode::CREATED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(body["error"], "send_limited", "{body}");
                let secs = body["retry_after"].as_u64().unwrap();
                assert!(secs > 0 && secs <= 900, "{body}");
                assert_eq!(retry_after.unwrap().to_str().unwrap(), secs.to_string());
                limited += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(limited, 17);
    smtp.wait_delivered(3, Duration::from_secs(10)).await;
    assert_eq!(
        smtp.delivered().len(),
        3,
        "case and domain case are one address"
    );
    // Another address still gets mail, until the global limit.
    let (status, _) = create(&app, "someone@example.com").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = create(&app, "someone-else@example.com").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = create(&app, "third@example.com").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "mail_limited_total{limit=\"address\"}"),
        17.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "mail_limited_total{limit=\"global\"}"),
        1.0,
        "{m}"
    );
    // The browser gets a page that says so.
    let response = app
        .authorize(&app.request("fourth@example.com"), None)
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.text().await.unwrap().contains("Too many codes"));
}

#[tokio::test]
async fn addresses_the_mailer_cannot_take_are_refused_before_anything_is_stored() {
    let smtp = FaultySmtp::start().await;
    let app = app_with(&smtp, 20).await;
    for email in ["\"a@x.example,b\"@y.example", "root@[127.0.0.1]"] {
        let (status, body) = create(&app, email).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{email}: {body}");
        assert_eq!(body["error"], "invalid_request");
    }
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "request_rejections_total{reason=\"invalid_claim\"}"),
        2.0,
        "{m}"
    );
    assert_eq!(challenges_charged(&app), 0);
    assert!(smtp.transactions().is_empty());
}

/// Waits (at most 5 s) until the mail server has had `n` connections.
async fn wait_for_connections(smtp: &FaultySmtp, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while smtp.connections() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {n} connections to the mail server",
            smtp.connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads challenge `id` (still `sending`) over the API, as a polling client
/// does; the deliveries taken over so far.
async fn taken_over(app: &TestApp, id: &str) -> f64 {
    let status = app.get(&format!("/api/v1/challenges/{id}"), None).await;
    assert_eq!(status.status(), StatusCode::OK);
    let body: Value = status.json().await.unwrap();
    assert_eq!(body["delivery"], "sending", "{body}");
    metric(&metrics(app).await, "mails_total{outcome=\"taken_over\"}")
}

/// A delivery in progress holds its lease for one attempt's bound
/// (`timeout_secs` × 4) plus 2 s: to its last second nobody takes it over
/// (no second mail while the first process may still deliver), a second
/// later the next status read does. Read on the test clock while the first
/// attempt still sits at the mail server.
#[tokio::test]
async fn a_delivery_is_taken_over_only_after_its_lease() {
    let smtp = FaultySmtp::start().await;
    smtp.set_always(
        Stage::EndOfData,
        Some(Fault::StallThenReply(Duration::from_secs(60), 451)),
    );
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = Some(SmtpUrl::parse(&url).unwrap());
        s.mail.timeout_secs = 10;
        s.mail.delivery.retry_for_secs = 0;
    })
    .await;
    let (status, created) = create(&app, "lease@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["delivery"], "sending");
    let id = created["challenge_id"].as_str().unwrap().to_string();
    wait_for_connections(&smtp, 1).await;

    app.clock.advance(10 * 4 + 2);
    assert_eq!(
        taken_over(&app, &id).await,
        0.0,
        "taken over within the lease"
    );
    app.clock.advance(1);
    assert_eq!(
        taken_over(&app, &id).await,
        1.0,
        "not taken over after the lease"
    );
    wait_for_connections(&smtp, 2).await;
}
