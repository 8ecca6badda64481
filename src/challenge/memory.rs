//! The in-memory store of the embedded default: one mutex over two maps, so
//! every operation is atomic. Entries past their grace period are purged as
//! new challenges come in.
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::code::mac_eq;
use super::{
    ChallengeId, ChallengeRecord, CodeMac, DeliveryState, DeliveryStep, JtiClaim, RateCount,
    RateKey, Rebind, ResendOutcome, Store, StoreError, UserCharge, UserKey, UserUsage,
    VerifyOutcome, CREATED_MARK_SECS, EXPIRED_GRACE_SECS,
};

/// Purge at most this often (in `now` seconds), so `create` stays O(1) amortised.
const PURGE_INTERVAL_SECS: i64 = 30;

/// Challenges the in-memory store keeps at most (about 2 KiB each): plenty
/// for clicking through the embedded default, and a bound on its memory.
pub const MEMORY_STORE_CAPACITY: usize = 10_000;

pub struct MemoryStore {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(MEMORY_STORE_CAPACITY)
    }
}

#[derive(Default)]
struct Inner {
    challenges: HashMap<ChallengeId, Entry>,
    /// (user, jti) -> (challenge, expires_at)
    jtis: HashMap<(UserKey, String), (ChallengeId, i64)>,
    /// challenge -> until when its creation is remembered
    created: HashMap<ChallengeId, i64>,
    /// locked challenge -> until when that is remembered (its creation plus
    /// [`CREATED_MARK_SECS`], as long as Redis keeps its mark)
    locked: HashMap<ChallengeId, i64>,
    /// user -> (window end, counters)
    users: HashMap<UserKey, (i64, UserUsage)>,
    /// send-limit counter -> (window end, mails)
    rates: HashMap<RateKey, (i64, u32)>,
    last_purge: i64,
}

struct Entry {
    record: ChallengeRecord,
    mac: CodeMac,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.state();
        f.debug_struct("MemoryStore")
            .field("challenges", &inner.challenges.len())
            .field("jtis", &inner.jtis.len())
            .finish()
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store that keeps at most `capacity` challenges; `create` refuses
    /// more (after purging what is past its grace period).
    pub fn with_capacity(capacity: usize) -> MemoryStore {
        MemoryStore {
            inner: Mutex::default(),
            capacity,
        }
    }

    // Every critical section leaves the maps consistent, so a panic elsewhere
    // while holding the lock does not make the data unusable.
    fn state(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops challenges past their grace period and expired jtis.
    pub fn purge(&self, now: i64) {
        self.state().purge(now);
    }

    /// Number of challenges currently kept (for metrics and tests).
    pub fn len(&self) -> usize {
        self.state().challenges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn purge(&mut self, now: i64) {
        self.challenges.retain(|_, e| !e.record.is_gone(now));
        self.jtis.retain(|_, (_, expires_at)| now < *expires_at);
        self.created.retain(|_, until| now < *until);
        self.locked.retain(|_, until| now < *until);
        self.users.retain(|_, (until, _)| now < *until);
        self.rates.retain(|_, (until, _)| now < *until);
        self.last_purge = now;
    }

    /// The entry if it is still kept; an entry past its grace period is dropped.
    fn live(&mut self, id: &ChallengeId, now: i64) -> Option<&mut Entry> {
        if self
            .challenges
            .get(id)
            .is_some_and(|e| e.record.is_gone(now))
        {
            self.challenges.remove(id);
        }
        self.challenges.get_mut(id)
    }

    /// Removes the kept challenge `id`; when `locked`, remembers that until
    /// its mark would lapse.
    fn end(&mut self, id: &ChallengeId, locked: bool, now: i64) -> Option<ChallengeRecord> {
        let record = self.challenges.remove(id)?.record;
        let until = record.created_at.saturating_add(CREATED_MARK_SECS);
        if locked && now < until {
            self.locked.insert(id.clone(), until);
        }
        Some(record)
    }

    fn was_locked(&self, id: &ChallengeId, now: i64) -> bool {
        self.locked.get(id).is_some_and(|until| now < *until)
    }

    /// [`Store::take`] and [`Store::lock`].
    fn take(&mut self, id: &ChallengeId, locked: bool, now: i64) -> Option<ChallengeRecord> {
        self.live(id, now)?;
        self.end(id, locked, now)
    }
}

impl Store for MemoryStore {
    async fn claim_jti(
        &self,
        user: &UserKey,
        jti: &str,
        challenge: &ChallengeId,
        expires_at: i64,
        now: i64,
    ) -> Result<JtiClaim, StoreError> {
        let mut inner = self.state();
        let claim = (user.clone(), jti.to_owned());
        if let Some((seen, until)) = inner.jtis.get(&claim) {
            if now < *until {
                return Ok(JtiClaim::Seen(seen.clone()));
            }
        }
        let until = expires_at.max(now.saturating_add(1));
        inner.jtis.insert(claim, (challenge.clone(), until));
        Ok(JtiClaim::Fresh)
    }

    async fn create(
        &self,
        record: &ChallengeRecord,
        mac: &CodeMac,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut inner = self.state();
        if now.saturating_sub(inner.last_purge) >= PURGE_INTERVAL_SECS {
            inner.purge(now);
        }
        let remembered = inner
            .created
            .get(&record.id)
            .is_some_and(|until| now < *until);
        if remembered || inner.live(&record.id, now).is_some() {
            return Err(StoreError::AlreadyCreated(record.id.to_string()));
        }
        if inner.challenges.len() >= self.capacity {
            inner.purge(now);
            if inner.challenges.len() >= self.capacity {
                return Err(StoreError::Unavailable(format!(
                    "the in-memory store is full ({} live challenges, its maximum); \
                     it is for development: set store.redis_url for real traffic",
                    self.capacity
                )));
            }
        }
        let kept = record.expires_at.saturating_add(EXPIRED_GRACE_SECS);
        inner.created.insert(
            record.id.clone(),
            kept.max(now.saturating_add(CREATED_MARK_SECS)),
        );
        inner.challenges.insert(
            record.id.clone(),
            Entry {
                record: record.clone(),
                mac: *mac,
            },
        );
        Ok(())
    }

    async fn get(&self, id: &ChallengeId, now: i64) -> Result<Option<ChallengeRecord>, StoreError> {
        Ok(self.state().live(id, now).map(|e| e.record.clone()))
    }

    async fn check_code(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        now: i64,
    ) -> Result<VerifyOutcome, StoreError> {
        let mut inner = self.state();
        if inner.was_locked(id, now) {
            return Ok(VerifyOutcome::Locked(None));
        }
        let Some(entry) = inner.live(id, now) else {
            return Ok(VerifyOutcome::Expired(None));
        };
        if entry.record.is_expired(now) {
            // Kept: a new code may still be asked for until the grace ends.
            return Ok(VerifyOutcome::Expired(Some(Box::new(entry.record.clone()))));
        }
        if entry.record.attempts.saturating_add(1) > entry.record.policy.max_attempts {
            return Ok(VerifyOutcome::Locked(
                inner.end(id, true, now).map(Box::new),
            ));
        }
        if mac_eq(&entry.mac, mac) {
            return Ok(match inner.end(id, false, now) {
                Some(record) => VerifyOutcome::Success(Box::new(record)),
                None => VerifyOutcome::Expired(None),
            });
        }
        entry.record.attempts = entry.record.attempts.saturating_add(1);
        Ok(VerifyOutcome::Invalid {
            attempts_left: entry.record.attempts_left(),
        })
    }

    async fn resend(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        sealed_code: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<ResendOutcome, StoreError> {
        let mut inner = self.state();
        let Some(entry) = inner.live(id, now) else {
            return Ok(ResendOutcome::Expired);
        };
        let record = &mut entry.record;
        // A lapsed code (kept for the grace period) may be replaced by a new
        // one, counted as a resend, that lives a full ttl from now.
        let lapsed = record.is_expired(now);
        // After a delivery that failed for good the new code is free.
        if record.delivery != DeliveryState::Failed || lapsed {
            if record.resends >= record.policy.max_resends {
                return Ok(ResendOutcome::Exhausted);
            }
            let resend_after = record.resend_after();
            if now < resend_after && !lapsed {
                return Ok(ResendOutcome::Cooldown {
                    retry_after_secs: u64::try_from(resend_after.saturating_sub(now)).unwrap_or(0),
                });
            }
            record.resends = record.resends.saturating_add(1);
        }
        if lapsed {
            record.expires_at =
                now.saturating_add(i64::try_from(record.policy.ttl_secs).unwrap_or(i64::MAX));
        }
        entry.mac = *mac;
        record.last_sent_at = now;
        record.sealed_code = sealed_code.to_owned();
        record.delivery = DeliveryState::Sending;
        record.lease_until = lease_until;
        record.generation = record.generation.saturating_add(1);
        Ok(ResendOutcome::Resent(Box::new(record.clone())))
    }

    async fn delivery(
        &self,
        id: &ChallengeId,
        step: DeliveryStep,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let mut inner = self.state();
        let Some(entry) = inner.live(id, now) else {
            return Ok(None);
        };
        let record = &mut entry.record;
        if record.delivery != DeliveryState::Sending {
            return Ok(None);
        }
        match step {
            DeliveryStep::Claim { lease_until } => {
                if record.lease_until >= now || record.is_expired(now) {
                    return Ok(None);
                }
                record.lease_until = lease_until;
            }
            DeliveryStep::Extend {
                generation,
                lease_until,
            } => {
                if record.generation != generation {
                    return Ok(None);
                }
                record.lease_until = lease_until;
            }
            DeliveryStep::Finish { generation, state } => {
                if record.generation != generation {
                    return Ok(None);
                }
                record.delivery = state;
            }
        }
        Ok(Some(record.clone()))
    }

    async fn charge_rate(
        &self,
        key: &RateKey,
        window_secs: u64,
        now: i64,
    ) -> Result<RateCount, StoreError> {
        let mut inner = self.state();
        let entry = inner.rates.entry(key.clone()).or_insert((now, 0));
        if now >= entry.0 {
            *entry = (
                now.saturating_add(i64::try_from(window_secs).unwrap_or(i64::MAX)),
                0,
            );
        }
        entry.1 = entry.1.saturating_add(1);
        Ok(RateCount {
            count: entry.1,
            resets_at: entry.0,
        })
    }

    async fn refund_rate(&self, key: &RateKey, now: i64) -> Result<(), StoreError> {
        let mut inner = self.state();
        if let Some((until, count)) = inner.rates.get_mut(key) {
            if now < *until {
                *count = count.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn rebind(
        &self,
        id: &ChallengeId,
        rebind: &Rebind<'_>,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let mut inner = self.state();
        let Some(entry) = inner.live(id, now) else {
            return Ok(None);
        };
        if !rebind.matches(&entry.record, now) {
            return Ok(None);
        }
        entry.record.return_uri = rebind.return_uri.to_owned();
        entry.record.request_jti = rebind.request_jti.to_owned();
        Ok(Some(entry.record.clone()))
    }

    async fn take(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        Ok(self.state().take(id, false, now))
    }

    async fn lock(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        Ok(self.state().take(id, true, now))
    }

    async fn was_locked(&self, id: &ChallengeId, now: i64) -> Result<bool, StoreError> {
        Ok(self.state().was_locked(id, now))
    }

    async fn charge_user(
        &self,
        user: &UserKey,
        kind: UserCharge,
        window_secs: u64,
        now: i64,
    ) -> Result<u32, StoreError> {
        let mut inner = self.state();
        let entry = inner
            .users
            .entry(user.clone())
            .or_insert((now, UserUsage::default()));
        if now >= entry.0 {
            *entry = (
                now.saturating_add(i64::try_from(window_secs).unwrap_or(i64::MAX)),
                UserUsage::default(),
            );
        }
        let counter = counter(&mut entry.1, kind);
        *counter = counter.saturating_add(1);
        Ok(*counter)
    }

    async fn refund_user(
        &self,
        user: &UserKey,
        kind: UserCharge,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut inner = self.state();
        if let Some((until, usage)) = inner.users.get_mut(user) {
            if now < *until {
                let counter = counter(usage, kind);
                *counter = counter.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn user_usage(&self, user: &UserKey, now: i64) -> Result<UserUsage, StoreError> {
        Ok(match self.state().users.get(user) {
            Some((until, usage)) if now < *until => *usage,
            _ => UserUsage::default(),
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

fn counter(usage: &mut UserUsage, kind: UserCharge) -> &mut u32 {
    match kind {
        UserCharge::Failure => &mut usage.failures,
        UserCharge::Challenge => &mut usage.challenges,
    }
}
