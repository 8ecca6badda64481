//! The real `otp-sidecar` binary as a child process, ready when `start`
//! returns, killed on drop.
//!
//! The configuration binds port 0: the child holds the free port it got and
//! announces it in its `listening` log line, which `start` reads back from
//! the child's stdout (no port picked here and handed over, which another
//! process could take in between).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use otp_sidecar::telemetry::listening_addr;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How long the child has to announce its address and answer `/readyz`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the child's log lines (its stdout) go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// Read and dropped.
    Drop,
    /// Written to this process's stdout, as they come.
    Print,
    /// Every line, from the first, to [`Sidecar::logs`].
    Keep,
}

pub struct Sidecar {
    pub child: Child,
    addr: SocketAddr,
    logs: Option<mpsc::UnboundedReceiver<String>>,
}

/// What the child wrote until it announced itself, for a failure message.
#[derive(Clone, Default)]
struct Output {
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Output {
    fn text(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout.lock().unwrap().join("\n"),
            self.stderr.lock().unwrap()
        )
    }
}

impl Sidecar {
    /// `otp-sidecar --config CONFIG run` (whose `server.bind` should have
    /// port 0), waited for until it announced the address it listens on and
    /// `/readyz` there answers 200 (at most 20 s in all). A child that exits
    /// first, or takes longer, fails the test with what it wrote.
    pub async fn start(config: &Path, logs: Logs) -> Sidecar {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut child = Command::new(env!("CARGO_BIN_EXE_otp-sidecar"))
            .arg("--config")
            .arg(config)
            .arg("run")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Output::default();
        let (announced_tx, announced) = oneshot::channel();
        let (lines_tx, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().unwrap();
        let seen = output.stdout.clone();
        std::thread::spawn(move || forward_stdout(stdout, logs, &seen, announced_tx, &lines_tx));
        let stderr = child.stderr.take().unwrap();
        let stderr = drain_stderr(stderr, logs, output.stderr.clone());

        let addr = match tokio::time::timeout_at(deadline, announced).await {
            Ok(Ok(addr)) => addr,
            // Its stdout closed without the announce line: it exited.
            Ok(Err(_)) => {
                let status = child.wait().unwrap();
                let _ = stderr.join();
                panic!(
                    "otp-sidecar exited with {status} before it announced its address\n{}",
                    output.text()
                );
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "otp-sidecar announced no address within {START_TIMEOUT:?}\n{}",
                    output.text()
                );
            }
        };
        let mut sidecar = Sidecar {
            child,
            addr,
            logs: (logs == Logs::Keep).then_some(lines),
        };
        // reqwest is built without a default TLS provider (the service picks ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        loop {
            let ready = client
                .get(format!("{}/readyz", sidecar.base_url()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return sidecar;
            }
            if let Some(status) = sidecar.child.try_wait().unwrap() {
                panic!(
                    "otp-sidecar exited with {status} before it was ready\n{}",
                    output.text()
                );
            }
            assert!(Instant::now() < deadline, "not ready in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address the child listens on, as it announced it.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, without trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's log lines, from its first ([`Logs::Keep`]); the channel
    /// closes when the child's stdout does.
    pub fn logs(&mut self) -> mpsc::UnboundedReceiver<String> {
        self.logs
            .take()
            .expect("started with Logs::Keep, taken once")
    }
}

/// Reads the child's stdout line by line: the first `listening` line's
/// address goes to `announced` (dropped unsent at the end of the output
/// when there was none), every line where `logs` says.
fn forward_stdout(
    stdout: impl Read,
    logs: Logs,
    seen: &Mutex<Vec<String>>,
    announced: oneshot::Sender<SocketAddr>,
    lines: &mpsc::UnboundedSender<String>,
) {
    let mut announced = Some(announced);
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if announced.is_some() {
            if let Some(addr) = listening_addr(&line) {
                let _ = announced.take().unwrap().send(addr);
            } else {
                seen.lock().unwrap().push(line.clone());
            }
        }
        match logs {
            Logs::Drop => {}
            Logs::Print => {
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
            Logs::Keep => {
                let _ = lines.send(line);
            }
        }
    }
}

/// Collects the child's stderr (printed too with [`Logs::Print`]) until it closes.
fn drain_stderr(
    stderr: impl Read + Send + 'static,
    logs: Logs,
    into: Arc<Mutex<String>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if logs == Logs::Print {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    })
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
