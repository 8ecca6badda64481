//! A realm's public keys, fetched from its JWKS over HTTP and cached by `kid`.
//!
//! An unknown `kid` (Keycloak rotated its key) triggers a refetch, at most one
//! per realm per [`REFETCH_INTERVAL`]; concurrent misses wait for the same
//! fetch instead of each starting one. A cached set older than [`MAX_AGE`] is
//! refreshed on its next use so a key the realm withdrew stops being trusted.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use tokio::sync::{Mutex, RwLock};
use url::Url;

use super::RequestRejection;
use crate::clock::Clock;

/// At most one refetch per realm in this interval.
pub(crate) const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// A fetched key set is trusted this long before it is fetched again.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Keycloak's JWKS is a few KiB; anything far larger is not a key set.
const MAX_BODY: usize = 256 * 1024;
/// Smallest RSA modulus accepted from a realm (bytes).
const MIN_RSA_MODULUS: usize = 256;

/// The key types the allow-listed algorithms use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    Rsa,
    EcP256,
    Ed25519,
}

impl KeyType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::EcP256 => "EC P-256",
            Self::Ed25519 => "OKP Ed25519",
        }
    }
}

pub(crate) struct RealmKey {
    pub(crate) key_type: KeyType,
    /// The JWK's own `alg`, when it names one.
    pub(crate) alg: Option<String>,
    pub(crate) key: DecodingKey,
}

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<RealmKey>>,
    fetched_at: Option<Instant>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

pub(crate) struct RealmKeys {
    jwks_uri: Url,
    client: Arc<Result<reqwest::Client, String>>,
    refetch_interval: Duration,
    /// Measures the refetch interval and the key set's age.
    clock: Arc<dyn Clock>,
    set: RwLock<KeySet>,
    fetch: Mutex<FetchState>,
}

/// One HTTP client for every realm: rustls (ring) with the platform's roots.
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    // reqwest is built without a bundled crypto provider; ignore "already installed".
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("otp-sidecar/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

impl RealmKeys {
    pub(crate) fn new(
        jwks_uri: Url,
        client: Arc<Result<reqwest::Client, String>>,
        refetch_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            jwks_uri,
            client,
            refetch_interval,
            clock,
            set: RwLock::new(KeySet::default()),
            fetch: Mutex::new(FetchState::default()),
        }
    }

    /// The key with this `kid`, fetching the JWKS when it is unknown or stale.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<RealmKey>, RequestRejection> {
        if let Some(key) = self.cached(kid, true).await {
            return Ok(key);
        }
        let mut state = self.fetch.lock().await;
        // Another request may have fetched while we waited for the lock.
        if let Some(key) = self.cached(kid, true).await {
            return Ok(key);
        }
        let now = self.clock.instant();
        let rate_limited = state
            .last_attempt
            .is_some_and(|at| now.saturating_duration_since(at) < self.refetch_interval);
        if rate_limited {
            if let Some(key) = self.cached(kid, false).await {
                return Ok(key);
            }
            return Err(match &state.last_error {
                Some(e) => RequestRejection::JwksUnavailable(e.clone()),
                None => RequestRejection::UnknownKid(kid.to_string()),
            });
        }
        state.last_attempt = Some(now);
        match self.fetch_keys().await {
            Ok(keys) => {
                state.last_error = None;
                let mut set = self.set.write().await;
                set.keys = keys;
                set.fetched_at = Some(self.clock.instant());
                set.keys
                    .get(kid)
                    .cloned()
                    .ok_or_else(|| RequestRejection::UnknownKid(kid.to_string()))
            }
            Err(e) => {
                tracing::warn!(jwks_uri = %self.jwks_uri, error = %e, "realm JWKS fetch failed");
                state.last_error = Some(e.clone());
                // A stale key keeps logins working while the realm is briefly unreachable.
                match self.cached(kid, false).await {
                    Some(key) => Ok(key),
                    None => Err(RequestRejection::JwksUnavailable(e)),
                }
            }
        }
    }

    async fn cached(&self, kid: &str, fresh_only: bool) -> Option<Arc<RealmKey>> {
        let set = self.set.read().await;
        let now = self.clock.instant();
        let fresh = set
            .fetched_at
            .is_some_and(|at| now.saturating_duration_since(at) < MAX_AGE);
        if fresh_only && !fresh {
            return None;
        }
        set.keys.get(kid).cloned()
    }

    async fn fetch_keys(&self) -> Result<HashMap<String, Arc<RealmKey>>, String> {
        let client = self.client.as_ref().as_ref().map_err(Clone::clone)?;
        let mut response = client
            .get(self.jwks_uri.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", self.jwks_uri))?;
        if !response.status().is_success() {
            return Err(format!("GET {}: HTTP {}", self.jwks_uri, response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {}: {e}", self.jwks_uri))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!(
                    "GET {}: body larger than {MAX_BODY} bytes",
                    self.jwks_uri
                ));
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body).map_err(|e| format!("{}: {e}", self.jwks_uri))
    }
}

/// Signing keys of a JWKS document by `kid`; keys for other uses or of other
/// types (e.g. Keycloak's `RSA-OAEP` encryption key) are skipped.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<RealmKey>>, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    let keys = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("no \"keys\" array")?;
    let mut out = HashMap::new();
    for jwk in keys {
        let Some(kid) = jwk.get("kid").and_then(|k| k.as_str()) else {
            continue;
        };
        if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
            continue;
        }
        match parse_jwk(jwk) {
            Ok(Some(key)) => {
                out.insert(kid.to_string(), Arc::new(key));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(kid, error = %e, "skipping unusable realm key"),
        }
    }
    Ok(out)
}

fn parse_jwk(jwk: &serde_json::Value) -> Result<Option<RealmKey>, String> {
    let field = |name: &str| jwk.get(name).and_then(|v| v.as_str());
    let alg = field("alg").map(str::to_string);
    let (key_type, key) = match (field("kty"), field("crv")) {
        (Some("RSA"), _) => {
            let (Some(n), Some(e)) = (field("n"), field("e")) else {
                return Err("RSA key without n or e".into());
            };
            let modulus = super::b64url_decode(n).map_err(|e| format!("n: {e}"))?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_MODULUS {
                return Err(format!(
                    "RSA modulus of {} bits is too small",
                    significant * 8
                ));
            }
            let key = DecodingKey::from_rsa_components(n, e).map_err(|e| e.to_string())?;
            (KeyType::Rsa, key)
        }
        (Some("EC"), Some("P-256")) => {
            let (Some(x), Some(y)) = (field("x"), field("y")) else {
                return Err("EC key without x or y".into());
            };
            for (name, v) in [("x", x), ("y", y)] {
                let len = super::b64url_decode(v)
                    .map_err(|e| format!("{name}: {e}"))?
                    .len();
                if len != 32 {
                    return Err(format!("P-256 {name} must be 32 bytes, found {len}"));
                }
            }
            let key = DecodingKey::from_ec_components(x, y).map_err(|e| e.to_string())?;
            (KeyType::EcP256, key)
        }
        (Some("OKP"), Some("Ed25519")) => {
            let Some(x) = field("x") else {
                return Err("OKP key without x".into());
            };
            let len = super::b64url_decode(x)
                .map_err(|e| format!("x: {e}"))?
                .len();
            if len != 32 {
                return Err(format!("Ed25519 x must be 32 bytes, found {len}"));
            }
            let key = DecodingKey::from_ed_components(x).map_err(|e| e.to_string())?;
            (KeyType::Ed25519, key)
        }
        _ => return Ok(None),
    };
    Ok(Some(RealmKey { key_type, alg, key }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn okp(kid: &str, x_len: usize) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "alg": "EdDSA",
            "x": super::super::b64url_encode(&vec![7u8; x_len]),
        })
    }

    fn rsa(kid: &str, modulus_bytes: usize) -> serde_json::Value {
        let mut n = vec![0xc5u8; modulus_bytes];
        n.insert(0, 0); // a leading zero does not count
        serde_json::json!({
            "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": super::super::b64url_encode(&n), "e": "AQAB",
        })
    }

    /// A realm RSA key needs a modulus of 2048 bits or more; a smaller one
    /// is skipped, never used to verify a request.
    #[test]
    fn rsa_keys_below_2048_bits_are_skipped() {
        let body =
            serde_json::json!({ "keys": [rsa("big", 256), rsa("small", 255), rsa("tiny", 128)] });
        let keys = parse_jwks(body.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["big"]);
    }

    /// An Ed25519 key is a 32-byte point: that one is kept, a shorter or
    /// longer one skipped, the rest of the set still read.
    #[test]
    fn ed25519_keys_are_kept_only_at_32_bytes() {
        let body =
            serde_json::json!({ "keys": [okp("ok", 32), okp("short", 31), okp("long", 33)] });
        let keys = parse_jwks(body.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["ok"]);
        assert_eq!(keys["ok"].key_type.name(), "OKP Ed25519");
    }
}
