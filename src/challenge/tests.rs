//! The behavioural suite of the [`Store`] contract, written once and run
//! against every store: [`MemoryStore`], [`super::RedisStore`] on a real
//! `redis-server` the tests start on a free port, and a Redis Cluster store
//! on three real cluster nodes. Time is injected; nothing sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use super::*;

/// A sealed code as the store sees it: opaque text.
const SEALED: &str = "c2VhbGVk";

/// An arbitrary fixed "now"; every store takes time from its caller.
const T0: i64 = 1_800_000_000;

/// Every case is bounded: a hung store fails the test instead of hanging it.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

fn policy() -> Policy {
    Policy {
        length: 6,
        ttl_secs: 300,
        max_attempts: 5,
        resend_cooldown_secs: 30,
        max_resends: 2,
    }
}

fn record(policy: Policy, now: i64) -> ChallengeRecord {
    let id = ChallengeId::generate();
    let new = NewChallenge {
        subject: "f0e1d2c3-user".into(),
        email: "jane@example.com".into(),
        name: Some("Jane Doe".into()),
        locale: None,
        realm: "https://id.example.com/realms/acme".into(),
        azp: Some("portal".into()),
        realm_name: Some("Acme Corp".into()),
        client_name: None,
        client_url: None,
        nonce: format!("nonce-{id}"),
        request_jti: format!("jti-{id}"),
        // Longer than one Redis field holds: stored in pieces.
        return_uri: format!(
            "https://id.example.com/realms/acme/login-actions/authenticate?code=x&data={}",
            "d".repeat(150)
        ),
    };
    ChallengeRecord::new(id, new, policy, now).with_delivery("sealed".into(), now + 30)
}

/// A stored challenge, the code that was mailed and the pepper it was MACed with.
struct Made {
    record: ChallengeRecord,
    code: Code,
    pepper: Pepper,
}

impl Made {
    fn mac(&self) -> CodeMac {
        mac(&self.pepper, &self.record.id, &self.code)
    }

    /// The MAC of a code that differs from the real one in its last digit.
    fn wrong_mac(&self, n: u8) -> CodeMac {
        let digits = self.code.expose();
        let (head, last) = digits.split_at(digits.len() - 1);
        let last = (last.parse::<u8>().unwrap() + 1 + n % 9) % 10;
        let wrong = Code::parse(&format!("{head}{last}"), self.record.policy.length).unwrap();
        assert_ne!(wrong.expose(), self.code.expose());
        mac(&self.pepper, &self.record.id, &wrong)
    }
}

async fn make<S: Store>(store: &S, policy: Policy, now: i64) -> Made {
    let record = record(policy, now);
    let code = Code::generate(policy.length);
    let pepper = Pepper::random();
    store
        .create(&record, &mac(&pepper, &record.id, &code), now)
        .await
        .unwrap();
    Made {
        record,
        code,
        pepper,
    }
}

fn expect_invalid(outcome: VerifyOutcome) -> u32 {
    match outcome {
        VerifyOutcome::Invalid { attempts_left } => attempts_left,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

pub(super) async fn create_then_get<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    assert_eq!(
        store.get(&made.record.id, T0).await.unwrap(),
        Some(made.record.clone())
    );
    let unknown = ChallengeId::generate();
    assert_eq!(store.get(&unknown, T0).await.unwrap(), None);
    // An optional field that is set and one that is not both survive the trip.
    let mut other = record(policy(), T0);
    other.name = None;
    other.locale = Some("de-CH".into());
    other.azp = None;
    store.create(&other, &[9u8; 32], T0).await.unwrap();
    assert_eq!(store.get(&other.id, T0).await.unwrap(), Some(other.clone()));
    // The same id twice is refused rather than overwritten.
    assert!(matches!(
        store.create(&other, &[1u8; 32], T0).await,
        Err(StoreError::AlreadyCreated(_))
    ));
    assert_eq!(store.get(&other.id, T0).await.unwrap(), Some(other));
}

/// An id is created once: also after its challenge was used and deleted, for
/// as long as a request claimed for it could come back.
pub(super) async fn an_id_is_created_once_even_after_it_is_gone<S: Store>(store: Arc<S>) {
    let mut short = policy();
    short.ttl_secs = 5;
    let made = make(&*store, short, T0).await;
    let id = made.record.id.clone();
    assert!(store.take(&id, T0 + 1).await.unwrap().is_some());
    assert_eq!(store.get(&id, T0 + 1).await.unwrap(), None);
    for later in [T0 + 1, T0 + CREATED_MARK_SECS - 1] {
        let again = ChallengeRecord::new(
            id.clone(),
            NewChallenge {
                subject: made.record.subject.clone(),
                email: made.record.email.clone(),
                name: None,
                locale: None,
                realm: made.record.realm.clone(),
                azp: None,
                realm_name: None,
                client_name: None,
                client_url: None,
                nonce: made.record.nonce.clone(),
                request_jti: made.record.request_jti.clone(),
                return_uri: made.record.return_uri.clone(),
            },
            short,
            later,
        );
        assert!(
            matches!(
                store.create(&again, &made.mac(), later).await,
                Err(StoreError::AlreadyCreated(_))
            ),
            "re-created at {later}"
        );
        assert_eq!(store.get(&id, later).await.unwrap(), None);
    }
    // Another id is not affected.
    make(&*store, short, T0 + 2).await;
}

pub(super) async fn success_once_then_gone<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    match store
        .check_code(&made.record.id, &made.mac(), T0 + 10)
        .await
        .unwrap()
    {
        VerifyOutcome::Success(record) => assert_eq!(*record, made.record),
        other => panic!("expected Success, got {other:?}"),
    }
    assert_eq!(
        store
            .check_code(&made.record.id, &made.mac(), T0 + 11)
            .await
            .unwrap(),
        VerifyOutcome::Expired(None)
    );
    assert_eq!(store.get(&made.record.id, T0 + 11).await.unwrap(), None);
}

pub(super) async fn wrong_code_counts_down<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    assert_eq!(
        expect_invalid(
            store
                .check_code(id, &made.wrong_mac(0), T0 + 1)
                .await
                .unwrap()
        ),
        4
    );
    assert_eq!(
        expect_invalid(
            store
                .check_code(id, &made.wrong_mac(1), T0 + 2)
                .await
                .unwrap()
        ),
        3
    );
    let kept = store.get(id, T0 + 3).await.unwrap().unwrap();
    assert_eq!(kept.attempts, 2);
    assert_eq!(kept.attempts_left(), 3);
    match store.check_code(id, &made.mac(), T0 + 4).await.unwrap() {
        VerifyOutcome::Success(record) => assert_eq!(record.attempts, 2),
        other => panic!("expected Success, got {other:?}"),
    }
}

pub(super) async fn max_attempts_locks_on_the_next_submission<S: Store>(store: Arc<S>) {
    // max_attempts = 5: five wrong codes are evaluated, the sixth submission
    // is Locked even though it carries the right code.
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    for (n, left) in [4u32, 3, 2, 1, 0].into_iter().enumerate() {
        let outcome = store
            .check_code(id, &made.wrong_mac(n as u8), T0 + 1)
            .await
            .unwrap();
        assert_eq!(expect_invalid(outcome), left);
    }
    match store.check_code(id, &made.mac(), T0 + 2).await.unwrap() {
        VerifyOutcome::Locked(Some(record)) => {
            assert_eq!(record.attempts, 5);
            assert_eq!(record.id, made.record.id);
            assert_eq!(record.nonce, made.record.nonce);
        }
        other => panic!("expected Locked(Some), got {other:?}"),
    }
    // Gone, and what it left says locked: so is the next submission answered.
    assert_eq!(
        store.check_code(id, &made.mac(), T0 + 3).await.unwrap(),
        VerifyOutcome::Locked(None)
    );
    assert_eq!(store.get(id, T0 + 3).await.unwrap(), None);

    // With a single attempt: one wrong code, then locked.
    let one = make(
        &*store,
        Policy {
            max_attempts: 1,
            ..policy()
        },
        T0,
    )
    .await;
    let outcome = store
        .check_code(&one.record.id, &one.wrong_mac(0), T0)
        .await;
    assert_eq!(expect_invalid(outcome.unwrap()), 0);
    assert!(matches!(
        store
            .check_code(&one.record.id, &one.mac(), T0)
            .await
            .unwrap(),
        VerifyOutcome::Locked(Some(_))
    ));
}

/// A challenge closed because its attempts are spent answers `Locked(None)`
/// to any later code, right or wrong, while the mark of its id is kept; a
/// used or cancelled one answers like an unknown id.
pub(super) async fn a_locked_challenge_answers_locked_while_its_mark_is_kept<S: Store>(
    store: Arc<S>,
) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    expect_invalid(
        store
            .check_code(id, &made.wrong_mac(0), T0 + 1)
            .await
            .unwrap(),
    );
    assert!(!store.was_locked(id, T0 + 1).await.unwrap());
    let closed = store.lock(id, T0 + 2).await.unwrap().unwrap();
    assert_eq!(closed.attempts, 1);
    assert_eq!(closed.id, *id);
    for at in [T0 + 3, T0 + CREATED_MARK_SECS - 1] {
        for mac in [made.mac(), made.wrong_mac(1)] {
            assert_eq!(
                store.check_code(id, &mac, at).await.unwrap(),
                VerifyOutcome::Locked(None),
                "at {at}"
            );
        }
        assert!(store.was_locked(id, at).await.unwrap(), "at {at}");
    }
    // Nothing else is left of it: no record to show, cancel, lock, rebind or
    // renew, and its id is not created again; the mark stays as it was.
    assert_eq!(store.get(id, T0 + 4).await.unwrap(), None);
    assert_eq!(store.take(id, T0 + 4).await.unwrap(), None);
    assert_eq!(store.lock(id, T0 + 4).await.unwrap(), None);
    assert_eq!(
        store
            .resend(id, &[5u8; 32], SEALED, T0 + 34, T0 + 4)
            .await
            .unwrap(),
        ResendOutcome::Expired
    );
    assert!(matches!(
        store.create(&made.record, &made.mac(), T0 + 4).await,
        Err(StoreError::AlreadyCreated(_))
    ));
    assert_eq!(
        store.check_code(id, &made.mac(), T0 + 5).await.unwrap(),
        VerifyOutcome::Locked(None)
    );

    // Used or cancelled: answered as unknown, never as locked.
    let used = make(&*store, policy(), T0).await;
    assert!(matches!(
        store
            .check_code(&used.record.id, &used.mac(), T0 + 2)
            .await
            .unwrap(),
        VerifyOutcome::Success(_)
    ));
    let cancelled = make(&*store, policy(), T0).await;
    assert!(store
        .take(&cancelled.record.id, T0 + 2)
        .await
        .unwrap()
        .is_some());
    for gone in [&used, &cancelled] {
        assert_eq!(
            store
                .check_code(&gone.record.id, &gone.mac(), T0 + 3)
                .await
                .unwrap(),
            VerifyOutcome::Expired(None)
        );
        assert!(!store.was_locked(&gone.record.id, T0 + 3).await.unwrap());
    }
    assert!(!store
        .was_locked(&ChallengeId::generate(), T0 + 3)
        .await
        .unwrap());

    // Locked once the mark's time is over: nothing is left, as for an
    // unknown id.
    let late = make(&*store, policy(), T0).await;
    let over = T0 + CREATED_MARK_SECS;
    assert!(store.lock(&late.record.id, over).await.unwrap().is_some());
    assert_eq!(
        store
            .check_code(&late.record.id, &late.mac(), over)
            .await
            .unwrap(),
        VerifyOutcome::Expired(None)
    );
    assert!(!store.was_locked(&late.record.id, over).await.unwrap());
}

pub(super) async fn expiry_follows_the_injected_clock<S: Store>(store: Arc<S>) {
    let at_edge = make(&*store, policy(), T0).await;
    let expires_at = at_edge.record.expires_at;
    // `expires_at` itself still verifies.
    assert!(matches!(
        store
            .check_code(&at_edge.record.id, &at_edge.mac(), expires_at)
            .await
            .unwrap(),
        VerifyOutcome::Success(_)
    ));

    let late = make(&*store, policy(), T0).await;
    let id = &late.record.id;
    // Still kept after expiry: the page says so and offers a new code.
    assert_eq!(
        store.get(id, expires_at + 1).await.unwrap(),
        Some(late.record.clone())
    );
    for at in [expires_at + 1, expires_at + 2] {
        match store.check_code(id, &late.mac(), at).await.unwrap() {
            VerifyOutcome::Expired(Some(record)) => assert_eq!(*record, late.record),
            other => panic!("expected Expired(Some), got {other:?}"),
        }
    }
    // A lapsed code spends no attempt.
    assert_eq!(
        store
            .get(id, expires_at + 2)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        0
    );
    // A new code: counted as a resend (no cooldown: the old code is gone),
    // living a full ttl from now; the old code stays dead.
    let renewed_at = expires_at + 60;
    let ResendOutcome::Resent(renewed) = store
        .resend(id, &[3u8; 32], SEALED, renewed_at + 30, renewed_at)
        .await
        .unwrap()
    else {
        panic!("a lapsed code can be replaced");
    };
    assert_eq!(renewed.resends, late.record.resends + 1);
    assert_eq!(
        renewed.expires_at,
        renewed_at + i64::try_from(policy().ttl_secs).unwrap()
    );
    assert!(!renewed.is_expired(renewed_at + 1));
    assert!(matches!(
        store
            .check_code(id, &late.mac(), renewed_at + 1)
            .await
            .unwrap(),
        VerifyOutcome::Invalid { .. }
    ));
    assert!(matches!(
        store
            .check_code(id, &[3u8; 32], renewed_at + 2)
            .await
            .unwrap(),
        VerifyOutcome::Success(_)
    ));

    // No resend left: a lapsed code stays lapsed.
    let spent = make(
        &*store,
        Policy {
            max_resends: 0,
            ..policy()
        },
        T0,
    )
    .await;
    assert_eq!(
        store
            .resend(
                &spent.record.id,
                &[3u8; 32],
                SEALED,
                expires_at + 31,
                expires_at + 1
            )
            .await
            .unwrap(),
        ResendOutcome::Exhausted
    );

    // After the grace period nothing is left, whatever is asked.
    let gone = make(&*store, policy(), T0).await;
    let id = &gone.record.id;
    let after_grace = expires_at + EXPIRED_GRACE_SECS + 1;
    assert!(store
        .get(id, expires_at + EXPIRED_GRACE_SECS)
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.get(id, after_grace).await.unwrap(), None);
    assert_eq!(store.take(id, after_grace).await.unwrap(), None);
    assert_eq!(
        store
            .check_code(id, &gone.mac(), after_grace)
            .await
            .unwrap(),
        VerifyOutcome::Expired(None)
    );
}

pub(super) async fn concurrent_correct_codes_succeed_once<S: Store + 'static>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let mac = made.mac();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            let id = made.record.id.clone();
            tokio::spawn(async move { store.check_code(&id, &mac, T0 + 1).await })
        })
        .collect();
    let (mut success, mut gone) = (0, 0);
    for task in tasks {
        match task.await.unwrap().unwrap() {
            VerifyOutcome::Success(record) => {
                assert_eq!(*record, made.record);
                success += 1;
            }
            VerifyOutcome::Expired(None) => gone += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((success, gone), (1, 49));
}

pub(super) async fn concurrent_wrong_guesses_are_capped<S: Store + 'static>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let tasks: Vec<_> = (0..100u8)
        .map(|n| {
            let store = Arc::clone(&store);
            let id = made.record.id.clone();
            let wrong = made.wrong_mac(n);
            tokio::spawn(async move { store.check_code(&id, &wrong, T0 + 1).await })
        })
        .collect();
    let mut left_seen = Vec::new();
    let (mut locked, mut locked_before) = (0, 0);
    for task in tasks {
        match task.await.unwrap().unwrap() {
            VerifyOutcome::Invalid { attempts_left } => left_seen.push(attempts_left),
            VerifyOutcome::Locked(Some(_)) => locked += 1,
            VerifyOutcome::Locked(None) => locked_before += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    left_seen.sort_unstable();
    // Exactly five guesses were evaluated, one submission saw the lock, the
    // rest found the mark it left.
    assert_eq!(left_seen, vec![0, 1, 2, 3, 4]);
    assert_eq!((locked, locked_before), (1, 94));
    // And the real code no longer helps.
    assert_eq!(
        store
            .check_code(&made.record.id, &made.mac(), T0 + 2)
            .await
            .unwrap(),
        VerifyOutcome::Locked(None)
    );
}

pub(super) async fn resend_respects_cooldown_and_keeps_attempts<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    expect_invalid(
        store
            .check_code(id, &made.wrong_mac(0), T0 + 1)
            .await
            .unwrap(),
    );
    expect_invalid(
        store
            .check_code(id, &made.wrong_mac(1), T0 + 2)
            .await
            .unwrap(),
    );

    let new_code = Code::generate(6);
    let new_mac = mac(&made.pepper, id, &new_code);
    assert_eq!(
        store
            .resend(id, &new_mac, SEALED, T0 + 10 + 30, T0 + 10)
            .await
            .unwrap(),
        ResendOutcome::Cooldown {
            retry_after_secs: 20
        }
    );
    assert_eq!(
        store
            .resend(id, &new_mac, SEALED, T0 + 29 + 30, T0 + 29)
            .await
            .unwrap(),
        ResendOutcome::Cooldown {
            retry_after_secs: 1
        }
    );
    match store
        .resend(id, &new_mac, SEALED, T0 + 30 + 30, T0 + 30)
        .await
        .unwrap()
    {
        ResendOutcome::Resent(record) => {
            assert_eq!(record.resends, 1);
            assert_eq!(record.last_sent_at, T0 + 30);
            assert_eq!(record.attempts, 2, "a resend must not reset attempts");
            assert_eq!(record.expires_at, made.record.expires_at);
            assert_eq!(record.resend_after(), T0 + 60);
        }
        other => panic!("expected Resent, got {other:?}"),
    }
    assert_eq!(store.get(id, T0 + 31).await.unwrap().unwrap().attempts, 2);
    // The old code is dead and costs an attempt.
    if made.code.expose() != new_code.expose() {
        assert_eq!(
            expect_invalid(store.check_code(id, &made.mac(), T0 + 31).await.unwrap()),
            2
        );
    }
    match store.check_code(id, &new_mac, T0 + 32).await.unwrap() {
        VerifyOutcome::Success(record) => assert_eq!(record.resends, 1),
        other => panic!("expected Success, got {other:?}"),
    }
    assert_eq!(
        store
            .resend(id, &new_mac, SEALED, T0 + 100 + 30, T0 + 100)
            .await
            .unwrap(),
        ResendOutcome::Expired
    );
}

pub(super) async fn resends_are_limited<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    match store
        .resend(id, &[1u8; 32], SEALED, T0 + 30 + 30, T0 + 30)
        .await
        .unwrap()
    {
        ResendOutcome::Resent(record) => assert_eq!(record.resends_left(), 1),
        other => panic!("expected Resent, got {other:?}"),
    }
    assert_eq!(
        store
            .resend(id, &[2u8; 32], SEALED, T0 + 59 + 30, T0 + 59)
            .await
            .unwrap(),
        ResendOutcome::Cooldown {
            retry_after_secs: 1
        }
    );
    match store
        .resend(id, &[2u8; 32], SEALED, T0 + 60 + 30, T0 + 60)
        .await
        .unwrap()
    {
        ResendOutcome::Resent(record) => assert_eq!(record.resends_left(), 0),
        other => panic!("expected Resent, got {other:?}"),
    }
    assert_eq!(
        store
            .resend(id, &[3u8; 32], SEALED, T0 + 200 + 30, T0 + 200)
            .await
            .unwrap(),
        ResendOutcome::Exhausted
    );
    // The last code sent still works after the refusal.
    assert!(matches!(
        store.check_code(id, &[2u8; 32], T0 + 201).await.unwrap(),
        VerifyOutcome::Success(_)
    ));
    assert_eq!(
        store
            .resend(&ChallengeId::generate(), &[3u8; 32], SEALED, T0 + 30, T0)
            .await
            .unwrap(),
        ResendOutcome::Expired
    );
}

pub(super) async fn jti_is_claimed_once<S: Store>(store: Arc<S>) {
    let user = UserKey::new("https://id.example.com/realms/acme", "f0e1d2c3-user");
    let first = ChallengeId::generate();
    let second = ChallengeId::generate();
    let jti = format!("jti-{}", ChallengeId::generate());
    assert_eq!(
        store
            .claim_jti(&user, &jti, &first, T0 + 60, T0)
            .await
            .unwrap(),
        JtiClaim::Fresh
    );
    assert_eq!(
        store
            .claim_jti(&user, &jti, &second, T0 + 60, T0 + 1)
            .await
            .unwrap(),
        JtiClaim::Seen(first.clone())
    );
    assert_eq!(
        store
            .claim_jti(&user, &jti, &second, T0 + 60, T0 + 59)
            .await
            .unwrap(),
        JtiClaim::Seen(first.clone())
    );
    // A jti is plain data: long, odd characters, braces that look like a hash tag.
    let odd = format!("}}{{ch:{first}}} \u{1F600} {}", "x".repeat(5000));
    assert_eq!(
        store
            .claim_jti(&user, &odd, &second, T0 + 60, T0)
            .await
            .unwrap(),
        JtiClaim::Fresh
    );
    assert_eq!(
        store
            .claim_jti(&user, &odd, &first, T0 + 60, T0)
            .await
            .unwrap(),
        JtiClaim::Seen(second.clone())
    );
    // A jti is the realm's: another user's request with the same jti is
    // another request.
    let other = UserKey::new("https://id.example.com/realms/beta", "f0e1d2c3-user");
    assert_eq!(
        store
            .claim_jti(&other, &jti, &second, T0 + 60, T0 + 2)
            .await
            .unwrap(),
        JtiClaim::Fresh
    );
    // The user's budget window opening and closing leaves the claims alone.
    store
        .charge_user(&user, UserCharge::Challenge, 5, T0 + 2)
        .await
        .unwrap();
    store
        .charge_user(&user, UserCharge::Challenge, 5, T0 + 30)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_jti(&user, &jti, &second, T0 + 60, T0 + 31)
            .await
            .unwrap(),
        JtiClaim::Seen(first.clone())
    );
    assert_eq!(
        store.user_usage(&user, T0 + 31).await.unwrap().challenges,
        1
    );
    // Once the request itself has expired the jti may be forgotten.
    assert_eq!(
        store
            .claim_jti(&user, &jti, &second, T0 + 200, T0 + 60)
            .await
            .unwrap(),
        JtiClaim::Fresh
    );
    assert_eq!(
        store
            .claim_jti(&user, &jti, &first, T0 + 200, T0 + 61)
            .await
            .unwrap(),
        JtiClaim::Seen(second.clone())
    );
}

pub(super) async fn take_returns_the_record_once<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    assert_eq!(
        store.take(id, T0 + 5).await.unwrap(),
        Some(made.record.clone())
    );
    assert_eq!(store.take(id, T0 + 5).await.unwrap(), None);
    assert_eq!(
        store.check_code(id, &made.mac(), T0 + 6).await.unwrap(),
        VerifyOutcome::Expired(None)
    );
    // An expired one can still be cancelled during the grace period.
    let late = make(&*store, policy(), T0).await;
    assert_eq!(
        store
            .take(&late.record.id, late.record.expires_at + 5)
            .await
            .unwrap(),
        Some(late.record)
    );
}

pub(super) async fn rebind_follows_the_newer_request_and_keeps_the_rest<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    // One wrong code first: a rebind must not reset it.
    expect_invalid(
        store
            .check_code(id, &made.wrong_mac(0), T0 + 1)
            .await
            .unwrap(),
    );
    let before = store.get(id, T0 + 2).await.unwrap().unwrap();
    let newer = Rebind {
        realm: &made.record.realm,
        subject: &made.record.subject,
        nonce: &made.record.nonce,
        return_uri: "https://id.example.com/realms/acme/login-actions/authenticate?code=y",
        request_jti: "jti-newer",
    };
    let rebound = store.rebind(id, &newer, T0 + 2).await.unwrap().unwrap();
    let expected = ChallengeRecord {
        return_uri: newer.return_uri.into(),
        request_jti: "jti-newer".into(),
        ..before.clone()
    };
    assert_eq!(rebound, expected);
    assert_eq!(rebound.attempts, 1);
    assert_eq!(store.get(id, T0 + 3).await.unwrap(), Some(expected.clone()));

    // Another login (realm, subject or nonce differ, also by length only)
    // changes nothing.
    let other_nonce = format!("{}x", made.record.nonce);
    let truncated = &made.record.nonce[..made.record.nonce.len() - 1];
    for (realm, subject, nonce) in [
        (
            "https://id.example.com/realms/other",
            made.record.subject.as_str(),
            made.record.nonce.as_str(),
        ),
        (
            made.record.realm.as_str(),
            "someone-else",
            made.record.nonce.as_str(),
        ),
        (
            made.record.realm.as_str(),
            made.record.subject.as_str(),
            other_nonce.as_str(),
        ),
        (
            made.record.realm.as_str(),
            made.record.subject.as_str(),
            truncated,
        ),
        (made.record.realm.as_str(), made.record.subject.as_str(), ""),
    ] {
        let attempt = Rebind {
            realm,
            subject,
            nonce,
            return_uri: "https://id.example.com/realms/acme/login-actions/authenticate?code=evil",
            request_jti: "jti-other",
        };
        assert_eq!(store.rebind(id, &attempt, T0 + 4).await.unwrap(), None);
    }
    assert_eq!(store.get(id, T0 + 4).await.unwrap(), Some(expected.clone()));

    // The mailed code still works, and the success carries the new return_uri.
    match store.check_code(id, &made.mac(), T0 + 5).await.unwrap() {
        VerifyOutcome::Success(record) => assert_eq!(*record, expected),
        other => panic!("expected Success, got {other:?}"),
    }
    // Gone (used) or unknown: nothing to rebind.
    assert_eq!(store.rebind(id, &newer, T0 + 6).await.unwrap(), None);
    assert_eq!(
        store
            .rebind(&ChallengeId::generate(), &newer, T0 + 6)
            .await
            .unwrap(),
        None
    );

    // Expired (still kept for the `expired` assertion): not rebound.
    let late = make(&*store, policy(), T0).await;
    let same = Rebind {
        realm: &late.record.realm,
        subject: &late.record.subject,
        nonce: &late.record.nonce,
        ..newer
    };
    assert_eq!(
        store
            .rebind(&late.record.id, &same, late.record.expires_at + 1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get(&late.record.id, late.record.expires_at + 1)
            .await
            .unwrap(),
        Some(late.record.clone())
    );
    // Up to and including expires_at it is still live.
    assert!(store
        .rebind(&late.record.id, &same, late.record.expires_at)
        .await
        .unwrap()
        .is_some());
}

/// Realm, subject and nonce longer than one Redis field holds (stored in
/// pieces) are compared whole: every piece, the last one too.
pub(super) async fn rebind_compares_texts_of_several_pieces_whole<S: Store>(store: Arc<S>) {
    let mut long = record(policy(), T0);
    long.realm = format!("https://id.example.com/realms/{}", "r".repeat(200));
    long.subject = format!("federated:{}", "s".repeat(200));
    long.nonce = "n".repeat(200);
    long.return_uri = format!(
        "{}/login-actions/authenticate?code={}",
        long.realm,
        "q".repeat(200)
    );
    store.create(&long, &[8u8; 32], T0).await.unwrap();
    let newer_uri = format!("{}/login-actions/authenticate?code=newer", long.realm);
    let same = Rebind {
        realm: &long.realm,
        subject: &long.subject,
        nonce: &long.nonce,
        return_uri: &newer_uri,
        request_jti: "jti-newer",
    };
    // Differing in the last byte only: another login.
    let last_differs = |text: &str| format!("{}x", &text[..text.len() - 1]);
    let (realm, subject, nonce) = (
        last_differs(&long.realm),
        last_differs(&long.subject),
        last_differs(&long.nonce),
    );
    for other in [
        Rebind {
            realm: &realm,
            ..same
        },
        Rebind {
            subject: &subject,
            ..same
        },
        Rebind {
            nonce: &nonce,
            ..same
        },
    ] {
        assert_eq!(store.rebind(&long.id, &other, T0 + 1).await.unwrap(), None);
    }
    let expected = ChallengeRecord {
        return_uri: newer_uri.clone(),
        request_jti: "jti-newer".into(),
        ..long.clone()
    };
    assert_eq!(
        store.rebind(&long.id, &same, T0 + 1).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(store.get(&long.id, T0 + 2).await.unwrap(), Some(expected));
}

pub(super) async fn user_budget_counts_within_its_window<S: Store>(store: Arc<S>) {
    let jane = UserKey::new("https://id.example.com/realms/acme", "f0e1d2c3-user");
    let other_realm = UserKey::new("https://id.example.com/realms/beta", "f0e1d2c3-user");
    assert_eq!(jane.as_str().len(), DIGEST_LEN);
    assert_ne!(jane, other_realm);
    assert_eq!(
        store.user_usage(&jane, T0).await.unwrap(),
        UserUsage::default()
    );
    // Refunding with no window open does nothing (and opens none).
    store
        .refund_user(&jane, UserCharge::Failure, T0)
        .await
        .unwrap();
    for n in 1..=3 {
        assert_eq!(
            store
                .charge_user(&jane, UserCharge::Failure, 100, T0 + n)
                .await
                .unwrap(),
            u32::try_from(n).unwrap()
        );
    }
    assert_eq!(
        store
            .charge_user(&jane, UserCharge::Challenge, 100, T0 + 10)
            .await
            .unwrap(),
        1
    );
    store
        .refund_user(&jane, UserCharge::Failure, T0 + 11)
        .await
        .unwrap();
    assert_eq!(
        store.user_usage(&jane, T0 + 99).await.unwrap(),
        UserUsage {
            failures: 2,
            challenges: 1
        }
    );
    // Another user (same subject, other realm) has a budget of its own.
    assert_eq!(
        store.user_usage(&other_realm, T0 + 99).await.unwrap(),
        UserUsage::default()
    );
    // The window opened at the first charge (T0 + 1) and ends 100 s later,
    // whatever came after; then both counters start over.
    assert_eq!(
        store.user_usage(&jane, T0 + 101).await.unwrap(),
        UserUsage::default()
    );
    store
        .refund_user(&jane, UserCharge::Challenge, T0 + 101)
        .await
        .unwrap();
    assert_eq!(
        store
            .charge_user(&jane, UserCharge::Challenge, 100, T0 + 101)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.user_usage(&jane, T0 + 102).await.unwrap(),
        UserUsage {
            failures: 0,
            challenges: 1
        }
    );
    // A refund never goes below zero.
    for _ in 0..3 {
        store
            .refund_user(&jane, UserCharge::Failure, T0 + 103)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .charge_user(&jane, UserCharge::Failure, 100, T0 + 104)
            .await
            .unwrap(),
        1
    );
}

pub(super) async fn concurrent_user_charges_are_counted_exactly<S: Store + 'static>(store: Arc<S>) {
    let user = UserKey::new("https://id.example.com/realms/acme", "concurrent");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let user = user.clone();
            tokio::spawn(async move {
                store
                    .charge_user(&user, UserCharge::Failure, 600, T0)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    // Every charge saw a distinct count: none was lost or doubled.
    assert_eq!(counts, (1..=50).collect::<Vec<u32>>());
    assert_eq!(store.user_usage(&user, T0 + 1).await.unwrap().failures, 50);
}

pub(super) async fn ping_answers<S: Store>(store: Arc<S>) {
    store.ping().await.unwrap();
}

/// Runs `case` against a store, bounded in time.
pub(super) async fn bounded<F: std::future::Future<Output = ()>>(case: F) {
    tokio::time::timeout(CASE_TIMEOUT, case)
        .await
        .expect("store case timed out");
}

/// One `#[tokio::test]` per case, for a harness `async fn() -> (Arc<S>, guard)`.
macro_rules! store_suite {
    ($harness:ident) => {
        store_suite!(@cases $harness:
            create_then_get,
            an_id_is_created_once_even_after_it_is_gone,
            success_once_then_gone,
            wrong_code_counts_down,
            max_attempts_locks_on_the_next_submission,
            a_locked_challenge_answers_locked_while_its_mark_is_kept,
            expiry_follows_the_injected_clock,
            concurrent_correct_codes_succeed_once,
            concurrent_wrong_guesses_are_capped,
            resend_respects_cooldown_and_keeps_attempts,
            resends_are_limited,
            jti_is_claimed_once,
            take_returns_the_record_once,
            rebind_follows_the_newer_request_and_keeps_the_rest,
            rebind_compares_texts_of_several_pieces_whole,
            user_budget_counts_within_its_window,
            concurrent_user_charges_are_counted_exactly,
            delivery_steps_follow_the_lease_and_the_generation,
            a_new_code_after_a_failed_delivery_is_free,
            send_limits_count_within_their_window,
            ping_answers,
            each_clock_rule_holds_at_its_last_second,
        );
    };
    (@cases $harness:ident: $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (store, _guard) = $harness().await;
                $crate::challenge::tests::bounded($crate::challenge::tests::$case(store)).await;
            }
        )*
    };
}

mod memory {
    use super::*;

    async fn harness() -> (Arc<MemoryStore>, ()) {
        (Arc::new(MemoryStore::new()), ())
    }

    store_suite!(harness);

    #[tokio::test]
    async fn a_full_store_refuses_new_challenges_clearly_until_some_are_gone() {
        let store = MemoryStore::with_capacity(2);
        let first = make(&store, policy(), T0).await;
        make(&store, policy(), T0).await;
        let refused = store
            .create(&record(policy(), T0), &[0u8; 32], T0 + 1)
            .await;
        match refused {
            Err(StoreError::Unavailable(message)) => {
                assert!(message.contains("full (2 live challenges"), "{message}");
                assert!(message.contains("store.redis_url"), "{message}");
            }
            other => panic!("expected a clear refusal, got {other:?}"),
        }
        assert_eq!(store.len(), 2);
        // Once the stored ones are past their grace period there is room again.
        let later = first.record.expires_at + EXPIRED_GRACE_SECS + 1;
        store
            .create(&record(policy(), later), &[0u8; 32], later)
            .await
            .unwrap();
        assert_eq!(store.len(), 1);
    }

    /// The mark of a locked challenge lapses as Redis's does: at its
    /// creation plus [`CREATED_MARK_SECS`]; a submission is then answered as
    /// for an unknown id, also after a purge.
    #[tokio::test]
    async fn a_locked_mark_lapses_with_the_ids_mark() {
        let store = MemoryStore::new();
        let made = make(&store, policy(), T0).await;
        let id = &made.record.id;
        assert!(store.lock(id, T0 + 2).await.unwrap().is_some());
        let last = T0 + CREATED_MARK_SECS - 1;
        assert_eq!(
            store.check_code(id, &made.mac(), last).await.unwrap(),
            VerifyOutcome::Locked(None)
        );
        store.purge(last);
        assert!(store.was_locked(id, last).await.unwrap());
        for at in [last + 1, last + 2] {
            assert_eq!(
                store.check_code(id, &made.mac(), at).await.unwrap(),
                VerifyOutcome::Expired(None)
            );
            assert!(!store.was_locked(id, at).await.unwrap());
        }
        store.purge(last + 1);
        assert!(!store.was_locked(id, last).await.unwrap(), "purged");
    }

    /// An id's mark ends, to the second, when its challenge would no longer
    /// be kept, at least [`CREATED_MARK_SECS`] after its creation, also
    /// when no purge has run since.
    #[tokio::test]
    async fn an_id_can_be_created_again_the_second_its_mark_ends() {
        let store = MemoryStore::new();
        let made = make(&store, policy(), T0).await;
        assert!(store.take(&made.record.id, T0 + 1).await.unwrap().is_some());
        let end = (made.record.expires_at + EXPIRED_GRACE_SECS).max(T0 + CREATED_MARK_SECS);
        // Another creation just before: the purge it runs keeps the mark.
        make(&store, policy(), end - 1).await;
        assert!(matches!(
            store.create(&made.record, &made.mac(), end - 1).await,
            Err(StoreError::AlreadyCreated(_))
        ));
        store.create(&made.record, &made.mac(), end).await.unwrap();
    }

    /// A purge drops only what has lapsed: a jti, an id's creation mark, a
    /// user's window and a send limit's window still in force count as
    /// before it.
    #[tokio::test]
    async fn purge_keeps_every_mark_still_in_force() {
        let store = MemoryStore::new();
        let made = make(&store, policy(), T0).await;
        let user = UserKey::of(&made.record);
        let key = RateKey::recipient("jane@example.com");
        let id = &made.record.id;
        store.claim_jti(&user, "j", id, T0 + 60, T0).await.unwrap();
        store
            .charge_user(&user, UserCharge::Challenge, 60, T0)
            .await
            .unwrap();
        store.charge_rate(&key, 60, T0).await.unwrap();
        // Gone, so only its creation mark is left of it.
        assert!(store.take(id, T0 + 1).await.unwrap().is_some());
        store.purge(T0 + 59);
        assert_eq!(
            store
                .claim_jti(&user, "j", &ChallengeId::generate(), T0 + 60, T0 + 59)
                .await
                .unwrap(),
            JtiClaim::Seen(id.clone())
        );
        assert!(matches!(
            store.create(&made.record, &made.mac(), T0 + 59).await,
            Err(StoreError::AlreadyCreated(_))
        ));
        assert_eq!(
            store
                .charge_user(&user, UserCharge::Challenge, 60, T0 + 59)
                .await
                .unwrap(),
            2
        );
        assert_eq!(store.charge_rate(&key, 60, T0 + 59).await.unwrap().count, 2);
    }

    #[tokio::test]
    async fn purge_drops_what_is_past_its_grace_period() {
        let store = MemoryStore::new();
        let made = make(&store, policy(), T0).await;
        store
            .claim_jti(
                &UserKey::of(&made.record),
                "j",
                &made.record.id,
                T0 + 60,
                T0,
            )
            .await
            .unwrap();
        store.purge(made.record.expires_at + 1);
        assert_eq!(store.len(), 1);
        assert!(!store.is_empty());
        store.purge(made.record.expires_at + EXPIRED_GRACE_SECS + 1);
        assert!(store.is_empty());
        // The jti was purged too.
        assert_eq!(
            store
                .claim_jti(
                    &UserKey::of(&made.record),
                    "j",
                    &ChallengeId::generate(),
                    T0 + 60,
                    T0
                )
                .await
                .unwrap(),
            JtiClaim::Fresh
        );
        // `create` purges by itself as time goes on.
        make(&store, policy(), T0).await;
        make(&store, policy(), T0 + 10_000).await;
        assert_eq!(store.len(), 1);
    }
}

/// An id's mark outlasts every request that could create it: the request
/// accepted earliest (issued the clock leeway ahead) and for longest (the
/// longest lifetime) is refused as expired from the second the mark ends
/// (the verifier's side: `tokens::request`'s
/// `the_longest_acceptance_window_is_what_the_store_remembers`).
#[test]
fn an_ids_mark_outlasts_the_longest_accepted_request() {
    let first_accepted = T0;
    let iat = first_accepted + crate::tokens::CLOCK_LEEWAY_SECS;
    let exp = iat + crate::tokens::MAX_REQUEST_LIFETIME_SECS;
    assert_eq!(
        first_accepted + CREATED_MARK_SECS,
        crate::tokens::expired_from(exp)
    );
}

/// The suite through [`AnyStore`], the type the service holds: each of its
/// methods must reach the store it wraps.
mod any_memory {
    use super::*;

    async fn harness() -> (Arc<AnyStore>, ()) {
        let store = AnyStore::connect(None).await.unwrap();
        assert_eq!(store.kind(), "memory");
        (Arc::new(store), ())
    }

    store_suite!(harness);
}

mod delivery;
mod edges;
mod redis;

pub(crate) use delivery::{
    a_new_code_after_a_failed_delivery_is_free, delivery_steps_follow_the_lease_and_the_generation,
    send_limits_count_within_their_window,
};
pub(crate) use edges::each_clock_rule_holds_at_its_last_second;
mod redis_server;
use redis_server::RedisServer;
mod footprint;
