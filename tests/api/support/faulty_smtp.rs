//! A scriptable SMTP server on a loopback port, in-process (tokio): plain
//! ESMTP, enough for lettre, plus faults a test queues up — refusals, stalls,
//! dropped connections, a server that never greets. Stops when dropped.
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use super::smtp::ReceivedMail;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Greeting,
    Ehlo,
    MailFrom,
    RcptTo,
    Data,
    EndOfData,
}

impl Stage {
    fn per_connection(self) -> bool {
        matches!(self, Stage::Greeting | Stage::Ehlo)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this code instead of success; 421 then closes the connection.
    /// Any other refusal ends the transaction (a refused greeting: only QUIT works).
    Reply(u16),
    /// Wait, then answer normally.
    Stall(Duration),
    /// Wait, then answer this code; the connection stays open and served.
    StallThenReply(Duration, u16),
    /// Close without answering; at EndOfData after reading part of the body.
    Drop,
    /// Never answer (at Greeting: no 220); hold the socket until the client
    /// closes it or the server shuts down.
    NeverGreet,
}

/// A message the server answered 250 to at the end of DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message, dot-unstuffed, without the final `.` line.
    pub data: String,
    /// Which connection (1, 2, ... in accept order) carried it.
    pub connection: u64,
}

impl Delivered {
    /// As the mailin sink records it, for its header/subject/code helpers.
    pub fn mail(&self) -> ReceivedMail {
        ReceivedMail {
            from: self.from.clone(),
            to: self.to.clone(),
            raw: self.data.clone(),
        }
    }

    /// The code, found exactly as [`ReceivedMail::code`] finds it.
    pub fn code(&self, length: usize) -> String {
        self.mail().code(length)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Envelope or message still under way.
    Open,
    /// The server is sitting on a stall at this stage right now.
    Stalling(Stage),
    Accepted,
    /// Answered this (injected) code at this stage.
    Replied(Stage, u16),
    /// Closed by the server at this stage without an answer.
    Dropped(Stage),
    /// Never answered at this stage.
    Hung(Stage),
    /// The client reset, quit or went away before an outcome.
    Abandoned,
}

/// One transaction (from MAIL FROM on) as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub connection: u64,
    pub from: String,
    /// Recipients the server accepted.
    pub to: Vec<String>,
    /// Stalls the server made in it.
    pub stalls: Vec<(Stage, Duration)>,
    pub outcome: Outcome,
}

#[derive(Default)]
struct State {
    faults: VecDeque<(Stage, Fault)>,
    connection_faults: VecDeque<(Stage, Fault)>,
    always: HashMap<Stage, Fault>,
    delivered: Vec<Delivered>,
    transactions: Vec<Transaction>,
    connections: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    delivered: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub struct FaultySmtp {
    port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FaultySmtp {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

impl FaultySmtp {
    /// A healthy server on `127.0.0.1:<free port>`.
    pub async fn start() -> FaultySmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        FaultySmtp { port, shared, task }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// A fault for the next transaction without one queued: the n-th MAIL FROM
    /// (on any connection) takes the n-th entry; once used up, all is healthy.
    /// Greeting/Ehlo faults go to the connection queue instead.
    pub fn push_fault(&self, stage: Stage, fault: Fault) {
        let mut state = self.shared.lock();
        match stage.per_connection() {
            true => state.connection_faults.push_back((stage, fault)),
            false => state.faults.push_back((stage, fault)),
        }
    }

    /// A fault for the next connection accepted. At a transaction stage it
    /// applies to that connection's first transaction (which then takes
    /// nothing from the `push_fault` queue).
    pub fn push_connection_fault(&self, stage: Stage, fault: Fault) {
        self.shared
            .lock()
            .connection_faults
            .push_back((stage, fault));
    }

    /// A standing fault at `stage` for every connection/transaction without a
    /// queued one there, until cleared with `None`.
    pub fn set_always(&self, stage: Stage, fault: Option<Fault>) {
        let mut state = self.shared.lock();
        match fault {
            Some(fault) => state.always.insert(stage, fault),
            None => state.always.remove(&stage),
        };
    }

    /// Messages accepted (250 at end of data), in order.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.shared.lock().delivered.clone()
    }

    /// Waits until at least `n` messages were accepted and returns them all;
    /// panics after `within`.
    pub async fn wait_delivered(&self, n: usize, within: Duration) -> Vec<Delivered> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.delivered.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let delivered = self.delivered();
            if delivered.len() >= n {
                return delivered;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "{} of {n} messages accepted within {within:?}; transactions: {:#?}",
                    delivered.len(),
                    self.transactions()
                );
            }
        }
    }

    /// Every transaction seen, in order of MAIL FROM, with its outcome so far.
    pub fn transactions(&self) -> Vec<Transaction> {
        self.shared.lock().transactions.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.lock().connections
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let (id, fault) = {
                    let mut state = shared.lock();
                    state.connections += 1;
                    (state.connections, state.connection_faults.pop_front())
                };
                let mut session = Session {
                    id,
                    shared: shared.clone(),
                    io: BufReader::new(stream),
                    connection_fault: fault,
                    txn: None,
                    greeted: false,
                    no_service: false,
                };
                sessions.spawn(async move {
                    // A failed socket just ends the connection.
                    let _ = session.run().await;
                    session.finish(Outcome::Abandoned);
                });
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

const EHLO: &str = "250-faulty.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES";

struct Session {
    id: u64,
    shared: Arc<Shared>,
    io: BufReader<TcpStream>,
    connection_fault: Option<(Stage, Fault)>,
    /// The open transaction: its index and its own fault.
    txn: Option<(usize, Option<(Stage, Fault)>)>,
    greeted: bool,
    no_service: bool,
}

impl Session {
    async fn run(&mut self) -> io::Result<()> {
        match self.at(Stage::Greeting).await? {
            None => {
                self.say("220 faulty.test ESMTP").await?;
            }
            Some(false) => return Ok(()),
            Some(true) => {} // greeted with a refusal: only QUIT is served
        }
        let mut line = Vec::new();
        loop {
            line.clear();
            if self.io.read_until(b'\n', &mut line).await? == 0 {
                return Ok(());
            }
            let text = String::from_utf8_lossy(&line);
            let command = text.trim_end_matches(['\r', '\n']);
            let (verb, arg) = command.split_once(' ').unwrap_or((command, ""));
            let (verb, arg) = (verb.to_ascii_uppercase(), arg.to_string());
            let keep_going = match verb.as_str() {
                "QUIT" => {
                    self.finish(Outcome::Abandoned);
                    self.say("221 2.0.0 Bye").await?;
                    false
                }
                _ if self.no_service => self.say("503 5.5.1 No service here").await?,
                "EHLO" | "HELO" => self.hello(verb == "EHLO").await?,
                "MAIL" => self.mail(&arg).await?,
                "RCPT" => self.rcpt(&arg).await?,
                "DATA" => self.data().await?,
                "RSET" => {
                    self.finish(Outcome::Abandoned);
                    self.say("250 2.0.0 OK").await?
                }
                "NOOP" => self.say("250 2.0.0 OK").await?,
                _ => self.say("502 5.5.2 Not implemented").await?,
            };
            if !keep_going {
                return Ok(());
            }
        }
    }

    async fn hello(&mut self, extended: bool) -> io::Result<bool> {
        self.finish(Outcome::Abandoned);
        self.greeted = false;
        if let Some(keep_going) = self.at(Stage::Ehlo).await? {
            return Ok(keep_going);
        }
        self.greeted = true;
        self.say(if extended { EHLO } else { "250 faulty.test" })
            .await
    }

    async fn mail(&mut self, arg: &str) -> io::Result<bool> {
        if !self.greeted || self.txn.is_some() {
            return self.say(BAD_SEQUENCE).await;
        }
        let Some(from) = path(arg, "FROM:") else {
            return self.say(BAD_SYNTAX).await;
        };
        let own = match &self.connection_fault {
            Some((stage, _)) if !stage.per_connection() => self.connection_fault.take(),
            _ => None,
        };
        self.txn = {
            let mut state = self.shared.lock();
            let fault = own.or_else(|| state.faults.pop_front());
            state.transactions.push(Transaction {
                connection: self.id,
                from,
                to: Vec::new(),
                stalls: Vec::new(),
                outcome: Outcome::Open,
            });
            Some((state.transactions.len() - 1, fault))
        };
        match self.at(Stage::MailFrom).await? {
            None => self.say("250 2.1.0 OK").await,
            Some(keep_going) => Ok(keep_going),
        }
    }

    async fn rcpt(&mut self, arg: &str) -> io::Result<bool> {
        if self.txn.is_none() {
            return self.say(BAD_SEQUENCE).await;
        }
        let Some(to) = path(arg, "TO:") else {
            return self.say(BAD_SYNTAX).await;
        };
        if let Some(keep_going) = self.at(Stage::RcptTo).await? {
            return Ok(keep_going);
        }
        self.update(|t| t.to.push(to));
        self.say("250 2.1.5 OK").await
    }

    async fn data(&mut self) -> io::Result<bool> {
        if self.update(|t| t.to.is_empty()).unwrap_or(true) {
            return self.say(BAD_SEQUENCE).await;
        }
        if let Some(keep_going) = self.at(Stage::Data).await? {
            return Ok(keep_going);
        }
        self.say("354 End data with <CR><LF>.<CR><LF>").await?;
        let mut data = Vec::new();
        let mut line = Vec::new();
        let drop_midway = self.fault_at(Stage::EndOfData, false) == Some(Fault::Drop);
        loop {
            line.clear();
            if self.io.read_until(b'\n', &mut line).await? == 0 {
                return Ok(false);
            }
            if drop_midway {
                break; // one line of the body read
            }
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            data.extend_from_slice(line.strip_prefix(b".").unwrap_or(&line));
        }
        if let Some(keep_going) = self.at(Stage::EndOfData).await? {
            return Ok(keep_going);
        }
        // Committed before the 250 goes out, as a real server does: even if
        // the client gave up during a stall.
        if let Some((index, _)) = self.txn.take() {
            let mut state = self.shared.lock();
            let t = &mut state.transactions[index];
            t.outcome = Outcome::Accepted;
            let delivered = Delivered {
                from: t.from.clone(),
                to: t.to.clone(),
                data: String::from_utf8_lossy(&data).into_owned(),
                connection: self.id,
            };
            state.delivered.push(delivered);
        }
        self.shared.delivered.notify_waiters();
        self.say("250 2.0.0 Accepted").await
    }

    /// The fault at `stage`: this connection's/transaction's own (which fires
    /// once, when `take`n), else the standing one.
    fn fault_at(&mut self, stage: Stage, take: bool) -> Option<Fault> {
        let own = match stage.per_connection() {
            true => Some(&mut self.connection_fault),
            false => self.txn.as_mut().map(|(_, fault)| fault),
        };
        match own.filter(|own| own.as_ref().is_some_and(|(s, _)| *s == stage)) {
            Some(own) if take => own.take().map(|(_, f)| f),
            Some(own) => own.as_ref().map(|(_, f)| f.clone()),
            None => self.shared.lock().always.get(&stage).cloned(),
        }
    }

    /// Applies the fault at `stage`, if any: sits out a stall, carries out an
    /// injected answer. `None`: answer normally; `Some(keep_going)`: done.
    async fn at(&mut self, stage: Stage) -> io::Result<Option<bool>> {
        let (wait, code) = match self.fault_at(stage, true) {
            None => return Ok(None),
            Some(Fault::Reply(code)) => (Duration::ZERO, Some(code)),
            Some(Fault::Stall(wait)) => (wait, None),
            Some(Fault::StallThenReply(wait, code)) => (wait, Some(code)),
            Some(Fault::Drop) => {
                self.finish(Outcome::Dropped(stage));
                return Ok(Some(false));
            }
            Some(Fault::NeverGreet) => {
                self.finish(Outcome::Hung(stage));
                let mut buf = [0u8; 1024];
                while self.io.read(&mut buf).await? > 0 {}
                return Ok(Some(false));
            }
        };
        if !wait.is_zero() {
            self.update(|t| {
                t.stalls.push((stage, wait));
                t.outcome = Outcome::Stalling(stage);
            });
            tokio::time::sleep(wait).await;
            self.update(|t| t.outcome = Outcome::Open);
        }
        let Some(code) = code else { return Ok(None) };
        self.finish(Outcome::Replied(stage, code));
        self.no_service |= stage == Stage::Greeting;
        let reply = format!("{code} {}.0.0 Fault injected at {stage:?}", code / 100);
        self.say(&reply).await?;
        Ok(Some(code != 421))
    }

    /// Closes the open transaction (if any) with `outcome`.
    fn finish(&mut self, outcome: Outcome) {
        if let Some((index, _)) = self.txn.take() {
            self.shared.lock().transactions[index].outcome = outcome;
        }
    }

    fn update<R>(&self, change: impl FnOnce(&mut Transaction) -> R) -> Option<R> {
        let (index, _) = self.txn.as_ref()?;
        Some(change(&mut self.shared.lock().transactions[*index]))
    }

    /// Sends one reply; `Ok(true)`: keep going.
    async fn say(&mut self, reply: &str) -> io::Result<bool> {
        let stream = self.io.get_mut();
        stream.write_all(format!("{reply}\r\n").as_bytes()).await?;
        stream.flush().await?;
        Ok(true)
    }
}

const BAD_SEQUENCE: &str = "503 5.5.1 Bad sequence of commands";
const BAD_SYNTAX: &str = "501 5.5.4 Syntax error in parameters";

/// The address in `FROM:<a@b> PARAMS` / `TO:<a@b>`.
fn path(arg: &str, prefix: &str) -> Option<String> {
    if !arg.get(..prefix.len())?.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start().strip_prefix('<')?;
    Some(rest[..rest.find('>')?].to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use lettre::message::MultiPart;
    use lettre::transport::smtp::Error;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    use super::*;
    use crate::support::FROM;

    const TO: &str = "ada@example.com";
    const SECS: Duration = Duration::from_secs(5);
    const fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn client(server: &FaultySmtp) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port())
            .timeout(Some(SECS))
            .build()
    }

    async fn send(client: &AsyncSmtpTransport<Tokio1Executor>) -> Result<(), Error> {
        let text = "Your code:\n\n123456\n\n.A line that starts with a dot\n";
        let message = Message::builder()
            .from(FROM.parse().unwrap())
            .to(TO.parse().unwrap())
            .subject("Your code")
            .multipart(MultiPart::alternative_plain_html(
                text.to_string(),
                "<p>123456</p>".to_string(),
            ))
            .unwrap();
        let sent = tokio::time::timeout(SECS, client.send(message)).await;
        sent.expect("lettre answered within 5 s").map(|_| ())
    }

    /// The code of the refusal, and whether it is permanent.
    fn refusal(result: Result<(), Error>) -> (u16, bool) {
        let e = result.expect_err("refused");
        (e.status().map(u16::from).unwrap_or(0), e.is_permanent())
    }

    fn outcomes(server: &FaultySmtp) -> Vec<Outcome> {
        server
            .transactions()
            .into_iter()
            .map(|t| t.outcome)
            .collect()
    }

    #[tokio::test]
    async fn healthy_delivery_is_recorded() {
        let server = FaultySmtp::start().await;
        assert_eq!(server.url(), format!("smtp://127.0.0.1:{}", server.port()));
        let client = client(&server);
        send(&client).await.unwrap();
        send(&client).await.unwrap();
        let delivered = server.wait_delivered(2, SECS).await;
        let mail = &delivered[0];
        assert_eq!(mail.from, "login@example.com");
        assert_eq!(mail.to, [TO]);
        assert_eq!(mail.code(6), "123456");
        assert_eq!(mail.mail().subject(), "Your code");
        assert!(mail.data.contains("\r\n.A line that starts with a dot\r\n"));
        assert_eq!(delivered[0].connection, 1);
        assert_eq!(outcomes(&server), [Outcome::Accepted, Outcome::Accepted]);
    }

    #[tokio::test]
    async fn refusals_are_permanent_or_transient_and_the_queue_runs_out() {
        let server = FaultySmtp::start().await;
        server.push_fault(Stage::RcptTo, Fault::Reply(550));
        server.push_fault(Stage::EndOfData, Fault::Reply(451));
        let client = client(&server);
        assert_eq!(refusal(send(&client).await), (550, true));
        assert_eq!(refusal(send(&client).await), (451, false));
        assert!(server.delivered().is_empty());
        server.set_always(Stage::Data, Some(Fault::Reply(554)));
        assert_eq!(refusal(send(&client).await), (554, true));
        server.set_always(Stage::Data, None);
        send(&client).await.unwrap();
        assert_eq!(
            outcomes(&server),
            [
                Outcome::Replied(Stage::RcptTo, 550),
                Outcome::Replied(Stage::EndOfData, 451),
                Outcome::Replied(Stage::Data, 554),
                Outcome::Accepted
            ]
        );
        assert!(server.transactions()[0].to.is_empty());
        assert_eq!(server.delivered().len(), 1);
    }

    #[tokio::test]
    async fn a_stall_within_the_client_timeout_still_delivers() {
        let server = FaultySmtp::start().await;
        server.push_fault(Stage::EndOfData, Fault::Stall(ms(300)));
        let started = Instant::now();
        send(&client(&server)).await.unwrap();
        assert!(started.elapsed() >= ms(300));
        let t = &server.transactions()[0];
        assert_eq!(t.stalls, [(Stage::EndOfData, ms(300))]);
        assert_eq!(t.outcome, Outcome::Accepted);
        assert_eq!(server.wait_delivered(1, SECS).await.len(), 1);
    }

    /// A hand-driven client, to see exactly which reply comes when.
    struct Raw(BufReader<TcpStream>);

    impl Raw {
        async fn send(&mut self, lines: &str) {
            let lines = format!("{lines}\r\n");
            self.0.get_mut().write_all(lines.as_bytes()).await.unwrap();
        }

        /// The next (possibly multi-line) reply.
        async fn reply(&mut self) -> String {
            let mut reply = String::new();
            loop {
                let mut line = String::new();
                let read = tokio::time::timeout(SECS, self.0.read_line(&mut line));
                assert!(read.await.expect("a reply within 5 s").unwrap() > 0);
                reply.push_str(&line);
                if line.as_bytes().get(3) != Some(&b'-') {
                    return reply;
                }
            }
        }

        /// MAIL, RCPT, DATA, then `message` and the final dot.
        async fn transaction(&mut self, message: &str) {
            for (command, expected) in [
                ("MAIL FROM:<login@example.com>", "250 "),
                ("RCPT TO:<ada@example.com>", "250 "),
                ("DATA", "354 "),
            ] {
                self.send(command).await;
                assert!(self.reply().await.starts_with(expected), "{command}");
            }
            self.send(&format!("{message}\r\n.")).await;
        }
    }

    #[tokio::test]
    async fn a_late_reply_comes_on_the_same_connection_which_stays_served() {
        let server = FaultySmtp::start().await;
        server.push_fault(Stage::EndOfData, Fault::StallThenReply(ms(500), 451));
        let stream = TcpStream::connect(("127.0.0.1", server.port())).await;
        let mut raw = Raw(BufReader::new(stream.unwrap()));
        assert!(raw.reply().await.starts_with("220 "));
        raw.send("EHLO client.test").await;
        assert!(raw.reply().await.contains("250-8BITMIME\r\n"));
        let started = Instant::now();
        // A client that gave up waiting and moved on to a NOOP: it reads the
        // late 451 as the NOOP's answer, and the NOOP's 250 after that.
        raw.transaction("Subject: late\r\n\r\n..dotted").await;
        raw.send("NOOP").await;
        // Once the server has the message (polled, bounded) it sits on the
        // stall before any reply.
        let deadline = Instant::now() + SECS;
        while outcomes(&server) == [Outcome::Open] {
            assert!(Instant::now() < deadline, "{:?}", server.transactions());
            tokio::time::sleep(ms(5)).await;
        }
        assert_eq!(outcomes(&server), [Outcome::Stalling(Stage::EndOfData)]);
        assert!(raw.reply().await.starts_with("451 4."));
        assert!(started.elapsed() >= ms(500));
        assert!(raw.reply().await.starts_with("250 "));
        raw.transaction("Subject: on time").await;
        assert!(raw.reply().await.starts_with("250 "));
        let delivered = server.wait_delivered(1, SECS).await;
        assert_eq!(delivered[0].data, "Subject: on time\r\n");
        assert!(server.transactions().iter().all(|t| t.connection == 1));
    }

    #[tokio::test]
    async fn connection_faults_hit_the_next_connections_in_order() {
        let server = FaultySmtp::start().await;
        server.push_connection_fault(Stage::Greeting, Fault::NeverGreet);
        server.push_fault(Stage::Ehlo, Fault::Reply(554)); // a connection fault
        server.push_connection_fault(Stage::MailFrom, Fault::Drop);
        server.push_fault(Stage::EndOfData, Fault::Drop);
        let client = client(&server);
        // lettre's timeout bounds the TCP connect only, not a missing greeting.
        assert!(tokio::time::timeout(ms(300), send(&client)).await.is_err());
        assert_eq!(refusal(send(&client).await), (554, true));
        assert!(send(&client).await.is_err());
        assert!(send(&client).await.is_err());
        server.set_always(Stage::Greeting, Some(Fault::Reply(421)));
        assert_eq!(refusal(send(&client).await), (421, false));
        server.set_always(Stage::Greeting, None);
        send(&client).await.unwrap();
        assert_eq!(
            outcomes(&server),
            [
                Outcome::Dropped(Stage::MailFrom),
                Outcome::Dropped(Stage::EndOfData),
                Outcome::Accepted
            ]
        );
        assert_eq!(server.connections(), 6);
    }
}
