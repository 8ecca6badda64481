//! Send latency of one code mail, side by side in one run: lettre's pooled
//! `AsyncSmtpTransport` (how the service sent mail before) against the
//! service's own connection handling (`otp_sidecar::mail::SmtpDelivery`),
//! both to the same SMTP sink on loopback, sequential sends, interleaved
//! A B A B so that the machine's drift hits both alike.
//!
//! A send's latency is from the call to the sink holding the mail's code
//! (the sink answers 250 only after that). Printed: p50 / p90 / p99 of each,
//! and the ratios lettre / ours.
//!
//! Run: `cargo bench --bench mail` (or `scripts/bench.sh mail`).
//! `OTP_BENCH_MAILS` sets the sends per side (default 300). Run by
//! `cargo test --benches`, it does a 10-mail smoke run instead.
use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use otp_sidecar::config::SmtpUrl;
use otp_sidecar::mail::SmtpDelivery;

#[path = "support/smtp.rs"]
mod smtp;

use smtp::SmtpSink;

const CODE_LENGTH: usize = 6;

fn message(n: usize, code_length: usize) -> (String, Message) {
    let to = format!("user{n}@example.com");
    let body = format!(
        "Hello,\r\n\r\nUse this code to sign in:\r\n\r\n{:0code_length$}\r\n\r\nThe code expires in 5 minutes.\r\n",
        n % 10usize.pow(code_length as u32)
    );
    let message = Message::builder()
        .from(
            "Acme Login <login@example.com>"
                .parse::<Mailbox>()
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .to(to.parse::<Mailbox>().unwrap_or_else(|e| panic!("{e}")))
        .subject("Your sign-in code")
        .body(body)
        .unwrap_or_else(|e| panic!("message: {e}"));
    (to, message)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test" || a == "--list")
        || !std::env::args().any(|a| a == "--bench");
    let mails: usize = if smoke {
        10
    } else {
        std::env::var("OTP_BENCH_MAILS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    rt.block_on(async {
        let sink = SmtpSink::start(CODE_LENGTH).await;
        let timeout = Duration::from_secs(10);
        let lettre = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(sink.port)
            .timeout(Some(timeout))
            .build();
        let url = SmtpUrl::parse(&sink.url()).unwrap_or_else(|e| panic!("sink URL: {e}"));
        let ours = SmtpDelivery::new(&url, timeout).unwrap_or_else(|e| panic!("SmtpDelivery: {e}"));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        // One warm-up send each: connections are made, then reused.
        for n in 0..=mails {
            let (to, m) = message(2 * n, sink.code_length());
            let code = sink.expect(&to);
            let start = Instant::now();
            lettre
                .send(m)
                .await
                .unwrap_or_else(|e| panic!("lettre: {e}"));
            code.await.unwrap_or_else(|e| panic!("sink: {e}"));
            let lettre_time = start.elapsed();

            let (to, m) = message(2 * n + 1, sink.code_length());
            let code = sink.expect(&to);
            let start = Instant::now();
            ours.send(m.envelope(), &m.formatted())
                .await
                .unwrap_or_else(|e| panic!("ours: {e}"));
            code.await.unwrap_or_else(|e| panic!("sink: {e}"));
            let ours_time = start.elapsed();
            if n > 0 {
                a.push(lettre_time);
                b.push(ours_time);
            }
        }
        a.sort();
        b.sort();
        println!("\n==== otp-sidecar mail benchmark: summary ====");
        println!(
            "{mails} sequential code mails per side to an SMTP sink on loopback, interleaved; \
             latency = call to the sink holding the code"
        );
        let row = |name: &str, v: &[Duration]| {
            println!(
                "  {name:<28} p50 {}  p90 {}  p99 {}",
                ms(percentile(v, 0.5)),
                ms(percentile(v, 0.9)),
                ms(percentile(v, 0.99))
            );
        };
        row("lettre pooled transport", &a);
        row("otp-sidecar SmtpDelivery", &b);
        let ratio =
            |p: f64| percentile(&a, p).as_secs_f64() / percentile(&b, p).as_secs_f64().max(1e-9);
        println!(
            "  ratio lettre / ours          p50 {:.1}x  p99 {:.1}x",
            ratio(0.5),
            ratio(0.99)
        );
        let (received, without_code) = sink.counts();
        println!("  sink: {received} mails received, {without_code} without a code");
    });
}
