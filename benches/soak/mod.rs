//! The soak (`scripts/soak.sh`, `make soak`): the release binary with a real
//! `redis-server` and the SMTP sink on loopback, as the load benchmark runs it.
//!
//! 1. Probe: `OTP_SOAK_PROBE_CONCURRENCY` clients (default 32) run challenges
//!    back to back for `OTP_SOAK_PROBE_SECS` (default 20): the maximum rate.
//!    `OTP_SOAK_RATE` skips the probe and soaks at that rate instead.
//! 2. Soak: `OTP_SOAK_SECS` (default 600 from the script) at half that rate,
//!    open loop (a new challenge every 1/rate s, whatever the answers do),
//!    each challenge create -> code from the mail -> verify.
//! 3. Every `OTP_SOAK_SAMPLE_SECS` (default 30): the service's VmRSS and open
//!    file descriptors (/proc/PID), Redis `DBSIZE` and `used_memory`, the
//!    create and verify p50/p99 of that interval, and the rate achieved.
//!
//! Verdict: the minute after `OTP_SOAK_SETTLE_SECS` (default 150: the Redis
//! keys a challenge leaves behind live about two minutes here, so their count
//! climbs that long before it can be flat) against the last minute. Exit 1
//! when anything drifts past its bound, a challenge fails, or the rate falls
//! short.
//!
//! The service runs with the per-address and per-user windows at 60 s and
//! request JWTs valid for 60 s, so what each challenge leaves in Redis
//! expires within the run; every challenge is a new user, as in the load
//! benchmark. The global mail limit is lifted: it would cap the rate.
use std::sync::Mutex;

use tokio::sync::{mpsc, Semaphore};
use tokio::time::MissedTickBehavior;

use super::*;

/// Configuration the soak's service gets through the environment.
const SERVICE_ENV: &[(&str, &str)] = &[
    ("OTP_SIDECAR__MAIL__GLOBAL_MAX", "10000000"),
    ("OTP_SIDECAR__MAIL__PER_ADDRESS_WINDOW_SECS", "60"),
    ("OTP_SIDECAR__OTP__USER_WINDOW", "60"),
];
/// Lifetime of the soak's request JWTs (the jti key lives about this plus the leeway).
const REQUEST_LIFETIME_SECS: i64 = 60;
/// Challenges in flight at most; past it a tick is counted as refused by the client.
const MAX_IN_FLIGHT: usize = 1024;

pub struct SoakKnobs {
    secs: u64,
    sample_secs: u64,
    settle_secs: u64,
    probe_secs: u64,
    probe_concurrency: usize,
    rate: Option<f64>,
}

fn env_secs(name: &str, default: u64) -> u64 {
    env_number(name, default as usize) as u64
}

/// As [`env_secs`], zero allowed.
fn env_secs_or_zero(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: expected a whole number of seconds")),
        Err(_) => default,
    }
}

/// `Some` when `OTP_SOAK_SECS` is set: this run is the soak.
pub fn knobs() -> Option<SoakKnobs> {
    std::env::var_os("OTP_SOAK_SECS")?;
    let rate = std::env::var("OTP_SOAK_RATE").ok().map(|v| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0)
            .unwrap_or_else(|| panic!("OTP_SOAK_RATE={v}: expected challenges per second > 0"))
    });
    let k = SoakKnobs {
        secs: env_secs("OTP_SOAK_SECS", 600),
        sample_secs: env_secs("OTP_SOAK_SAMPLE_SECS", 30),
        settle_secs: env_secs_or_zero("OTP_SOAK_SETTLE_SECS", 150),
        probe_secs: env_secs("OTP_SOAK_PROBE_SECS", 20),
        probe_concurrency: env_number("OTP_SOAK_PROBE_CONCURRENCY", 32),
        rate,
    };
    Some(k)
}

/// One row of the table.
#[derive(Debug, Clone, Default)]
struct Sample {
    at: Duration,
    done: usize,
    failed: usize,
    skipped: usize,
    rate: f64,
    create: [Duration; 2],
    verify: [Duration; 2],
    rss_kib: u64,
    fds: usize,
    keys: u64,
    used_memory: u64,
}

/// What the clients of one interval saw.
#[derive(Default)]
struct Window {
    tally: Tally,
    /// Ticks with no challenge started: too many in flight or no signed request ready.
    skipped: usize,
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// A request as the realm signs it, valid for [`REQUEST_LIFETIME_SECS`].
fn sign_one(realm: &AssertionSigner, run: &str, i: usize) -> Prepared {
    let now = support::unix_now();
    let jti = format!("{run}-{i}-{}", random_token());
    let email = format!("{run}-{i}@example.com");
    let mut claims = request_claims(&jti, &email, now);
    claims["iat"] = json!(now - 1);
    claims["exp"] = json!(now + REQUEST_LIFETIME_SECS);
    let jwt = realm
        .sign_payload(&claims)
        .unwrap_or_else(|e| panic!("signing a request: {e}"));
    Prepared { email, jwt }
}

/// `count` requests, signed on every core.
async fn sign_many(realm: &Arc<AssertionSigner>, run: &str, count: usize) -> Vec<Prepared> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (realm, run) = (realm.clone(), run.to_string());
        tasks.push(tokio::task::spawn_blocking(move || {
            (w..count)
                .step_by(workers)
                .map(|i| sign_one(&realm, &run, i))
                .collect::<Vec<_>>()
        }));
    }
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await.unwrap_or_else(|e| panic!("signing task: {e}")));
    }
    all
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn print_header() {
    println!(
        "{:>6} {:>7} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>7} {:>9}",
        "t (s)",
        "done",
        "failed",
        "skip",
        "rate/s",
        "cr p50",
        "cr p99",
        "vf p50",
        "vf p99",
        "fds",
        "keys",
        "RSS MiB"
    );
}

fn print_row(s: &Sample) {
    println!(
        "{:>6} {:>7} {:>6} {:>5} {:>8.1} {:>8} {:>8} {:>8} {:>8} {:>5} {:>7} {:>9.1}   redis used_memory {:.1} MiB",
        s.at.as_secs(),
        s.done,
        s.failed,
        s.skipped,
        s.rate,
        fmt_ms(s.create[0]),
        fmt_ms(s.create[1]),
        fmt_ms(s.verify[0]),
        fmt_ms(s.verify[1]),
        s.fds,
        s.keys,
        s.rss_kib as f64 / 1024.0,
        s.used_memory as f64 / (1024.0 * 1024.0)
    );
}

/// The figures of one interval, measured now.
async fn take_sample(
    window: &Mutex<Window>,
    at: Duration,
    interval: Duration,
    pid: u32,
    redis_port: u16,
    failures: &mut BTreeMap<String, (usize, String)>,
) -> Sample {
    let w = std::mem::take(&mut *window.lock().unwrap_or_else(|e| e.into_inner()));
    let mut tally = w.tally;
    let failed = tally.failed();
    for (kind, (n, first)) in std::mem::take(&mut tally.failures) {
        failures.entry(kind).or_insert((0, first)).0 += n;
    }
    tally.create.sort();
    tally.verify.sort();
    let (keys, used_memory) = tokio::task::spawn_blocking(move || redis_figures(redis_port))
        .await
        .unwrap_or((0, 0));
    Sample {
        at,
        done: tally.done,
        failed,
        skipped: w.skipped,
        rate: tally.done as f64 / interval.as_secs_f64().max(1e-9),
        create: [
            percentile(&tally.create, 50.0),
            percentile(&tally.create, 99.0),
        ],
        verify: [
            percentile(&tally.verify, 50.0),
            percentile(&tally.verify, 99.0),
        ],
        rss_kib: memory_of(pid).rss_kib,
        fds: open_fds(pid),
        keys,
        used_memory,
    }
}

/// Mean of a figure over the samples taken in `(from, to]`.
fn mean_in(
    samples: &[Sample],
    from: Duration,
    to: Duration,
    f: impl Fn(&Sample) -> f64,
) -> Option<f64> {
    let v: Vec<f64> = samples
        .iter()
        .filter(|s| s.at > from && s.at <= to)
        .map(f)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Prints the verdict; `true` when everything stayed flat.
fn verdict(
    k: &SoakKnobs,
    samples: &[Sample],
    target: f64,
    failures: &BTreeMap<String, (usize, String)>,
) -> bool {
    let end = samples.last().map_or(Duration::ZERO, |s| s.at);
    let minute = Duration::from_secs(60);
    let settle = Duration::from_secs(k.settle_secs);
    let (early_from, note) = if end >= settle + 2 * minute {
        (
            settle,
            format!("the minute after {} s (settling)", k.settle_secs),
        )
    } else {
        (
            Duration::ZERO,
            "the first minute (the run is too short to settle first)".to_string(),
        )
    };
    let late_from = end.saturating_sub(minute);
    println!("\nverdict: {note} against the last minute");
    let mut flat = true;
    let mut check =
        |name: &str, f: &dyn Fn(&Sample) -> f64, bound: &dyn Fn(f64) -> f64, unit: &str| {
            let early = mean_in(samples, early_from, early_from + minute, f);
            let late = mean_in(samples, late_from, end, f);
            let (Some(e), Some(l)) = (early, late) else {
                println!("  {name:<22} no samples");
                flat = false;
                return;
            };
            let ok = l <= bound(e);
            flat &= ok;
            println!(
                "  {name:<22} {e:>10.2} -> {l:>10.2} {unit:<4} drift {:>+7.1}%  (bound {:.2})  {}",
                if e > 0.0 { (l - e) / e * 100.0 } else { 0.0 },
                bound(e),
                if ok { "flat" } else { "DRIFT" }
            );
        };
    check(
        "service RSS",
        &|s| s.rss_kib as f64 / 1024.0,
        &|e| e * 1.10 + 2.0,
        "MiB",
    );
    check("open fds", &|s| s.fds as f64, &|e| e + 5.0, "");
    check("redis keys", &|s| s.keys as f64, &|e| e * 1.10 + 50.0, "");
    check(
        "redis used_memory",
        &|s| s.used_memory as f64 / (1024.0 * 1024.0),
        &|e| e * 1.10 + 1.0,
        "MiB",
    );
    let ms_of = |d: Duration| d.as_secs_f64() * 1e3;
    check(
        "create p50",
        &|s| ms_of(s.create[0]),
        &|e| e * 1.5 + 2.0,
        "ms",
    );
    check(
        "create p99",
        &|s| ms_of(s.create[1]),
        &|e| e * 1.5 + 5.0,
        "ms",
    );
    check(
        "verify p50",
        &|s| ms_of(s.verify[0]),
        &|e| e * 1.5 + 2.0,
        "ms",
    );
    check(
        "verify p99",
        &|s| ms_of(s.verify[1]),
        &|e| e * 1.5 + 5.0,
        "ms",
    );

    let done: usize = samples.iter().map(|s| s.done).sum();
    let failed: usize = samples.iter().map(|s| s.failed).sum();
    let skipped: usize = samples.iter().map(|s| s.skipped).sum();
    let achieved = done as f64 / end.as_secs_f64().max(1e-9);
    let rate_ok = achieved >= target * 0.95;
    println!(
        "  challenges             {done} ok, {failed} failed, {skipped} not started; \
         {achieved:.1}/s of {target:.1}/s targeted  {}",
        if rate_ok { "ok" } else { "SHORT" }
    );
    for (kind, (n, first)) in failures {
        println!("    {n:>6} x {kind}  (first: {first})");
    }
    flat && failed == 0 && rate_ok
}

pub fn main(k: SoakKnobs) -> i32 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(STEP_TIMEOUT)
        .pool_max_idle_per_host(256)
        .build()
        .unwrap_or_else(|e| panic!("HTTP client: {e}"));
    let realm = Arc::new(
        AssertionSigner::from_pem_file(SigningAlgorithm::Rs256, &fixture("realm-rs256.pem"))
            .unwrap_or_else(|e| panic!("realm key: {e}")),
    );
    match rt.block_on(run(&k, &client, &realm)) {
        Ok(true) => {
            println!("soak: flat");
            0
        }
        Ok(false) => {
            println!(
                "soak: FAILED: a figure drifted, a challenge failed or the rate fell short (see above)"
            );
            1
        }
        Err(e) => {
            eprintln!("soak failed: {e}");
            1
        }
    }
}

async fn run(
    k: &SoakKnobs,
    client: &reqwest::Client,
    realm: &Arc<AssertionSigner>,
) -> Result<bool, String> {
    // The realm's keys stay served until the run ends.
    let RedisRig {
        jwks: _jwks,
        redis,
        sink,
        service,
    } = start_redis_rig(client, "soak", &realm.jwks(), SERVICE_ENV).await?;
    let redis_port = redis.port();
    let pid = service.child.id();
    println!(
        "==== otp-sidecar soak ({} cores, load average {}) ====",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "service: {} (pid {pid}), redis-server pid {}",
        service_bin().display(),
        redis.pid()
    );

    // 1. The maximum, unless given.
    let max = match k.rate {
        Some(r) => {
            println!(
                "probe skipped: OTP_SOAK_RATE={r}, so the maximum is taken as {}",
                r * 2.0
            );
            r * 2.0
        }
        None => {
            let c = k.probe_concurrency;
            let warm = Arc::new(sign_many(realm, "soak-warm", c).await);
            let far = Instant::now() + Duration::from_secs(60);
            let w = drive(client, &service.base, &sink, warm, c, far).await;
            if w.failed() > 0 {
                return Err(format!(
                    "warm-up failed: {:?}\n{}",
                    w.failures,
                    service.log_tail()
                ));
            }
            // Enough signed requests for the probe at twice the benchmark's best rate.
            let count = (k.probe_secs as usize * 1000).max(1000);
            let work = Arc::new(sign_many(realm, "soak-probe", count).await);
            let start = Instant::now();
            let tally = drive(
                client,
                &service.base,
                &sink,
                work,
                c,
                start + Duration::from_secs(k.probe_secs),
            )
            .await;
            let elapsed = start.elapsed();
            if tally.failed() > 0 {
                return Err(format!(
                    "probe failed: {:?}\n{}",
                    tally.failures,
                    service.log_tail()
                ));
            }
            let max = tally.done as f64 / elapsed.as_secs_f64();
            println!(
                "probe: {} challenges in {:.1} s with {c} clients back to back: maximum {max:.1} challenges/s",
                tally.done,
                elapsed.as_secs_f64()
            );
            max
        }
    };
    let target = max / 2.0;
    println!(
        "soak: {} s at {target:.1} challenges/s (half the maximum), a sample every {} s\n",
        k.secs, k.sample_secs
    );

    // 2. Requests signed just ahead of use, on their own thread.
    let (tx, mut rx) = mpsc::channel::<Prepared>((target * 2.0).ceil() as usize + 16);
    let signer = {
        let realm = realm.clone();
        std::thread::spawn(move || {
            let mut i = 0;
            while tx.blocking_send(sign_one(&realm, "soak", i)).is_ok() {
                i += 1;
            }
        })
    };
    // Let the buffer fill before the clock starts.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let window = Arc::new(Mutex::new(Window::default()));
    let mut failures: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut samples = Vec::new();
    let start = Instant::now();
    let end = start + Duration::from_secs(k.secs);
    let interval = Duration::from_secs(k.sample_secs);
    let mut next_sample = start + interval;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / target));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    print_header();
    let mut last_sample_at = start;
    loop {
        let now = Instant::now();
        if now >= next_sample || now >= end {
            let s = take_sample(
                &window,
                now - start,
                now - last_sample_at,
                pid,
                redis_port,
                &mut failures,
            )
            .await;
            last_sample_at = now;
            print_row(&s);
            samples.push(s);
            next_sample += interval;
            if now >= end {
                break;
            }
            continue;
        }
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::time::sleep_until(next_sample.min(end).into()) => continue,
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            window.lock().unwrap_or_else(|e| e.into_inner()).skipped += 1;
            continue;
        };
        let Ok(prepared) = rx.try_recv() else {
            window.lock().unwrap_or_else(|e| e.into_inner()).skipped += 1;
            continue;
        };
        let (client, base, sink, window) = (
            client.clone(),
            service.base.clone(),
            sink.clone(),
            window.clone(),
        );
        tokio::spawn(async move {
            let mut tally = Tally::default();
            one_challenge(&client, &base, &sink, &prepared, &mut tally).await;
            window
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .tally
                .merge(tally);
            drop(permit);
        });
    }
    drop(rx);
    // What is still in flight finishes (bounded by the clients' timeouts).
    let _ = tokio::time::timeout(
        Duration::from_secs(40),
        in_flight.acquire_many(MAX_IN_FLIGHT as u32),
    )
    .await;
    let _ = signer.join();
    // Challenges still in flight at the last sample count with it.
    let tail = std::mem::take(&mut *window.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(last) = samples.last_mut() {
        last.done += tail.tally.done;
        last.failed += tail.tally.failed();
    }
    for (kind, (n, first)) in tail.tally.failures {
        failures.entry(kind).or_insert((0, first)).0 += n;
    }
    let flat = verdict(k, &samples, target, &failures);
    println!(
        "service: VmHWM (peak) {}; redis-server VmRSS {}",
        mib(memory_of(pid).hwm_kib),
        mib(memory_of(redis.pid()).rss_kib)
    );
    drop(service);
    drop(redis);
    Ok(flat)
}
