//! Load benchmark of the real service through its JSON API (docs/protocol.md
//! section 6), once with the Redis store and once with the in-memory store.
//!
//! For each store it starts the release binary `otp-sidecar run --config ...`
//! as a child process on loopback port 0 (it announces the port it got in its
//! `listening` log line), with a generated configuration:
//! * the realm is played by this program: it serves the realm JWKS over HTTP
//!   on loopback and signs the request JWTs with the RS256 fixture key (as
//!   Keycloak does), all of them before the clock starts;
//! * mail goes over plain SMTP to a sink on loopback that keeps nothing and
//!   hands each code to the client waiting for that recipient;
//! * Redis is a real `redis-server` started on a free port (no persistence).
//!
//! Then `OTP_BENCH_CONCURRENCY` clients (default 32) run create -> read the
//! code from the mail -> verify, until `OTP_BENCH_CHALLENGES` challenges
//! (default 2000) are done or `OTP_BENCH_MAX_SECS` (default 60) have passed,
//! after a warm-up of one challenge per client. Every verify must answer
//! `success`; any other answer is counted, printed and fails the run.
//!
//! Printed per store: challenges/s, create and verify latency p50/p95/p99,
//! the time from process start to `/readyz` = 200, and the service's VmRSS
//! idle and after the load and its VmHWM (peak), from /proc/<pid>/status.
//! Then the Redis / memory ratios.
//!
//! Run: `cargo bench --bench load` (or `scripts/bench.sh load`).
//! `OTP_BENCH_STORES=memory` (or `redis`) runs one store only.
//! `OTP_BENCH_SERVICE_BIN=/path/to/otp-sidecar` measures another build.
//! Run by `cargo test --benches`, it does a 20-challenge smoke run instead.
//!
//! With `OTP_SOAK_SECS` set it is the soak instead (`scripts/soak.sh`,
//! `make soak`; the `soak` module): the maximum throughput measured briefly,
//! then that long at half of it, sampled for drift.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otp_sidecar::challenge::ChallengeId;
use otp_sidecar::tokens::AssertionSigner;
use otp_sidecar::tokens::SigningAlgorithm;
use serde_json::{json, Value};

mod scaling;
mod soak;
mod support;
use std::path::Path;
use support::smtp::SmtpSink;
use support::{fixture, redis_figures, request_claims, JwksServer, RedisServer};

/// The binary cargo built alongside this benchmark (release settings).
const SERVICE_BIN: &str = env!("CARGO_BIN_EXE_otp-sidecar");

/// `OTP_BENCH_SERVICE_BIN` (another build to measure), else [`SERVICE_BIN`].
fn service_bin() -> PathBuf {
    std::env::var_os("OTP_BENCH_SERVICE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(SERVICE_BIN))
}
/// The service's default code length; requests carry no `otp` policy.
const CODE_LENGTH: usize = 6;
/// Longest wait for one HTTP answer or one mail.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for the `listening` line and then `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

struct Knobs {
    challenges: usize,
    concurrency: usize,
    max_time: Duration,
    stores: Vec<String>,
    scaling: Option<scaling::ScalingKnobs>,
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v}: expected a positive whole number")),
        Err(_) => default,
    }
}

fn knobs() -> Knobs {
    // `cargo bench` passes --bench; `cargo test --benches` does not.
    let measuring = std::env::args().any(|a| a == "--bench");
    let stores: Vec<String> = std::env::var("OTP_BENCH_STORES")
        .unwrap_or_else(|_| "redis,memory".into())
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for s in &stores {
        if s != "redis" && s != "memory" {
            panic!("OTP_BENCH_STORES: unknown store {s:?}; expected redis and/or memory");
        }
    }
    let (challenges, concurrency) = if measuring { (2000, 32) } else { (20, 4) };
    Knobs {
        challenges: env_number("OTP_BENCH_CHALLENGES", challenges),
        concurrency: env_number("OTP_BENCH_CONCURRENCY", concurrency),
        max_time: Duration::from_secs(env_number("OTP_BENCH_MAX_SECS", 60) as u64),
        stores,
        scaling: scaling::knobs(measuring),
    }
}

/// Memory figures of a process, KiB, from /proc/<pid>/status.
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
}

fn memory_of(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    }
}

/// CPU time (user + system) a process has used so far, from /proc/<pid>/stat.
fn cpu_time_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |n: usize| -> u64 {
        rest.split_whitespace()
            .nth(n)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ")".
    let ticks = field(11) + field(12);
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The service as a child process, with its configuration, pepper and log
/// in a scratch directory; killed and cleaned up on drop.
struct Service {
    child: Child,
    base: String,
    dir: PathBuf,
}

impl Service {
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("service.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// 44 random base64url characters (two challenge ids from the CSPRNG).
fn random_token() -> String {
    format!("{}{}", ChallengeId::generate(), ChallengeId::generate())
}

fn toml_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// Writes the configuration and starts the binary on port 0; reads the
/// address it announces, then waits for `/readyz` there.
async fn start_service(
    client: &reqwest::Client,
    store: &str,
    redis_url: Option<&str>,
    smtp_url: &str,
    jwks_uri: &str,
    env: &[(&str, &str)],
) -> Result<(Service, Duration), String> {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "otp-sidecar-load-{}-{store}-{}",
        std::process::id(),
        STARTED.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pepper = dir.join("pepper");
    std::fs::write(&pepper, random_token() + &random_token())
        .map_err(|e| format!("{}: {e}", pepper.display()))?;
    let store_section = match redis_url {
        Some(url) => format!("[store]\nredis_url = {}\n\n", toml_string(url)),
        None => String::new(),
    };
    let config = format!(
        r#"[server]
bind = "127.0.0.1:0"

{store_section}[mail]
smtp_url = {smtp}
from = "Acme Login <login@example.com>"

[[realms]]
issuer = {issuer}
jwks_uri = {jwks}

[signing]
key_file = {key}

[secrets]
pepper_file = {pepper}
"#,
        smtp = toml_string(smtp_url),
        issuer = toml_string(support::ISSUER),
        jwks = toml_string(jwks_uri),
        key = toml_string(&fixture("sidecar-es256.pem").display().to_string()),
        pepper = toml_string(&pepper.display().to_string()),
    );
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config).map_err(|e| format!("{}: {e}", config_path.display()))?;
    let log = std::fs::File::create(dir.join("service.log")).map_err(|e| e.to_string())?;
    let log_out = log.try_clone().map_err(|e| e.to_string())?;

    let started = Instant::now();
    let bin = service_bin();
    let child = Command::new(&bin)
        .arg("run")
        .arg("--config")
        .arg(&config_path)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let mut service = Service {
        child,
        base: String::new(),
        dir,
    };
    let stdout = service.child.stdout.take().ok_or("no stdout pipe")?;
    let (announced, addr) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || support::log_announced(stdout, log_out, announced));
    let addr = match tokio::time::timeout(READY_TIMEOUT, addr).await {
        Ok(Ok(addr)) => addr,
        // Its stdout closed without the announce line: it exited.
        Ok(Err(_)) => {
            let status = service.child.wait().map_err(|e| e.to_string())?;
            return Err(format!(
                "the service exited with {status} before it announced its address; its log ends:\n{}",
                service.log_tail()
            ));
        }
        Err(_) => {
            return Err(format!(
                "no listening line within {READY_TIMEOUT:?}; the log ends:\n{}",
                service.log_tail()
            ))
        }
    };
    service.base = format!("http://{addr}");
    loop {
        if let Ok(Some(status)) = service.child.try_wait() {
            return Err(format!(
                "the service exited with {status} before it was ready; its log ends:\n{}",
                service.log_tail()
            ));
        }
        let ready = client
            .get(format!("{}/readyz", service.base))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
        if ready {
            return Ok((service, started.elapsed()));
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(format!(
                "/readyz did not answer 200 within {READY_TIMEOUT:?}; the log ends:\n{}",
                service.log_tail()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The service on a redis-server of its own, with the realm's JWKS served
/// and an SMTP sink: what the scaling and soak runs start alike.
struct RedisRig {
    jwks: JwksServer,
    redis: RedisServer,
    sink: Arc<SmtpSink>,
    service: Service,
}

/// Starts a [`RedisRig`] for `realm_jwks`; `name` names the service's
/// scratch directory, `env` its extra environment.
async fn start_redis_rig(
    client: &reqwest::Client,
    name: &str,
    realm_jwks: &Value,
    env: &[(&str, &str)],
) -> Result<RedisRig, String> {
    let jwks = JwksServer::start(realm_jwks).await;
    let redis = RedisServer::start()?;
    let sink = Arc::new(SmtpSink::start(CODE_LENGTH).await);
    let (service, _) = start_service(
        client,
        name,
        Some(&redis.url()),
        &sink.url(),
        jwks.url.as_str(),
        env,
    )
    .await?;
    Ok(RedisRig {
        jwks,
        redis,
        sink,
        service,
    })
}

/// One prepared challenge: the recipient and the signed request JWT.
struct Prepared {
    email: String,
    jwt: String,
}

/// Signs `count` RS256 request JWTs as the realm, on every core.
async fn prepare(realm: &Arc<AssertionSigner>, run: &str, count: usize) -> Vec<Prepared> {
    let now = support::unix_now();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (realm, run) = (realm.clone(), run.to_string());
        tasks.push(tokio::task::spawn_blocking(move || {
            (w..count)
                .step_by(workers)
                .map(|i| {
                    let jti = format!("{run}-{i}-{}", random_token());
                    let email = format!("{run}-{i}@example.com");
                    let jwt = realm
                        .sign_payload(&request_claims(&jti, &email, now))
                        .unwrap_or_else(|e| panic!("signing a request: {e}"));
                    (i, Prepared { email, jwt })
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await.unwrap_or_else(|e| panic!("signing task: {e}")));
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, p)| p).collect()
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    create: Vec<Duration>,
    verify: Vec<Duration>,
    done: usize,
    /// Failure kind -> (count, first message).
    failures: BTreeMap<String, (usize, String)>,
}

impl Tally {
    fn fail(&mut self, kind: &str, message: String) {
        let entry = self
            .failures
            .entry(kind.to_string())
            .or_insert((0, message));
        entry.0 += 1;
    }

    fn merge(&mut self, other: Tally) {
        self.create.extend(other.create);
        self.verify.extend(other.verify);
        self.done += other.done;
        for (kind, (n, msg)) in other.failures {
            let entry = self.failures.entry(kind).or_insert((0, msg));
            entry.0 += n;
        }
    }

    fn failed(&self) -> usize {
        self.failures.values().map(|(n, _)| n).sum()
    }
}

async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> Result<(reqwest::StatusCode, Value), String> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("POST {url}: reading the body: {e}"))?;
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        Value::String(String::from_utf8_lossy(&bytes).chars().take(200).collect())
    });
    Ok((status, value))
}

/// One challenge end to end: create, wait for the mail, verify.
async fn one_challenge(
    client: &reqwest::Client,
    base: &str,
    sink: &SmtpSink,
    prepared: &Prepared,
    tally: &mut Tally,
) {
    let code = sink.expect(&prepared.email);
    let start = Instant::now();
    let created = post_json(
        client,
        &format!("{base}/api/v1/challenges"),
        &json!({ "request": prepared.jwt }),
    )
    .await;
    let create_time = start.elapsed();
    let id = match created {
        Ok((status, body)) if status == reqwest::StatusCode::CREATED => {
            match body["challenge_id"].as_str() {
                Some(id) => id.to_string(),
                None => return tally.fail("create: no challenge_id", body.to_string()),
            }
        }
        Ok((status, body)) => {
            return tally.fail(
                &format!("create: HTTP {} {}", status.as_u16(), body["error"]),
                body.to_string(),
            )
        }
        Err(e) => return tally.fail("create: transport", e),
    };
    tally.create.push(create_time);
    let code = match tokio::time::timeout(STEP_TIMEOUT, code).await {
        Ok(Ok(code)) => code,
        _ => {
            return tally.fail(
                "mail: no code arrived",
                format!("no mail with a code for {}", prepared.email),
            )
        }
    };
    let start = Instant::now();
    let verified = post_json(
        client,
        &format!("{base}/api/v1/challenges/{id}/verify"),
        &json!({ "code": code }),
    )
    .await;
    let verify_time = start.elapsed();
    match verified {
        Ok((status, body))
            if status == reqwest::StatusCode::OK
                && body["result"] == "success"
                && body["assertion"]
                    .as_str()
                    .is_some_and(|a| a.split('.').count() == 3) =>
        {
            tally.verify.push(verify_time);
            tally.done += 1;
        }
        Ok((status, body)) => tally.fail(
            &format!("verify: HTTP {} {}", status.as_u16(), body["error"]),
            body.to_string(),
        ),
        Err(e) => tally.fail("verify: transport", e),
    }
}

/// `concurrency` clients working through `work` until it is used up or `deadline`.
async fn drive(
    client: &reqwest::Client,
    base: &str,
    sink: &Arc<SmtpSink>,
    work: Arc<Vec<Prepared>>,
    concurrency: usize,
    deadline: Instant,
) -> Tally {
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, base, sink, work, next) = (
            client.clone(),
            base.to_string(),
            sink.clone(),
            work.clone(),
            next.clone(),
        );
        clients.spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(prepared) = work.get(i) else { break };
                one_challenge(&client, &base, &sink, prepared, &mut tally).await;
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(t) = clients.join_next().await {
        tally.merge(t.unwrap_or_else(|e| panic!("client task: {e}")));
    }
    tally
}

/// Nearest-rank percentile.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Outcome {
    store: String,
    done: usize,
    failed: usize,
    elapsed: Duration,
    create: [Duration; 3],
    verify: [Duration; 3],
    ready_in: Duration,
    /// CPU time the service used during the measured phase.
    service_cpu: Duration,
    idle: Memory,
    after: Memory,
    redis_after: Option<Memory>,
}

impl Outcome {
    fn throughput(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

async fn run_store(
    store: &str,
    knobs: &Knobs,
    realm: &Arc<AssertionSigner>,
    jwks: &JwksServer,
    client: &reqwest::Client,
) -> Result<Outcome, String> {
    let redis = match store {
        "redis" => Some(RedisServer::start()?),
        _ => None,
    };
    let sink = Arc::new(SmtpSink::start(CODE_LENGTH).await);
    let (service, ready_in) = start_service(
        client,
        store,
        redis.as_ref().map(RedisServer::url).as_deref(),
        &sink.url(),
        jwks.url.as_str(),
        &[],
    )
    .await?;
    let pid = service.child.id();
    let idle = memory_of(pid);
    println!(
        "[{store}] service pid {pid} ready in {}, idle VmRSS {}; signing {} requests",
        ms(ready_in),
        mib(idle.rss_kib),
        knobs.concurrency + knobs.challenges
    );

    let warmup = Arc::new(prepare(realm, &format!("warm-{store}"), knobs.concurrency).await);
    let work = Arc::new(prepare(realm, &format!("load-{store}"), knobs.challenges).await);
    let far = Instant::now() + Duration::from_secs(120);
    let warm = drive(client, &service.base, &sink, warmup, knobs.concurrency, far).await;
    if warm.failed() > 0 {
        return Err(format!(
            "warm-up failed: {:?}\nservice log ends:\n{}",
            warm.failures,
            service.log_tail()
        ));
    }

    println!(
        "[{store}] {} challenges, {} clients, at most {:?}",
        knobs.challenges, knobs.concurrency, knobs.max_time
    );
    let cpu_before = cpu_time_of(pid);
    let start = Instant::now();
    let mut tally = drive(
        client,
        &service.base,
        &sink,
        work,
        knobs.concurrency,
        start + knobs.max_time,
    )
    .await;
    let elapsed = start.elapsed();
    let service_cpu = cpu_time_of(pid).saturating_sub(cpu_before);
    let after = memory_of(pid);
    let redis_after = redis.as_ref().map(|r| memory_of(r.pid()));

    let (mails, without_code) = sink.counts();
    if without_code > 0 {
        tally.fail(
            "mail: no code line",
            format!("{without_code} of {mails} mails had no {CODE_LENGTH}-digit line"),
        );
    }
    if tally.failed() > 0 {
        println!("[{store}] FAILURES:");
        for (kind, (n, first)) in &tally.failures {
            println!("  {n:>6} x {kind}  (first: {first})");
        }
        println!("service log ends:\n{}", service.log_tail());
    }
    tally.create.sort();
    tally.verify.sort();
    let p = |v: &[Duration]| [50.0, 95.0, 99.0].map(|q| percentile(v, q));
    Ok(Outcome {
        store: store.to_string(),
        done: tally.done,
        failed: tally.failed(),
        elapsed,
        create: p(&tally.create),
        verify: p(&tally.verify),
        ready_in,
        service_cpu,
        idle,
        after,
        redis_after,
    })
}

fn main() {
    if let Some(soak) = soak::knobs() {
        std::process::exit(soak::main(soak));
    }
    let knobs = knobs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    // reqwest is built without a bundled crypto provider (plain HTTP here anyway).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(STEP_TIMEOUT)
        .pool_max_idle_per_host(knobs.concurrency * 2)
        // Under the service's keep-alive (5 s): a connection idle while the
        // next phase's requests are signed is never reused just as the
        // service closes it.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap_or_else(|e| panic!("HTTP client: {e}"));
    let realm = Arc::new(
        AssertionSigner::from_pem_file(SigningAlgorithm::Rs256, &fixture("realm-rs256.pem"))
            .unwrap_or_else(|e| panic!("realm key: {e}")),
    );

    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    let mut scaled = None;
    rt.block_on(async {
        let jwks = JwksServer::start(&realm.jwks()).await;
        for store in &knobs.stores {
            match run_store(store, &knobs, &realm, &jwks, &client).await {
                Ok(o) => outcomes.push(o),
                Err(e) => {
                    eprintln!("[{store}] load run failed: {e}");
                    errors.push(format!("{store}: {e}"));
                }
            }
        }
        if let Some(k) = &knobs.scaling {
            match scaling::run(k, &realm).await {
                Ok(s) => scaled = Some(s),
                Err(e) => {
                    eprintln!("[scaling] failed: {e}");
                    errors.push(format!("scaling: {e}"));
                }
            }
        }
    });

    print_summary(&knobs, &outcomes);
    if let Some(s) = &scaled {
        scaling::print(s);
        println!("\nscaling table (Markdown):\n{}", scaling::markdown(s));
    }
    let failed: usize = outcomes.iter().map(|o| o.failed).sum();
    if !errors.is_empty() || failed > 0 {
        eprintln!(
            "load benchmark FAILED: {} store run(s) did not complete, {failed} challenge(s) failed",
            errors.len()
        );
        std::process::exit(1);
    }
}

fn print_summary(knobs: &Knobs, outcomes: &[Outcome]) {
    println!("\n==== otp-sidecar load benchmark: summary ====");
    println!(
        "{} challenges (create + code from the mail + verify), {} concurrent clients, limit {:?}; \
         service = release binary as a child process; mail = SMTP sink on loopback",
        knobs.challenges, knobs.concurrency, knobs.max_time
    );
    let bin = service_bin();
    let size = std::fs::metadata(&bin).map_or(0, |m| m.len());
    println!(
        "service binary: {} ({:.1} MiB)",
        bin.display(),
        size as f64 / (1024.0 * 1024.0)
    );
    for o in outcomes {
        println!("\n[{}]", o.store);
        println!(
            "  completed        {} ok, {} failed in {:.2} s",
            o.done,
            o.failed,
            o.elapsed.as_secs_f64()
        );
        println!("  throughput       {:.0} challenges/s", o.throughput());
        println!(
            "  create latency   p50 {}  p95 {}  p99 {}",
            ms(o.create[0]),
            ms(o.create[1]),
            ms(o.create[2])
        );
        println!(
            "  verify latency   p50 {}  p95 {}  p99 {}",
            ms(o.verify[0]),
            ms(o.verify[1]),
            ms(o.verify[2])
        );
        println!(
            "  service CPU      {:.2} s in the measured phase, {} per challenge",
            o.service_cpu.as_secs_f64(),
            ms(o.service_cpu / u32::try_from(o.done.max(1)).unwrap_or(u32::MAX))
        );
        println!("  start to ready   {}", ms(o.ready_in));
        println!(
            "  service memory   VmRSS idle {}, after {}; VmHWM (peak) {}",
            mib(o.idle.rss_kib),
            mib(o.after.rss_kib),
            mib(o.after.hwm_kib)
        );
        if let Some(r) = o.redis_after {
            println!(
                "  redis-server     VmRSS after {}; VmHWM {}",
                mib(r.rss_kib),
                mib(r.hwm_kib)
            );
        }
    }
    let find = |s: &str| outcomes.iter().find(|o| o.store == s);
    if let (Some(r), Some(m)) = (find("redis"), find("memory")) {
        let ratio = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:.2}x", a / b)
            } else {
                "n/a".into()
            }
        };
        let secs = |d: Duration| d.as_secs_f64();
        println!("\nratios, redis / memory:");
        println!(
            "  throughput        {}",
            ratio(r.throughput(), m.throughput())
        );
        println!(
            "  create p50 / p99  {} / {}",
            ratio(secs(r.create[0]), secs(m.create[0])),
            ratio(secs(r.create[2]), secs(m.create[2]))
        );
        println!(
            "  verify p50 / p99  {} / {}",
            ratio(secs(r.verify[0]), secs(m.verify[0])),
            ratio(secs(r.verify[2]), secs(m.verify[2]))
        );
        println!(
            "  service CPU per challenge {}",
            ratio(
                secs(r.service_cpu) / r.done.max(1) as f64,
                secs(m.service_cpu) / m.done.max(1) as f64
            )
        );
        println!(
            "  service VmHWM     {}",
            ratio(r.after.hwm_kib as f64, m.after.hwm_kib as f64)
        );
    }
}
