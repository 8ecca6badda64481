//! Challenges: code generation, the MAC we store instead of the code, and the
//! [`Store`] that enforces TTL, attempt caps, resend rules and one use.
//!
//! SEAM (owned by the challenge work): the types and trait below are what
//! routes use; extend, do not rename. Both stores (memory, Redis) must pass
//! the same behavioural suite.
use serde::{Deserialize, Serialize};

/// 128-bit random id, base64url without padding. Parsed, never trusted raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChallengeId(String);

impl ChallengeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `HMAC-SHA256(pepper, challenge_id || code)`.
pub type CodeMac = [u8; 32];

/// Effective policy of one challenge, after clamping the request's `otp` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub length: u8,
    pub ttl_secs: u64,
    pub max_attempts: u32,
    pub resend_cooldown_secs: u64,
    pub max_resends: u32,
}

/// Everything a challenge remembers (never the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRecord {
    pub id: ChallengeId,
    pub subject: String,
    pub email: String,
    pub name: Option<String>,
    pub locale: Option<String>,
    /// Realm issuer of the request: the assertion's `aud`.
    pub realm: String,
    pub azp: Option<String>,
    pub nonce: String,
    pub request_jti: String,
    /// A `ReturnUri` that passed the issuer check when the challenge was made.
    pub return_uri: String,
    /// Per-challenge CSRF token for the browser forms.
    pub csrf_token: String,
    pub policy: Policy,
    pub attempts: u32,
    pub resends: u32,
    /// Unix seconds.
    pub created_at: i64,
    pub last_sent_at: i64,
    /// Unix seconds after which the code no longer verifies.
    pub expires_at: i64,
}

/// What a verification did. Records come back so the caller can build the assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// MAC matched; the challenge is gone (one use).
    Success(Box<ChallengeRecord>),
    /// Wrong code; the challenge stays.
    Invalid { attempts_left: u32 },
    /// Attempt cap reached; the challenge is gone.
    Locked(Box<ChallengeRecord>),
    /// Past `expires_at` (record still known), or unknown (`None`).
    Expired(Option<Box<ChallengeRecord>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResendOutcome {
    /// New MAC stored, `resends` + 1, `last_sent_at` = now; attempts unchanged.
    Resent(Box<ChallengeRecord>),
    Cooldown {
        retry_after_secs: u64,
    },
    Exhausted,
    Expired,
}

/// Result of claiming a request's `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JtiClaim {
    /// First use; bound to this challenge.
    Fresh,
    /// Seen before; bound to that challenge (a browser back/refresh re-POST).
    Seen(ChallengeId),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store returned unexpected data: {0}")]
    Corrupt(String),
}

/// Challenge storage. Every method that changes state is atomic.
/// `now` is passed in (unix seconds) so tests control time.
#[allow(async_fn_in_trait)]
pub trait Store: Send + Sync {
    /// `SET NX` of the request jti, bound to `challenge`, until `expires_at`.
    async fn claim_jti(
        &self,
        jti: &str,
        challenge: &ChallengeId,
        expires_at: i64,
        now: i64,
    ) -> Result<JtiClaim, StoreError>;
    /// Store a new challenge with its first code's MAC; kept until `expires_at` plus a grace period.
    async fn create(
        &self,
        record: &ChallengeRecord,
        mac: &CodeMac,
        now: i64,
    ) -> Result<(), StoreError>;
    async fn get(&self, id: &ChallengeId, now: i64) -> Result<Option<ChallengeRecord>, StoreError>;
    /// One atomic step (Lua on Redis): expired? attempts+1 > max? constant-time MAC compare.
    async fn verify(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        now: i64,
    ) -> Result<VerifyOutcome, StoreError>;
    /// Atomic cooldown/max check, then swap in the new MAC.
    async fn resend(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        now: i64,
    ) -> Result<ResendOutcome, StoreError>;
    /// Delete and return (cancel).
    async fn take(&self, id: &ChallengeId, now: i64)
        -> Result<Option<ChallengeRecord>, StoreError>;
    /// Readiness probe.
    async fn ping(&self) -> Result<(), StoreError>;
}
