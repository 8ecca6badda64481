//! Verification of the request JWT Keycloak sends (docs/protocol.md section 2),
//! every check but jti-once, which the challenge store does atomically.
//!
//! The header is decoded here, before any key is chosen: `alg` must be on the
//! allow-list and must fit the key's type, so neither `none` nor an HMAC
//! "signed" with the realm's public key can get through.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::jwks::{self, KeyType, RealmKeys};
use super::{
    b64url_decode, Issuer, RealmSettings, RequestRejection, RequestedPolicy, ReturnUri,
    VerifiedRequest,
};
use crate::clock::{Clock, SystemClock};

/// Clock skew tolerated on `exp`, `iat` and `nbf` (seconds).
pub const CLOCK_LEEWAY_SECS: i64 = 60;
/// Longest `exp - iat` accepted (seconds).
pub const MAX_REQUEST_LIFETIME_SECS: i64 = 300;

/// The first second at which a request with this `exp` is refused as
/// expired: it is accepted up to `exp` plus the leeway, that second
/// included. Whatever remembers a request (its `jti`) keeps it until then.
pub const fn expired_from(exp: i64) -> i64 {
    exp.saturating_add(CLOCK_LEEWAY_SECS).saturating_add(1)
}
/// A request JWT is a few hundred bytes; refuse anything absurd before decoding.
const MAX_JWT_LEN: usize = 16 * 1024;
/// A `kid` is echoed into log lines (unknown kid, alg mismatch): bounded.
/// Keycloak's are 43 characters.
const MAX_KID_LEN: usize = 256;
/// Longest `realm_display_name` and `client_name` (characters).
pub const MAX_DISPLAY_NAME_LEN: usize = 200;
/// Longest `client_url` (bytes).
pub const MAX_CLIENT_URL_LEN: usize = 2048;

struct Realm {
    issuer: Issuer,
    keys: RealmKeys,
}

/// Verifies request JWTs from the configured realms; caches their keys by `kid`.
pub struct RequestVerifier {
    realms: HashMap<String, Realm>,
    audience: String,
}

impl std::fmt::Debug for RequestVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestVerifier")
            .field("realms", &self.realms.keys().collect::<Vec<_>>())
            .field("audience", &self.audience)
            .finish()
    }
}

impl RequestVerifier {
    pub fn new(realms: &[RealmSettings], audience: &str) -> Self {
        Self::with_clock(realms, audience, Arc::new(SystemClock))
    }

    /// As [`Self::new`], measuring the refetch interval and the key sets'
    /// age with `clock` (the service passes its own).
    pub fn with_clock(realms: &[RealmSettings], audience: &str, clock: Arc<dyn Clock>) -> Self {
        Self::configured(realms, audience, jwks::REFETCH_INTERVAL, clock)
    }

    /// As [`Self::new`], with another minimum time between two JWKS fetches of a realm.
    pub fn with_refetch_interval(
        realms: &[RealmSettings],
        audience: &str,
        refetch_interval: Duration,
    ) -> Self {
        Self::configured(realms, audience, refetch_interval, Arc::new(SystemClock))
    }

    pub(crate) fn configured(
        realms: &[RealmSettings],
        audience: &str,
        refetch_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let client = Arc::new(jwks::http_client());
        let realms = realms
            .iter()
            .map(|r| {
                let realm = Realm {
                    issuer: r.issuer.clone(),
                    keys: RealmKeys::new(
                        r.jwks_uri.clone(),
                        client.clone(),
                        refetch_interval,
                        clock.clone(),
                    ),
                };
                (r.issuer.as_str().to_string(), realm)
            })
            .collect();
        Self {
            realms,
            audience: audience.to_string(),
        }
    }

    /// Every check of docs/protocol.md section 2 but jti-once.
    pub async fn verify(
        &self,
        jwt: &str,
        now_unix: i64,
    ) -> Result<VerifiedRequest, RequestRejection> {
        let parts = split(jwt)?;
        let header = decode_json(parts.header, "header")?;
        let algorithm = allowed_alg(&header)?;
        if parts.signature.is_empty() {
            return Err(malformed("unsigned (empty signature)"));
        }
        if header.contains_key("crit") {
            return Err(malformed(
                "header carries crit extensions we do not implement",
            ));
        }
        let kid = match header.get("kid") {
            Some(Value::String(kid)) if kid.len() > MAX_KID_LEN => {
                return Err(malformed("header kid is longer than 256 bytes"))
            }
            Some(Value::String(kid)) if !kid.is_empty() => kid.as_str(),
            _ => return Err(malformed("header has no kid")),
        };
        // Unverified: only used to pick the realm whose key must verify it.
        let claims = decode_json(parts.payload, "payload")?;
        let iss = string_claim(&claims, "iss")?;
        let realm = self
            .realms
            .get(iss)
            .ok_or_else(|| RequestRejection::UnknownIssuer(truncate(iss)))?;

        let key = realm.keys.key(kid).await?;
        let (alg_name, fits) = match algorithm {
            Algorithm::RS256 => ("RS256", key.key_type == KeyType::Rsa),
            Algorithm::PS256 => ("PS256", key.key_type == KeyType::Rsa),
            Algorithm::ES256 => ("ES256", key.key_type == KeyType::EcP256),
            _ => ("EdDSA", key.key_type == KeyType::Ed25519),
        };
        let jwk_alg_ok = key.alg.as_deref().is_none_or(|a| a == alg_name);
        if !fits || !jwk_alg_ok {
            return Err(RequestRejection::AlgNotAllowed(format!(
                "{alg_name} with key {kid} ({}, alg {})",
                key.key_type.name(),
                key.alg.as_deref().unwrap_or("unset")
            )));
        }
        let verified = jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signing_input.as_bytes(),
            &key.key,
            algorithm,
        )
        .unwrap_or(false);
        if !verified {
            return Err(RequestRejection::BadSignature);
        }

        self.check_claims(&realm.issuer, &claims, now_unix)
    }

    fn check_claims(
        &self,
        issuer: &Issuer,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<VerifiedRequest, RequestRejection> {
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&self.audience)),
            None => return Err(invalid("aud", "missing")),
            Some(_) => return Err(invalid("aud", "must be a string or an array of strings")),
        };
        if !audience_ok {
            return Err(RequestRejection::WrongAudience(self.audience.clone()));
        }

        let exp = int_claim(claims, "exp")?;
        let iat = int_claim(claims, "iat")?;
        if now >= expired_from(exp) {
            return Err(RequestRejection::Expired);
        }
        if iat > now.saturating_add(CLOCK_LEEWAY_SECS) {
            return Err(RequestRejection::IssuedInFuture);
        }
        if claims.contains_key("nbf") {
            let nbf = int_claim(claims, "nbf")?;
            if nbf > now.saturating_add(CLOCK_LEEWAY_SECS) {
                return Err(invalid("nbf", "not yet valid"));
            }
        }
        if exp <= iat {
            return Err(invalid("exp", "must be after iat"));
        }
        // Checked: `iat = i64::MIN` must not wrap into a short lifetime.
        if exp
            .checked_sub(iat)
            .is_none_or(|lifetime| lifetime > MAX_REQUEST_LIFETIME_SECS)
        {
            return Err(RequestRejection::LifetimeTooLong);
        }

        let sub = text_claim(claims, "sub", 255)?;
        let email_raw = string_claim(claims, "email")?;
        let email = parse_email(email_raw)?;
        let nonce = token_claim(claims, "nonce", 16)?;
        let jti = token_claim(claims, "jti", 1)?;
        let return_uri = ReturnUri::for_issuer(issuer, string_claim(claims, "return_uri")?)?;
        let name = optional(claims, "name", |c| text_claim(c, "name", 256))?;
        let locale = optional(claims, "locale", locale_claim)?;
        let azp = optional(claims, "azp", |c| text_claim(c, "azp", 255))?;
        let realm_display_name = optional(claims, "realm_display_name", |c| {
            text_claim(c, "realm_display_name", MAX_DISPLAY_NAME_LEN)
        })?;
        let client_name = optional(claims, "client_name", |c| {
            text_claim(c, "client_name", MAX_DISPLAY_NAME_LEN)
        })?;
        let client_url = optional(claims, "client_url", client_url_claim)?;
        let otp = match claims.get("otp") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(
                serde_json::from_value::<RequestedPolicy>(v.clone())
                    .map_err(|e| invalid("otp", e.to_string()))?,
            ),
            Some(_) => return Err(invalid("otp", "must be an object")),
        };

        Ok(VerifiedRequest {
            issuer: issuer.clone(),
            sub,
            email,
            name,
            locale,
            azp,
            realm_display_name,
            client_name,
            client_url,
            nonce,
            return_uri,
            jti,
            exp,
            otp,
        })
    }
}

struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

fn split(jwt: &str) -> Result<Parts<'_>, RequestRejection> {
    if jwt.is_empty() || jwt.len() > MAX_JWT_LEN {
        return Err(malformed("empty or longer than 16 KiB"));
    }
    let mut it = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(malformed("expected three dot-separated parts"));
    };
    Ok(Parts {
        header,
        payload,
        signature,
        signing_input: &jwt[..header.len() + 1 + payload.len()],
    })
}

fn decode_json(part: &str, what: &str) -> Result<Map<String, Value>, RequestRejection> {
    let bytes = b64url_decode(part).map_err(|e| malformed(&format!("{what}: {e}")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed(&format!("{what} is not a JSON object"))),
        Err(e) => Err(malformed(&format!("{what} is not JSON ({e})"))),
    }
}

fn allowed_alg(header: &Map<String, Value>) -> Result<Algorithm, RequestRejection> {
    match header.get("alg") {
        Some(Value::String(alg)) => match alg.as_str() {
            "RS256" => Ok(Algorithm::RS256),
            "PS256" => Ok(Algorithm::PS256),
            "ES256" => Ok(Algorithm::ES256),
            "EdDSA" => Ok(Algorithm::EdDSA),
            other => Err(RequestRejection::AlgNotAllowed(truncate(other))),
        },
        Some(_) => Err(malformed("header alg is not a string")),
        None => Err(malformed("header has no alg")),
    }
}

fn malformed(why: &str) -> RequestRejection {
    RequestRejection::Malformed(why.to_string())
}

fn invalid(claim: &'static str, problem: impl Into<String>) -> RequestRejection {
    RequestRejection::InvalidClaim {
        claim,
        problem: problem.into(),
    }
}

/// Untrusted text echoed into a log line: bounded.
fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    claim: &'static str,
) -> Result<&'a str, RequestRejection> {
    match claims.get(claim) {
        Some(Value::String(s)) => Ok(s),
        None => Err(invalid(claim, "missing")),
        Some(_) => Err(invalid(claim, "must be a string")),
    }
}

fn int_claim(claims: &Map<String, Value>, claim: &'static str) -> Result<i64, RequestRejection> {
    match claims.get(claim) {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| invalid(claim, "must be an integer (unix seconds)")),
        None => Err(invalid(claim, "missing")),
        Some(_) => Err(invalid(claim, "must be an integer (unix seconds)")),
    }
}

/// Non-empty printable text without control characters, at most `max` characters.
fn text_claim(
    claims: &Map<String, Value>,
    claim: &'static str,
    max: usize,
) -> Result<String, RequestRejection> {
    let s = string_claim(claims, claim)?;
    if s.trim().is_empty() {
        return Err(invalid(claim, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(invalid(claim, format!("longer than {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(claim, "contains control characters"));
    }
    Ok(s.to_string())
}

/// The application's address (`client_url`), for the link on the finished
/// page: an absolute `https` URL (`http` only to a loopback host), without
/// user-info, at most [`MAX_CLIENT_URL_LEN`] bytes. Never a `javascript:` or
/// `data:` link, never credentials shown to the user.
fn client_url_claim(claims: &Map<String, Value>) -> Result<String, RequestRejection> {
    let s = string_claim(claims, "client_url")?;
    if s.len() > MAX_CLIENT_URL_LEN {
        return Err(invalid(
            "client_url",
            format!("longer than {MAX_CLIENT_URL_LEN} bytes"),
        ));
    }
    let url =
        url::Url::parse(s).map_err(|_| invalid("client_url", "must be an absolute http(s) URL"))?;
    let loopback = url.host_str().is_some_and(crate::net::is_loopback_host);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(invalid(
                "client_url",
                "must be https (http only to a loopback host)",
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("client_url", "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("client_url", "must not carry user-info"));
    }
    Ok(url.to_string())
}

/// Visible ASCII only, `min..=256` characters (nonce, jti).
fn token_claim(
    claims: &Map<String, Value>,
    claim: &'static str,
    min: usize,
) -> Result<String, RequestRejection> {
    let s = string_claim(claims, claim)?;
    if s.len() < min || s.len() > 256 {
        return Err(invalid(claim, format!("must be {min} to 256 characters")));
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(claim, "must be visible ASCII"));
    }
    Ok(s.to_string())
}

fn locale_claim(claims: &Map<String, Value>) -> Result<String, RequestRejection> {
    let s = string_claim(claims, "locale")?;
    let ok = !s.is_empty()
        && s.len() <= 35
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(invalid(
            "locale",
            "must be a language tag such as en or pt-BR",
        ));
    }
    Ok(s.to_string())
}

fn optional<T>(
    claims: &Map<String, Value>,
    claim: &'static str,
    parse: impl FnOnce(&Map<String, Value>) -> Result<T, RequestRejection>,
) -> Result<Option<T>, RequestRejection> {
    match claims.get(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => parse(claims).map(Some),
    }
}

/// The same parser the mailer uses, so an address that passes here can be
/// sent to (no quoted local part, no address literal, an IDNA domain).
fn parse_email(raw: &str) -> Result<String, RequestRejection> {
    crate::mail::Recipient::parse(raw)
        .map(|r| r.address().to_string())
        .map_err(|e| invalid("email", e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
