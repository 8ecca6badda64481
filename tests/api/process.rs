//! The real binary: JSON logs on stdout, its address announced, ready
//! quickly, graceful exit on SIGTERM.
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::binary::{Logs, Sidecar};

#[tokio::test]
async fn the_binary_starts_logs_json_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    // Port 0 and no public_url: the public URL follows the port bound.
    std::fs::write(
        &config,
        "[server]\nbind = \"127.0.0.1:0\"\n\n\
         [[realms]]\nissuer = \"http://127.0.0.1:1/realms/x\"\n",
    )
    .unwrap();
    let mut sidecar = Sidecar::start(&config, Logs::Keep).await;
    let base = sidecar.base_url();
    assert_eq!(sidecar.addr().ip().to_string(), "127.0.0.1");
    assert_ne!(sidecar.addr().port(), 0);
    let mut logs = sidecar.logs();
    let client = reqwest::Client::new();
    // Not the embedded default: no demo, no outbox page.
    let outbox = client
        .get(format!("{base}/dev/outbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(outbox.status(), reqwest::StatusCode::NOT_FOUND);

    let child = &mut sidecar.child;
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

    // Every line up to the end of its output (the channel closes with it).
    let mut lines = Vec::new();
    while let Some(line) = logs.recv().await {
        lines.push(line);
    }
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
        })
        .collect();
    for event in &events {
        assert!(event["timestamp"].is_string() && event["level"].is_string());
    }
    let listening: Vec<_> = events
        .iter()
        .filter(|e| e["message"] == "listening")
        .collect();
    assert_eq!(listening.len(), 1, "{lines:?}");
    assert_eq!(listening[0]["addr"], sidecar.addr().to_string());
    assert_eq!(listening[0]["port"], sidecar.addr().port());
    assert_eq!(listening[0]["public_url"], format!("{base}/"));
    assert_eq!(listening[0]["embedded"], false);
    assert_eq!(events.last().unwrap()["message"], "stopped", "{lines:?}");
}
