//! Time is passed in, never read deep inside the flow, so expiry, cooldown
//! and the realm keys' refetch interval are testable without sleeping.
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// Source of "now": unix seconds for what is stored and signed, and an
/// [`Instant`] for intervals the process only measures (how long ago a
/// realm's keys were fetched).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> i64;

    /// Now, for measuring intervals. The wall clock's is [`Instant::now`],
    /// which a change of the system time does not move.
    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that only moves when told to (tests, demos of expiry). Its
/// [`Clock::instant`] moves with it: the instant it was made, plus the
/// seconds it was advanced since.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
    start: i64,
    origin: Instant,
}

impl ManualClock {
    pub fn new(start: i64) -> Self {
        Self {
            now: AtomicI64::new(start),
            start,
            origin: Instant::now(),
        }
    }

    /// Starts at the current wall-clock time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn instant(&self) -> Instant {
        let moved = u64::try_from(self.now().saturating_sub(self.start)).unwrap_or(0);
        self.origin + Duration::from_secs(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_s_instant_moves_with_it() {
        let clock = ManualClock::new(1_000);
        let first = clock.instant();
        assert_eq!(clock.instant(), first, "it does not move by itself");
        clock.advance(11);
        assert_eq!(clock.instant() - first, Duration::from_secs(11));
        // Set before its start: never before its first instant.
        clock.set(0);
        assert_eq!(clock.instant(), first);
    }
}
