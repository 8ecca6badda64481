//! Every refusal of docs/protocol.md section 2, against a realm JWKS served over
//! real HTTP on loopback by the test itself.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::*;
use crate::clock::ManualClock;
use crate::tokens::AssertionSigner;
use crate::tokens::{RealmSettings, SigningAlgorithm};

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://id.example.com/realms/acme";
const RETURN_URI: &str = "https://id.example.com/realms/acme/login-actions/authenticate?session_code=s-1&execution=e1&client_id=app&tab_id=t1&client_data=eyJ9";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
}

fn realm_rs256() -> AssertionSigner {
    AssertionSigner::from_pem_file(SigningAlgorithm::Rs256, &fixture("realm-rs256.pem")).unwrap()
}

fn realm_es256() -> AssertionSigner {
    AssertionSigner::from_pem_file(SigningAlgorithm::Es256, &fixture("realm-es256.pem")).unwrap()
}

/// A JWKS endpoint on 127.0.0.1:0 that counts the requests it answers.
struct JwksServer {
    url: Url,
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    async fn start(jwks: &Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(Mutex::new(jwks.to_string()));
        let (h, b) = (hits.clone(), body.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (h, b) = (h.clone(), b.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    // Slow enough that concurrent misses really overlap.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let body = b.lock().unwrap().clone();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(response.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self {
            url: Url::parse(&format!(
                "http://{addr}/realms/acme/protocol/openid-connect/certs"
            ))
            .unwrap(),
            hits,
            body,
            task,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn serve(&self, jwks: &Value) {
        *self.body.lock().unwrap() = jwks.to_string();
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn realm_settings(jwks_uri: &Url) -> Vec<RealmSettings> {
    vec![RealmSettings {
        issuer: Issuer::parse(ISSUER).unwrap(),
        jwks_uri: jwks_uri.clone(),
    }]
}

fn verifier(server: &JwksServer) -> RequestVerifier {
    RequestVerifier::new(&realm_settings(&server.url), "otp-sidecar")
}

/// Keycloak's certs endpoint also lists an encryption key; it must be skipped.
fn keycloak_jwks(signer: &AssertionSigner) -> Value {
    let mut jwks = signer.jwks();
    let mut enc = jwks["keys"][0].clone();
    enc["use"] = json!("enc");
    enc["alg"] = json!("RSA-OAEP");
    enc["kid"] = json!("enc-key");
    jwks["keys"].as_array_mut().unwrap().push(enc);
    jwks
}

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": "otp-sidecar",
        "sub": "0b5e4c7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d",
        "email": "jane@example.com",
        "name": "Jane Doe",
        "locale": "en",
        "azp": "account-console",
        "realm_display_name": "ACME Corp",
        "client_name": "Acme Payroll",
        "client_url": "https://payroll.example.com/home?tab=1",
        "nonce": "q1w2e3r4t5y6u7i8o9p0aZ",
        "return_uri": RETURN_URI,
        "iat": NOW - 10,
        "exp": NOW + 290,
        "jti": "a5f6e7d8-0000-4000-8000-000000000001",
        "otp": {"length": 8, "ttl": 120}
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

/// A token with a header we choose, signed by `key` with `alg`.
fn encode_with(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn b64(v: &Value) -> String {
    crate::tokens::b64url_encode(v.to_string().as_bytes())
}

async fn refusal(v: &RequestVerifier, jwt: &str) -> RequestRejection {
    match v.verify(jwt, NOW).await {
        Err(e) => e,
        Ok(ok) => panic!("accepted: {ok:?}"),
    }
}

fn claim_of(r: &RequestRejection) -> &'static str {
    match r {
        RequestRejection::InvalidClaim { claim, .. } => claim,
        other => panic!("expected InvalidClaim, got {other:?}"),
    }
}

#[tokio::test]
async fn happy_path_rs256_over_http() {
    let realm = realm_rs256();
    let server = JwksServer::start(&keycloak_jwks(&realm)).await;
    let v = verifier(&server);
    let jwt = realm.sign_payload(&claims()).unwrap();
    let ok = v.verify(&jwt, NOW).await.unwrap();
    assert_eq!(ok.issuer.as_str(), ISSUER);
    assert_eq!(ok.sub, "0b5e4c7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d");
    assert_eq!(ok.email, "jane@example.com");
    assert_eq!(ok.name.as_deref(), Some("Jane Doe"));
    assert_eq!(ok.locale.as_deref(), Some("en"));
    assert_eq!(ok.azp.as_deref(), Some("account-console"));
    assert_eq!(ok.realm_display_name.as_deref(), Some("ACME Corp"));
    assert_eq!(ok.client_name.as_deref(), Some("Acme Payroll"));
    assert_eq!(
        ok.client_url.as_deref(),
        Some("https://payroll.example.com/home?tab=1")
    );
    assert_eq!(ok.nonce, "q1w2e3r4t5y6u7i8o9p0aZ");
    assert_eq!(ok.jti, "a5f6e7d8-0000-4000-8000-000000000001");
    assert_eq!(ok.return_uri.as_str(), RETURN_URI);
    assert_eq!(ok.exp, NOW + 290);
    let otp = ok.otp.unwrap();
    assert_eq!(
        (otp.length, otp.ttl, otp.max_attempts),
        (Some(8), Some(120), None)
    );

    // Cached by kid: a second request does not fetch again.
    let again = realm
        .sign_payload(&with(claims(), "jti", json!("another-jti")))
        .unwrap();
    v.verify(&again, NOW).await.unwrap();
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn happy_path_es256_and_ps256_and_optional_claims_absent() {
    let es = realm_es256();
    let rs = realm_rs256();
    let mut jwks = es.jwks();
    // A realm key published without `alg` may be used with PS256.
    let mut rsa = rs.jwks()["keys"][0].clone();
    rsa.as_object_mut().unwrap().remove("alg");
    jwks["keys"].as_array_mut().unwrap().push(rsa);
    let server = JwksServer::start(&jwks).await;
    let v = verifier(&server);

    let minimal = [
        "name",
        "locale",
        "azp",
        "otp",
        "realm_display_name",
        "client_name",
        "client_url",
    ]
    .iter()
    .fold(claims(), |c, k| without(c, k));
    let ok = v
        .verify(&es.sign_payload(&minimal).unwrap(), NOW)
        .await
        .unwrap();
    assert!(ok.name.is_none() && ok.locale.is_none() && ok.azp.is_none() && ok.otp.is_none());
    assert!(ok.realm_display_name.is_none() && ok.client_name.is_none());
    assert!(ok.client_url.is_none());

    let mut header = Header::new(jsonwebtoken::Algorithm::PS256);
    header.kid = Some(rs.kid().to_string());
    let key =
        EncodingKey::from_rsa_pem(&std::fs::read(fixture("realm-rs256.pem")).unwrap()).unwrap();
    v.verify(&encode_with(header, &claims(), &key), NOW)
        .await
        .unwrap();
}

/// A realm may sign with an Ed25519 key (Keycloak's EdDSA).
#[tokio::test]
async fn happy_path_eddsa() {
    let ed = AssertionSigner::ephemeral(SigningAlgorithm::EdDsa).unwrap();
    let server = JwksServer::start(&ed.jwks()).await;
    let v = verifier(&server);
    let ok = v
        .verify(&ed.sign_payload(&claims()).unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!(ok.email, "jane@example.com");
}

#[tokio::test]
async fn refuses_alg_none() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": realm.kid(), "typ": "JWT"});
        for sig in ["", "c2ln"] {
            let jwt = format!("{}.{}.{sig}", b64(&header), b64(&claims()));
            assert_eq!(
                refusal(&v, &jwt).await,
                RequestRejection::AlgNotAllowed(alg.into())
            );
        }
    }
    assert_eq!(server.hits(), 0, "no key may be fetched for a refused alg");
}

#[tokio::test]
async fn refuses_hs256_signed_with_the_realm_public_key() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    let public_pem = std::fs::read(fixture("realm-rs256.pub.pem")).unwrap();
    let jwk_json = realm.jwks()["keys"][0].to_string();
    let n = crate::tokens::b64url_decode(realm.jwks()["keys"][0]["n"].as_str().unwrap()).unwrap();
    for (alg, secret) in [
        (jsonwebtoken::Algorithm::HS256, public_pem.as_slice()),
        (jsonwebtoken::Algorithm::HS256, jwk_json.as_bytes()),
        (jsonwebtoken::Algorithm::HS256, n.as_slice()),
        (jsonwebtoken::Algorithm::HS384, public_pem.as_slice()),
        (jsonwebtoken::Algorithm::HS512, public_pem.as_slice()),
    ] {
        let mut header = Header::new(alg);
        header.kid = Some(realm.kid().to_string());
        let jwt = encode_with(header, &claims(), &EncodingKey::from_secret(secret));
        let r = refusal(&v, &jwt).await;
        assert!(
            matches!(r, RequestRejection::AlgNotAllowed(ref a) if a.starts_with("HS")),
            "{r:?}"
        );
        assert_eq!(r.code(), "alg_not_allowed");
    }
    // Algorithms outside the allow-list, even asymmetric ones.
    let mut header = Header::new(jsonwebtoken::Algorithm::RS512);
    header.kid = Some(realm.kid().to_string());
    let key =
        EncodingKey::from_rsa_pem(&std::fs::read(fixture("realm-rs256.pem")).unwrap()).unwrap();
    assert_eq!(
        refusal(&v, &encode_with(header, &claims(), &key)).await,
        RequestRejection::AlgNotAllowed("RS512".into())
    );
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn refuses_an_alg_that_does_not_fit_the_key() {
    let rs = realm_rs256();
    let server = JwksServer::start(&rs.jwks()).await;
    let v = verifier(&server);
    // ES256 header naming the realm's RSA key.
    let es = realm_es256();
    let header = json!({"alg": "ES256", "kid": rs.kid(), "typ": "JWT"});
    let fake = es.sign_payload(&claims()).unwrap();
    let sig = fake.rsplit('.').next().unwrap();
    let jwt = format!("{}.{}.{sig}", b64(&header), b64(&claims()));
    assert!(matches!(
        refusal(&v, &jwt).await,
        RequestRejection::AlgNotAllowed(_)
    ));
    // PS256 against a JWK that says alg RS256.
    let mut header = Header::new(jsonwebtoken::Algorithm::PS256);
    header.kid = Some(rs.kid().to_string());
    let key =
        EncodingKey::from_rsa_pem(&std::fs::read(fixture("realm-rs256.pem")).unwrap()).unwrap();
    assert!(matches!(
        refusal(&v, &encode_with(header, &claims(), &key)).await,
        RequestRejection::AlgNotAllowed(_)
    ));
}

#[test]
fn a_token_may_be_16_kib_long_and_no_longer() {
    let of_length = |len: usize| format!("e30.e30.{}", "c".repeat(len - 8));
    assert!(split(&of_length(16 * 1024)).is_ok());
    let Err(refused) = split(&of_length(16 * 1024 + 1)) else {
        panic!("a token of 16 KiB + 1 was split");
    };
    assert!(
        refused.to_string().contains("longer than 16 KiB"),
        "{refused}"
    );
}

#[tokio::test]
async fn refuses_malformed_tokens() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    let good = realm.sign_payload(&claims()).unwrap();
    let header = json!({"alg": "RS256", "typ": "JWT"});
    for jwt in [
        String::new(),
        "abc".into(),
        "a.b".into(),
        format!("{good}.extra"),
        "!!!.e30.c2ln".into(),
        format!("{}.{}.c2ln", b64(&json!(["alg"])), b64(&claims())),
        format!("{}.{}.c2ln", b64(&header), b64(&claims())), // no kid
        format!(
            "{}.bm90IGpzb24.c2ln",
            b64(&json!({"alg":"RS256","kid":"k"}))
        ),
        format!(
            "{}.{}.c2ln",
            b64(&json!({"alg":"RS256","kid":"k","crit":["x"]})),
            b64(&claims())
        ),
        "x".repeat(20_000),
    ] {
        let r = refusal(&v, &jwt).await;
        assert_eq!(r.code(), "malformed", "{jwt:.60}: {r:?}");
    }
}

#[tokio::test]
async fn refuses_unknown_issuer_without_fetching() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    for iss in [
        "https://evil.example.com/realms/acme",
        "https://id.example.com/realms/acme/",
        "https://id.example.com/realms/other",
    ] {
        let jwt = realm
            .sign_payload(&with(claims(), "iss", json!(iss)))
            .unwrap();
        assert_eq!(
            refusal(&v, &jwt).await,
            RequestRejection::UnknownIssuer(iss.into())
        );
    }
    let jwt = realm.sign_payload(&without(claims(), "iss")).unwrap();
    assert_eq!(claim_of(&refusal(&v, &jwt).await), "iss");
    assert_eq!(server.hits(), 0);
}

fn forged(kid: &str) -> String {
    let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
    format!("{}.{}.c2ln", b64(&header), b64(&claims()))
}

#[tokio::test]
async fn an_oversized_kid_is_refused_and_never_echoed_whole() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    let r = refusal(&v, &forged(&"k".repeat(5000))).await;
    assert_eq!(r.code(), "malformed", "{r:?}");
    assert!(r.to_string().len() < 300, "log detail is bounded: {r}");
    assert_eq!(server.hits(), 0, "no fetch for a kid no realm can have");
    // 256 bytes is still a kid (looked up, and unknown); 257 is not.
    let r = refusal(&v, &forged(&"k".repeat(256))).await;
    assert_eq!(r.code(), "unknown_kid", "{r:?}");
    let r = refusal(&v, &forged(&"k".repeat(257))).await;
    assert!(r.to_string().contains("longer than 256 bytes"), "{r}");
    // No kid at all, or an empty one.
    for kid in [json!(""), json!(null), json!(7)] {
        let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
        let jwt = format!("{}.{}.c2ln", b64(&header), b64(&claims()));
        let r = refusal(&v, &jwt).await;
        assert!(r.to_string().contains("no kid"), "{kid}: {r}");
    }
}

#[tokio::test]
async fn unknown_kid_right_after_a_fetch_is_refused_without_fetching() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server); // default: one refetch per 10 s
    v.verify(&realm.sign_payload(&claims()).unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!(server.hits(), 1);
    for i in 0..5 {
        let kid = format!("rotated-{i}");
        assert_eq!(
            refusal(&v, &forged(&kid)).await,
            RequestRejection::UnknownKid(kid)
        );
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kids_share_one_fetch() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = Arc::new(verifier(&server));
    let misses: Vec<_> = (0..20)
        .map(|i| {
            let v = v.clone();
            let jwt = forged(&format!("rotated-{i}"));
            tokio::spawn(async move { v.verify(&jwt, NOW).await })
        })
        .collect();
    for m in misses {
        assert_eq!(m.await.unwrap().unwrap_err().code(), "unknown_kid");
    }
    assert_eq!(server.hits(), 1);
}

/// A verifier whose refetch interval and key-set age run on `clock`.
fn verifier_on(server: &JwksServer, clock: &Arc<ManualClock>) -> RequestVerifier {
    RequestVerifier::configured(
        &realm_settings(&server.url),
        "otp-sidecar",
        jwks::REFETCH_INTERVAL,
        clock.clone(),
    )
}

#[tokio::test]
async fn unknown_kid_refetches_again_once_the_interval_passed() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let v = verifier_on(&server, &clock);
    let interval = i64::try_from(jwks::REFETCH_INTERVAL.as_secs()).unwrap();
    assert_eq!(refusal(&v, &forged("k1")).await.code(), "unknown_kid");
    assert_eq!(server.hits(), 1);
    // A second before the interval ends: still no fetch.
    clock.advance(interval - 1);
    assert_eq!(refusal(&v, &forged("k2")).await.code(), "unknown_kid");
    assert_eq!(server.hits(), 1);
    clock.advance(1);
    assert_eq!(refusal(&v, &forged("k2")).await.code(), "unknown_kid");
    assert_eq!(refusal(&v, &forged("k3")).await.code(), "unknown_kid");
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_share_one_fetch() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = Arc::new(verifier(&server));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let v = v.clone();
            let jwt = realm
                .sign_payload(&with(claims(), "jti", json!(format!("jti-{i}"))))
                .unwrap();
            tokio::spawn(async move { v.verify(&jwt, NOW).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_rotated_realm_key_is_picked_up() {
    let old = realm_rs256();
    let new = realm_es256();
    let server = JwksServer::start(&old.jwks()).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let v = verifier_on(&server, &clock);
    v.verify(&old.sign_payload(&claims()).unwrap(), NOW)
        .await
        .unwrap();
    server.serve(&new.jwks());
    clock.advance(i64::try_from(jwks::REFETCH_INTERVAL.as_secs()).unwrap());
    v.verify(&new.sign_payload(&claims()).unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_key_set_is_fetched_again_once_it_is_older_than_max_age() {
    let old = realm_rs256();
    let server = JwksServer::start(&old.jwks()).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let v = verifier_on(&server, &clock);
    let max_age = i64::try_from(jwks::MAX_AGE.as_secs()).unwrap();
    let jwt = old.sign_payload(&claims()).unwrap();
    v.verify(&jwt, NOW).await.unwrap();
    clock.advance(max_age - 1);
    v.verify(&jwt, NOW).await.unwrap();
    assert_eq!(server.hits(), 1, "fresh: answered from the cache");
    // The realm withdrew the key: once the set is stale it is asked again,
    // and the withdrawn key is no longer trusted.
    server.serve(&realm_es256().jwks());
    clock.advance(1);
    assert_eq!(
        refusal(&v, &jwt).await,
        RequestRejection::UnknownKid(old.kid().to_string())
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn unreachable_jwks_is_reported_as_such() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let uri = Url::parse(&format!("http://{closed}/certs")).unwrap();
    let v = RequestVerifier::new(&realm_settings(&uri), "otp-sidecar");
    let jwt = realm_rs256().sign_payload(&claims()).unwrap();
    assert_eq!(refusal(&v, &jwt).await.code(), "jwks_unavailable");
}

/// A key set of up to 256 KiB is read whole (over several reads); one byte
/// more is refused, saying so.
#[tokio::test]
async fn a_key_set_may_be_256_kib_and_no_larger() {
    let realm = realm_rs256();
    let jwt = realm.sign_payload(&claims()).unwrap();
    let padded = |size: usize| {
        let mut jwks = keycloak_jwks(&realm);
        jwks["padding"] = json!("");
        let pad = size - jwks.to_string().len();
        jwks["padding"] = json!("x".repeat(pad));
        assert_eq!(jwks.to_string().len(), size);
        jwks
    };
    let limit = 256 * 1024;
    let server = JwksServer::start(&padded(limit)).await;
    verifier(&server).verify(&jwt, NOW).await.unwrap();
    let server = JwksServer::start(&padded(limit + 1)).await;
    match refusal(&verifier(&server), &jwt).await {
        RequestRejection::JwksUnavailable(message) => {
            assert!(
                message.contains("body larger than 262144 bytes"),
                "{message}"
            );
        }
        other => panic!("expected jwks_unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn refuses_a_bad_signature() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    // Signed by a key the realm does not publish, under the realm's kid.
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(realm.kid().to_string());
    let other =
        EncodingKey::from_rsa_pem(&std::fs::read(fixture("other-rs256.pem")).unwrap()).unwrap();
    assert_eq!(
        refusal(&v, &encode_with(header, &claims(), &other)).await,
        RequestRejection::BadSignature
    );
    // A genuine token whose payload was changed afterwards.
    let good = realm.sign_payload(&claims()).unwrap();
    let mut parts: Vec<&str> = good.split('.').collect();
    let evil = b64(&with(claims(), "email", json!("mallory@evil.com")));
    parts[1] = &evil;
    assert_eq!(
        refusal(&v, &parts.join(".")).await,
        RequestRejection::BadSignature
    );
    // Garbage signature bytes.
    let garbage = format!(
        "{}.{}.AAAA",
        good.split('.').next().unwrap(),
        b64(&claims())
    );
    assert_eq!(refusal(&v, &garbage).await, RequestRejection::BadSignature);
}

#[tokio::test]
async fn refuses_wrong_audience() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    for aud in [
        json!("someone-else"),
        json!(["a", "b"]),
        json!("OTP-SIDECAR"),
        json!([]),
    ] {
        let jwt = realm.sign_payload(&with(claims(), "aud", aud)).unwrap();
        assert_eq!(
            refusal(&v, &jwt).await,
            RequestRejection::WrongAudience("otp-sidecar".into())
        );
    }
    let jwt = realm
        .sign_payload(&with(claims(), "aud", json!(["other", "otp-sidecar"])))
        .unwrap();
    v.verify(&jwt, NOW).await.unwrap();
    let jwt = realm.sign_payload(&without(claims(), "aud")).unwrap();
    assert_eq!(claim_of(&refusal(&v, &jwt).await), "aud");
    let jwt = realm
        .sign_payload(&with(claims(), "aud", json!(7)))
        .unwrap();
    assert_eq!(claim_of(&refusal(&v, &jwt).await), "aud");
}

#[tokio::test]
async fn time_checks_with_sixty_seconds_leeway() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    let at = |iat: i64, exp: i64| {
        realm
            .sign_payload(&with(with(claims(), "iat", json!(iat)), "exp", json!(exp)))
            .unwrap()
    };
    assert_eq!(
        refusal(&v, &at(NOW - 300, NOW - 61)).await,
        RequestRejection::Expired
    );
    v.verify(&at(NOW - 200, NOW - 59), NOW).await.unwrap();
    assert_eq!(
        refusal(&v, &at(NOW + 61, NOW + 200)).await,
        RequestRejection::IssuedInFuture
    );
    v.verify(&at(NOW + 59, NOW + 200), NOW).await.unwrap();
    assert_eq!(
        refusal(&v, &at(NOW, NOW + 301)).await,
        RequestRejection::LifetimeTooLong
    );
    v.verify(&at(NOW, NOW + 300), NOW).await.unwrap();
    // Extreme values cannot wrap around into a short lifetime.
    for (iat, exp) in [
        (i64::MIN, NOW + 10 * 365 * 86_400),
        (i64::MIN + 1, i64::MAX),
        (i64::MIN, NOW + 100),
    ] {
        assert_eq!(
            refusal(&v, &at(iat, exp)).await,
            RequestRejection::LifetimeTooLong,
            "iat {iat}, exp {exp}"
        );
    }
    assert_eq!(claim_of(&refusal(&v, &at(NOW, NOW)).await), "exp");
    let not_yet = realm
        .sign_payload(&with(claims(), "nbf", json!(NOW + 61)))
        .unwrap();
    assert_eq!(claim_of(&refusal(&v, &not_yet).await), "nbf");
    let fine = realm
        .sign_payload(&with(claims(), "nbf", json!(NOW + 30)))
        .unwrap();
    v.verify(&fine, NOW).await.unwrap();
}

#[tokio::test]
async fn each_required_claim_missing_or_mistyped_is_named() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    for claim in ["sub", "email", "nonce", "jti", "return_uri", "iat", "exp"] {
        let jwt = realm.sign_payload(&without(claims(), claim)).unwrap();
        let r = refusal(&v, &jwt).await;
        assert_eq!(claim_of(&r), claim, "missing {claim}");
        assert!(r.to_string().contains("missing"), "{r}");
        let wrong = if matches!(claim, "iat" | "exp") {
            json!("1800000000")
        } else {
            json!(12345)
        };
        let jwt = realm.sign_payload(&with(claims(), claim, wrong)).unwrap();
        assert_eq!(
            claim_of(&refusal(&v, &jwt).await),
            claim,
            "mistyped {claim}"
        );
    }
    let float_exp = realm
        .sign_payload(&with(claims(), "exp", json!(1.8e9)))
        .unwrap();
    assert_eq!(claim_of(&refusal(&v, &float_exp).await), "exp");
}

#[tokio::test]
async fn claim_values_are_checked() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    let cases: Vec<(&str, Value)> = vec![
        ("email", json!("not-an-email")),
        ("email", json!("jane@")),
        ("email", json!("jane doe@example.com")),
        ("email", json!("jane@example.com\r\nBcc: x@evil.com")),
        ("email", json!("")),
        ("sub", json!("")),
        ("sub", json!("a\u{0}b")),
        ("nonce", json!("short")),
        ("nonce", json!("has spaces in it, sixteen+")),
        ("jti", json!("")),
        ("jti", json!("x".repeat(300))),
        ("name", json!(5)),
        ("name", json!("Jane\nDoe")),
        ("locale", json!("en;<script>")),
        ("locale", json!(1)),
        ("azp", json!(["app"])),
        ("realm_display_name", json!("x".repeat(201))),
        ("realm_display_name", json!("ACME\u{1b}[31m")),
        ("realm_display_name", json!("  ")),
        ("realm_display_name", json!(7)),
        ("client_name", json!("y".repeat(201))),
        ("client_name", json!("Pay\nroll")),
        ("client_name", json!({"en": "Payroll"})),
        ("client_url", json!("javascript:alert(1)")),
        ("client_url", json!("data:text/html,<script>x</script>")),
        ("client_url", json!("http://payroll.example.com/")),
        ("client_url", json!("https://user:pw@payroll.example.com/")),
        ("client_url", json!("https://user@payroll.example.com/")),
        ("client_url", json!("https://:pw@payroll.example.com/")),
        ("client_url", json!("/realms/acme/account/")),
        (
            "client_url",
            json!(format!("https://payroll.example.com/{}", "x".repeat(2048))),
        ),
        ("client_url", json!(5)),
        ("otp", json!("length=4")),
        ("otp", json!({"length": 6, "colour": "blue"})),
        ("otp", json!({"length": "six"})),
        ("otp", json!({"ttl": -1})),
    ];
    for (claim, value) in cases {
        let jwt = realm
            .sign_payload(&with(claims(), claim, value.clone()))
            .unwrap();
        assert_eq!(
            claim_of(&refusal(&v, &jwt).await),
            claim,
            "{claim} = {value}"
        );
    }
}

#[tokio::test]
async fn refuses_return_uri_attacks_through_verify() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    for uri in [
        "https://evil.com/realms/acme/login-actions/authenticate",
        "https://id.example.com.evil.com/realms/acme/login-actions/authenticate",
        "https://id.example.com@evil.com/realms/acme/login-actions/authenticate",
        "https://id.example.com:8443/realms/acme/login-actions/authenticate",
        "http://id.example.com/realms/acme/login-actions/authenticate",
        "https://id.example.com/realms/other/login-actions/authenticate",
        "https://id.example.com/realms/acme/login-actions/authenticate/../../other",
        "https://id.example.com/realms/other/%2e%2e/acme/login-actions/authenticate",
        "https://id.example.com/realms/acme/login-actions/authenticate/extra",
    ] {
        let jwt = realm
            .sign_payload(&with(claims(), "return_uri", json!(uri)))
            .unwrap();
        let r = refusal(&v, &jwt).await;
        assert_eq!(r.code(), "bad_return_uri", "{uri}: {r:?}");
    }
}

#[tokio::test]
async fn a_client_url_over_plain_http_is_taken_only_for_a_loopback_host() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    for url in ["http://127.0.0.1:8080/demo", "http://localhost:18090/"] {
        let jwt = realm
            .sign_payload(&with(claims(), "client_url", json!(url)))
            .unwrap();
        let ok = v.verify(&jwt, NOW).await.unwrap();
        assert_eq!(ok.client_url.as_deref(), Some(url));
    }
}

/// A text claim may be exactly as long as its bound (counted in characters,
/// not bytes); one more is refused, naming the claim.
#[tokio::test]
async fn text_claims_may_reach_their_bound_exactly() {
    let realm = realm_rs256();
    let server = JwksServer::start(&keycloak_jwks(&realm)).await;
    let v = verifier(&server);
    let at_bound = "é".repeat(256);
    let jwt = realm
        .sign_payload(&with(claims(), "name", json!(at_bound)))
        .unwrap();
    assert_eq!(
        v.verify(&jwt, NOW).await.unwrap().name.as_deref(),
        Some(at_bound.as_str())
    );
    let past = realm
        .sign_payload(&with(
            with(claims(), "jti", json!("past-the-bound")),
            "name",
            json!("é".repeat(257)),
        ))
        .unwrap();
    assert_eq!(claim_of(&refusal(&v, &past).await), "name");
    // Each bounded claim at its bounds, and a locale with both separators.
    let url_at_bound = format!("https://payroll.example.com/{}", "x".repeat(2048 - 28));
    assert_eq!(url_at_bound.len(), MAX_CLIENT_URL_LEN);
    for (claim, value) in [
        ("nonce", "n".repeat(16)),
        ("nonce", "n".repeat(256)),
        ("jti", "j".into()),
        ("jti", "j".repeat(256)),
        ("client_url", url_at_bound),
        ("locale", "zh_Hant-TW".into()),
    ] {
        let jwt = realm
            .sign_payload(&with(claims(), claim, json!(value)))
            .unwrap();
        let verified = v.verify(&jwt, NOW).await;
        assert!(verified.is_ok(), "{claim} = {value}: {verified:?}");
    }
}

/// The request that stays acceptable longest (issued the leeway ahead, with
/// the longest lifetime) is accepted from its first second through
/// `expired_from(exp) - 1`, which is `CREATED_MARK_SECS - 1` seconds later:
/// as long as the store remembers a created challenge id.
#[tokio::test]
async fn the_longest_acceptance_window_is_what_the_store_remembers() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    let iat = NOW + CLOCK_LEEWAY_SECS;
    let exp = iat + MAX_REQUEST_LIFETIME_SECS;
    let jwt = realm
        .sign_payload(&with(with(claims(), "iat", json!(iat)), "exp", json!(exp)))
        .unwrap();
    let at = |now: i64| v.verify(&jwt, now);
    assert_eq!(
        at(NOW - 1).await.unwrap_err(),
        RequestRejection::IssuedInFuture
    );
    at(NOW).await.unwrap();
    let last = NOW + crate::challenge::CREATED_MARK_SECS - 1;
    assert_eq!(last, expired_from(exp) - 1);
    at(last).await.unwrap();
    assert_eq!(at(last + 1).await.unwrap_err(), RequestRejection::Expired);
}

/// `nbf` may lie up to the clock leeway ahead, to the second.
#[tokio::test]
async fn nbf_may_lie_exactly_the_leeway_ahead() {
    let realm = realm_rs256();
    let server = JwksServer::start(&realm.jwks()).await;
    let v = verifier(&server);
    let at_leeway = realm
        .sign_payload(&with(claims(), "nbf", json!(NOW + CLOCK_LEEWAY_SECS)))
        .unwrap();
    v.verify(&at_leeway, NOW).await.unwrap();
}
