//! Injected clocks: nothing else in the core reads wall time.
//!
//! Time is `i64` nanoseconds since the Unix epoch. [`WallClock`] is monotonic
//! (an `Instant` offset from the wall time at construction) so that the
//! dead-man's switch and rate limits never see time run backwards.

use std::{
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::{Instant, SystemTime, UNIX_EPOCH},
};

/// A source of the current time in ns since the Unix epoch.
pub trait Clock: Send {
    /// Returns the current time.
    fn now_ns(&self) -> i64;
}

/// Wall time, made monotonic.
#[derive(Clone, Debug)]
pub struct WallClock {
    origin_ns: i64,
    origin: Instant,
}

impl WallClock {
    /// Creates a clock anchored at the current wall time.
    pub fn new() -> Self {
        let origin_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self {
            origin_ns,
            origin: Instant::now(),
        }
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for WallClock {
    fn now_ns(&self) -> i64 {
        let elapsed = i64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(i64::MAX);
        self.origin_ns.saturating_add(elapsed)
    }
}

/// A clock that only moves when told to (tests, fast-forward drivers).
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
}

impl ManualClock {
    /// Creates a clock at `start_ns`.
    pub fn new(start_ns: i64) -> Self {
        Self {
            now: Arc::new(AtomicI64::new(start_ns)),
        }
    }

    /// Sets the time.
    pub fn set(&self, now_ns: i64) {
        self.now.store(now_ns, Ordering::SeqCst);
    }

    /// Moves the time forward by `delta_ns`.
    pub fn advance(&self, delta_ns: i64) {
        self.now.fetch_add(delta_ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// Nanoseconds per millisecond.
pub const NS_PER_MS: i64 = 1_000_000;
/// Nanoseconds per second.
pub const NS_PER_S: i64 = 1_000_000_000;
