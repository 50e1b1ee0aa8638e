//! Dead-man's switch: armed by the first valid heartbeat; fires once when no
//! valid heartbeat arrived for the timeout; re-armed by the next one.
//!
//! A heartbeat proves that the engine's loop ran `loop_age_ms` before it was
//! received, so the deadline is `received - loop_age + timeout`. A heartbeat
//! whose `loop_age_ms` exceeds the timeout is therefore treated as absent.

use crate::clock::NS_PER_MS;

/// Heartbeat watchdog.
#[derive(Clone, Debug)]
pub struct Deadman {
    timeout_ns: i64,
    armed: bool,
    last_alive_ns: i64,
}

/// What the watchdog decided about a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeartbeatVerdict {
    /// Counted: the engine loop is alive.
    Valid,
    /// The engine loop is older than the timeout: treated as absent.
    Stale,
}

impl Deadman {
    /// Creates a disarmed watchdog.
    pub fn new(timeout_ms: u64) -> Self {
        Self {
            timeout_ns: i64::try_from(timeout_ms).unwrap_or(i64::MAX / NS_PER_MS) * NS_PER_MS,
            armed: false,
            last_alive_ns: 0,
        }
    }

    /// Whether the switch is armed.
    pub const fn is_armed(&self) -> bool {
        self.armed
    }

    /// Records a heartbeat received at `now_ns`.
    pub fn on_heartbeat(&mut self, now_ns: i64, loop_age_ms: u64) -> HeartbeatVerdict {
        let age_ns = i64::try_from(loop_age_ms)
            .unwrap_or(i64::MAX / NS_PER_MS)
            .saturating_mul(NS_PER_MS);
        if age_ns > self.timeout_ns {
            return HeartbeatVerdict::Stale;
        }
        let alive = now_ns - age_ns;
        if !self.armed || alive > self.last_alive_ns {
            self.last_alive_ns = alive;
        }
        self.armed = true;
        HeartbeatVerdict::Valid
    }

    /// Returns the time at which the switch fires if nothing arrives.
    pub fn deadline_ns(&self) -> Option<i64> {
        self.armed
            .then(|| self.last_alive_ns.saturating_add(self.timeout_ns))
    }

    /// Fires (once) when the deadline has passed; returns the silence in ms.
    pub fn check(&mut self, now_ns: i64) -> Option<i64> {
        let deadline = self.deadline_ns()?;
        if now_ns <= deadline {
            return None;
        }
        self.armed = false;
        Some((now_ns - self.last_alive_ns) / NS_PER_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = NS_PER_MS;

    #[test]
    fn disarmed_until_the_first_heartbeat() {
        let mut d = Deadman::new(5000);
        assert_eq!(d.check(1_000_000 * MS), None);
    }

    #[test]
    fn fires_once_after_silence_and_rearms() {
        let mut d = Deadman::new(5000);
        assert_eq!(d.on_heartbeat(1000 * MS, 0), HeartbeatVerdict::Valid);
        assert_eq!(d.check(5999 * MS), None);
        assert_eq!(d.check(6001 * MS), Some(5001));
        assert_eq!(d.check(9000 * MS), None);
        d.on_heartbeat(9000 * MS, 0);
        assert_eq!(d.check(14_001 * MS), Some(5001));
    }

    #[test]
    fn stale_loop_age_counts_as_absent() {
        let mut d = Deadman::new(5000);
        d.on_heartbeat(0, 0);
        assert_eq!(d.on_heartbeat(4000 * MS, 6000), HeartbeatVerdict::Stale);
        assert!(d.check(5001 * MS).is_some());
    }

    #[test]
    fn loop_age_shortens_the_deadline() {
        let mut d = Deadman::new(5000);
        d.on_heartbeat(10_000 * MS, 3000);
        assert_eq!(d.deadline_ns(), Some(12_000 * MS));
    }
}
