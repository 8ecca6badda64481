//! A real `redis-server` on a free loopback port, killed on drop.
//!
//! `redis-server` cannot listen on port 0 and tell which port it got, so a
//! free port is picked, then given to it: another process may take the port
//! in between. Then our server fails to bind and exits, or (while it is still
//! starting) someone else's answers: a server counts as started only when the
//! one answering on the port reports our child's pid, and a start that failed
//! is tried again on a fresh port (bounded).
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts tried on fresh ports before giving up.
const START_TRIES: usize = 5;

pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    pub fn start() -> Self {
        let mut server = Self {
            port: 0,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        let mut failures = Vec::new();
        for _ in 0..START_TRIES {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => failures.push(e),
            }
        }
        panic!("redis-server did not start in {START_TRIES} tries: {failures:?}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Spawns redis-server on `self.port`; `Ok` once it answers there as
    /// itself, `Err` when it exited (the port was taken) or never answered.
    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir.path().to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (make test installs it)");
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                self.child = None;
                return Err(format!(
                    "port {}: redis-server exited with {status}",
                    self.port
                ));
            }
            if self.answering_pid() == Some(pid) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(format!("port {}: no answer within 10 s", self.port))
    }

    /// The pid of the redis-server answering on the port (`INFO server`).
    fn answering_pid(&self) -> Option<u32> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        stream.write_all(b"INFO server\r\n").ok()?;
        // A bulk string: `$<length>\r\n<text>\r\n`.
        let mut reply = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            reply.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&reply);
            let (head, body) = text.split_once("\r\n")?;
            let length: usize = head.strip_prefix('$')?.parse().ok()?;
            if body.len() >= length {
                return body
                    .lines()
                    .find_map(|l| l.strip_prefix("process_id:"))
                    .and_then(|p| p.trim().parse().ok());
            }
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, commands queue
    /// up unanswered until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a [`pause`](Self::pause)d server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis-server is running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Start again on the same port (after [`stop`](Self::stop)): the
    /// service under test keeps its address. Retried while the port is
    /// still held (bounded).
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = self.spawn() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not come back: {e}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // SIGKILL ends a paused server too.
        self.stop();
    }
}
