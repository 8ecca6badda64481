//! The store suite on real Redis: one server (plain, with the documented ACL,
//! over TLS) and a three-node Redis Cluster.
use super::redis_server::{free_port, redis_url};
use super::*;

/// The TTL (s) Redis reports for `key`.
async fn ttl_of(conn: &mut ::redis::aio::MultiplexedConnection, key: &str) -> i64 {
    ::redis::cmd("TTL")
        .arg(key)
        .query_async::<i64>(conn)
        .await
        .unwrap()
}

mod redis_single {
    use super::*;

    async fn harness() -> (Arc<RedisStore>, RedisServer) {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url()).await.unwrap();
        (Arc::new(store), server)
    }

    store_suite!(harness);

    /// Connections the server has accepted so far (`INFO stats`), read on
    /// `counter`, which was opened before and so counts once.
    fn connections_accepted(counter: &mut ::redis::Connection) -> i64 {
        let info: String = ::redis::cmd("INFO").arg("stats").query(counter).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap()
    }

    /// One connection per server thread (a single-threaded runtime, as each
    /// actix worker runs), opened as the thread starts and then kept; tasks
    /// on the multi-threaded runtime share the one opened at start.
    #[test]
    fn each_server_thread_keeps_a_connection_of_its_own() {
        let server = RedisServer::start();
        let client = ::redis::Client::open(server.url()).unwrap();
        let mut counter = client.get_connection().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let store = Arc::new(
            runtime
                .block_on(RedisStore::connect(&server.url()))
                .unwrap(),
        );
        let base = connections_accepted(&mut counter);
        runtime.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let store = store.clone();
                    tokio::spawn(async move { store.ping().await.unwrap() })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(connections_accepted(&mut counter), base, "shared");

        // Two server threads, each kept running until the end.
        let (ready, threads_ready) = std::sync::mpsc::channel();
        let (release, released) = tokio::sync::watch::channel(false);
        let mut threads = Vec::new();
        for n in 1..=2_i64 {
            let store = store.clone();
            let ready = ready.clone();
            let mut released = released.clone();
            let url = server.url();
            threads.push(std::thread::spawn(move || {
                let mut counter = ::redis::Client::open(url)
                    .unwrap()
                    .get_connection()
                    .unwrap();
                let own = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                own.block_on(async {
                    // Opened in the background, before any command.
                    store.prepare_thread();
                    let deadline = std::time::Instant::now() + Duration::from_secs(10);
                    // The thread's own counter is one more connection.
                    while connections_accepted(&mut counter) < base + 2 * n {
                        assert!(
                            std::time::Instant::now() < deadline,
                            "thread {n}: no connection"
                        );
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    for _ in 0..4 {
                        store.ping().await.unwrap();
                    }
                    store.prepare_thread();
                    store.ping().await.unwrap();
                    ready.send(()).unwrap();
                    released.wait_for(|r| *r).await.unwrap();
                });
            }));
            threads_ready.recv().unwrap();
            assert_eq!(
                connections_accepted(&mut counter),
                base + 2 * n,
                "thread {n}: one connection of its own, kept"
            );
        }
        runtime.block_on(store.ping()).unwrap();
        assert_eq!(connections_accepted(&mut counter), base + 4, "still shared");
        release.send(true).unwrap();
        for thread in threads {
            thread.join().unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ping_fails_while_redis_is_down_and_recovers_by_itself() {
        bounded(async {
            let (store, mut server) = harness().await;
            store.ping().await.unwrap();
            let made = make(&*store, policy(), T0).await;

            server.stop();
            let err = store.ping().await.unwrap_err();
            assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
            assert!(matches!(
                store.check_code(&made.record.id, &made.mac(), T0).await,
                Err(StoreError::Unavailable(_))
            ));

            server.restart();
            // Same store object: the connection manager reconnects on its own.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                match store.ping().await {
                    Ok(()) => break,
                    Err(e) if tokio::time::Instant::now() > deadline => {
                        panic!("store did not recover after restart: {e}")
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            // The restarted server is empty (no persistence) and the scripts
            // are loaded again on NOSCRIPT.
            assert_eq!(
                store
                    .check_code(&made.record.id, &made.mac(), T0)
                    .await
                    .unwrap(),
                VerifyOutcome::Expired(None)
            );
            let again = make(&*store, policy(), T0).await;
            assert!(matches!(
                store
                    .check_code(&again.record.id, &again.mac(), T0)
                    .await
                    .unwrap(),
                VerifyOutcome::Success(_)
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn records_live_in_one_hash_tagged_key_with_a_ttl_and_no_code() {
        bounded(async {
            let (store, server) = harness().await;
            let made = make(&*store, policy(), T0).await;
            let client = ::redis::Client::open(server.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let key = format!("{{ch:{}}}", made.record.id);
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg("*")
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(keys, vec![key.clone()]);
            let expected = 300 + EXPIRED_GRACE_SECS;
            let kept = ttl_of(&mut conn, &key).await;
            assert!((expected - 2..=expected).contains(&kept), "TTL {kept}");
            let stored: Vec<Vec<u8>> = ::redis::cmd("HVALS")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(stored.iter().any(|v| v[..] == made.mac()[..]));
            let code = made.code.expose().as_bytes();
            assert!(
                !stored.iter().any(|v| v[..] == *code),
                "the code itself must never be stored"
            );
            // Used: the key keeps only the mark that the id was created,
            // until a request for it can no longer come back.
            assert!(matches!(
                store
                    .check_code(&made.record.id, &made.mac(), T0 + 20)
                    .await
                    .unwrap(),
                VerifyOutcome::Success(_)
            ));
            let left: Vec<(String, i64)> = ::redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(left, vec![("t".to_owned(), T0)]);
            let marked = ttl_of(&mut conn, &key).await;
            let expected = CREATED_MARK_SECS - 20;
            assert!((expected - 2..=expected).contains(&marked), "TTL {marked}");
            // Locked: the same mark under `k`, for as long, at no extra cost.
            let locked = make(&*store, policy(), T0).await;
            assert!(store
                .lock(&locked.record.id, T0 + 20)
                .await
                .unwrap()
                .is_some());
            let locked_key = format!("{{ch:{}}}", locked.record.id);
            let left: Vec<(String, i64)> = ::redis::cmd("HGETALL")
                .arg(&locked_key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(left, vec![(redis_layout::LOCKED.to_owned(), T0)]);
            let locked_ttl: i64 = ::redis::cmd("TTL")
                .arg(&locked_key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(
                (expected - 2..=expected).contains(&locked_ttl),
                "TTL {locked_ttl}"
            );
            let mut bytes = Vec::new();
            for mark in [&key, &locked_key] {
                let used: i64 = ::redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(mark)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                bytes.push(used);
            }
            assert_eq!(bytes[0], bytes[1], "a used and a locked mark, in bytes");
            // A challenge that ends after that time leaves nothing behind.
            let late = make(&*store, policy(), T0).await;
            assert!(store
                .take(&late.record.id, T0 + CREATED_MARK_SECS)
                .await
                .unwrap()
                .is_some());
            let gone: i64 = ::redis::cmd("EXISTS")
                .arg(format!("{{ch:{}}}", late.record.id))
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(gone, 0);
        })
        .await;
    }

    #[tokio::test]
    async fn a_damaged_record_is_reported_not_trusted() {
        bounded(async {
            let (store, server) = harness().await;
            let made = make(&*store, policy(), T0).await;
            let client = ::redis::Client::open(server.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let key = format!("{{ch:{}}}", made.record.id);
            let _: i64 = ::redis::cmd("HDEL")
                .arg(&key)
                .arg(redis_layout::POLICY)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(matches!(
                store.check_code(&made.record.id, &made.mac(), T0).await,
                Err(StoreError::Corrupt(_))
            ));
            assert!(matches!(
                store.get(&made.record.id, T0).await,
                Err(StoreError::Corrupt(_))
            ));
        })
        .await;
    }

    /// An id is refused for as long as its key is there (the record, or what
    /// `retire` leaves of it); once the key is gone (expired), a new challenge
    /// under it starts from nothing: no field of the old record is left over.
    #[tokio::test]
    async fn an_id_is_reused_only_once_its_key_is_gone_and_starts_clean() {
        bounded(async {
            let (store, server) = harness().await;
            let old = make(&*store, policy(), T0).await;
            let client = ::redis::Client::open(server.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let last = old.record.expires_at + EXPIRED_GRACE_SECS;
            let mut new = record(policy(), last + 1);
            new.id = old.record.id.clone();
            new.name = None;
            new.locale = None;
            assert!(old.record.name.is_some());
            assert!(matches!(
                store.create(&new, &[6u8; 32], last + 1).await,
                Err(StoreError::AlreadyCreated(_))
            ));
            // What its TTL does when it runs out.
            let key = crate::challenge::redis_layout::challenge_key(&old.record.id);
            let removed: i64 = ::redis::cmd("DEL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(removed, 1, "the challenge key is {key}");
            store.create(&new, &[6u8; 32], last + 1).await.unwrap();
            assert_eq!(store.get(&new.id, last + 1).await.unwrap(), Some(new));
        })
        .await;
    }

    /// A new code for a lapsed one lives `ttl_secs` from now: the key's own
    /// TTL follows, to the new expiry plus the grace period, however little
    /// of the old one was left.
    #[tokio::test]
    async fn a_lapsed_code_renewed_extends_the_keys_ttl() {
        bounded(async {
            let (store, server) = harness().await;
            let made = make(&*store, policy(), T0).await;
            let client = ::redis::Client::open(server.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let key = format!("{{ch:{}}}", made.record.id);
            // As if the code's lifetime had passed in real time: a few seconds left.
            let _: i64 = ::redis::cmd("EXPIRE")
                .arg(&key)
                .arg(20)
                .query_async(&mut conn)
                .await
                .unwrap();
            let lapsed = made.record.expires_at + 1;
            assert!(matches!(
                store
                    .resend(&made.record.id, &[7u8; 32], SEALED, lapsed + 30, lapsed)
                    .await
                    .unwrap(),
                ResendOutcome::Resent(_)
            ));
            let ttl = ttl_of(&mut conn, &key).await;
            let expected = i64::try_from(policy().ttl_secs).unwrap() + EXPIRED_GRACE_SECS;
            assert!(
                (expected - 5..=expected).contains(&ttl),
                "TTL {ttl} s, expected {expected} s"
            );
        })
        .await;
    }

    /// A user's budget lives in Redis at least as long as its window, and
    /// never forever: each charge makes the key live to the window's end at
    /// least. The TTL only grows (the same hash keeps claimed request jtis,
    /// which may outlive a window), so with the clock moved on here but not
    /// Redis's, it stays at the longest window asked for.
    #[tokio::test]
    async fn a_budget_key_expires_with_its_window() {
        bounded(async {
            let (store, server) = harness().await;
            let client = ::redis::Client::open(server.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let user = UserKey::new("https://id.example.com/realms/acme", "ttl-user");
            let key = crate::challenge::redis_layout::user_key(&user);
            // The window opens at T0 for 900 s; 600 s into it, 300 s are
            // left; the next window is 120 s from its first charge.
            for (window, now, left) in [(900, T0, 900), (900, T0 + 600, 300), (120, T0 + 900, 120)]
            {
                store
                    .charge_user(&user, UserCharge::Failure, window, now)
                    .await
                    .unwrap();
                let ttl = ttl_of(&mut conn, &key).await;
                assert!(
                    (left - 5..=900).contains(&ttl),
                    "at {now}: TTL {ttl} s, expected {left} to 900 s"
                );
            }
        })
        .await;
    }

    /// A user's hash: a claimed request jti goes once it has lapsed (when
    /// the next claim is written), and the key lives as long as its
    /// longest-lived part: where it has no TTL it gets the claim's lifetime,
    /// a longer claim or budget window extends it, a shorter one never
    /// shortens it. (Redis's clock stands still here, `now` moves.)
    #[tokio::test]
    async fn a_users_hash_drops_lapsed_claims_and_lives_as_long_as_its_longest_part() {
        bounded(async {
            let (store, server) = harness().await;
            let client = ::redis::Client::open(server.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let user = UserKey::new("https://id.example.com/realms/acme", "claims-user");
            let key = redis_layout::user_key(&user);
            let challenge = ChallengeId::generate();
            // (jti, claimed until, at, the key's TTL after it)
            for (jti, until, now, want) in [
                ("a", T0 + 60, T0, 60),
                ("b", T0 + 300, T0, 300),
                ("c", T0 + 100, T0, 300),
                ("d", T0 + 200, T0 + 60, 300),
            ] {
                assert_eq!(
                    store
                        .claim_jti(&user, jti, &challenge, until, now)
                        .await
                        .unwrap(),
                    JtiClaim::Fresh
                );
                let left = ttl_of(&mut conn, &key).await;
                assert!(
                    (want - 5..=want).contains(&left),
                    "after claiming {jti}: TTL {left} s, expected {want} s"
                );
            }
            // `a` lapsed at T0 + 60, when `d` was claimed: its field is gone.
            let mut fields: Vec<String> = ::redis::cmd("HKEYS")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            fields.sort();
            let mut live: Vec<String> = ["b", "c", "d"]
                .into_iter()
                .map(redis_layout::jti_field)
                .collect();
            live.sort();
            assert_eq!(fields, live);
            // A budget window longer than every claim extends the key; a
            // later, shorter claim leaves it.
            store
                .charge_user(&user, UserCharge::Failure, 900, T0 + 60)
                .await
                .unwrap();
            let left = ttl_of(&mut conn, &key).await;
            assert!(
                (895..=900).contains(&left),
                "after the charge: TTL {left} s"
            );
            store
                .claim_jti(&user, "e", &challenge, T0 + 120, T0 + 60)
                .await
                .unwrap();
            let left = ttl_of(&mut conn, &key).await;
            assert!(
                (895..=900).contains(&left),
                "after claiming e: TTL {left} s"
            );
        })
        .await;
    }

    /// With `min_replicas_ack`, a consuming write counts only once a replica
    /// has it: without one it fails closed (counted), with one it succeeds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn consuming_writes_wait_for_a_replica() {
        bounded(async {
            let master = RedisServer::start();
            let counters = StoreCounters::default();
            let store = RedisStore::connect(&master.url())
                .await
                .unwrap()
                .with_min_replicas_ack(1)
                .with_counters(counters.clone());
            let made = make(&store, policy(), T0).await;
            let started = std::time::Instant::now();
            let err = store
                .check_code(&made.record.id, &made.mac(), T0)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::Unavailable(m) if m.contains("0 of 1 replica")),
                "{err:?}"
            );
            assert!(
                started.elapsed() >= REPLICA_ACK_TIMEOUT,
                "WAIT did not wait"
            );
            let jti = ChallengeId::generate();
            assert!(matches!(
                store
                    .claim_jti(
                        &UserKey::of(&made.record),
                        jti.as_str(),
                        &made.record.id,
                        T0 + 60,
                        T0
                    )
                    .await,
                Err(StoreError::Unavailable(_))
            ));
            assert_eq!(counters.unacknowledged.get(), 2);
            assert_eq!(counters.unavailable.get(), 2);
            // Failing closed burns the code: it was consumed on the master.
            assert!(matches!(
                store.check_code(&made.record.id, &made.mac(), T0).await,
                Err(StoreError::Unavailable(_))
            ));

            // Not ready either: the probe asks the replicas too.
            let err = store.ping().await.unwrap_err();
            assert!(
                matches!(&err, StoreError::Unavailable(m) if m.contains("0 of 1 replica(s) acknowledge writes")),
                "{err:?}"
            );

            let master_port = master.port();
            let _replica =
                tokio::task::spawn_blocking(move || RedisServer::start_replica_of(master_port))
                    .await
                    .unwrap();
            store.ping().await.unwrap();
            let again = make(&store, policy(), T0).await;
            assert!(matches!(
                store
                    .check_code(&again.record.id, &again.mac(), T0)
                    .await
                    .unwrap(),
                VerifyOutcome::Success(_)
            ));
            let jti = ChallengeId::generate();
            assert_eq!(
                store
                    .claim_jti(
                        &UserKey::of(&again.record),
                        jti.as_str(),
                        &again.record.id,
                        T0 + 60,
                        T0
                    )
                    .await
                    .unwrap(),
                JtiClaim::Fresh
            );
            assert_eq!(counters.unacknowledged.get(), 3);
        })
        .await;
    }

    #[tokio::test]
    async fn any_store_connects_by_url() {
        bounded(async {
            let server = RedisServer::start();
            let store = AnyStore::connect(Some(&redis_url(&server.url())))
                .await
                .unwrap();
            assert_eq!(store.kind(), "redis");
            let made = make(&store, policy(), T0).await;
            assert!(matches!(
                store
                    .check_code(&made.record.id, &made.mac(), T0)
                    .await
                    .unwrap(),
                VerifyOutcome::Success(_)
            ));
            let port = free_port();
            let err = AnyStore::connect(Some(&redis_url(&format!("redis://127.0.0.1:{port}"))))
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        })
        .await;
    }
}

/// The whole suite as a Redis user restricted to [`super::REDIS_ACL`]: the
/// documented ACL is enough.
mod redis_acl {
    use super::*;

    async fn harness() -> (Arc<RedisStore>, RedisServer) {
        let server = RedisServer::start();
        let admin = ::redis::Client::open(server.url()).unwrap();
        let mut conn = admin.get_multiplexed_async_connection().await.unwrap();
        let mut setuser = ::redis::cmd("ACL");
        setuser
            .arg("SETUSER")
            .arg("otp")
            .arg("on")
            .arg(">s3cret-pass");
        for rule in REDIS_ACL.split_whitespace() {
            setuser.arg(rule);
        }
        let () = setuser.query_async(&mut conn).await.unwrap();
        // The default user is switched off: only the restricted one can work.
        let () = ::redis::cmd("ACL")
            .arg("SETUSER")
            .arg("default")
            .arg("off")
            .query_async(&mut conn)
            .await
            .unwrap();
        let url = server.url().replace("redis://", "redis://otp:s3cret-pass@");
        let store = RedisStore::connect(&url).await.unwrap();
        (Arc::new(store), server)
    }

    store_suite!(harness);

    #[tokio::test]
    async fn keys_outside_the_pattern_are_out_of_reach() {
        bounded(async {
            let (_store, server) = harness().await;
            let url = server.url().replace("redis://", "redis://otp:s3cret-pass@");
            let client = ::redis::Client::open(url).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let denied: Result<Option<String>, _> = ::redis::cmd("GET")
                .arg("other")
                .query_async(&mut conn)
                .await;
            assert!(denied.is_err());
            let denied: Result<(), _> = ::redis::cmd("FLUSHALL").query_async(&mut conn).await;
            assert!(denied.is_err());
        })
        .await;
    }
}

mod redis_tls {
    use super::*;

    async fn harness() -> (Arc<RedisStore>, RedisServer) {
        let server = tokio::task::spawn_blocking(RedisServer::start_tls)
            .await
            .unwrap();
        let store = RedisStore::connect_with_ca(&server.url(), Some(&server.ca_pem()))
            .await
            .unwrap();
        (Arc::new(store), server)
    }

    store_suite!(harness);

    #[tokio::test]
    async fn a_server_certificate_from_an_unknown_ca_is_refused() {
        bounded(async {
            let server = tokio::task::spawn_blocking(RedisServer::start_tls)
                .await
                .unwrap();
            // The system trust store does not know our test CA.
            let err = AnyStore::connect(Some(&redis_url(&server.url())))
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
            assert!(err.to_string().contains("UnknownIssuer"), "{err}");
            // Plain text to a TLS port does not get through either.
            let plain = server.url().replace("rediss://", "redis://");
            assert!(AnyStore::connect(Some(&redis_url(&plain))).await.is_err());
            let store =
                AnyStore::connect_with_ca(Some(&redis_url(&server.url())), Some(&server.ca_pem()))
                    .await
                    .unwrap();
            store.ping().await.unwrap();
        })
        .await;
    }
}

mod redis_cluster {
    use super::*;

    /// Three master nodes sharing the 16384 slots, no replicas.
    pub(super) struct Cluster {
        nodes: Vec<RedisServer>,
    }

    impl Cluster {
        fn start() -> Cluster {
            let nodes: Vec<RedisServer> =
                (0..3).map(|_| RedisServer::start_cluster_node()).collect();
            let mut create = std::process::Command::new("redis-cli");
            create.args(["--cluster", "create"]);
            for node in &nodes {
                create.arg(format!("127.0.0.1:{}", node.port()));
            }
            create
                .args(["--cluster-replicas", "0", "--cluster-yes"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = create
                .spawn()
                .expect("redis-cli is not installed (it comes with redis-server)");
            // A bound, not a timing check: on a loaded machine the nodes'
            // handshake has taken more than 30 s.
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("redis-cli --cluster create did not finish within 120 s");
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            let output = child.wait_with_output().unwrap();
            assert!(
                status.success(),
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            let cluster = Cluster { nodes };
            cluster.wait_until_ok();
            cluster
        }

        fn wait_until_ok(&self) {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            for node in &self.nodes {
                let client = ::redis::Client::open(node.url()).unwrap();
                loop {
                    let info: String = client
                        .get_connection()
                        .and_then(|mut c| ::redis::cmd("CLUSTER").arg("INFO").query(&mut c))
                        .unwrap_or_default();
                    if info.contains("cluster_state:ok") {
                        break;
                    }
                    assert!(
                        std::time::Instant::now() < deadline,
                        "cluster node {} not ok within 30 s: {info}",
                        node.port()
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }

        fn url(&self) -> String {
            let nodes: Vec<String> = self
                .nodes
                .iter()
                .map(|n| format!("127.0.0.1:{}", n.port()))
                .collect();
            format!("redis+cluster://{}", nodes.join(","))
        }
    }

    async fn harness() -> (Arc<ClusterStore>, Cluster) {
        let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
        let nodes: Vec<String> = cluster.nodes.iter().map(RedisServer::url).collect();
        let store = ClusterStore::connect_cluster(&nodes, None).await.unwrap();
        (Arc::new(store), cluster)
    }

    store_suite!(harness);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn challenges_spread_over_the_nodes_through_any_store() {
        bounded(async {
            let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
            // These nodes have no replicas: nothing to wait for.
            let options = StoreOptions {
                min_replicas_ack: Some(0),
                ..StoreOptions::default()
            };
            let store = AnyStore::connect_with(Some(&redis_url(&cluster.url())), &options)
                .await
                .unwrap();
            assert_eq!(store.kind(), "redis-cluster");
            let made: Vec<Made> = make_many(&store, 30).await;
            // Each node holds some of them: the keys really are spread by slot.
            for node in &cluster.nodes {
                let client = ::redis::Client::open(node.url()).unwrap();
                let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                let size: i64 = ::redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
                assert!(size > 0, "node {} holds no challenge", node.port());
            }
            for m in &made {
                assert!(matches!(
                    store.check_code(&m.record.id, &m.mac(), T0).await.unwrap(),
                    VerifyOutcome::Success(_)
                ));
            }
        })
        .await;
    }

    /// The operator's path: a `redis+cluster://` URL in a configuration
    /// file passes `config check` and starts the store.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cluster_starts_from_a_config_file() {
        bounded(async {
            let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
            let dir = tempfile::tempdir().unwrap();
            let pepper = dir.path().join("pepper");
            std::fs::write(&pepper, [7u8; 32]).unwrap();
            let file = dir.path().join("config.toml");
            std::fs::write(
                &file,
                format!(
                    "[store]\nredis_url = {:?}\nmin_replicas_ack = 0\n\n\
                     [secrets]\npepper_file = {:?}\n\n\
                     [[realms]]\nissuer = \"http://127.0.0.1:8081/realms/acme\"\n",
                    cluster.url(),
                    pepper.display().to_string(),
                ),
            )
            .unwrap();
            let checked = crate::config::check_file(&file, &[]);
            assert!(checked.is_ok(), "{checked:?}");
            let settings = crate::config::Settings::load_with_env(Some(&file), &[]).unwrap();
            let url = settings.store.redis_url.as_ref().unwrap();
            assert!(url.is_cluster());
            // These nodes have no replicas: the file says so.
            assert_eq!(settings.store.min_replicas_ack, Some(0));
            let options = StoreOptions {
                min_replicas_ack: settings.store.min_replicas_ack,
                ..StoreOptions::default()
            };
            let store = AnyStore::connect_with(Some(url), &options).await.unwrap();
            assert_eq!(store.kind(), "redis-cluster");
            let made = make(&store, policy(), T0).await;
            assert!(matches!(
                store
                    .check_code(&made.record.id, &made.mac(), T0)
                    .await
                    .unwrap(),
                VerifyOutcome::Success(_)
            ));
        })
        .await;
    }

    /// `command args` on one node, its answer as text.
    async fn node_command(
        node: &RedisServer,
        command: &str,
        args: &[&str],
    ) -> ::redis::RedisResult<String> {
        let client = ::redis::Client::open(node.url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        ::redis::cmd(command).arg(args).query_async(&mut conn).await
    }

    /// Waits until every node's `CLUSTER INFO` has the line `want`; on a
    /// node that has not, runs `CLUSTER step` (when given) and asks again.
    async fn until_every_node(cluster: &Cluster, want: &str, step: Option<&[&str]>) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut missing = Vec::new();
            for node in &cluster.nodes {
                let info = node_command(node, "CLUSTER", &["INFO"])
                    .await
                    .unwrap_or_default();
                if !info.lines().any(|l| l.trim() == want) {
                    missing.push(node.port());
                    if let Some(step) = step {
                        // Refused where the slot is already gone: asked again.
                        let _ = node_command(node, "CLUSTER", step).await;
                    }
                }
            }
            if missing.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nodes {missing:?} lack `{want}` after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Readiness asks the cluster whether every slot is served: one slot
    /// that no master serves makes the store not ready, whether the nodes
    /// stop answering for the others (`cluster_state:fail`, the default)
    /// or go on (`cluster-require-full-coverage no`); served again, it is
    /// ready again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_probe_is_not_ready_while_a_slot_is_unserved() {
        bounded(async {
            let (store, cluster) = harness().await;
            store.ping().await.unwrap();

            let unassign: &[&str] = &["DELSLOTS", "0"];
            until_every_node(&cluster, "cluster_slots_assigned:16383", Some(unassign)).await;
            until_every_node(&cluster, "cluster_state:fail", None).await;
            let err = store.ping().await.unwrap_err();
            assert!(
                matches!(&err, StoreError::Unavailable(m)
                    if m.starts_with("cluster state fail, 16383 of 16384 slots ok")),
                "{err:?}"
            );

            for node in &cluster.nodes {
                let set = ["SET", "cluster-require-full-coverage", "no"];
                node_command(node, "CONFIG", &set).await.unwrap();
            }
            until_every_node(&cluster, "cluster_state:ok", None).await;
            let err = store.ping().await.unwrap_err();
            assert!(
                matches!(&err, StoreError::Unavailable(m)
                    if m.starts_with("cluster state ok, 16383 of 16384 slots ok")),
                "{err:?}"
            );

            node_command(&cluster.nodes[0], "CLUSTER", &["ADDSLOTS", "0"])
                .await
                .unwrap();
            until_every_node(&cluster, "cluster_slots_ok:16384", None).await;
            store.ping().await.unwrap();
        })
        .await;
    }

    async fn make_many(store: &AnyStore, n: usize) -> Vec<Made> {
        let mut made = Vec::with_capacity(n);
        for _ in 0..n {
            made.push(make(store, policy(), T0).await);
        }
        made
    }
}
