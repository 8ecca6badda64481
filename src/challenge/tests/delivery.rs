//! The store contract for code-mail delivery: the lease and generation of
//! [`DeliveryStep`], the free code after a failed delivery, and the send-limit
//! counters. Run against every store by `store_suite!`.
use std::sync::Arc;

use super::*;

pub(crate) async fn delivery_steps_follow_the_lease_and_the_generation<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    let finish = |generation, state| DeliveryStep::Finish { generation, state };
    // The creator holds the lease until T0 + 30: nobody may claim it before.
    let claim = DeliveryStep::Claim {
        lease_until: T0 + 90,
    };
    assert_eq!(store.delivery(id, claim, T0 + 30).await.unwrap(), None);
    // Renewing needs the right generation.
    let wrong = DeliveryStep::Extend {
        generation: 7,
        lease_until: T0 + 40,
    };
    assert_eq!(store.delivery(id, wrong, T0 + 1).await.unwrap(), None);
    let renew = DeliveryStep::Extend {
        generation: 0,
        lease_until: T0 + 40,
    };
    let renewed = store.delivery(id, renew, T0 + 1).await.unwrap().unwrap();
    assert_eq!(renewed.lease_until, T0 + 40);
    // Its process died: after the lease, exactly one claim wins.
    let claimed = store.delivery(id, claim, T0 + 41).await.unwrap().unwrap();
    assert_eq!(
        (claimed.lease_until, claimed.delivery),
        (T0 + 90, DeliveryState::Sending)
    );
    assert_eq!(claimed.sealed_code, "sealed");
    assert_eq!(store.delivery(id, claim, T0 + 42).await.unwrap(), None);
    // A finish for another generation changes nothing; the right one does, once.
    assert_eq!(
        store
            .delivery(id, finish(1, DeliveryState::Sent), T0 + 43)
            .await
            .unwrap(),
        None
    );
    let sent = store
        .delivery(id, finish(0, DeliveryState::Sent), T0 + 43)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.delivery, DeliveryState::Sent);
    assert_eq!(
        store.get(id, T0 + 44).await.unwrap().unwrap().delivery,
        DeliveryState::Sent
    );
    assert_eq!(
        store
            .delivery(id, finish(0, DeliveryState::Failed), T0 + 44)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.delivery(id, claim, T0 + 200).await.unwrap(), None);
    // A code that expired is not taken over.
    let late = make(&*store, policy(), T0).await;
    let after_expiry = late.record.expires_at + 1;
    assert_eq!(
        store
            .delivery(&late.record.id, claim, after_expiry)
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn a_new_code_after_a_failed_delivery_is_free<S: Store>(store: Arc<S>) {
    let made = make(&*store, policy(), T0).await;
    let id = &made.record.id;
    let failed = DeliveryStep::Finish {
        generation: 0,
        state: DeliveryState::Failed,
    };
    store.delivery(id, failed, T0 + 1).await.unwrap().unwrap();
    // Inside the cooldown, and not counted as a resend.
    let ResendOutcome::Resent(record) = store
        .resend(id, &made.wrong_mac(1), "bmV3", T0 + 40, T0 + 2)
        .await
        .unwrap()
    else {
        panic!("a failed delivery must allow a new code at once");
    };
    assert_eq!((record.resends, record.generation), (0, 1));
    assert_eq!(
        (record.delivery, record.lease_until),
        (DeliveryState::Sending, T0 + 40)
    );
    assert_eq!(record.sealed_code, "bmV3");
    // The new code works, the old one not; a further resend follows the rules again.
    assert!(matches!(
        store
            .resend(id, &made.mac(), SEALED, T0 + 40, T0 + 3)
            .await
            .unwrap(),
        ResendOutcome::Cooldown { .. }
    ));
    assert!(matches!(
        store
            .check_code(id, &made.wrong_mac(1), T0 + 4)
            .await
            .unwrap(),
        VerifyOutcome::Success(_)
    ));
}

pub(crate) async fn send_limits_count_within_their_window<S: Store>(store: Arc<S>) {
    let key = RateKey::recipient("jane@example.com");
    let other = RateKey::recipient("john@example.com");
    for n in 1..=3 {
        let count = store.charge_rate(&key, 60, T0 + n).await.unwrap();
        assert_eq!(
            count,
            RateCount {
                count: n as u32,
                resets_at: T0 + 61
            }
        );
    }
    assert_eq!(
        store.charge_rate(&other, 60, T0 + 5).await.unwrap().count,
        1
    );
    store.refund_rate(&key, T0 + 6).await.unwrap();
    assert_eq!(store.charge_rate(&key, 60, T0 + 7).await.unwrap().count, 3);
    // A new window starts at zero; a refund after the window changes nothing.
    store.refund_rate(&key, T0 + 61).await.unwrap();
    let fresh = store.charge_rate(&key, 60, T0 + 61).await.unwrap();
    assert_eq!(
        fresh,
        RateCount {
            count: 1,
            resets_at: T0 + 121
        }
    );
    assert_eq!(
        store
            .charge_rate(&RateKey::global(), 1, T0)
            .await
            .unwrap()
            .count,
        1
    );
}
