//! Latency models (the hftbacktest seam): how long an agent's order or cancel
//! takes to reach the simulated matching engine.

/// One-way latency of agent requests, in ns.
pub trait LatencyModel {
    /// Returns the latency of a new order.
    fn order_entry_ns(&mut self) -> i64;
    /// Returns the latency of a cancel.
    fn cancel_ns(&mut self) -> i64;
}

/// The same latency for every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConstantLatency {
    /// Latency in ns.
    pub ns: i64,
}

impl ConstantLatency {
    /// Builds the model from microseconds.
    pub fn from_us(us: u64) -> Self {
        Self {
            ns: i64::try_from(us.saturating_mul(1_000)).unwrap_or(i64::MAX / 4),
        }
    }
}

impl LatencyModel for ConstantLatency {
    fn order_entry_ns(&mut self) -> i64 {
        self.ns
    }

    fn cancel_ns(&mut self) -> i64 {
        self.ns
    }
}
