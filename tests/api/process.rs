//! The real binary: JSON logs on stdout, ready quickly, graceful exit on SIGTERM.
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::binary::Sidecar;

#[tokio::test]
async fn the_binary_starts_logs_json_and_stops_on_sigterm() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\n\
             [[realms]]\nissuer = \"http://127.0.0.1:1/realms/x\"\n"
        ),
    )
    .unwrap();
    let mut sidecar = Sidecar::start(&config, port, Stdio::piped()).await;
    let child = &mut sidecar.child;
    let client = reqwest::Client::new();
    // Not the embedded default: no demo, no outbox page.
    let outbox = client
        .get(format!("http://127.0.0.1:{port}/dev/outbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(outbox.status(), reqwest::StatusCode::NOT_FOUND);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit within 15 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");

    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(stdout).lines().map(Result::unwrap).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(event["timestamp"].is_string() && event["level"].is_string());
    }
    assert!(lines.iter().any(|l| l.contains("\"listening\"")));
    assert!(lines.iter().any(|l| l.contains("\"stopped\"")));
}
