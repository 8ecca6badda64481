//! A minimal SMTP server on a free loopback port that hands each mail's
//! one-time code to whoever waits for that recipient. It keeps no mail, so
//! it costs next to nothing under load; it speaks just what a mail client
//! needs (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no AUTH) and
//! several mails per connection, as a pooled client sends them.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>;

pub struct SmtpSink {
    pub port: u16,
    code_length: usize,
    waiters: Waiters,
    received: Arc<AtomicU64>,
    without_code: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1:0 on the current tokio runtime. Codes are the
    /// first body line of exactly `code_length` digits.
    pub async fn start(code_length: usize) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind the SMTP sink: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("SMTP sink address: {e}"))
            .port();
        let waiters: Waiters = Arc::default();
        let received = Arc::new(AtomicU64::new(0));
        let without_code = Arc::new(AtomicU64::new(0));
        let (w, r, n) = (waiters.clone(), received.clone(), without_code.clone());
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (w, r, n) = (w.clone(), r.clone(), n.clone());
                tokio::spawn(async move {
                    let _ = session(sock, code_length, &w, &r, &n).await;
                });
            }
        });
        SmtpSink {
            port,
            code_length,
            waiters,
            received,
            without_code,
            task,
        }
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, which the service accepts to loopback only.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The code of the next mail to `email`. Register before the mail can be sent.
    pub fn expect(&self, email: &str) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.insert(email.to_ascii_lowercase(), tx);
        }
        rx
    }

    /// Mails received, and how many of them had no code line.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.received.load(Ordering::Relaxed),
            self.without_code.load(Ordering::Relaxed),
        )
    }

    pub fn code_length(&self) -> usize {
        self.code_length
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(
    sock: TcpStream,
    code_length: usize,
    waiters: &Waiters,
    received: &AtomicU64,
    without_code: &AtomicU64,
) -> std::io::Result<()> {
    let (read, mut write) = sock.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 sink.localhost ESMTP\r\n").await?;
    let mut recipients: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line
            .get(..4)
            .map(str::to_ascii_uppercase)
            .unwrap_or_default();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.localhost\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "MAIL" | "RSET" => {
                recipients.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                if let (Some(start), Some(end)) = (line.find('<'), line.rfind('>')) {
                    if let Some(addr) = line.get(start + 1..end) {
                        recipients.push(addr.to_ascii_lowercase());
                    }
                }
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut message = String::new();
                loop {
                    line.clear();
                    if read.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // Dot-stuffing: a leading "." was doubled by the client.
                    message.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                received.fetch_add(1, Ordering::Relaxed);
                match find_code(&message, code_length) {
                    Some(code) => {
                        if let Ok(mut waiters) = waiters.lock() {
                            for to in recipients.drain(..) {
                                if let Some(tx) = waiters.remove(&to) {
                                    let _ = tx.send(code.clone());
                                }
                            }
                        }
                    }
                    None => {
                        without_code.fetch_add(1, Ordering::Relaxed);
                    }
                }
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The first line of exactly `length` digits (surrounding blanks ignored),
/// in the message as sent or, failing that, in any base64-encoded part.
pub fn find_code(message: &str, length: usize) -> Option<String> {
    let is_code = |l: &&str| l.len() == length && l.bytes().all(|b| b.is_ascii_digit());
    if let Some(code) = message.lines().map(str::trim).find(is_code) {
        return Some(code.to_string());
    }
    let mut block = String::new();
    let mut blocks = Vec::new();
    for l in message.lines().map(str::trim) {
        let base64ish = !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
        if base64ish {
            block.push_str(l);
        } else if !block.is_empty() {
            blocks.push(std::mem::take(&mut block));
        }
    }
    blocks.push(block);
    blocks.iter().find_map(|b| {
        let bytes = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .map(str::trim)
            .find(is_code)
            .map(str::to_string)
    })
}
