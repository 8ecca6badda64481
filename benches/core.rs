//! Core figures of the sidecar, each on the real code path:
//!
//! * `code_generate/<length>`: one code from the OS CSPRNG by rejection sampling.
//! * `mac/hmac_sha256`: the MAC stored instead of the code.
//! * `request_verify/<alg>`: `RequestVerifier::verify` of a realm-signed
//!   request JWT, the realm JWKS served by a real HTTP server on loopback and
//!   already cached (the steady state).
//! * `assertion_sign/<alg>`: `AssertionSigner::sign` with the fixture keys.
//! * `store_create_verify/<store>`: one challenge created, then verified with
//!   the right code (two store round trips), one after the other.
//! * `store_create_verify_x32/<store>`: 32 such pairs at once; per challenge.
//!
//! The Redis figures use a real `redis-server` this program starts on a free
//! loopback port (no persistence) and stops at the end. Without `redis-server`
//! the Redis rows are skipped with a notice. A summary with ratios follows
//! criterion's own report, then the signing and verification rows against
//! `openssl speed` for the same algorithms, run right after them (skipped with
//! a notice when `openssl` is not installed).
//!
//! Run: `cargo bench --bench core` (or `scripts/bench.sh`).
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use otp_sidecar::challenge::{
    mac, seal_code, ChallengeId, ChallengeRecord, Code, CodeMac, MemoryStore, NewChallenge, Pepper,
    Policy, RedisStore, Store, VerifyOutcome,
};
use otp_sidecar::tokens::{
    AssertionClaims, AssertionResult, AssertionSigner, Issuer, RequestVerifier,
};
use otp_sidecar::tokens::{RealmSettings, SigningAlgorithm};
use tokio::runtime::Runtime;

mod support;
use support::{fixture, human, request_claims, Measured, RedisServer};

/// Challenges in flight at once in the concurrent store benchmark.
const CONCURRENT: usize = 32;

fn criterion() -> Criterion {
    // Short runs: the whole program stays around a minute on two cores.
    Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .without_plots()
        .configure_from_args()
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"))
}

fn bench_codes(c: &mut Criterion) {
    let mut group = c.benchmark_group("code_generate");
    for length in [4u8, 6, 8, 10] {
        group.bench_with_input(BenchmarkId::from_parameter(length), &length, |b, &len| {
            b.iter(|| Code::generate(std::hint::black_box(len)));
        });
    }
    group.finish();
}

fn bench_mac(c: &mut Criterion) {
    let pepper = Pepper::random();
    let id = ChallengeId::generate();
    let code = Code::generate(6);
    c.bench_function("mac/hmac_sha256", |b| {
        b.iter(|| {
            mac(
                &pepper,
                std::hint::black_box(&id),
                std::hint::black_box(&code),
            )
        });
    });
}

fn realm_signer(alg: SigningAlgorithm, file: &str) -> AssertionSigner {
    AssertionSigner::from_pem_file(alg, &fixture(file))
        .unwrap_or_else(|e| panic!("fixture key {file}: {e}"))
}

fn bench_request_verify(c: &mut Criterion, rt: &Runtime) {
    let rs = realm_signer(SigningAlgorithm::Rs256, "realm-rs256.pem");
    let es = realm_signer(SigningAlgorithm::Es256, "realm-es256.pem");
    let jwks = support::jwks_of(&[&rs, &es]);
    let server = rt.block_on(support::JwksServer::start(&jwks));
    let realm = RealmSettings {
        issuer: Issuer::parse(support::ISSUER).unwrap_or_else(|e| panic!("issuer: {e}")),
        jwks_uri: server.url.clone(),
    };
    let verifier = RequestVerifier::new(&[realm], support::AUDIENCE);
    let now = support::unix_now();

    let mut group = c.benchmark_group("request_verify");
    for (name, signer) in [("RS256", &rs), ("ES256", &es)] {
        let jwt = signer
            .sign_payload(&request_claims(
                &format!("bench-{name}"),
                "jane@example.com",
                now,
            ))
            .unwrap_or_else(|e| panic!("signing the {name} request: {e}"));
        // Warm the key cache: the one JWKS fetch happens here, not in the loop.
        rt.block_on(verifier.verify(&jwt, now))
            .unwrap_or_else(|e| panic!("{name} request refused: {e}"));
        group.bench_function(name, |b| {
            b.to_async(rt).iter(|| async {
                verifier
                    .verify(&jwt, now)
                    .await
                    .unwrap_or_else(|e| panic!("{name} request refused: {e}"))
            });
        });
    }
    group.finish();
    drop(server);
}

fn bench_assertion_sign(c: &mut Criterion) {
    let now = support::unix_now();
    let claims = AssertionClaims {
        iss: "https://id.example.com/otp".into(),
        aud: support::ISSUER.into(),
        sub: "0b5e4c7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d".into(),
        nonce: "q1w2e3r4t5y6u7i8o9p0aZ".into(),
        req_jti: "a5f6e7d8-0000-4000-8000-000000000001".into(),
        jti: "3f1c9a2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b".into(),
        iat: now,
        exp: now + 60,
        result: AssertionResult::Success,
        amr: vec!["otp".into()],
        otp_channel: "email".into(),
    };
    let mut group = c.benchmark_group("assertion_sign");
    for (name, alg, file) in [
        ("ES256", SigningAlgorithm::Es256, "sidecar-es256.pem"),
        ("EdDSA", SigningAlgorithm::EdDsa, "sidecar-ed25519.pem"),
        ("RS256", SigningAlgorithm::Rs256, "sidecar-rs256.pem"),
    ] {
        let signer = realm_signer(alg, file);
        group.bench_function(name, |b| {
            b.iter(|| {
                signer
                    .sign(std::hint::black_box(&claims))
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
            });
        });
    }
    group.finish();
}

/// A challenge as the service stores it, with the MAC of its code.
fn challenge(pepper: &Pepper, now: i64) -> (ChallengeRecord, CodeMac) {
    let policy = Policy {
        length: 6,
        ttl_secs: 300,
        max_attempts: 5,
        resend_cooldown_secs: 30,
        max_resends: 3,
    };
    let id = ChallengeId::generate();
    let code = Code::generate(policy.length);
    let code_mac = mac(pepper, &id, &code);
    let new = NewChallenge {
        subject: "0b5e4c7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d".into(),
        email: "jane@example.com".into(),
        name: Some("Jane Doe".into()),
        locale: Some("en".into()),
        realm: support::ISSUER.into(),
        azp: Some("account-console".into()),
        realm_name: None,
        client_name: None,
        client_url: None,
        nonce: format!("nonce-{id}"),
        request_jti: format!("jti-{id}"),
        return_uri: support::RETURN_URI.into(),
    };
    let sealed = seal_code(pepper, &id, 0, &code);
    let record = ChallengeRecord::new(id, new, policy, now).with_delivery(sealed, now + 30);
    (record, code_mac)
}

async fn create_verify<S: Store>(
    store: &S,
    record: &ChallengeRecord,
    code_mac: &CodeMac,
    now: i64,
) {
    store
        .create(record, code_mac, now)
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    match store.check_code(&record.id, code_mac, now).await {
        Ok(VerifyOutcome::Success(_)) => {}
        other => panic!("the right code did not verify: {other:?}"),
    }
}

fn bench_store<S: Store + 'static>(c: &mut Criterion, rt: &Runtime, name: &str, store: Arc<S>) {
    let pepper = Arc::new(Pepper::random());
    let now = support::unix_now();

    let mut group = c.benchmark_group("store_create_verify");
    group.bench_function(name, |b| {
        b.to_async(rt).iter_batched(
            || challenge(&pepper, now),
            |(record, code_mac)| {
                let store = store.clone();
                async move { create_verify(&*store, &record, &code_mac, now).await }
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();

    let mut group = c.benchmark_group("store_create_verify_x32");
    group.throughput(Throughput::Elements(CONCURRENT as u64));
    group.bench_function(name, |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (store, pepper) = (store.clone(), pepper.clone());
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let batch: Vec<_> = (0..CONCURRENT).map(|_| challenge(&pepper, now)).collect();
                    let start = Instant::now();
                    let mut tasks = tokio::task::JoinSet::new();
                    for (record, code_mac) in batch {
                        let store = store.clone();
                        tasks.spawn(async move {
                            create_verify(&*store, &record, &code_mac, now).await;
                        });
                    }
                    while let Some(done) = tasks.join_next().await {
                        done.unwrap_or_else(|e| panic!("store task: {e}"));
                    }
                    spent += start.elapsed();
                }
                spent
            }
        });
    });
    group.finish();
}

fn main() {
    let home = support::criterion_home();
    let started = SystemTime::now();
    let rt = runtime();
    let mut c = criterion();

    bench_codes(&mut c);
    bench_mac(&mut c);
    bench_request_verify(&mut c, &rt);
    bench_assertion_sign(&mut c);
    bench_store(&mut c, &rt, "memory", Arc::new(MemoryStore::new()));
    let redis_note = match RedisServer::start() {
        Ok(server) => {
            let store = rt
                .block_on(RedisStore::connect(&server.url()))
                .unwrap_or_else(|e| panic!("connecting to the benchmark redis-server: {e}"));
            bench_store(&mut c, &rt, "redis", Arc::new(store));
            drop(server);
            None
        }
        Err(e) => {
            eprintln!("\n*** Redis benchmarks SKIPPED: {e}\n");
            Some(e)
        }
    };

    c.final_summary();
    let results = support::criterion_results(&home, started);
    summary(&results, redis_note);
    if !results.is_empty() {
        against_openssl(&results);
    }
}

/// Operations per second of `openssl speed -mr` for one algorithm:
/// `(sign/s, verify/s)`.
fn openssl_speed(alg: &str) -> Result<(f64, f64), String> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-mr", "-seconds", "2", alg])
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `+F2:i:bits:sign/s:verify/s` (RSA), `+F4:...` (ECDSA),
    // `+F6:i:bits:name:sign/s:verify/s` (EdDSA): the last two fields.
    let line = text
        .lines()
        .find(|l| l.starts_with("+F2:") || l.starts_with("+F4:") || l.starts_with("+F6:"))
        .ok_or_else(|| format!("openssl speed {alg}: no result line in {text:?}"))?;
    let fields: Vec<&str> = line.split(':').collect();
    let number = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("openssl speed {alg}: unreadable line {line:?}"))
    };
    Ok((number(fields.len() - 2)?, number(fields.len() - 1)?))
}

/// Our JWT signing and verification (whole tokens: claims, JSON, base64 and
/// the signature) against the bare signature operation of `openssl speed`.
fn against_openssl(results: &std::collections::BTreeMap<String, Measured>) {
    println!("\ncrypto against `openssl speed` (this run; ours = a whole JWT, openssl = the signature alone):");
    let mut speeds = std::collections::BTreeMap::new();
    for alg in ["ecdsap256", "ed25519", "rsa2048"] {
        match openssl_speed(alg) {
            Ok(s) => {
                speeds.insert(alg, s);
            }
            Err(e) => println!("  {alg}: SKIPPED ({e})"),
        }
    }
    println!(
        "{:<22} {:>12} {:>12} {:>8}   target",
        "operation", "ours", "openssl", "ratio"
    );
    let rows: [(&str, &str, &str, bool, &str); 5] = [
        (
            "ES256 sign",
            "assertion_sign/ES256",
            "ecdsap256",
            true,
            "<= 2x",
        ),
        (
            "EdDSA sign",
            "assertion_sign/EdDSA",
            "ed25519",
            true,
            "<= 2x",
        ),
        (
            "RS256 sign",
            "assertion_sign/RS256",
            "rsa2048",
            true,
            "(constant-time aws-lc; no target)",
        ),
        (
            "RS256 verify",
            "request_verify/RS256",
            "rsa2048",
            false,
            "<= 2x",
        ),
        (
            "ES256 verify",
            "request_verify/ES256",
            "ecdsap256",
            false,
            "<= 2x",
        ),
    ];
    for (label, ours, alg, sign, target) in rows {
        let (Some(m), Some((sign_s, verify_s))) = (results.get(ours), speeds.get(alg)) else {
            println!("{label:<22} {:>12}", "n/a");
            continue;
        };
        let theirs = 1e9 / if sign { *sign_s } else { *verify_s };
        println!(
            "{label:<22} {:>12} {:>12} {:>7.2}x   {target}",
            human(m.nanos),
            human(theirs),
            m.nanos / theirs
        );
    }
}

/// The figures of this run, then the ratios that matter.
fn summary(results: &std::collections::BTreeMap<String, Measured>, redis_note: Option<String>) {
    if results.is_empty() {
        // `cargo test --benches` runs each benchmark once and measures nothing.
        println!("\n(no measurements in this run: nothing to summarise)");
        return;
    }
    println!("\n==== otp-sidecar core benchmarks: summary ====");
    println!("{:<40} {:>12} {:>16}", "benchmark", "time", "per second");
    for (id, m) in results {
        let per = match m.elements {
            Some(_) => format!("{:.0} elem/s", m.per_second()),
            None => format!("{:.0} /s", m.per_second()),
        };
        let time = match m.elements {
            Some(n) => format!("{}/elem", human(m.nanos / n as f64)),
            None => human(m.nanos),
        };
        println!("{id:<40} {time:>12} {per:>16}");
    }
    let per_element = |id: &str| {
        results
            .get(id)
            .map(|m| m.nanos / m.elements.unwrap_or(1) as f64)
    };
    let ratio = |label: &str, slow: &str, fast: &str| match (per_element(slow), per_element(fast)) {
        (Some(s), Some(f)) if f > 0.0 => println!("{label:<52} {:>7.2}x", s / f),
        _ => println!("{label:<52} {:>8}", "n/a"),
    };
    println!("\nratios (time per operation):");
    ratio(
        "store create+verify, redis / memory",
        "store_create_verify/redis",
        "store_create_verify/memory",
    );
    ratio(
        "store create+verify x32 concurrent, redis / memory",
        "store_create_verify_x32/redis",
        "store_create_verify_x32/memory",
    );
    ratio(
        "redis create+verify, sequential / 32 concurrent",
        "store_create_verify/redis",
        "store_create_verify_x32/redis",
    );
    ratio(
        "request verify, RS256 / ES256",
        "request_verify/RS256",
        "request_verify/ES256",
    );
    ratio(
        "assertion sign, RS256 / ES256",
        "assertion_sign/RS256",
        "assertion_sign/ES256",
    );
    ratio(
        "assertion sign, EdDSA / ES256",
        "assertion_sign/EdDSA",
        "assertion_sign/ES256",
    );
    ratio(
        "assertion sign, RS256 / EdDSA",
        "assertion_sign/RS256",
        "assertion_sign/EdDSA",
    );
    ratio(
        "code generate, 10 / 4 digits",
        "code_generate/10",
        "code_generate/4",
    );
    if let Some(note) = redis_note {
        println!("\nRedis rows missing: {note}");
    }
}
