//! Challenges: code generation, the MAC we store instead of the code, and the
//! [`Store`] that enforces TTL, attempt caps, resend rules and one use.
//!
//! Every store (memory, Redis, Redis Cluster) must pass the same behavioural
//! suite (`tests.rs`).
//!
//! # Semantics every store implements
//!
//! * Time is the `now` argument (unix seconds); stores never read a clock for
//!   decisions. A challenge is *expired* when `now > expires_at`.
//! * A challenge is kept until `expires_at + `[`EXPIRED_GRACE_SECS`] so that a
//!   late submission still gets [`VerifyOutcome::Expired`]`(Some(record))` and the
//!   caller can send the `expired` assertion back to the realm. After that it
//!   is gone: `Expired(None)`. Redis additionally sets the key's TTL to that
//!   moment, so nothing outlives it.
//! * [`Store::get`] and [`Store::take`] return the record while it is kept,
//!   expired or not; check [`ChallengeRecord::is_expired`].
//! * [`Store::check_code`], in one atomic step:
//!   1. unknown (or past the grace period) -> `Expired(None)`;
//!   0. locked before (its mark says so, see below) -> `Locked(None)`;
//!   1. unknown (or past the grace period) -> `Expired(None)`;
//!   2. `now > expires_at` -> delete, `Expired(Some(record))`;
//!   3. `attempts + 1 > max_attempts` -> delete (marked locked),
//!      `Locked(Some(record))`;
//!   4. constant-time MAC compare; equal -> delete, `Success(record)`;
//!   5. otherwise `attempts += 1`, `Invalid { attempts_left: max - attempts }`.
//!
//!   So with `max_attempts = 5` exactly five wrong codes are evaluated (the
//!   fifth answers `Invalid { attempts_left: 0 }`), and the sixth submission,
//!   right or wrong, is `Locked`. A caller that wants to end the flow at
//!   `attempts_left == 0` can [`Store::lock`] the record and answer `locked`.
//! * A challenge that ends (used, cancelled, locked) leaves a mark of its id
//!   until [`CREATED_MARK_SECS`] after its creation (see [`Store::create`]).
//!   The mark of a locked one (by step 3 or [`Store::lock`]) says so: until
//!   it lapses, [`Store::check_code`] answers `Locked(None)` and
//!   [`Store::was_locked`] true, whatever the code; used and cancelled ones
//!   answer `Expired(None)` like unknown ids.
//! * [`Store::resend`]: unknown or expired -> `Expired` (the record is kept
//!   for the `expired` assertion); `resends >= max_resends` -> `Exhausted`;
//!   `now < last_sent_at + cooldown` -> `Cooldown { retry_after_secs }`;
//!   otherwise the new MAC replaces the old one (the old code stops working),
//!   `resends += 1`, `last_sent_at = now`. `attempts` and `expires_at` are
//!   unchanged: a resend neither resets the failed-attempt count nor extends
//!   the challenge past the realm's own login timeout.
//! * [`Store::rebind`]: Keycloak re-rendering its step page (a reload) sends
//!   a new request (new `jti`, new `return_uri`) for the same login (same
//!   realm, subject and nonce). In one atomic step: unknown, expired
//!   (`now > expires_at`), or realm, subject or nonce different (the nonce
//!   compared in constant time) -> `None`, nothing changes; otherwise
//!   `return_uri` and `request_jti` are replaced and the updated record is
//!   returned. Attempts, resends, expiry, CSRF token and the code's MAC are
//!   unchanged: the mailed code keeps working and no new mail is due.
//! * [`Store::claim_jti`] binds a request `jti` of a user (realm and subject,
//!   both in the signed request) to a challenge until the given `expires_at`
//!   (at least one second); a second claim of that user's jti is
//!   `Seen(first id)`.
//!
//! # Per-user budget
//!
//! The attempt cap above is per challenge; a user (a [`UserKey`]: a digest of
//! realm issuer and subject, so no user id appears in key names) also has a
//! budget across all of their challenges, counted in a window:
//!
//! * [`Store::charge_user`]`(user, kind, window_secs, now)` atomically adds one
//!   to the `kind` counter ([`UserCharge::Failure`] or
//!   [`UserCharge::Challenge`]) and returns the new count. The window opens at
//!   the first charge (`until = now + window_secs`) and both counters restart
//!   at zero on the first charge with `now >= until`.
//! * [`Store::refund_user`]`(user, kind, now)` takes one back (never below
//!   zero; nothing happens once the window has closed), for a caller that
//!   charged ahead of an outcome that did not happen.
//! * [`Store::user_usage`]`(user, now)`: both counters, zero once `now >= until`.
//!
//! The policy (how many, how long) belongs to the caller; stores only count.
//!
//! # Codes and secrets (`code.rs`)
//!
//! [`Code::generate`] draws digits from the OS CSPRNG by byte rejection
//! sampling (bytes >= 250 are redrawn), length clamped to 4..=10;
//! [`Code::parse`] drops white space and dashes and refuses anything but
//! ASCII digits of the exact length. Only [`mac`] (`HMAC-SHA256(pepper, id ||
//! code)`) is stored; [`Pepper`] needs >= 32 bytes. Neither `Code` nor
//! `Pepper` prints its secret in `Debug`.
//!
//! [`MemoryStore`] keeps everything under one mutex and purges entries past
//! their grace period when `create` runs (at most every 30 s of `now`, and
//! whenever it is full). It holds at most [`MEMORY_STORE_CAPACITY`]
//! challenges; `create` then answers [`StoreError::Unavailable`].
//!
//! # Redis layout (cluster-safe: every script touches exactly one key)
//!
//! Compact by design (docs/operations.md, "Redis"): one-letter field names,
//! numbers stored as integers, nothing stored that can be recomputed (the
//! id is in the key name, the CSRF token is [`csrf_token`]`(pepper, id)`),
//! and no value longer than 64 bytes, Redis's default
//! `hash-max-listpack-value`, so every hash stays a listpack.
//!
//! * `{ch:<id>}`: a hash with the [`ChallengeRecord`] (absent optional
//!   fields are absent hash fields) plus `m`, the MAC (32 raw bytes); field
//!   by field in [`redis_layout`]. TTL = `expires_at + EXPIRED_GRACE_SECS -
//!   now`, at least [`CREATED_MARK_SECS`]. It is also the mark that the id
//!   was created: a challenge that is used, locked or cancelled before
//!   [`CREATED_MARK_SECS`] have passed since its creation leaves the key
//!   behind with nothing but its creation time until then: in `t`, or in
//!   `k` when it was locked (the same size: the mark of a locked challenge
//!   costs nothing more).
//! * `{ch:u:<UserKey>}`: the user's budget (`u` window end, `f` failures,
//!   `c` challenges), changed only by `user_charge.lua` (charge and refund),
//!   and the request `jti`s claimed for the user's logins, one field each
//!   (its digest, [`redis_layout::jti_field`]) holding `"<expires_at>
//!   <challenge id>"`, written by `claim_jti.lua` unless a claim that is live
//!   at `now` exists; lapsed claims are dropped when the next one is written.
//!   TTL: the later of the window end and the last claim's expiry.
//! * `{ch:r:<RateKey>}`: a send-limit counter (`u` window end, `m` mails).
//! * Scripts (`check_code.lua`, `resend.lua`, ...) run by `EVALSHA`, loaded on
//!   `NOSCRIPT`. The MAC compare inside `check_code.lua` XORs all 32 bytes without
//!   an early exit.
//! * [`AnyStore::connect`]: no URL -> memory; `redis://` or `rediss://` -> one
//!   server through a reconnecting `redis::aio::ConnectionManager` (2 s
//!   connect and response timeouts; a command during an outage fails fast and
//!   starts a reconnect); `redis+cluster://[user:pass@]host1:port1,host2:port2`
//!   (or `rediss+cluster://`) -> Redis Cluster, the listed nodes being seeds;
//!   `redis+sentinel://host1:port1,host2:port2/master` -> the master those
//!   sentinels name, asked again after a failover ([`SentinelConnection`]).
//! * With `min_replicas_ack` > 0 the consuming writes (`check_code.lua`,
//!   `claim_jti.lua`) are followed by `WAIT n 1000` on the same node and fail
//!   as unavailable unless `n` replicas acknowledged them, so a promoted
//!   replica cannot accept a consumed code again.
//!   `rediss` is verified against the system trust store, or only against a
//!   given CA with [`AnyStore::connect_with_ca`].
//! * [`Store::create`] creates an id once: a kept challenge, or the mark a
//!   created one leaves for [`CREATED_MARK_SECS`], makes it fail with
//!   [`StoreError::AlreadyCreated`] instead of overwriting or re-creating.
use std::future::Future;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

mod any;
mod code;
mod memory;
mod redis;
mod redis_url;
mod seal;
mod sentinel;
#[cfg(test)]
mod tests;
mod thread_conn;

pub use self::any::{default_min_replicas_ack, AnyStore, StoreOptions};
pub use self::code::{
    csrf_token, csrf_token_matches, mac, mac_eq, ChallengeIdError, Code, CodeError, Pepper,
    PepperError, CHALLENGE_ID_LEN, CODE_ALPHABET, MAX_CODE_LENGTH, MIN_CODE_LENGTH, MIN_PEPPER_LEN,
};
pub use self::memory::{MemoryStore, MEMORY_STORE_CAPACITY};
pub use self::redis::{
    layout as redis_layout, ClusterStore, RedisStore, SentinelStore, REPLICA_ACK_TIMEOUT,
};
pub use self::redis_url::{RedisUrl, SentinelSpec};
pub use self::seal::{seal_code, unseal_code};
pub use self::sentinel::SentinelConnection;

/// The Redis ACL rules the store needs and nothing more (single server),
/// e.g. `ACL SETUSER otp on >password ` followed by these. Keep
/// `maxmemory-policy noeviction` on that Redis: an evicted challenge would
/// look unknown.
pub const REDIS_ACL: &str = "resetkeys ~{ch:* resetchannels -@all +ping +hgetall +evalsha \
    +eval +script|load +hget +hmget +hset +hdel +hincrby +exists +del +expire +ttl +wait +role";

/// Counters of failed store operations (the `store_errors_total` metric);
/// clones share the counts. The default counts into counters no one reads.
#[derive(Debug, Clone, Default)]
pub struct StoreCounters {
    /// Operations that failed because Redis could not be reached or answered
    /// too late (an outage, a failover in progress), or whose replicas did
    /// not acknowledge them.
    pub unavailable: prometheus_client::metrics::counter::Counter,
    /// Of those, consuming writes that too few replicas acknowledged in time.
    pub unacknowledged: prometheus_client::metrics::counter::Counter,
}

/// How long past `expires_at` a challenge is still kept, so a late submission
/// still yields the `expired` assertion (15 minutes).
pub const EXPIRED_GRACE_SECS: i64 = 900;

/// 128-bit random id, base64url without padding. Parsed, never trusted raw:
/// [`ChallengeId::parse`] (also used when deserializing) is the only way in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChallengeId(String);

impl From<ChallengeId> for String {
    fn from(id: ChallengeId) -> String {
        id.0
    }
}

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
    /// The realm's display name from the request (`realm_display_name`).
    pub realm_name: Option<String>,
    /// The client's display name from the request (`client_name`).
    pub client_name: Option<String>,
    /// The application's address from the request (`client_url`).
    pub client_url: Option<String>,
    pub nonce: String,
    pub request_jti: String,
    /// A `ReturnUri` that passed the issuer check when the challenge was made.
    pub return_uri: String,
    pub policy: Policy,
    pub attempts: u32,
    pub resends: u32,
    /// Unix seconds.
    pub created_at: i64,
    pub last_sent_at: i64,
    /// Unix seconds after which the code no longer verifies.
    pub expires_at: i64,
    /// Where the mail with the current code stands.
    pub delivery: DeliveryState,
    /// Which code this is: 0 for the first, one more for each new code.
    /// A delivery step names it, so a late step for an old code changes nothing.
    pub generation: u32,
    /// Unix seconds until which a process holds the current code's delivery;
    /// after it, any process may take the delivery over ([`DeliveryStep::Claim`]).
    pub lease_until: i64,
    /// The current code, sealed with a key derived from the pepper
    /// ([`seal_code`]), so that another process can deliver the same code.
    pub sealed_code: String,
}

/// Where the mail with a challenge's current code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Being delivered (or waiting for the next attempt).
    Sending,
    /// The mail server accepted the mail.
    Sent,
    /// Delivery failed for good; the next code is free.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }
}

/// One step of a code mail's delivery, for [`Store::delivery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStep {
    /// Take over a delivery whose lease ran out (its process died):
    /// applies when the state is `Sending`, `lease_until < now` and the code
    /// has not expired; sets `lease_until`.
    Claim { lease_until: i64 },
    /// Hold the lease for another attempt: applies when the state is
    /// `Sending` for `generation`.
    Extend { generation: u32, lease_until: i64 },
    /// The outcome (`Sent` or `Failed`): applies when the state is `Sending`
    /// for `generation`.
    Finish {
        generation: u32,
        state: DeliveryState,
    },
}

/// A send-limit counter: one recipient address, or all mail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateKey(String);

impl RateKey {
    /// The limit of one (normalised) recipient address; the key holds only
    /// a digest of it.
    pub fn recipient(normalised: &str) -> RateKey {
        RateKey(digest(&[normalised.as_bytes()]))
    }

    /// The limit of all mail this deployment sends (never a digest: those
    /// are [`DIGEST_LEN`] characters long).
    pub fn global() -> RateKey {
        RateKey("global".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A send-limit counter after a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCount {
    pub count: u32,
    /// Unix seconds when the window closes and the count starts again.
    pub resets_at: i64,
}

/// Who a new challenge is for and where the browser returns: what the
/// verified request gives to [`ChallengeRecord::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChallenge {
    pub subject: String,
    pub email: String,
    pub name: Option<String>,
    pub locale: Option<String>,
    /// Realm issuer of the request.
    pub realm: String,
    pub azp: Option<String>,
    /// Display names from the request, shown on the pages and in the mail.
    pub realm_name: Option<String>,
    pub client_name: Option<String>,
    /// The application's address from the request, for the finished page.
    pub client_url: Option<String>,
    pub nonce: String,
    pub request_jti: String,
    /// A `ReturnUri` that passed the issuer check.
    pub return_uri: String,
}

impl ChallengeRecord {
    /// A fresh challenge made at `now`: no attempt or resend yet, expiring
    /// `policy.ttl_secs` later.
    pub fn new(id: ChallengeId, new: NewChallenge, policy: Policy, now: i64) -> ChallengeRecord {
        let NewChallenge {
            subject,
            email,
            name,
            locale,
            realm,
            azp,
            realm_name,
            client_name,
            client_url,
            nonce,
            request_jti,
            return_uri,
        } = new;
        ChallengeRecord {
            id,
            subject,
            email,
            name,
            locale,
            realm,
            azp,
            realm_name,
            client_name,
            client_url,
            nonce,
            request_jti,
            return_uri,
            policy,
            attempts: 0,
            resends: 0,
            created_at: now,
            last_sent_at: now,
            expires_at: now.saturating_add_unsigned(policy.ttl_secs),
            delivery: DeliveryState::Sending,
            generation: 0,
            lease_until: now,
            sealed_code: String::new(),
        }
    }

    /// The first code's delivery: its sealed copy ([`seal_code`]) and the
    /// lease the delivering process holds until `lease_until`.
    pub fn with_delivery(self, sealed_code: String, lease_until: i64) -> ChallengeRecord {
        ChallengeRecord {
            sealed_code,
            lease_until,
            ..self
        }
    }

    /// True once the code no longer verifies (`now > expires_at`).
    pub fn is_expired(&self, now: i64) -> bool {
        now > self.expires_at
    }

    /// True once the store no longer keeps the record (`expires_at` + grace).
    pub fn is_gone(&self, now: i64) -> bool {
        now > self.expires_at.saturating_add(EXPIRED_GRACE_SECS)
    }

    /// Wrong codes that may still be tried.
    pub fn attempts_left(&self) -> u32 {
        self.policy.max_attempts.saturating_sub(self.attempts)
    }

    /// Unix seconds from which a resend is allowed.
    pub fn resend_after(&self) -> i64 {
        self.last_sent_at
            .saturating_add(i64::try_from(self.policy.resend_cooldown_secs).unwrap_or(i64::MAX))
    }

    /// Resends still allowed.
    pub fn resends_left(&self) -> u32 {
        self.policy.max_resends.saturating_sub(self.resends)
    }
}

/// What a verification did. Records come back so the caller can build the assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// MAC matched; the challenge is gone (one use).
    Success(Box<ChallengeRecord>),
    /// Wrong code; the challenge stays.
    Invalid { attempts_left: u32 },
    /// Attempt cap reached: this submission found it so and the challenge
    /// is gone (`Some`), or it was locked before and only its mark is left
    /// (`None`).
    Locked(Option<Box<ChallengeRecord>>),
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

/// A newer request of the same login, for [`Store::rebind`]: the challenge
/// must have been made for `realm`, `subject` and `nonce`; it then answers to
/// `return_uri` and `request_jti`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebind<'a> {
    pub realm: &'a str,
    pub subject: &'a str,
    pub nonce: &'a str,
    pub return_uri: &'a str,
    pub request_jti: &'a str,
}

impl Rebind<'_> {
    /// True when `record` belongs to the same login (nonce in constant time)
    /// and has not expired at `now`.
    pub fn matches(&self, record: &ChallengeRecord, now: i64) -> bool {
        let nonce_eq: bool =
            subtle::ConstantTimeEq::ct_eq(record.nonce.as_bytes(), self.nonce.as_bytes()).into();
        // Every comparison runs; no early exit on the nonce.
        !record.is_expired(now)
            & (record.realm == self.realm)
            & (record.subject == self.subject)
            & nonce_eq
    }
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
    /// [`Store::create`]: this id is kept, or was created before and its
    /// mark still says so (see [`CREATED_MARK_SECS`]).
    #[error("challenge {0} was created before")]
    AlreadyCreated(String),
}

/// How long [`Store::create`] remembers that an id was created, at least:
/// as long as a request JWT can be accepted (its lifetime plus the clock
/// leeway on both ends, the last second included), so a request whose jti
/// was claimed for this id can create its challenge at most once, even
/// after the challenge was used and deleted. Counted from the first second
/// a request can be accepted: one issued the leeway ahead, with the longest
/// lifetime, is refused from this many seconds on.
pub const CREATED_MARK_SECS: i64 = crate::tokens::expired_from(
    crate::tokens::CLOCK_LEEWAY_SECS + crate::tokens::MAX_REQUEST_LIFETIME_SECS,
);

/// Length of the digests in key and field names: 20 base64url characters.
pub const DIGEST_LEN: usize = 20;

/// The first 120 bits of SHA-256 of the concatenated `parts`, base64url
/// ([`DIGEST_LEN`] characters): how key names carry user ids and addresses
/// without revealing them. 120 bits keep accidental collisions out of
/// reach and a key name within 28 bytes (Redis allocates it in 32).
pub(crate) fn digest(parts: &[&[u8]]) -> String {
    use base64::Engine as _;
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part);
    }
    let full = hash.finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&full[..15])
}

/// A user across challenges: [`digest`] of the realm issuer
/// (length-prefixed) and the subject. Key names carry only this digest,
/// never the user id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserKey(String);

impl UserKey {
    pub fn new(issuer: &str, subject: &str) -> UserKey {
        let length = (issuer.len() as u64).to_be_bytes();
        UserKey(digest(&[&length, issuer.as_bytes(), subject.as_bytes()]))
    }

    /// The user of a challenge.
    pub fn of(record: &ChallengeRecord) -> UserKey {
        UserKey::new(&record.realm, &record.subject)
    }

    /// [`DIGEST_LEN`] base64url characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which per-user counter a charge goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCharge {
    /// A wrong code (or the submission that found the budget spent).
    Failure,
    /// A new challenge, i.e. a code mail.
    Challenge,
}

impl UserCharge {
    /// Field name in the Redis hash.
    pub fn field(self) -> &'static str {
        match self {
            UserCharge::Failure => "f",
            UserCharge::Challenge => "c",
        }
    }
}

/// Both counters of a user's current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserUsage {
    pub failures: u32,
    pub challenges: u32,
}

/// Challenge storage. Every method that changes state is atomic.
/// `now` is passed in (unix seconds) so tests control time.
///
/// Methods are `async fn` in implementations; the trait spells them as
/// `impl Future + Send` so generic callers can hand the futures to
/// `tokio::spawn`. (The trait is not object-safe; use [`AnyStore`].)
pub trait Store: Send + Sync {
    /// Claims `user`'s request `jti` for `challenge` until `expires_at`,
    /// unless a claim of it is live at `now`.
    fn claim_jti(
        &self,
        user: &UserKey,
        jti: &str,
        challenge: &ChallengeId,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<JtiClaim, StoreError>> + Send;
    /// Store a new challenge with its first code's MAC; kept until `expires_at` plus a grace period.
    fn create(
        &self,
        record: &ChallengeRecord,
        mac: &CodeMac,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, StoreError>> + Send;
    /// One atomic step (Lua on Redis): expired? attempts+1 > max? constant-time MAC compare.
    fn check_code(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        now: i64,
    ) -> impl Future<Output = Result<VerifyOutcome, StoreError>> + Send;
    /// Atomic cooldown/max check, then swap in the new code's MAC and sealed
    /// code, `generation` + 1, delivery `Sending` leased until `lease_until`.
    /// After a delivery that failed for good the new code is free: no
    /// cooldown, no resend counted.
    fn resend(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        sealed_code: &str,
        lease_until: i64,
        now: i64,
    ) -> impl Future<Output = Result<ResendOutcome, StoreError>> + Send;
    /// One delivery step (see [`DeliveryStep`]); the updated record when it
    /// applied, `None` (and no change) otherwise.
    fn delivery(
        &self,
        id: &ChallengeId,
        step: DeliveryStep,
        now: i64,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, StoreError>> + Send;
    /// Add one mail to a send-limit counter (opening a window of
    /// `window_secs` if none is open at `now`).
    fn charge_rate(
        &self,
        key: &RateKey,
        window_secs: u64,
        now: i64,
    ) -> impl Future<Output = Result<RateCount, StoreError>> + Send;
    /// Take one mail back (not below zero; no-op once the window closed).
    fn refund_rate(
        &self,
        key: &RateKey,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Atomically point a live challenge of the same login (realm, subject,
    /// nonce) at a newer request: store its `return_uri` and `request_jti`,
    /// nothing else. `None` (and no change) when unknown, expired or a
    /// different login.
    fn rebind(
        &self,
        id: &ChallengeId,
        rebind: &Rebind<'_>,
        now: i64,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, StoreError>> + Send;
    /// Delete and return (cancel).
    fn take(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, StoreError>> + Send;
    /// [`Store::take`] for a challenge whose attempts are spent: its mark
    /// then says locked, so that until it lapses a later submission is
    /// answered `Locked(None)` rather than as for an unknown id.
    fn lock(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, StoreError>> + Send;
    /// True while the mark of a locked challenge `id` is kept (no live
    /// challenge has it): what a submission for it is answered before a
    /// record could be read.
    fn was_locked(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Add one to the user's `kind` counter (opening a window of
    /// `window_secs` if none is open at `now`); the new count.
    fn charge_user(
        &self,
        user: &UserKey,
        kind: UserCharge,
        window_secs: u64,
        now: i64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
    /// Take one charge back (not below zero; no-op once the window closed).
    fn refund_user(
        &self,
        user: &UserKey,
        kind: UserCharge,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The user's counters in the window open at `now` (zeros if none).
    fn user_usage(
        &self,
        user: &UserKey,
        now: i64,
    ) -> impl Future<Output = Result<UserUsage, StoreError>> + Send;
    /// Readiness probe.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
