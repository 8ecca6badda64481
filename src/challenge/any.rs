//! [`AnyStore`]: the store chosen by configuration, as one concrete type
//! (the [`Store`] trait is not object-safe).
use super::{
    ChallengeId, ChallengeRecord, ClusterStore, CodeMac, DeliveryStep, JtiClaim, MemoryStore,
    RateCount, RateKey, Rebind, RedisStore, ResendOutcome, Store, StoreError, UserCharge, UserKey,
    UserUsage, VerifyOutcome,
};

#[derive(Debug)]
pub enum AnyStore {
    Memory(MemoryStore),
    Redis(RedisStore),
    Cluster(ClusterStore),
}

impl AnyStore {
    /// `None`: the in-memory store. `redis://…` / `rediss://…`: one Redis
    /// server. `redis+cluster://[user:pass@]host1:port1,host2:port2` (or
    /// `rediss+cluster://`): a Redis Cluster, the listed nodes being seeds.
    /// `rediss` URLs are verified against the system's trust store.
    pub async fn connect(redis_url: Option<&str>) -> Result<AnyStore, StoreError> {
        AnyStore::connect_with_ca(redis_url, None).await
    }

    /// [`AnyStore::connect`], trusting only the PEM certificates `ca_pem` for
    /// `rediss` URLs (a private CA) instead of the system's trust store.
    pub async fn connect_with_ca(
        redis_url: Option<&str>,
        ca_pem: Option<&[u8]>,
    ) -> Result<AnyStore, StoreError> {
        let Some(url) = redis_url else {
            return Ok(AnyStore::Memory(MemoryStore::new()));
        };
        match cluster_nodes(url)? {
            Some(nodes) => Ok(AnyStore::Cluster(
                ClusterStore::connect_cluster(&nodes, ca_pem).await?,
            )),
            None => Ok(AnyStore::Redis(
                RedisStore::connect_with_ca(url, ca_pem).await?,
            )),
        }
    }

    /// Which kind of store this is, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Memory(_) => "memory",
            AnyStore::Redis(_) => "redis",
            AnyStore::Cluster(_) => "redis-cluster",
        }
    }
}

/// The seed node URLs of a `redis+cluster://` / `rediss+cluster://` URL, or
/// `None` for any other URL.
pub(crate) fn cluster_nodes(url: &str) -> Result<Option<Vec<String>>, StoreError> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("redis+cluster://") {
        ("redis", rest)
    } else if let Some(rest) = url.strip_prefix("rediss+cluster://") {
        ("rediss", rest)
    } else {
        return Ok(None);
    };
    let bad = |why: &str| {
        StoreError::Unavailable(format!(
            "invalid Redis Cluster URL: {why} (expected {scheme}+cluster://[user:password@]host:port,host:port)"
        ))
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if !(tail.is_empty() || tail == "/") {
        return Err(bad("a cluster has no database number or URL options"));
    }
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let mut nodes = Vec::new();
    for host in hosts.split(',') {
        if host.is_empty() {
            return Err(bad("empty node address"));
        }
        nodes.push(match userinfo {
            Some(u) => format!("{scheme}://{u}@{host}"),
            None => format!("{scheme}://{host}"),
        });
    }
    Ok(Some(nodes))
}

impl Store for AnyStore {
    async fn claim_jti(
        &self,
        jti: &str,
        challenge: &ChallengeId,
        expires_at: i64,
        now: i64,
    ) -> Result<JtiClaim, StoreError> {
        match self {
            AnyStore::Memory(s) => s.claim_jti(jti, challenge, expires_at, now).await,
            AnyStore::Redis(s) => s.claim_jti(jti, challenge, expires_at, now).await,
            AnyStore::Cluster(s) => s.claim_jti(jti, challenge, expires_at, now).await,
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
        }
    }

    async fn get(&self, id: &ChallengeId, now: i64) -> Result<Option<ChallengeRecord>, StoreError> {
        match self {
            AnyStore::Memory(s) => s.get(id, now).await,
            AnyStore::Redis(s) => s.get(id, now).await,
            AnyStore::Cluster(s) => s.get(id, now).await,
        }
    }

    async fn verify(
        &self,
        id: &ChallengeId,
        mac: &CodeMac,
        now: i64,
    ) -> Result<VerifyOutcome, StoreError> {
        match self {
            AnyStore::Memory(s) => s.verify(id, mac, now).await,
            AnyStore::Redis(s) => s.verify(id, mac, now).await,
            AnyStore::Cluster(s) => s.verify(id, mac, now).await,
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
        }
    }

    async fn refund_rate(&self, key: &RateKey, now: i64) -> Result<(), StoreError> {
        match self {
            AnyStore::Memory(s) => s.refund_rate(key, now).await,
            AnyStore::Redis(s) => s.refund_rate(key, now).await,
            AnyStore::Cluster(s) => s.refund_rate(key, now).await,
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
        }
    }

    async fn user_usage(&self, user: &UserKey, now: i64) -> Result<UserUsage, StoreError> {
        match self {
            AnyStore::Memory(s) => s.user_usage(user, now).await,
            AnyStore::Redis(s) => s.user_usage(user, now).await,
            AnyStore::Cluster(s) => s.user_usage(user, now).await,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Memory(s) => s.ping().await,
            AnyStore::Redis(s) => s.ping().await,
            AnyStore::Cluster(s) => s.ping().await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_list_their_seed_nodes() {
        assert_eq!(cluster_nodes("redis://localhost:6379").unwrap(), None);
        assert_eq!(
            cluster_nodes("redis+cluster://a:7000,b:7001/").unwrap(),
            Some(vec!["redis://a:7000".into(), "redis://b:7001".into()])
        );
        assert_eq!(
            cluster_nodes("rediss+cluster://user:p%40ss@a:7000,b:7001").unwrap(),
            Some(vec![
                "rediss://user:p%40ss@a:7000".into(),
                "rediss://user:p%40ss@b:7001".into()
            ])
        );
        for bad in [
            "redis+cluster://",
            "redis+cluster://a:1,,b:2",
            "redis+cluster://a:1/3",
            "redis+cluster://a:1?insecure",
        ] {
            let err = cluster_nodes(bad).unwrap_err().to_string();
            assert!(err.contains("invalid Redis Cluster URL"), "{bad}: {err}");
        }
    }

    #[tokio::test]
    async fn no_url_means_memory_and_a_bad_url_is_refused() {
        assert_eq!(AnyStore::connect(None).await.unwrap().kind(), "memory");
        let err = AnyStore::connect(Some("http://localhost:6379"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("invalid Redis URL"), "{err}");
    }
}
