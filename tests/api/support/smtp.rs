//! A real SMTP server (mailin-embedded) on a free loopback port, in-process.
//! Received mails are kept for the test (faults: see `faulty_smtp`).
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::{response, Handler, Response, Server, SslConfig};

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and MIME body) as received after DATA.
    pub raw: String,
}

impl ReceivedMail {
    /// The subject header (unfolded, unencoded ASCII).
    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines = self.raw.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                return None;
            }
            if line.to_ascii_lowercase().starts_with(&prefix) {
                let mut value = line[prefix.len()..].trim().to_string();
                while let Some(next) = lines.peek() {
                    if next.starts_with(' ') || next.starts_with('\t') {
                        value.push(' ');
                        value.push_str(next.trim());
                        lines.next();
                    } else {
                        break;
                    }
                }
                return Some(value);
            }
        }
        None
    }

    /// The code: a line of the body that is exactly `length` digits.
    pub fn code(&self, length: usize) -> String {
        self.raw
            .split("\r\n")
            .map(str::trim)
            .find(|l| l.len() == length && l.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_else(|| panic!("no {length}-digit code line in the mail:\n{}", self.raw))
            .to_string()
    }
}

#[derive(Clone)]
struct Sink {
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    current: Option<ReceivedMail>,
}

impl Handler for Sink {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(ReceivedMail {
            from: from.to_string(),
            to: to.to_vec(),
            raw: String::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(mail) = &mut self.current {
            mail.raw.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(mail) = self.current.take() {
            self.mails.lock().unwrap().push(mail);
        }
        response::OK
    }

    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        response::OK
    }
}

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpSink {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink {
            mails: mails.clone(),
            current: None,
        };
        let mut server = Server::new(sink);
        server
            .with_name("sink.test")
            .with_num_threads(32)
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        // The server thread ends with the test process.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        self.mails.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }

    /// Mails to `to`, oldest first.
    pub fn to(&self, to: &str) -> Vec<ReceivedMail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .collect()
    }

    /// Waits (bounded) until `n` mails reached `to`, and returns the newest.
    pub async fn wait_for(&self, to: &str, n: usize) -> ReceivedMail {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mails = self.to(to);
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            assert!(Instant::now() < deadline, "mail {n} to {to} did not arrive");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
