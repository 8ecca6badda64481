//! The store contract at the last second of each clock rule: the grace
//! period, the code's own expiry and the delivery lease. Run against every
//! store by `store_suite!`; each case fails when a `<` and a `<=` (or `>` and
//! `>=`) trade places in a store.
use std::sync::Arc;

use super::*;

pub(crate) async fn each_clock_rule_holds_at_its_last_second<S: Store>(store: Arc<S>) {
    // The last second of the grace period still answers with the record.
    let kept = make(&*store, policy(), T0).await;
    let last = kept.record.expires_at + EXPIRED_GRACE_SECS;
    match store
        .check_code(&kept.record.id, &kept.mac(), last)
        .await
        .unwrap()
    {
        VerifyOutcome::Expired(Some(record)) => assert_eq!(*record, kept.record),
        other => panic!("the grace period's last second: expected Expired(Some), got {other:?}"),
    }
    // ... and may still get a new code, which lives ttl_secs from then.
    let renewable = make(&*store, policy(), T0).await;
    let last = renewable.record.expires_at + EXPIRED_GRACE_SECS;
    let ResendOutcome::Resent(renewed) = store
        .resend(&renewable.record.id, &[4u8; 32], SEALED, last + 30, last)
        .await
        .unwrap()
    else {
        panic!("the grace period's last second still takes a new code");
    };
    assert_eq!(
        renewed.expires_at,
        last + i64::try_from(policy().ttl_secs).unwrap()
    );

    // At `expires_at` the code has not lapsed: a resend then is an ordinary
    // one and leaves the expiry where it was.
    let on_time = make(&*store, policy(), T0).await;
    let expires_at = on_time.record.expires_at;
    let ResendOutcome::Resent(resent) = store
        .resend(
            &on_time.record.id,
            &[5u8; 32],
            SEALED,
            expires_at + 30,
            expires_at,
        )
        .await
        .unwrap()
    else {
        panic!("a resend at expires_at (cooldown long over) is granted");
    };
    assert_eq!(resent.expires_at, expires_at);
    assert_eq!(resent.resends, on_time.record.resends + 1);

    // A delivery whose lease ran out may be taken over up to and including
    // `expires_at`, not after.
    let claim = DeliveryStep::Claim {
        lease_until: expires_at + 60,
    };
    let stalled = make(&*store, policy(), T0).await;
    let expires_at = stalled.record.expires_at;
    let claimed = store
        .delivery(&stalled.record.id, claim, expires_at)
        .await
        .unwrap()
        .expect("a lapsed lease is claimed at expires_at");
    assert_eq!(claimed.lease_until, expires_at + 60);
    let too_late = make(&*store, policy(), T0).await;
    assert_eq!(
        store
            .delivery(&too_late.record.id, claim, too_late.record.expires_at + 1)
            .await
            .unwrap(),
        None
    );
}
