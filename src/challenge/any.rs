//! [`AnyStore`]: the store chosen by configuration, as one concrete type
//! (the [`Store`] trait is not object-safe).
use secrecy::ExposeSecret as _;

use super::{
    ChallengeId, ChallengeRecord, ClusterStore, CodeMac, DeliveryStep, JtiClaim, MemoryStore,
    RateCount, RateKey, Rebind, RedisStore, RedisUrl, ResendOutcome, SentinelStore, Store,
    StoreCounters, StoreError, UserCharge, UserKey, UserUsage, VerifyOutcome,
};

#[derive(Debug)]
pub enum AnyStore {
    Memory(Box<MemoryStore>),
    Redis(RedisStore),
    Cluster(ClusterStore),
    Sentinel(SentinelStore),
}

/// How [`AnyStore::connect_with`] sets up a Redis store.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Replicas that must acknowledge a consuming write; `None`: the
    /// topology's default ([`default_min_replicas_ack`]).
    pub min_replicas_ack: Option<u32>,
    /// Trust only these PEM certificates for `rediss` (a private CA).
    pub ca_pem: Option<Vec<u8>>,
    pub counters: StoreCounters,
}

/// `store.min_replicas_ack` when not set: 1 for Sentinel and Cluster (a
/// failover must not bring back a consumed code), 0 for one server.
pub fn default_min_replicas_ack(url: &RedisUrl) -> u32 {
    if url.is_cluster() || url.sentinel().is_some() {
        1
    } else {
        0
    }
}

impl AnyStore {
    /// `None`: the in-memory store. Otherwise one Redis server or a Redis
    /// Cluster (the URL's nodes being seeds), as [`RedisUrl`] parsed it.
    /// `rediss` URLs are verified against the system's trust store.
    pub async fn connect(redis_url: Option<&RedisUrl>) -> Result<AnyStore, StoreError> {
        AnyStore::connect_with_ca(redis_url, None).await
    }

    /// [`AnyStore::connect`], trusting only the PEM certificates `ca_pem` for
    /// `rediss` URLs (a private CA) instead of the system's trust store.
    pub async fn connect_with_ca(
        redis_url: Option<&RedisUrl>,
        ca_pem: Option<&[u8]>,
    ) -> Result<AnyStore, StoreError> {
        let options = StoreOptions {
            ca_pem: ca_pem.map(<[u8]>::to_vec),
            ..StoreOptions::default()
        };
        AnyStore::connect_with(redis_url, &options).await
    }

    /// [`AnyStore::connect`] with `options`.
    pub async fn connect_with(
        redis_url: Option<&RedisUrl>,
        options: &StoreOptions,
    ) -> Result<AnyStore, StoreError> {
        let Some(url) = redis_url else {
            return Ok(AnyStore::Memory(Box::default()));
        };
        let ca_pem = options.ca_pem.as_deref();
        let acks = options
            .min_replicas_ack
            .unwrap_or_else(|| default_min_replicas_ack(url));
        let counters = options.counters.clone();
        if url.is_cluster() {
            let nodes: Vec<String> = url
                .cluster_nodes()
                .iter()
                .map(|n| n.expose_secret().to_string())
                .collect();
            let store = ClusterStore::connect_cluster(&nodes, ca_pem).await?;
            Ok(AnyStore::Cluster(
                store.with_min_replicas_ack(acks).with_counters(counters),
            ))
        } else if let Some(spec) = url.sentinel() {
            let store = SentinelStore::connect_sentinel(spec, url.uses_tls(), ca_pem).await?;
            Ok(AnyStore::Sentinel(
                store.with_min_replicas_ack(acks).with_counters(counters),
            ))
        } else {
            let store = RedisStore::connect_with_ca(url.expose_url(), ca_pem).await?;
            Ok(AnyStore::Redis(
                store.with_min_replicas_ack(acks).with_counters(counters),
            ))
        }
    }

    /// Called on each server thread as it starts: a single Redis server gets
    /// a connection of its own there (see `ThreadConnection`).
    pub fn prepare_thread(&self) {
        if let AnyStore::Redis(s) = self {
            s.prepare_thread();
        }
    }

    /// Which kind of store this is, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Memory(_) => "memory",
            AnyStore::Redis(_) => "redis",
            AnyStore::Cluster(_) => "redis-cluster",
            AnyStore::Sentinel(_) => "redis-sentinel",
        }
    }
}

impl Store for AnyStore {
    async fn claim_jti(
        &self,
        user: &UserKey,
        jti: &str,
        challenge: &ChallengeId,
        expires_at: i64,
        now: i64,
    ) -> Result<JtiClaim, StoreError> {
        match self {
            AnyStore::Memory(s) => s.claim_jti(user, jti, challenge, expires_at, now).await,
            AnyStore::Redis(s) => s.claim_jti(user, jti, challenge, expires_at, now).await,
            AnyStore::Cluster(s) => s.claim_jti(user, jti, challenge, expires_at, now).await,
            AnyStore::Sentinel(s) => s.claim_jti(user, jti, challenge, expires_at, now).await,
        }
    }

    async fn create(
        &self,
        record: &ChallengeRecord,
        mac: &CodeMac,
        now: i64,
    ) -> Result<(), StoreError> {
        match self {
            AnyStore::Memory(s) => s.create(record, mac, now).await,
            AnyStore::Redis(s) => s.create(record, mac, now).await,
            AnyStore::Cluster(s) => s.create(record, mac, now).await,
            AnyStore::Sentinel(s) => s.create(record, mac, now).await,
        }
    }

    async fn get(&self, id: &ChallengeId, now: i64) -> Result<Option<ChallengeRecord>, StoreError> {
        match self {
            AnyStore::Memory(s) => s.get(id, now).await,
            AnyStore::Redis(s) => s.get(id, now).await,
            AnyStore::Cluster(s) => s.get(id, now).await,
            AnyStore::Sentinel(s) => s.get(id, now).await,
        }
    }

    async fn check_code(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        now: i64,
    ) -> Result<VerifyOutcome, StoreError> {
        match self {
            AnyStore::Memory(s) => s.check_code(id, mac, now).await,
            AnyStore::Redis(s) => s.check_code(id, mac, now).await,
            AnyStore::Cluster(s) => s.check_code(id, mac, now).await,
            AnyStore::Sentinel(s) => s.check_code(id, mac, now).await,
        }
    }

    async fn resend(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        sealed_code: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<ResendOutcome, StoreError> {
        match self {
            AnyStore::Memory(s) => s.resend(id, mac, sealed_code, lease_until, now).await,
            AnyStore::Redis(s) => s.resend(id, mac, sealed_code, lease_until, now).await,
            AnyStore::Cluster(s) => s.resend(id, mac, sealed_code, lease_until, now).await,
            AnyStore::Sentinel(s) => s.resend(id, mac, sealed_code, lease_until, now).await,
        }
    }

    async fn delivery(
        &self,
        id: &ChallengeId,
        step: DeliveryStep,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        match self {
            AnyStore::Memory(s) => s.delivery(id, step, now).await,
            AnyStore::Redis(s) => s.delivery(id, step, now).await,
            AnyStore::Cluster(s) => s.delivery(id, step, now).await,
            AnyStore::Sentinel(s) => s.delivery(id, step, now).await,
        }
    }

    async fn charge_rate(
        &self,
        key: &RateKey,
        window_secs: u64,
        now: i64,
    ) -> Result<RateCount, StoreError> {
        match self {
            AnyStore::Memory(s) => s.charge_rate(key, window_secs, now).await,
            AnyStore::Redis(s) => s.charge_rate(key, window_secs, now).await,
            AnyStore::Cluster(s) => s.charge_rate(key, window_secs, now).await,
            AnyStore::Sentinel(s) => s.charge_rate(key, window_secs, now).await,
        }
    }

    async fn refund_rate(&self, key: &RateKey, now: i64) -> Result<(), StoreError> {
        match self {
            AnyStore::Memory(s) => s.refund_rate(key, now).await,
            AnyStore::Redis(s) => s.refund_rate(key, now).await,
            AnyStore::Cluster(s) => s.refund_rate(key, now).await,
            AnyStore::Sentinel(s) => s.refund_rate(key, now).await,
        }
    }

    async fn rebind(
        &self,
        id: &ChallengeId,
        rebind: &Rebind<'_>,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        match self {
            AnyStore::Memory(s) => s.rebind(id, rebind, now).await,
            AnyStore::Redis(s) => s.rebind(id, rebind, now).await,
            AnyStore::Cluster(s) => s.rebind(id, rebind, now).await,
            AnyStore::Sentinel(s) => s.rebind(id, rebind, now).await,
        }
    }

    async fn take(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        match self {
            AnyStore::Memory(s) => s.take(id, now).await,
            AnyStore::Redis(s) => s.take(id, now).await,
            AnyStore::Cluster(s) => s.take(id, now).await,
            AnyStore::Sentinel(s) => s.take(id, now).await,
        }
    }

    async fn lock(
        &self,
        id: &ChallengeId,
        now: i64,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        match self {
            AnyStore::Memory(s) => s.lock(id, now).await,
            AnyStore::Redis(s) => s.lock(id, now).await,
            AnyStore::Cluster(s) => s.lock(id, now).await,
            AnyStore::Sentinel(s) => s.lock(id, now).await,
        }
    }

    async fn was_locked(&self, id: &ChallengeId, now: i64) -> Result<bool, StoreError> {
        match self {
            AnyStore::Memory(s) => s.was_locked(id, now).await,
            AnyStore::Redis(s) => s.was_locked(id, now).await,
            AnyStore::Cluster(s) => s.was_locked(id, now).await,
            AnyStore::Sentinel(s) => s.was_locked(id, now).await,
        }
    }

    async fn charge_user(
        &self,
        user: &UserKey,
        kind: UserCharge,
        window_secs: u64,
        now: i64,
    ) -> Result<u32, StoreError> {
        match self {
            AnyStore::Memory(s) => s.charge_user(user, kind, window_secs, now).await,
            AnyStore::Redis(s) => s.charge_user(user, kind, window_secs, now).await,
            AnyStore::Cluster(s) => s.charge_user(user, kind, window_secs, now).await,
            AnyStore::Sentinel(s) => s.charge_user(user, kind, window_secs, now).await,
        }
    }

    async fn refund_user(
        &self,
        user: &UserKey,
        kind: UserCharge,
        now: i64,
    ) -> Result<(), StoreError> {
        match self {
            AnyStore::Memory(s) => s.refund_user(user, kind, now).await,
            AnyStore::Redis(s) => s.refund_user(user, kind, now).await,
            AnyStore::Cluster(s) => s.refund_user(user, kind, now).await,
            AnyStore::Sentinel(s) => s.refund_user(user, kind, now).await,
        }
    }

    async fn user_usage(&self, user: &UserKey, now: i64) -> Result<UserUsage, StoreError> {
        match self {
            AnyStore::Memory(s) => s.user_usage(user, now).await,
            AnyStore::Redis(s) => s.user_usage(user, now).await,
            AnyStore::Cluster(s) => s.user_usage(user, now).await,
            AnyStore::Sentinel(s) => s.user_usage(user, now).await,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Memory(s) => s.ping().await,
            AnyStore::Redis(s) => s.ping().await,
            AnyStore::Cluster(s) => s.ping().await,
            AnyStore::Sentinel(s) => s.ping().await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_url_means_memory() {
        assert_eq!(AnyStore::connect(None).await.unwrap().kind(), "memory");
    }

    /// A failover must not bring back a consumed code: Sentinel and Cluster
    /// wait for one replica unless told otherwise; one server has none.
    #[test]
    fn replicas_acknowledge_by_default_where_there_is_failover() {
        let ack = |raw: &str| default_min_replicas_ack(&RedisUrl::parse(raw).unwrap());
        assert_eq!(ack("redis://127.0.0.1:6379"), 0);
        assert_eq!(ack("rediss://redis.example.com:6380"), 0);
        assert_eq!(ack("redis+cluster://10.0.0.1:7000,10.0.0.2:7000"), 1);
        assert_eq!(ack("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/otp"), 1);
        assert_eq!(ack("rediss+sentinel://10.0.0.1:26379/otp"), 1);
    }
}
