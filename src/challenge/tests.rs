//! The behavioural suite of the [`Store`] contract, written once and run
//! against every store: [`MemoryStore`], [`super::RedisStore`] on a real
//! `redis-server` the tests start on a free port, and a Redis Cluster store
//! on three real cluster nodes. Time is injected; nothing sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use super::*;

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
    ChallengeRecord {
        subject: "f0e1d2c3-user".into(),
        email: "jane@example.com".into(),
        name: Some("Jane Doe".into()),
        locale: None,
        realm: "https://id.example.com/realms/acme".into(),
        azp: Some("portal".into()),
        nonce: format!("nonce-{id}"),
        request_jti: format!("jti-{id}"),
        return_uri: "https://id.example.com/realms/acme/login-actions/authenticate?code=x".into(),
        csrf_token: generate_csrf_token(),
        policy,
        attempts: 0,
        resends: 0,
        created_at: now,
        last_sent_at: now,
        expires_at: now + i64::try_from(policy.ttl_secs).unwrap(),
        id,
    }
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
    assert!(store.create(&other, &[1u8; 32], T0).await.is_err());
    assert_eq!(store.get(&other.id, T0).await.unwrap(), Some(other));
}

pub(super) async fn success_once_then_gone<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    match store
        .verify(&made.record.id, &made.mac(), T0 + 10)
        .await
        .unwrap()
    {
        VerifyOutcome::Success(record) => assert_eq!(*record, made.record),
        other => panic!("expected Success, got {other:?}"),
    }
    assert_eq!(
        store
            .verify(&made.record.id, &made.mac(), T0 + 11)
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
        expect_invalid(store.verify(id, &made.wrong_mac(0), T0 + 1).await.unwrap()),
        4
    );
    assert_eq!(
        expect_invalid(store.verify(id, &made.wrong_mac(1), T0 + 2).await.unwrap()),
        3
    );
    let kept = store.get(id, T0 + 3).await.unwrap().unwrap();
    assert_eq!(kept.attempts, 2);
    assert_eq!(kept.attempts_left(), 3);
    match store.verify(id, &made.mac(), T0 + 4).await.unwrap() {
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
            .verify(id, &made.wrong_mac(n as u8), T0 + 1)
            .await
            .unwrap();
        assert_eq!(expect_invalid(outcome), left);
    }
    match store.verify(id, &made.mac(), T0 + 2).await.unwrap() {
        VerifyOutcome::Locked(record) => {
            assert_eq!(record.attempts, 5);
            assert_eq!(record.id, made.record.id);
            assert_eq!(record.nonce, made.record.nonce);
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert_eq!(
        store.verify(id, &made.mac(), T0 + 3).await.unwrap(),
        VerifyOutcome::Expired(None)
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
    let outcome = store.verify(&one.record.id, &one.wrong_mac(0), T0).await;
    assert_eq!(expect_invalid(outcome.unwrap()), 0);
    assert!(matches!(
        store.verify(&one.record.id, &one.mac(), T0).await.unwrap(),
        VerifyOutcome::Locked(_)
    ));
}

pub(super) async fn expiry_follows_the_injected_clock<S: Store>(store: Arc<S>) {
    let at_edge = make(&*store, policy(), T0).await;
    let expires_at = at_edge.record.expires_at;
    // `expires_at` itself still verifies.
    assert!(matches!(
        store
            .verify(&at_edge.record.id, &at_edge.mac(), expires_at)
            .await
            .unwrap(),
        VerifyOutcome::Success(_)
    ));

    let late = make(&*store, policy(), T0).await;
    let id = &late.record.id;
    // Still kept after expiry, for the `expired` assertion.
    assert_eq!(
        store.get(id, expires_at + 1).await.unwrap(),
        Some(late.record.clone())
    );
    assert_eq!(
        store.resend(id, &[3u8; 32], expires_at + 1).await.unwrap(),
        ResendOutcome::Expired
    );
    match store.verify(id, &late.mac(), expires_at + 1).await.unwrap() {
        VerifyOutcome::Expired(Some(record)) => assert_eq!(*record, late.record),
        other => panic!("expected Expired(Some), got {other:?}"),
    }
    // The expired verdict is given once.
    assert_eq!(
        store.verify(id, &late.mac(), expires_at + 2).await.unwrap(),
        VerifyOutcome::Expired(None)
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
        store.verify(id, &gone.mac(), after_grace).await.unwrap(),
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
            tokio::spawn(async move { store.verify(&id, &mac, T0 + 1).await })
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
            tokio::spawn(async move { store.verify(&id, &wrong, T0 + 1).await })
        })
        .collect();
    let mut left_seen = Vec::new();
    let (mut locked, mut gone) = (0, 0);
    for task in tasks {
        match task.await.unwrap().unwrap() {
            VerifyOutcome::Invalid { attempts_left } => left_seen.push(attempts_left),
            VerifyOutcome::Locked(_) => locked += 1,
            VerifyOutcome::Expired(None) => gone += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    left_seen.sort_unstable();
    // Exactly five guesses were evaluated, one submission saw the lock, the
    // rest found the challenge gone.
    assert_eq!(left_seen, vec![0, 1, 2, 3, 4]);
    assert_eq!((locked, gone), (1, 94));
    // And the real code no longer helps.
    assert_eq!(
        store
            .verify(&made.record.id, &made.mac(), T0 + 2)
            .await
            .unwrap(),
        VerifyOutcome::Expired(None)
    );
}

pub(super) async fn resend_respects_cooldown_and_keeps_attempts<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    expect_invalid(store.verify(id, &made.wrong_mac(0), T0 + 1).await.unwrap());
    expect_invalid(store.verify(id, &made.wrong_mac(1), T0 + 2).await.unwrap());

    let new_code = Code::generate(6);
    let new_mac = mac(&made.pepper, id, &new_code);
    assert_eq!(
        store.resend(id, &new_mac, T0 + 10).await.unwrap(),
        ResendOutcome::Cooldown {
            retry_after_secs: 20
        }
    );
    assert_eq!(
        store.resend(id, &new_mac, T0 + 29).await.unwrap(),
        ResendOutcome::Cooldown {
            retry_after_secs: 1
        }
    );
    match store.resend(id, &new_mac, T0 + 30).await.unwrap() {
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
            expect_invalid(store.verify(id, &made.mac(), T0 + 31).await.unwrap()),
            2
        );
    }
    match store.verify(id, &new_mac, T0 + 32).await.unwrap() {
        VerifyOutcome::Success(record) => assert_eq!(record.resends, 1),
        other => panic!("expected Success, got {other:?}"),
    }
    assert_eq!(
        store.resend(id, &new_mac, T0 + 100).await.unwrap(),
        ResendOutcome::Expired
    );
}

pub(super) async fn resends_are_limited<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    assert!(matches!(
        store.resend(id, &[1u8; 32], T0 + 30).await.unwrap(),
        ResendOutcome::Resent(_)
    ));
    assert_eq!(
        store.resend(id, &[2u8; 32], T0 + 59).await.unwrap(),
        ResendOutcome::Cooldown {
            retry_after_secs: 1
        }
    );
    match store.resend(id, &[2u8; 32], T0 + 60).await.unwrap() {
        ResendOutcome::Resent(record) => assert_eq!(record.resends_left(), 0),
        other => panic!("expected Resent, got {other:?}"),
    }
    assert_eq!(
        store.resend(id, &[3u8; 32], T0 + 200).await.unwrap(),
        ResendOutcome::Exhausted
    );
    // The last code sent still works after the refusal.
    assert!(matches!(
        store.verify(id, &[2u8; 32], T0 + 201).await.unwrap(),
        VerifyOutcome::Success(_)
    ));
    assert_eq!(
        store
            .resend(&ChallengeId::generate(), &[3u8; 32], T0)
            .await
            .unwrap(),
        ResendOutcome::Expired
    );
}

pub(super) async fn jti_is_claimed_once<S: Store>(store: Arc<S>) {
    let first = ChallengeId::generate();
    let second = ChallengeId::generate();
    let jti = format!("jti-{}", ChallengeId::generate());
    assert_eq!(
        store.claim_jti(&jti, &first, T0 + 60, T0).await.unwrap(),
        JtiClaim::Fresh
    );
    assert_eq!(
        store
            .claim_jti(&jti, &second, T0 + 60, T0 + 1)
            .await
            .unwrap(),
        JtiClaim::Seen(first.clone())
    );
    assert_eq!(
        store
            .claim_jti(&jti, &second, T0 + 60, T0 + 59)
            .await
            .unwrap(),
        JtiClaim::Seen(first.clone())
    );
    // A jti is plain data: long, odd characters, braces that look like a hash tag.
    let odd = format!("}}{{ch:{first}}} \u{1F600} {}", "x".repeat(5000));
    assert_eq!(
        store.claim_jti(&odd, &second, T0 + 60, T0).await.unwrap(),
        JtiClaim::Fresh
    );
    assert_eq!(
        store.claim_jti(&odd, &first, T0 + 60, T0).await.unwrap(),
        JtiClaim::Seen(second.clone())
    );
    // Once the request itself has expired the jti may be forgotten.
    assert_eq!(
        store
            .claim_jti(&jti, &second, T0 + 200, T0 + 60)
            .await
            .unwrap(),
        JtiClaim::Fresh
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
        store.verify(id, &made.mac(), T0 + 6).await.unwrap(),
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
    expect_invalid(store.verify(id, &made.wrong_mac(0), T0 + 1).await.unwrap());
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
    match store.verify(id, &made.mac(), T0 + 5).await.unwrap() {
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

pub(super) async fn user_budget_counts_within_its_window<S: Store>(store: Arc<S>) {
    let jane = UserKey::new("https://id.example.com/realms/acme", "f0e1d2c3-user");
    let other_realm = UserKey::new("https://id.example.com/realms/beta", "f0e1d2c3-user");
    assert_eq!(jane.as_str().len(), 64);
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
            success_once_then_gone,
            wrong_code_counts_down,
            max_attempts_locks_on_the_next_submission,
            expiry_follows_the_injected_clock,
            concurrent_correct_codes_succeed_once,
            concurrent_wrong_guesses_are_capped,
            resend_respects_cooldown_and_keeps_attempts,
            resends_are_limited,
            jti_is_claimed_once,
            take_returns_the_record_once,
            rebind_follows_the_newer_request_and_keeps_the_rest,
            user_budget_counts_within_its_window,
            concurrent_user_charges_are_counted_exactly,
            ping_answers,
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
    async fn purge_drops_what_is_past_its_grace_period() {
        let store = MemoryStore::new();
        let made = make(&store, policy(), T0).await;
        store
            .claim_jti("j", &made.record.id, T0 + 60, T0)
            .await
            .unwrap();
        store.purge(made.record.expires_at + 1);
        assert_eq!(store.len(), 1);
        store.purge(made.record.expires_at + EXPIRED_GRACE_SECS + 1);
        assert!(store.is_empty());
        // The jti was purged too.
        assert_eq!(
            store
                .claim_jti("j", &ChallengeId::generate(), T0 + 60, T0)
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

/// A real `redis-server` on a free loopback port, killed on drop. No
/// persistence, its own working directory.
pub(crate) struct RedisServer {
    child: Option<std::process::Child>,
    port: u16,
    dir: std::path::PathBuf,
    extra: Vec<String>,
    /// Serves TLS only, with certificates made by [`make_certificates`].
    tls: bool,
}

fn redis_url(raw: &str) -> crate::config::RedisUrl {
    crate::config::RedisUrl::parse(raw).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    pub(crate) fn start() -> RedisServer {
        RedisServer::start_with(&[], false, false)
    }

    /// A server that speaks TLS only, with a certificate for 127.0.0.1 from
    /// its own CA ([`RedisServer::ca_pem`]).
    pub(crate) fn start_tls() -> RedisServer {
        RedisServer::start_with(&[], false, true)
    }

    /// A node for a Redis Cluster (not yet joined to one).
    pub(crate) fn start_cluster_node() -> RedisServer {
        RedisServer::start_with(
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            ],
            true,
            false,
        )
    }

    /// Started with extra `redis-server` arguments.
    fn start_with(extra: &[&str], cluster: bool, tls: bool) -> RedisServer {
        // A free port can be taken by someone else before redis binds it: retry.
        let mut last_error = String::new();
        for _ in 0..5 {
            let dir = std::env::temp_dir().join(format!(
                "otp-redis-{}-{}",
                std::process::id(),
                ChallengeId::generate()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let mut server = RedisServer {
                child: None,
                port: free_port(),
                dir,
                extra: extra.iter().map(|s| (*s).to_owned()).collect(),
                tls,
            };
            if tls {
                make_certificates(&server.dir);
            }
            // Cluster mode: the bus port is picked along with the port.
            if cluster {
                server.extra.push("--cluster-port".into());
                server.extra.push(free_port().to_string());
            }
            match server.launch() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    fn launch(&mut self) -> Result<(), String> {
        let mut cmd = std::process::Command::new("redis-server");
        if self.tls {
            let file = |name: &str| self.dir.join(name).display().to_string();
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args(["--tls-cert-file", &file("server.crt")])
                .args(["--tls-key-file", &file("server.key")])
                .args(["--tls-ca-cert-file", &file("ca.crt")])
                .args(["--tls-auth-clients", "no"]);
        } else {
            cmd.args(["--port", &self.port.to_string()]);
        }
        cmd.args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &self.dir.display().to_string()])
            .args(&self.extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed; the store tests need a real one \
                 (apt-get install redis-server; scripts/test-all.sh does this)"
            ),
            Err(e) => panic!("cannot run redis-server: {e}"),
        };
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("redis-server exited with {status}"));
            }
            if self.answers_ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err("redis-server did not answer PING within 10 s".into())
    }

    /// True when *our* child answers on the port: a free port can be grabbed
    /// by another test's server before ours binds it, so the pid must match.
    fn answers_ping(&self) -> bool {
        let Some(pid) = self.child.as_ref().map(std::process::Child::id) else {
            return false;
        };
        let client = if self.tls {
            ::redis::Client::build_with_tls(
                self.url(),
                ::redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(self.ca_pem()),
                },
            )
        } else {
            ::redis::Client::open(self.url())
        };
        let info: Option<String> = client
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
            .and_then(|mut c| ::redis::cmd("INFO").arg("server").query(&mut c))
            .ok();
        info.is_some_and(|info| info.contains(&format!("process_id:{pid}\r\n")))
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The CA certificate (PEM) of a TLS server.
    pub(crate) fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.crt")).unwrap()
    }

    /// Kills the server (like a crash) and waits for it to be gone.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub(crate) fn restart(&mut self) {
        self.stop();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(e) if std::time::Instant::now() > deadline => {
                    panic!("redis-server did not come back on port {}: {e}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`.
fn make_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "the TLS store test needs the openssl command (apt-get install openssl): {e}"
                )
            });
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=otp-sidecar test CA",
        ],
    ]
    .concat());
    run(&[
        &["req", "-new"][..],
        &ec[..],
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

mod redis_single {
    use super::*;

    async fn harness() -> (Arc<RedisStore>, RedisServer) {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url()).await.unwrap();
        (Arc::new(store), server)
    }

    store_suite!(harness);

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
                store.verify(&made.record.id, &made.mac(), T0).await,
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
                    .verify(&made.record.id, &made.mac(), T0)
                    .await
                    .unwrap(),
                VerifyOutcome::Expired(None)
            );
            let again = make(&*store, policy(), T0).await;
            assert!(matches!(
                store
                    .verify(&again.record.id, &again.mac(), T0)
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
            let ttl: i64 = ::redis::cmd("TTL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            let expected = 300 + EXPIRED_GRACE_SECS;
            assert!((expected - 2..=expected).contains(&ttl), "TTL {ttl}");
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
                .arg("max_attempts")
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(matches!(
                store.verify(&made.record.id, &made.mac(), T0).await,
                Err(StoreError::Corrupt(_))
            ));
            assert!(matches!(
                store.get(&made.record.id, T0).await,
                Err(StoreError::Corrupt(_))
            ));
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
                    .verify(&made.record.id, &made.mac(), T0)
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
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("redis-cli --cluster create did not finish within 30 s");
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
            let store = AnyStore::connect(Some(&redis_url(&cluster.url())))
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
                    store.verify(&m.record.id, &m.mac(), T0).await.unwrap(),
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
                    "[store]\nredis_url = {:?}\n\n[secrets]\npepper_file = {:?}\n\n\
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
            let store = AnyStore::connect(Some(url)).await.unwrap();
            assert_eq!(store.kind(), "redis-cluster");
            let made = make(&store, policy(), T0).await;
            assert!(matches!(
                store
                    .verify(&made.record.id, &made.mac(), T0)
                    .await
                    .unwrap(),
                VerifyOutcome::Success(_)
            ));
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
