//! What the benchmarks share: the fixture keys, a real `redis-server` on a
//! free loopback port, a realm JWKS endpoint served over real HTTP, request
//! claims as a realm signs them, and a reader for criterion's results.
#![allow(dead_code)]

pub mod smtp;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The realm issuer the benchmarks play.
pub const ISSUER: &str = "https://id.example.com/realms/acme";
/// The sidecar's audience.
pub const AUDIENCE: &str = "otp-sidecar";
/// A return target that passes the issuer check, as long as Keycloak 26's
/// (a 43-character session code, the execution id, a tab id and client data).
pub const RETURN_URI: &str = "https://id.example.com/realms/acme/login-actions/authenticate?session_code=q3Zy8Xb0kLmN2pQrS4tUvW6xYz1A3bC5dE7fG9hJ0kL&execution=4f0a9d2c-8b1e-4c7d-9e3f-2a6b5c8d1e0f&client_id=account-console&tab_id=Xy7Kp2Lm9Qw&client_data=eyJydSI6Imh0dHBzOi8vYXBwLmV4YW1wbGUuY29tL2NhbGxiYWNrIiwicnQiOiJjb2RlIiwicm0iOiJxdWVyeSIsInN0IjoiYWJjMTIzIn0";

/// A key file under `tests/fixtures/keys` (public test keys, see its README).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A free loopback port, for `redis-server` (which cannot bind port 0 and
/// say which port it got; [`RedisServer::start`] retries when one was taken).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// Copies a child's stdout (its JSON log lines) to `log`; the address of
/// its `listening` line goes to `announced`, which is dropped unsent when
/// the output ends without one (the child exited). A build from before the
/// line had `addr` is read by its `port` (on 127.0.0.1).
pub fn log_announced(
    stdout: impl std::io::Read,
    mut log: impl std::io::Write,
    announced: tokio::sync::oneshot::Sender<SocketAddr>,
) {
    use std::io::BufRead as _;
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let _ = log.write_all(line.as_bytes());
        let addr = otp_sidecar::telemetry::listening_addr(line.trim_end()).or_else(|| {
            let event: Value = serde_json::from_str(&line).ok()?;
            let port = event["port"]
                .as_u64()
                .filter(|_| event["message"] == "listening")?;
            Some(SocketAddr::from((
                [127, 0, 0, 1],
                u16::try_from(port).ok()?,
            )))
        });
        if let Some(addr) = addr {
            let _ = announced.send(addr);
            break;
        }
    }
    // The rest in bulk: the copy costs the measured machine next to nothing.
    let _ = std::io::copy(&mut reader, &mut log);
}

/// The claims of a request JWT as the realm's authenticator builds them,
/// valid from `now - 10` for 290 s, with the optional display claims a
/// realm with a display name and a named client sends.
pub fn request_claims(jti: &str, email: &str, now: i64) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": format!("user-{jti}"),
        "email": email,
        "name": "Jane Doe",
        "locale": "en",
        "azp": "account-console",
        "realm_display_name": "Acme",
        "client_name": "Account Console",
        "client_url": "https://id.example.com/realms/acme/account/",
        "nonce": format!("nonce-{jti}"),
        "return_uri": RETURN_URI,
        "iat": now - 10,
        "exp": now + 290,
        "jti": jti,
    })
}

/// A real `redis-server` on a free loopback port, no persistence, in its own
/// scratch directory; killed and cleaned up on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one and waits until it answers on its port as itself (at most
    /// 10 s); a port taken before redis-server could bind it is given up for
    /// another (redis-server cannot bind port 0 and say which it got).
    /// `Err` when `redis-server` is not installed or does not come up.
    pub fn start() -> Result<RedisServer, String> {
        let mut last = String::new();
        // A free port can be taken before redis binds it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "otp-sidecar-bench-redis-{}-{port}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string()])
                .args(["--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(["--appendonly", "no"])
                .args(["--daemonize", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    format!("cannot start redis-server ({e}); install it (scripts/bench.sh does)")
                })?;
            let mut server = RedisServer { child, port, dir };
            match server.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(format!("redis-server did not come up: {last}"))
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            // Ours, not a server that took the port before ours could bind it.
            if answering_pid(self.port) == Some(self.child.id()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no PONG on port {} within {limit:?}", self.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// The pid the redis-server on `port` reports (`INFO server`), if one
/// answers (short timeouts: it is polled while the server starts).
fn answering_pid(port: u16) -> Option<u32> {
    resp_request(
        port,
        "INFO server",
        Duration::from_millis(200),
        Duration::from_millis(500),
    )
    .ok()?
    .lines()
    .find_map(|l| l.strip_prefix("process_id:"))
    .and_then(|p| p.trim().parse().ok())
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis command over RESP on loopback: an integer or a bulk string reply.
pub fn redis_command(port: u16, command: &str) -> Result<String, String> {
    resp_request(
        port,
        command,
        Duration::from_secs(2),
        Duration::from_secs(5),
    )
}

/// [`redis_command`] with its connect and read timeouts given.
fn resp_request(
    port: u16,
    command: &str,
    connect: Duration,
    read: Duration,
) -> Result<String, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s =
        TcpStream::connect_timeout(&addr, connect).map_err(|e| format!("redis {port}: {e}"))?;
    let _ = s.set_read_timeout(Some(read));
    s.write_all(format!("{command}\r\n").as_bytes())
        .map_err(|e| format!("redis {port}: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s
            .read(&mut chunk)
            .map_err(|e| format!("redis {port}: {e}"))?;
        if n == 0 {
            return Err(format!("redis {port}: connection closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[1..eol]).to_string();
        match buf[0] {
            b':' | b'+' => return Ok(head),
            b'$' => {
                let len: usize = head
                    .parse()
                    .map_err(|_| format!("redis: bad reply {head}"))?;
                if buf.len() >= eol + 2 + len {
                    return Ok(String::from_utf8_lossy(&buf[eol + 2..eol + 2 + len]).to_string());
                }
            }
            _ => return Err(format!("redis: {head}")),
        }
    }
}

/// Redis `DBSIZE` and `used_memory`.
pub fn redis_figures(port: u16) -> (u64, u64) {
    let keys = redis_command(port, "DBSIZE")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(0);
    let used = redis_command(port, "INFO memory")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("used_memory:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0);
    (keys, used)
}

/// A command sent as a RESP array (any bytes in its arguments); the reply's
/// scalars in order, nested arrays flattened (`SCAN` gives the cursor, then
/// the keys). An error reply is an `Err`.
pub fn redis_array(port: u16, args: &[&str]) -> Result<Vec<String>, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("redis {port}: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    s.write_all(&out)
        .map_err(|e| format!("redis {port}: {e}"))?;
    let mut reader = std::io::BufReader::new(s);
    let mut values = Vec::new();
    let mut pending = 1usize;
    while pending > 0 {
        pending -= 1;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line)
            .map_err(|e| format!("redis {port}: {e}"))?;
        let line = line.trim_end_matches(['\r', '\n']);
        let (kind, rest) = line.split_at(line.len().min(1));
        match kind {
            "+" | ":" => values.push(rest.to_string()),
            "-" => return Err(format!("redis: {rest}")),
            "*" => pending += rest.parse::<usize>().unwrap_or(0),
            "$" => {
                let Ok(len) = rest.parse::<usize>() else {
                    values.push(String::new()); // nil
                    continue;
                };
                let mut buf = vec![0u8; len + 2];
                reader
                    .read_exact(&mut buf)
                    .map_err(|e| format!("redis {port}: {e}"))?;
                buf.truncate(len);
                values.push(String::from_utf8_lossy(&buf).into_owned());
            }
            _ => return Err(format!("redis {port}: unreadable reply {line:?}")),
        }
    }
    Ok(values)
}

/// One JWKS document with the public keys of all `signers`, in order (a
/// realm that publishes an RS256 and an ES256 key).
pub fn jwks_of(signers: &[&otp_sidecar::tokens::AssertionSigner]) -> Value {
    let keys: Vec<Value> = signers
        .iter()
        .flat_map(|s| s.jwks()["keys"].as_array().cloned().unwrap_or_default())
        .collect();
    json!({ "keys": keys })
}

/// A realm's JWKS endpoint on 127.0.0.1:0, answering every GET with the same
/// document (HTTP/1.1, one request per connection). Runs on the current
/// tokio runtime; stops when dropped.
pub struct JwksServer {
    pub url: url::Url,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    pub async fn start(jwks: &Value) -> JwksServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind the JWKS server: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("JWKS server address: {e}"));
        let body: Arc<str> = jwks.to_string().into();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(response.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        let url = url::Url::parse(&format!(
            "http://{addr}/realms/acme/protocol/openid-connect/certs"
        ))
        .unwrap_or_else(|e| panic!("JWKS URL: {e}"));
        JwksServer { url, task }
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where criterion writes its results: `$CRITERION_HOME`, else
/// `<target>/criterion` next to the running benchmark executable
/// (`<target>/<profile>/deps/<bench>`). Sets `CRITERION_HOME` so criterion
/// writes exactly there; call first thing in `main`, before any thread starts.
pub fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let home = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.parent()?.to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("criterion");
    // Single-threaded at this point: nothing else reads the environment.
    std::env::set_var("CRITERION_HOME", &home);
    home
}

/// One criterion result: the typical time per iteration (criterion's slope
/// estimate, else its mean) and the elements per iteration, if declared.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub nanos: f64,
    pub elements: Option<u64>,
}

impl Measured {
    /// Elements (or iterations) per second.
    pub fn per_second(&self) -> f64 {
        let n = self.elements.unwrap_or(1) as f64;
        if self.nanos > 0.0 {
            n * 1e9 / self.nanos
        } else {
            f64::NAN
        }
    }
}

/// Every result criterion wrote under `home` at or after `since`, by full id
/// (`group/function`). Results of benchmarks a filter skipped are older and
/// left out.
pub fn criterion_results(home: &Path, since: SystemTime) -> BTreeMap<String, Measured> {
    let mut out = BTreeMap::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.file_name().and_then(|n| n.to_str()) != Some("estimates.json")
                || path.parent().and_then(|p| p.file_name()) != Some("new".as_ref())
            {
                continue;
            }
            let fresh = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since);
            if !fresh {
                continue;
            }
            let Some(new_dir) = path.parent() else {
                continue;
            };
            let read = |name: &str| -> Option<Value> {
                serde_json::from_slice(&std::fs::read(new_dir.join(name)).ok()?).ok()
            };
            let (Some(estimates), Some(benchmark)) =
                (read("estimates.json"), read("benchmark.json"))
            else {
                continue;
            };
            let typical = estimates
                .get("slope")
                .filter(|s| !s.is_null())
                .or_else(|| estimates.get("mean"))
                .and_then(|e| e.get("point_estimate"))
                .and_then(Value::as_f64);
            let Some(nanos) = typical else { continue };
            let Some(id) = benchmark.get("full_id").and_then(Value::as_str) else {
                continue;
            };
            let elements = benchmark
                .get("throughput")
                .and_then(|t| t.get("Elements"))
                .and_then(Value::as_u64);
            out.insert(id.to_string(), Measured { nanos, elements });
        }
    }
    out
}

/// A duration in ns, µs, ms or s, three significant figures.
pub fn human(nanos: f64) -> String {
    let (value, unit) = if nanos < 1e3 {
        (nanos, "ns")
    } else if nanos < 1e6 {
        (nanos / 1e3, "µs")
    } else if nanos < 1e9 {
        (nanos / 1e6, "ms")
    } else {
        (nanos / 1e9, "s")
    };
    let digits = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.digits$} {unit}")
}
