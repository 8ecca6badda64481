//! Send limits (`[mail] per_address_max`, `global_max` and their windows):
//! per recipient address and for all mail, so that nobody who can start
//! logins for many accounts can mail-bomb one address, and a flood cannot
//! burn the mail relay's quota or reputation. Counted in the store (shared
//! by every replica), in fixed windows. The defaults (10 mails to one
//! address in 15 minutes) leave a real user room for two logins with three
//! new codes each, and stop a flood of one address at the tenth mail.
use crate::challenge::{RateKey, Store as _};
use crate::mail::Recipient;
use crate::telemetry::mask_email;

use super::{Login, LoginError};

impl Login {
    /// Charge one mail to `to`'s limit and to the global one; refused (and
    /// nothing left charged) when either is spent.
    pub(super) async fn charge_send_limits(
        &self,
        to: &Recipient,
        now: i64,
    ) -> Result<(), LoginError> {
        let limits = self.rules.mail;
        let address = RateKey::recipient(to.normalised());
        let count = self
            .store
            .charge_rate(&address, limits.per_address_window_secs, now)
            .await?;
        if count.count > limits.per_address_max {
            return Err(self.limited("address", to, count.resets_at, now));
        }
        let global = self
            .store
            .charge_rate(&RateKey::global(), limits.global_window_secs, now)
            .await?;
        if global.count > limits.global_max {
            self.store.refund_rate(&address, now).await?;
            return Err(self.limited("global", to, global.resets_at, now));
        }
        Ok(())
    }

    /// Give back what [`Login::charge_send_limits`] took, for a mail that
    /// was never sent.
    pub(super) async fn refund_send_limits(&self, to: &Recipient, now: i64) {
        for key in [RateKey::recipient(to.normalised()), RateKey::global()] {
            if let Err(e) = self.store.refund_rate(&key, now).await {
                tracing::error!(error = %e, "a send-limit charge could not be refunded");
            }
        }
    }

    fn limited(&self, limit: &'static str, to: &Recipient, resets_at: i64, now: i64) -> LoginError {
        let retry_after_secs = u64::try_from(resets_at.saturating_sub(now))
            .unwrap_or(0)
            .max(1);
        self.metrics.mail_limited(limit);
        tracing::warn!(
            limit,
            email = %mask_email(to.normalised()),
            retry_after = retry_after_secs,
            "code mail refused: send limit reached"
        );
        LoginError::SendLimited {
            limit,
            retry_after_secs,
        }
    }
}
