//! What one client may hold: a body that trickles in is cut at
//! `server.body_timeout_secs`, and connections beyond
//! `server.max_connections_per_client` from one address are refused.
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{spawn_app_with, TestApp};

/// A raw HTTP/1.1 response: status and head (lowercase), body.
struct Raw {
    status: u16,
    head: String,
    body: String,
}

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.address.trim_start_matches("http://").to_string();
    TcpStream::connect(addr).await.unwrap()
}

/// Reads one response (its body sized by Content-Length) within 10 s.
async fn read_response(stream: &mut TcpStream) -> Raw {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                while buf.len() < end + 4 + length {
                    let n = stream.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "connection closed inside a response");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let status = head[9..12].parse().unwrap();
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
                return Raw { status, head, body };
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before a response");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a response within 10 s")
}

async fn get(stream: &mut TcpStream, path: &str) -> Raw {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(stream).await
}

/// True once the server closed `stream` (EOF or reset), within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

fn metric(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_trickled_body_is_cut_at_the_deadline_and_its_connection_closed() {
    let app = spawn_app_with(|s| s.server.body_timeout_secs = 2).await;
    let mut stream = connect(&app).await;
    let head = "POST /authorize HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 20000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    // One byte every 100 ms, for as long as the server takes them.
    let trickle = tokio::spawn(async move {
        for _ in 0..20_000 {
            if writer.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => response.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    trickle.abort();
    assert!(closed.is_ok(), "the connection is still open after 8 s");
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "expected 408, got: {response}"
    );
    assert!(response.to_ascii_lowercase().contains("connection: close"));
    assert!(response.contains("request_timeout"), "{response}");
    // Cut at the 2 s deadline, closed within actix's 1 s linger, not at
    // the 5 s header or keep-alive timeouts.
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_millis(4500),
        "closed after {elapsed:?}"
    );

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(metric(&metrics, "request_body_timeouts_total"), 1);
    // A body that arrives in time is served as before.
    let (cookie, _) = app.start_browser_flow("prompt@example.com").await;
    assert!(!cookie.is_empty());
}

#[tokio::test]
async fn connections_over_the_per_client_cap_are_refused_while_the_others_work() {
    let app = spawn_app_with(|s| s.server.max_connections_per_client = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&app).await;
        // A full answer: the connection holds its slot.
        assert_eq!(get(&mut stream, "/healthz").await.status, 200);
        held.push(stream);
    }

    let mut extra = connect(&app).await;
    let refused = get(&mut extra, "/healthz").await;
    assert_eq!(refused.status, 429);
    assert!(
        refused.head.contains("connection: close"),
        "{}",
        refused.head
    );
    assert!(refused.body.contains("too_many_connections"));
    assert!(
        closed_within(&mut extra, Duration::from_secs(3)).await,
        "the refused connection is closed"
    );

    // The ones within the cap keep working, on the same connections.
    for stream in &mut held {
        assert_eq!(get(stream, "/healthz").await.status, 200);
    }

    // A closed connection gives its slot back.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut again = loop {
        let mut stream = connect(&app).await;
        let response = get(&mut stream, "/metrics").await;
        if response.status == 200 {
            assert!(metric(&response.body, "connections_refused_total") >= 1);
            break stream;
        }
        assert_eq!(response.status, 429);
        assert!(Instant::now() < deadline, "the slot never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(get(&mut again, "/healthz").await.status, 200);
}
