//! Request verification (realm JWKS) and assertion signing (our key, our JWKS).
mod assertion;
mod der;
mod jwks;
mod request;
mod return_uri;

pub use assertion::{thumbprint, AssertionSigner, KeyError, SigningAlgorithm};
pub use request::{expired_from, RequestVerifier, CLOCK_LEEWAY_SECS, MAX_REQUEST_LIFETIME_SECS};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

/// A realm whose request JWTs are accepted (`[[realms]]`).
#[derive(Debug, Clone)]
pub struct RealmSettings {
    pub issuer: Issuer,
    /// Default `{issuer}/protocol/openid-connect/certs`.
    pub jwks_uri: Url,
}

/// The sidecar's signing key and the audience of request JWTs (`[signing]`).
#[derive(Debug, Clone)]
pub struct SigningSettings {
    /// `None`: ephemeral key (loopback only).
    pub key_file: Option<PathBuf>,
    /// Previous public/private keys still published in the JWKS during rotation.
    pub previous_key_files: Vec<PathBuf>,
    pub algorithm: SigningAlgorithm,
    /// `aud` the request JWT must carry (default `otp-sidecar`).
    pub audience: String,
}

/// A realm issuer URL as configured, e.g. `https://id.example.com/realms/acme`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issuer(Url);

impl Issuer {
    /// Parses a configured realm issuer: http(s), a host, no user-info, query
    /// or fragment; a trailing slash is dropped so `iss` compares exactly.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(format!(
                "scheme must be https or http, found {}",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry user-info".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not carry a query or fragment".into());
        }
        if raw.contains('\\') || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain backslashes, whitespace or control characters".into());
        }
        let path = url.path().trim_end_matches('/').to_string();
        let raw_dots = raw.split(['/', '?', '#']).any(|s| s == "." || s == "..");
        if raw_dots || path.contains('%') {
            return Err("path must not contain dot segments or percent-escapes".into());
        }
        url.set_path(&path);
        Ok(Self(url))
    }

    /// Where Keycloak publishes the realm's keys: `{issuer}/protocol/openid-connect/certs`.
    pub fn default_jwks_uri(&self) -> Url {
        let mut url = self.0.clone();
        let path = format!(
            "{}/protocol/openid-connect/certs",
            url.path().trim_end_matches('/')
        );
        url.set_path(&path);
        url
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// A return target that passed the issuer check of docs/protocol.md section 2 (the `return_uri` row).
/// Only `tokens` can build one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnUri(String);

impl ReturnUri {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `otp` policy object a request may carry; clamped by the caller.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedPolicy {
    pub length: Option<u8>,
    pub ttl: Option<u64>,
    pub max_attempts: Option<u32>,
    pub resend_cooldown: Option<u64>,
    pub max_resends: Option<u32>,
}

/// A request JWT that passed every check but the jti-once (the store does that).
#[derive(Debug, Clone)]
pub struct VerifiedRequest {
    pub issuer: Issuer,
    pub sub: String,
    pub email: String,
    pub name: Option<String>,
    pub locale: Option<String>,
    pub azp: Option<String>,
    /// The realm's display name (`realm_display_name`), plain text.
    pub realm_display_name: Option<String>,
    /// The client's display name (`client_name`).
    pub client_name: Option<String>,
    /// The application's address (`client_url`), for the finished page's link.
    pub client_url: Option<String>,
    pub nonce: String,
    pub return_uri: ReturnUri,
    pub jti: String,
    /// Unix seconds.
    pub exp: i64,
    pub otp: Option<RequestedPolicy>,
}

/// Why a request JWT was refused; `code()` is the stable log/metric label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRejection {
    #[error("request is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("alg {0} is not allowed")]
    AlgNotAllowed(String),
    #[error("iss {0} is not a configured realm")]
    UnknownIssuer(String),
    #[error("no key with kid {0} in the realm JWKS")]
    UnknownKid(String),
    #[error("realm JWKS could not be fetched: {0}")]
    JwksUnavailable(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("aud does not contain {0}")]
    WrongAudience(String),
    #[error("request expired")]
    Expired,
    #[error("iat is in the future")]
    IssuedInFuture,
    #[error("lifetime exceeds 300 s")]
    LifetimeTooLong,
    #[error("claim {claim}: {problem}")]
    InvalidClaim {
        claim: &'static str,
        problem: String,
    },
    #[error("return_uri refused: {0}")]
    BadReturnUri(String),
    #[error("jti already used")]
    Replayed,
}

impl RequestRejection {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::AlgNotAllowed(_) => "alg_not_allowed",
            Self::UnknownIssuer(_) => "unknown_issuer",
            Self::UnknownKid(_) => "unknown_kid",
            Self::JwksUnavailable(_) => "jwks_unavailable",
            Self::BadSignature => "bad_signature",
            Self::WrongAudience(_) => "wrong_audience",
            Self::Expired => "expired",
            Self::IssuedInFuture => "iat_in_future",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::InvalidClaim { .. } => "invalid_claim",
            Self::BadReturnUri(_) => "bad_return_uri",
            Self::Replayed => "replayed",
        }
    }
}

/// `result` of an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssertionResult {
    Success,
    Cancelled,
    Locked,
    Expired,
}

impl AssertionResult {
    /// The claim's value: `success`, `cancelled`, `locked` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Cancelled => "cancelled",
            Self::Locked => "locked",
            Self::Expired => "expired",
        }
    }
}

/// Claims of the assertion JWT (docs/protocol.md section 4).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub nonce: String,
    pub req_jti: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub result: AssertionResult,
    /// RFC 8176 methods; only a `success` says a code was used (`["otp"]`),
    /// any other result carries none and the claim is left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    pub otp_channel: String,
}

/// base64url without padding, as JOSE uses it; padding or other alphabets are refused.
pub(crate) fn b64url_decode(s: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| format!("not base64url ({e})"))
}

pub(crate) fn b64url_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Issuer;

    /// What the URL parser would quietly mend (a backslash made a slash, a
    /// trailing space or tab dropped) is refused as written, so the issuer
    /// compared with each token's `iss` is the one configured.
    #[test]
    fn an_issuer_the_url_parser_would_mend_is_refused() {
        let good = "https://id.example.com/realms/acme";
        assert_eq!(Issuer::parse(good).unwrap().as_str(), good);
        for bad in [
            "https://id.example.com\\realms\\acme",
            "https://id.example.com/realms/acme ",
            "https://id.example.com/realms/acme\t",
            " https://id.example.com/realms/acme",
        ] {
            let err = Issuer::parse(bad).unwrap_err();
            assert!(
                err.contains("backslashes, whitespace or control"),
                "{bad:?}: {err}"
            );
        }
    }
}
