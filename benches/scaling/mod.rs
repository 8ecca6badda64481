//! The load benchmark's figures on the Redis store beyond one concurrency
//! (`cargo bench --bench load`; `OTP_BENCH_SCALING=0` leaves them out):
//!
//! 1. Scaling: 1, 2, 4, ... `OTP_BENCH_MAX_CLIENTS` (default 256) clients in
//!    a closed loop (create -> code from the mail -> verify), each step
//!    `OTP_BENCH_STEP_CHALLENGES` challenges per client (default 25, at least
//!    200 a step): throughput, create and verify p50/p99, service CPU per
//!    challenge. Printed as a table and drawn as an SVG plot
//!    (`target/bench-reports/scaling.svg`).
//! 2. Half load: an open loop at half the best throughput of step 1 for
//!    `OTP_BENCH_HALF_SECS` (default 10): create and verify p99 against the
//!    5 ms target.
//! 3. Verify throughput: `OTP_BENCH_VERIFY_CHALLENGES` (default 4,000)
//!    challenges created and mailed first, then verified over HTTP by
//!    `OTP_BENCH_VERIFY_CLIENTS` (default 32) clients; against
//!    `redis-benchmark` running the verify script (`check_code.lua`, as the
//!    service loads it) through `EVALSHA` at the same concurrency.
//! 4. Live challenges: `OTP_BENCH_LIVE` (default 100,000) challenges created
//!    and mailed, none verified: the service's VmRSS before and after, and
//!    Redis `used_memory` growth and keys per live challenge.
//!
//! One service process on one `redis-server` serves all three, as in
//! production: what a phase leaves in Redis stays there for the next.
use std::fmt::Write as _;

use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;

use super::*;

/// Configuration the service gets through the environment: the global mail
/// limit is lifted (it would cap the rate), and so is the cap on connections
/// per client address (every client here is 127.0.0.1, as behind a proxy; the
/// open loop of the half-load phase holds hundreds at once). Every challenge
/// is a new user.
const SERVICE_ENV: &[(&str, &str)] = &[
    ("OTP_SIDECAR__MAIL__GLOBAL_MAX", "10000000"),
    ("OTP_SIDECAR__SERVER__MAX_CONNECTIONS_PER_CLIENT", "0"),
];

/// The target of item 5 of the benchmark's brief: p99 at half load.
const HALF_LOAD_P99_TARGET: Duration = Duration::from_millis(5);

pub struct ScalingKnobs {
    max_clients: usize,
    verify_challenges: usize,
    verify_clients: usize,
    step_challenges: usize,
    half_secs: u64,
    live: usize,
}

/// `None` when `OTP_BENCH_SCALING=0`; small figures under `cargo test --benches`.
pub fn knobs(measuring: bool) -> Option<ScalingKnobs> {
    match std::env::var("OTP_BENCH_SCALING").as_deref() {
        Ok("0") => return None,
        Ok("1") | Err(_) => {}
        Ok(other) => panic!("OTP_BENCH_SCALING={other}: expected 0 or 1"),
    }
    let (max_clients, step, half, live, verify) = if measuring {
        (256, 25, 10, 100_000, 4000)
    } else {
        (4, 5, 1, 200, 50)
    };
    let max_clients = env_number("OTP_BENCH_MAX_CLIENTS", max_clients);
    if !max_clients.is_power_of_two() {
        panic!("OTP_BENCH_MAX_CLIENTS={max_clients}: expected a power of two (1, 2, 4, ...)");
    }
    Some(ScalingKnobs {
        max_clients,
        verify_challenges: env_number("OTP_BENCH_VERIFY_CHALLENGES", verify),
        verify_clients: env_number("OTP_BENCH_VERIFY_CLIENTS", if measuring { 32 } else { 4 }),
        step_challenges: env_number("OTP_BENCH_STEP_CHALLENGES", step),
        half_secs: env_number("OTP_BENCH_HALF_SECS", half) as u64,
        live: env_number("OTP_BENCH_LIVE", live),
    })
}

pub struct Step {
    pub clients: usize,
    pub done: usize,
    pub throughput: f64,
    pub create: [Duration; 2],
    pub verify: [Duration; 2],
    pub cpu_per_challenge: Duration,
}

pub struct HalfLoad {
    pub rate: f64,
    pub done: usize,
    pub achieved: f64,
    pub create: [Duration; 2],
    pub verify: [Duration; 2],
    pub cpu_per_challenge: Duration,
}

pub struct Live {
    pub count: usize,
    pub secs: f64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub keys: u64,
    pub used_memory_growth: u64,
    /// `MEMORY USAGE` of a sample of the keys, scaled to all of them.
    pub memory_usage_estimate: u64,
}

pub struct VerifyThroughput {
    pub clients: usize,
    pub done: usize,
    pub http_per_second: f64,
    /// `redis-benchmark`'s requests per second, or why there is none.
    pub evalsha_per_second: Result<f64, String>,
}

pub struct Scaling {
    pub steps: Vec<Step>,
    pub half: Option<HalfLoad>,
    pub verify: Option<VerifyThroughput>,
    pub live: Option<Live>,
    pub plot: Option<PathBuf>,
}

fn p50_p99(v: &mut [Duration]) -> [Duration; 2] {
    v.sort();
    [percentile(v, 50.0), percentile(v, 99.0)]
}

fn check(tally: &Tally, what: &str, service: &Service) -> Result<(), String> {
    if tally.failed() == 0 {
        return Ok(());
    }
    Err(format!(
        "{what}: {} challenge(s) failed: {:?}\nservice log ends:\n{}",
        tally.failed(),
        tally.failures,
        service.log_tail()
    ))
}

pub async fn run(k: &ScalingKnobs, realm: &Arc<AssertionSigner>) -> Result<Scaling, String> {
    // Its own pool, as wide as the most clients, idle connections dropped
    // before the service's keep-alive (5 s) closes them.
    let client = &reqwest::Client::builder()
        .timeout(STEP_TIMEOUT)
        .pool_max_idle_per_host(k.max_clients * 2)
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let es = Arc::new(
        AssertionSigner::from_pem_file(SigningAlgorithm::Es256, &fixture("realm-es256.pem"))
            .map_err(|e| format!("realm ES256 key: {e}"))?,
    );
    // The realm's keys stay served until the run ends.
    let RedisRig {
        jwks: _jwks,
        redis,
        sink,
        service,
    } = start_redis_rig(
        client,
        "scaling",
        &support::jwks_of(&[realm, &es]),
        SERVICE_ENV,
    )
    .await?;
    let redis_port = redis.port();
    let pid = service.child.id();

    // Warm-up: connections to Redis, SMTP and the HTTP pool, the JWKS fetch.
    let warm = Arc::new(prepare(realm, "scale-warm", k.max_clients).await);
    let far = Instant::now() + Duration::from_secs(120);
    let w = drive(client, &service.base, &sink, warm, k.max_clients, far).await;
    check(&w, "warm-up", &service)?;

    // 1. Scaling.
    let mut steps = Vec::new();
    let mut clients = 1;
    while clients <= k.max_clients {
        let count = (clients * k.step_challenges).max(200);
        let work = Arc::new(prepare(realm, &format!("scale-{clients}"), count).await);
        let cpu = cpu_time_of(pid);
        let start = Instant::now();
        let far = start + Duration::from_secs(300);
        let mut tally = drive(client, &service.base, &sink, work, clients, far).await;
        let elapsed = start.elapsed();
        let spent = cpu_time_of(pid).saturating_sub(cpu);
        check(&tally, &format!("{clients} clients"), &service)?;
        let step = Step {
            clients,
            done: tally.done,
            throughput: tally.done as f64 / elapsed.as_secs_f64().max(1e-9),
            create: p50_p99(&mut tally.create),
            verify: p50_p99(&mut tally.verify),
            cpu_per_challenge: spent / u32::try_from(tally.done.max(1)).unwrap_or(u32::MAX),
        };
        println!(
            "[scaling] {:>3} clients: {:>6.0} challenges/s, create p99 {}, verify p99 {}",
            clients,
            step.throughput,
            ms(step.create[1]),
            ms(step.verify[1])
        );
        steps.push(step);
        clients *= 2;
    }
    let best = steps.iter().map(|s| s.throughput).fold(0.0, f64::max);

    // 2. Half of the best throughput, open loop.
    let half = if best > 0.0 {
        Some(half_load(client, realm, &service, &sink, best / 2.0, k.half_secs).await?)
    } else {
        None
    };

    // 3. Verify throughput against redis-benchmark.
    let verify = Some(verify_throughput(client, realm, &service, &sink, redis_port, k).await?);

    // 4. Live challenges.
    let live = Some(live_challenges(client, &es, &service, &sink, redis_port, k.live).await?);

    let plot = draw(&steps);
    Ok(Scaling {
        steps,
        half,
        verify,
        live,
        plot,
    })
}

async fn half_load(
    client: &reqwest::Client,
    realm: &Arc<AssertionSigner>,
    service: &Service,
    sink: &Arc<SmtpSink>,
    rate: f64,
    secs: u64,
) -> Result<HalfLoad, String> {
    let count = (rate * secs as f64).ceil() as usize;
    let work = prepare(realm, "half", count).await;
    println!("[half load] {count} challenges at {rate:.0}/s, open loop");
    let cpu = cpu_time_of(service.child.id());
    let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut running = tokio::task::JoinSet::new();
    let start = Instant::now();
    for prepared in work {
        tick.tick().await;
        let (client, base, sink, tally) = (
            client.clone(),
            service.base.clone(),
            sink.clone(),
            tally.clone(),
        );
        running.spawn(async move {
            let mut mine = Tally::default();
            one_challenge(&client, &base, &sink, &prepared, &mut mine).await;
            tally.lock().unwrap_or_else(|e| e.into_inner()).merge(mine);
        });
    }
    while running.join_next().await.is_some() {}
    let elapsed = start.elapsed();
    let spent = cpu_time_of(service.child.id()).saturating_sub(cpu);
    let mut tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    check(&tally, "half load", service)?;
    Ok(HalfLoad {
        rate,
        done: tally.done,
        achieved: tally.done as f64 / elapsed.as_secs_f64().max(1e-9),
        create: p50_p99(&mut tally.create),
        verify: p50_p99(&mut tally.verify),
        cpu_per_challenge: spent / u32::try_from(tally.done.max(1)).unwrap_or(u32::MAX),
    })
}

/// The verify script as the service loads it (see `script!` in the store).
const VERIFY_SCRIPT: &str = concat!(
    include_str!("../../src/challenge/record.lua"),
    include_str!("../../src/challenge/check_code.lua")
);

async fn verify_throughput(
    client: &reqwest::Client,
    realm: &Arc<AssertionSigner>,
    service: &Service,
    sink: &Arc<SmtpSink>,
    redis_port: u16,
    k: &ScalingKnobs,
) -> Result<VerifyThroughput, String> {
    let count = k.verify_challenges;
    let work = prepare(realm, "verify", count).await;
    println!(
        "[verify] creating {count} challenges, then verifying them with {} clients",
        k.verify_clients
    );
    // Create them all first (64 at a time), keeping each one's id and code.
    let ready = Arc::new(std::sync::Mutex::new(Vec::with_capacity(count)));
    let failed = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(64));
    let mut creating = tokio::task::JoinSet::new();
    for p in work {
        let (client, base, sink, ready, failed, gate) = (
            client.clone(),
            service.base.clone(),
            sink.clone(),
            ready.clone(),
            failed.clone(),
            gate.clone(),
        );
        creating.spawn(async move {
            let _permit = gate.acquire().await;
            let code = sink.expect(&p.email);
            let url = format!("{base}/api/v1/challenges");
            let id = match post_json(&client, &url, &json!({ "request": p.jwt })).await {
                Ok((status, body)) if status == reqwest::StatusCode::CREATED => {
                    body["challenge_id"].as_str().map(str::to_string)
                }
                _ => None,
            };
            let code = tokio::time::timeout(STEP_TIMEOUT, code).await;
            match (id, code) {
                (Some(id), Ok(Ok(code))) => ready
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((id, code)),
                _ => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while creating.join_next().await.is_some() {}
    if failed.load(Ordering::Relaxed) > 0 {
        return Err(format!(
            "verify phase: {} challenge(s) could not be created\n{}",
            failed.load(Ordering::Relaxed),
            service.log_tail()
        ));
    }
    let mut ready = std::mem::take(&mut *ready.lock().unwrap_or_else(|e| e.into_inner()));
    // One stays live: redis-benchmark runs the verify script on copies of it.
    let (kept_id, _) = ready.pop().ok_or("verify phase: no challenge created")?;
    let kept = ChallengeId::parse(&kept_id)
        .map(|id| otp_sidecar::challenge::redis_layout::challenge_key(&id))
        .map_err(|e| format!("challenge id {kept_id:?}: {e}"))?;
    let ready = Arc::new(ready);
    let next = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..k.verify_clients {
        let (client, base, ready, next, refused) = (
            client.clone(),
            service.base.clone(),
            ready.clone(),
            next.clone(),
            refused.clone(),
        );
        clients.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, code)) = ready.get(i) else {
                    break;
                };
                let url = format!("{base}/api/v1/challenges/{id}/verify");
                match post_json(&client, &url, &json!({ "code": code })).await {
                    Ok((status, body))
                        if status == reqwest::StatusCode::OK && body["result"] == "success" => {}
                    _ => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    while clients.join_next().await.is_some() {}
    let secs = start.elapsed().as_secs_f64();
    if refused.load(Ordering::Relaxed) > 0 {
        return Err(format!(
            "verify phase: {} verification(s) did not succeed\n{}",
            refused.load(Ordering::Relaxed),
            service.log_tail()
        ));
    }
    let done = ready.len();
    let clients = k.verify_clients;
    let requests = (count * 25).max(10_000);
    let evalsha_per_second =
        tokio::task::spawn_blocking(move || redis_benchmark(redis_port, &kept, clients, requests))
            .await
            .map_err(|e| e.to_string())?;
    Ok(VerifyThroughput {
        clients,
        done,
        http_per_second: done as f64 / secs.max(1e-9),
        evalsha_per_second,
    })
}

/// `redis-benchmark` running the verify script through `EVALSHA` with
/// `clients` connections: on 100,000 copies of the live challenge `template` (random
/// keys, so most calls find a live challenge and count a wrong code, some
/// lock it and a few find it closed), its requests per second.
fn redis_benchmark(
    port: u16,
    template: &str,
    clients: usize,
    requests: usize,
) -> Result<f64, String> {
    const KEYS: usize = 100_000;
    let port_s = port.to_string();
    let sha = support::redis_array(port, &["SCRIPT", "LOAD", VERIFY_SCRIPT])?
        .into_iter()
        .next()
        .ok_or("SCRIPT LOAD gave nothing")?;
    let copy = "for i = 0, tonumber(ARGV[1]) - 1 do \
                redis.call('COPY', KEYS[1], string.format('{ch:bench%012d}', i), 'REPLACE') end \
                return 1";
    support::redis_array(port, &["EVAL", copy, "1", template, &KEYS.to_string()])?;
    let now = support::unix_now().to_string();
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port_s, "-q"])
        .args(["-c", &clients.to_string(), "-n", &requests.to_string()])
        .args(["-r", &KEYS.to_string()])
        .args(["EVALSHA", &sha, "1", "{ch:bench__rand_int__}", &now])
        .args(["0123456789abcdef0123456789abcdef", "60", "420"])
        .output()
        .map_err(|e| format!("redis-benchmark: {e} (Debian: apt-get install redis-tools)"))?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    // "EVALSHA ...: 41841.00 requests per second, p50=0.543 msec"
    let rate = text
        .lines()
        .rev()
        .find_map(|l| {
            l.split_once(": ")?
                .1
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .ok_or_else(|| format!("redis-benchmark: no rate in {text:?}"))?;
    // Leave no copies behind for the live phase's count.
    let clean = "for i = 0, tonumber(ARGV[1]) - 1 do \
                 redis.call('DEL', string.format('{ch:bench%012d}', i)) end return 1";
    support::redis_array(port, &["EVAL", clean, "0", &KEYS.to_string()])?;
    Ok(rate)
}

/// Creates `count` challenges (each mailed) and leaves them live.
async fn live_challenges(
    client: &reqwest::Client,
    es: &Arc<AssertionSigner>,
    service: &Service,
    sink: &Arc<SmtpSink>,
    redis_port: u16,
    count: usize,
) -> Result<Live, String> {
    let pid = service.child.id();
    let rss_before_kib = memory_of(pid).rss_kib;
    let (keys_before, used_before) = tokio::task::spawn_blocking(move || redis_figures(redis_port))
        .await
        .map_err(|e| e.to_string())?;
    // Signed with the realm's ES256 key: about 25 times faster than RS256
    // for the client, which signs 100,000 of them.
    println!("[live] signing {count} requests");
    let work = Arc::new(prepare(es, "live", count).await);
    let (mails_before, _) = sink.counts();
    println!("[live] creating {count} challenges with 64 clients");
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let first_failure = Arc::new(std::sync::Mutex::new(None::<String>));
    let start = Instant::now();
    let gate = Arc::new(Semaphore::new(64));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (client, base, work, next, failures, first, gate) = (
            client.clone(),
            service.base.clone(),
            work.clone(),
            next.clone(),
            failures.clone(),
            first_failure.clone(),
            gate.clone(),
        );
        clients.spawn(async move {
            let _permit = gate.acquire().await;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = work.get(i) else { break };
                let url = format!("{base}/api/v1/challenges");
                match post_json(&client, &url, &json!({ "request": p.jwt })).await {
                    Ok((status, _)) if status == reqwest::StatusCode::CREATED => {}
                    other => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        let mut f = first.lock().unwrap_or_else(|e| e.into_inner());
                        f.get_or_insert_with(|| format!("{other:?}"));
                    }
                }
            }
        });
    }
    while clients.join_next().await.is_some() {}
    let secs = start.elapsed().as_secs_f64();
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!(
            "live: {failed} create(s) failed, the first: {}\nservice log ends:\n{}",
            first_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or_default(),
            service.log_tail()
        ));
    }
    // Every create answered after its mail was accepted; count them anyway.
    let (mails_after, _) = sink.counts();
    let mailed = mails_after - mails_before;
    if mailed < count as u64 {
        return Err(format!("live: {count} challenges created, {mailed} mails"));
    }
    let rss_after_kib = memory_of(pid).rss_kib;
    let (keys_after, used_after, sampled) = tokio::task::spawn_blocking(move || {
        let (k, u) = redis_figures(redis_port);
        (k, u, memory_usage_sample(redis_port, 2000))
    })
    .await
    .map_err(|e| e.to_string())?;
    let keys = keys_after.saturating_sub(keys_before);
    let memory_usage_estimate = sampled.map_or(0, |(bytes, n)| bytes * keys_after / n.max(1));
    Ok(Live {
        count,
        secs,
        rss_before_kib,
        rss_after_kib,
        keys,
        used_memory_growth: used_after.saturating_sub(used_before),
        memory_usage_estimate,
    })
}

/// `MEMORY USAGE` summed over up to `limit` keys found by `SCAN`, and how many.
fn memory_usage_sample(port: u16, limit: usize) -> Option<(u64, u64)> {
    let mut names = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = support::redis_array(port, &["SCAN", &cursor, "COUNT", "1000"]).ok()?;
        let (next, keys) = reply.split_first()?;
        names.extend(keys.iter().cloned());
        cursor = next.clone();
        if cursor == "0" || names.len() >= limit {
            break;
        }
    }
    names.truncate(limit);
    let mut total = 0;
    for name in &names {
        let bytes: u64 = support::redis_array(port, &["MEMORY", "USAGE", name, "SAMPLES", "0"])
            .ok()?
            .first()?
            .parse()
            .ok()?;
        total += bytes;
    }
    Some((total, names.len() as u64))
}

pub fn print(s: &Scaling) {
    println!("\nscaling on the Redis store (closed loop: create -> code from the mail -> verify):");
    println!(
        "{:>8} {:>10} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "clients",
        "done",
        "challenges/s",
        "create p50",
        "create p99",
        "verify p50",
        "verify p99",
        "CPU/chall."
    );
    for st in &s.steps {
        println!(
            "{:>8} {:>10} {:>14.0} {:>12} {:>12} {:>12} {:>12} {:>12}",
            st.clients,
            st.done,
            st.throughput,
            ms(st.create[0]),
            ms(st.create[1]),
            ms(st.verify[0]),
            ms(st.verify[1]),
            ms(st.cpu_per_challenge)
        );
    }
    if let Some(p) = &s.plot {
        println!("plot: {}", p.display());
    }
    if let Some(h) = &s.half {
        let verdict = |d: Duration| {
            if d < HALF_LOAD_P99_TARGET {
                "under"
            } else {
                "OVER"
            }
        };
        println!(
            "\nhalf load: {:.0} challenges/s asked (half of the best step), {:.0}/s done, {} challenges",
            h.rate, h.achieved, h.done
        );
        println!(
            "  create p50 {} p99 {} ({} the 5 ms target); verify p50 {} p99 {} ({} the 5 ms target); CPU per challenge {}",
            ms(h.create[0]),
            ms(h.create[1]),
            verdict(h.create[1]),
            ms(h.verify[0]),
            ms(h.verify[1]),
            verdict(h.verify[1]),
            ms(h.cpu_per_challenge)
        );
    }
    if let Some(v) = &s.verify {
        println!(
            "\nverify throughput, {} clients: {} verifications over HTTP at {:.0}/s",
            v.clients, v.done, v.http_per_second
        );
        match &v.evalsha_per_second {
            Ok(r) => println!(
                "  redis-benchmark EVALSHA of the verify script, {} clients: {:.0}/s; HTTP / EVALSHA {:.1}% (target >= 50%)",
                v.clients,
                r,
                100.0 * v.http_per_second / r.max(1e-9)
            ),
            Err(e) => println!("  redis-benchmark: not measured ({e})"),
        }
    }
    if let Some(l) = &s.live {
        let per = |bytes: u64| bytes as f64 / l.count.max(1) as f64;
        println!(
            "\n{} live challenges (created and mailed in {:.1} s, none verified):",
            l.count, l.secs
        );
        println!(
            "  service VmRSS before {}, after {} (growth {:.2} bytes per challenge)",
            mib(l.rss_before_kib),
            mib(l.rss_after_kib),
            (l.rss_after_kib.saturating_sub(l.rss_before_kib) * 1024) as f64
                / l.count.max(1) as f64
        );
        println!(
            "  redis: {:.2} keys per challenge; used_memory growth {:.0} bytes per challenge; \
             MEMORY USAGE of its keys {:.0} bytes per challenge (target < 500)",
            l.keys as f64 / l.count.max(1) as f64,
            per(l.used_memory_growth),
            per(l.memory_usage_estimate)
        );
    }
}

/// Throughput and p99 against clients, two panels, into
/// `target/bench-reports/scaling.svg` (or `OTP_BENCH_PLOT`).
fn draw(steps: &[Step]) -> Option<PathBuf> {
    use plotters::prelude::*;
    if steps.is_empty() {
        return None;
    }
    let path = std::env::var_os("OTP_BENCH_PLOT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-reports/scaling.svg"),
        PathBuf::from,
    );
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let max_clients = steps.last().map_or(1, |s| s.clients) as f64;
    let best = steps.iter().map(|s| s.throughput).fold(1.0, f64::max);
    let worst_ms = steps
        .iter()
        .flat_map(|s| [s.create[1], s.verify[1]])
        .map(|d| d.as_secs_f64() * 1e3)
        .fold(1.0, f64::max);
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::new(&path, (1000, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(500);
        let mut chart = ChartBuilder::on(&left)
            .caption("throughput (challenges/s)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d((1.0..max_clients).log_scale(), 0.0..best * 1.15)?;
        chart.configure_mesh().x_desc("concurrent clients").draw()?;
        let points: Vec<(f64, f64)> = steps
            .iter()
            .map(|s| (s.clients as f64, s.throughput))
            .collect();
        chart.draw_series(LineSeries::new(points.clone(), &BLUE))?;
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))?;

        let mut chart = ChartBuilder::on(&right)
            .caption("p99 latency (ms)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d((1.0..max_clients).log_scale(), 0.0..worst_ms * 1.15)?;
        chart.configure_mesh().x_desc("concurrent clients").draw()?;
        for (label, color, pick) in [("create", RED, 0usize), ("verify", GREEN, 1usize)] {
            let points: Vec<(f64, f64)> = steps
                .iter()
                .map(|s| {
                    let d = if pick == 0 { s.create[1] } else { s.verify[1] };
                    (s.clients as f64, d.as_secs_f64() * 1e3)
                })
                .collect();
            chart
                .draw_series(LineSeries::new(points, &color))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => Some(path),
        Err(e) => {
            eprintln!("scaling plot not drawn: {e}");
            None
        }
    }
}

/// The scaling table as Markdown, for docs/benchmarks.md.
pub fn markdown(s: &Scaling) -> String {
    let mut out = String::from(
        "| clients | challenges/s | create p50 | create p99 | verify p50 | verify p99 | CPU per challenge |\n|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for st in &s.steps {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} | {} | {} |",
            st.clients,
            st.throughput,
            ms(st.create[0]),
            ms(st.create[1]),
            ms(st.verify[0]),
            ms(st.verify[1]),
            ms(st.cpu_per_challenge)
        );
    }
    out
}
