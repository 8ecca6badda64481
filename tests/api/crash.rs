//! A sidecar killed with SIGKILL mid-delivery loses no mail: the real binary
//! with real Redis, killed after it accepted a challenge and before the mail
//! server's 250; a restarted process delivers the same code when the
//! client polls the challenge.
use std::time::{Duration, Instant};

use otp_sidecar::challenge::{redis_layout, UserCharge, UserKey};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::binary::{Logs, Sidecar};
use crate::support::faulty_smtp::{Fault, FaultySmtp, Stage};
use crate::support::{RedisServer, TestRealm, SIDECAR_KEY};

async fn start(config: &std::path::Path) -> Sidecar {
    Sidecar::start(config, Logs::Drop).await
}

#[tokio::test]
async fn a_sidecar_killed_mid_delivery_loses_no_mail() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redis = RedisServer::start();
    let realm = TestRealm::start();
    let smtp = FaultySmtp::start().await;
    // The mail server sits on every message until the first process is dead.
    smtp.set_always(
        Stage::EndOfData,
        Some(Fault::StallThenReply(Duration::from_secs(60), 451)),
    );
    let dir = tempfile::tempdir().unwrap();
    let pepper = dir.path().join("pepper");
    std::fs::write(&pepper, crate::support::realm::random().repeat(2)).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n\n\
             [store]\nredis_url = \"{redis}\"\n\n\
             [mail]\nsmtp_url = \"{smtp}\"\nfrom = \"Acme Login <login@example.com>\"\ntimeout_secs = 1\n\n\
             [[realms]]\nissuer = \"{issuer}\"\njwks_uri = \"{jwks}\"\n\n\
             [signing]\nkey_file = \"{key}\"\n\n[secrets]\npepper_file = \"{pepper}\"\n",
            redis = redis.url(),
            smtp = smtp.url(),
            issuer = realm.issuer,
            jwks = realm.jwks_uri,
            key = SIDECAR_KEY,
            pepper = pepper.display(),
        ),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let api =
        |sidecar: &Sidecar, path: &str| format!("{}/api/v1/challenges{path}", sidecar.base_url());
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };

    let mut first = start(&config).await;
    let response = client
        .post(api(&first, ""))
        .json(&json!({ "request": realm.request("crash@example.com", now()) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["delivery"], "sending", "{body}");
    let id = body["challenge_id"].as_str().unwrap().to_string();
    // Killed while the mail server still sits on the message.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(smtp.delivered().is_empty());
    smtp.set_always(Stage::EndOfData, None);

    // The restarted process: the client polls, and the delivery is taken
    // over once the dead process's lease has run out. It listens on a port
    // of its own: what it takes over is in Redis.
    let second = start(&config).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status: Value = client
            .get(api(&second, &format!("/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["delivery"] != "sending" {
            break status;
        }
        assert!(Instant::now() < deadline, "never delivered: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status["delivery"], "sent", "{status}");
    let delivered = smtp.wait_delivered(1, Duration::from_secs(5)).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].to, ["crash@example.com"]);
    // The code in the mail works, and the user was charged one challenge.
    let response = client
        .post(api(&second, &format!("/{id}/verify")))
        .json(&json!({ "code": delivered[0].code(6) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let user = UserKey::new(&realm.issuer, "user-1");
    let charged: i64 = redis::cmd("HGET")
        .arg(redis_layout::user_key(&user))
        .arg(UserCharge::Challenge.field())
        .query(&mut conn)
        .unwrap();
    assert_eq!(charged, 1);
}
