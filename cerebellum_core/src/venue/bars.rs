//! Closed 1-minute bars: what the `Bars` command answers.
//!
//! A [`BarBuilder`] turns one symbol's trades (in time order) into OHLCV bars
//! aligned on whole minutes of the venue clock and keeps the most recent
//! closed ones in a ring. A minute without trades closes as a flat bar at the
//! previous close (volume 0), so the series has no holes once it has a price.

use std::collections::VecDeque;

use crate::clock::NS_PER_MS;

/// One minute in ns.
pub const BAR_NS: i64 = 60_000 * NS_PER_MS;

/// Most bars one `Bars` request asks for, and the bars one ring keeps: enough
/// to warm up the engine's default feature set (about 2,220 bars) plus the
/// 300 rows its agents keep. Bybit's kline endpoint returns at most 1000 rows
/// per request, so the Bybit adapter reads more in several pages.
pub const MAX_BARS: usize = 3000;

/// One closed bar in integer units of its instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// Open time, ms since the epoch (a multiple of 60 000).
    pub ts_ms: i64,
    /// First trade price, ticks.
    pub open: i64,
    /// Highest trade price, ticks.
    pub high: i64,
    /// Lowest trade price, ticks.
    pub low: i64,
    /// Last trade price, ticks.
    pub close: i64,
    /// Traded quantity, lots.
    pub volume_lots: i64,
    /// Number of trades (`None` when the venue does not report it).
    pub trades: Option<u64>,
}

impl Bar {
    fn flat(ts_ms: i64, price: i64) -> Self {
        Self {
            ts_ms,
            open: price,
            high: price,
            low: price,
            close: price,
            volume_lots: 0,
            trades: Some(0),
        }
    }
}

/// Builds the 1-minute bars of one symbol and keeps the last [`MAX_BARS`] closed ones.
#[derive(Clone, Debug)]
pub struct BarBuilder {
    current: Option<Bar>,
    last_close: Option<i64>,
    closed: VecDeque<Bar>,
    capacity: usize,
}

/// Start of the minute containing `ts_ns`, in ns.
pub fn minute_start_ns(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(BAR_NS) * BAR_NS
}

impl BarBuilder {
    /// Creates a builder; `reference` (ticks) lets minutes before the first
    /// trade close as flat bars.
    pub fn new(reference: Option<i64>) -> Self {
        Self {
            current: None,
            last_close: reference,
            closed: VecDeque::with_capacity(MAX_BARS),
            capacity: MAX_BARS,
        }
    }

    /// Adds a trade at `ts_ns` (trades must come in time order).
    pub fn on_trade(&mut self, ts_ns: i64, price: i64, qty_lots: i64) {
        let start_ms = minute_start_ns(ts_ns) / NS_PER_MS;
        match &mut self.current {
            Some(bar) if bar.ts_ms == start_ms => {
                if bar.trades == Some(0) {
                    *bar = Bar::flat(start_ms, price);
                }
                bar.high = bar.high.max(price);
                bar.low = bar.low.min(price);
                bar.close = price;
                bar.volume_lots += qty_lots;
                bar.trades = Some(bar.trades.unwrap_or(0) + 1);
            }
            Some(bar) if bar.ts_ms > start_ms => {
                // A trade older than the open bar cannot be placed any more;
                // keep the bar's prices honest by folding it into the open bar.
                bar.high = bar.high.max(price);
                bar.low = bar.low.min(price);
                bar.volume_lots += qty_lots;
            }
            _ => {
                self.close_until(ts_ns);
                let mut bar = Bar::flat(start_ms, price);
                bar.volume_lots = qty_lots;
                bar.trades = Some(1);
                self.current = Some(bar);
            }
        }
    }

    /// Closes every bar whose minute ended at or before `now_ns`, adding flat
    /// bars for minutes without trades.
    pub fn close_until(&mut self, now_ns: i64) {
        let now_minute_ms = minute_start_ns(now_ns) / NS_PER_MS;
        let mut next_ms = match self.current {
            Some(bar) if bar.ts_ms < now_minute_ms => {
                self.push(bar);
                self.current = None;
                bar.ts_ms + 60_000
            }
            Some(_) => return,
            None => match self.closed.back() {
                Some(bar) => bar.ts_ms + 60_000,
                // Nothing yet: the minute containing `now` becomes the first (open) bar.
                None => {
                    if let Some(price) = self.last_close {
                        self.current = Some(Bar::flat(now_minute_ms, price));
                    }
                    return;
                }
            },
        };
        let Some(price) = self.last_close else {
            return;
        };
        // After a long gap only the last `capacity` flat bars matter.
        let gap = (now_minute_ms - next_ms) / 60_000;
        if gap > self.capacity as i64 {
            next_ms = now_minute_ms - self.capacity as i64 * 60_000;
        }
        while next_ms < now_minute_ms {
            self.push(Bar::flat(next_ms, price));
            next_ms += 60_000;
        }
        self.current = Some(Bar::flat(now_minute_ms, price));
    }

    fn push(&mut self, bar: Bar) {
        self.last_close = Some(bar.close);
        self.closed.push_back(bar);
        while self.closed.len() > self.capacity {
            self.closed.pop_front();
        }
    }

    /// Returns the last `limit` closed bars, oldest first; with `before_ms`,
    /// the last `limit` of those that opened before it (to page backwards).
    pub fn recent(&self, limit: usize, before_ms: Option<i64>) -> Vec<Bar> {
        let end = before_ms.map_or(self.closed.len(), |before| {
            self.closed.partition_point(|b| b.ts_ms < before)
        });
        let start = end.saturating_sub(limit);
        self.closed.range(start..end).copied().collect()
    }

    /// Returns the number of closed bars kept.
    pub fn len(&self) -> usize {
        self.closed.len()
    }

    /// Whether no bar has closed yet.
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_704_067_200_000 * NS_PER_MS;

    #[test]
    fn trades_make_ohlcv_and_empty_minutes_close_flat() {
        let mut b = BarBuilder::new(Some(100));
        b.on_trade(T0 + 1_000 * NS_PER_MS, 101, 2);
        b.on_trade(T0 + 2_000 * NS_PER_MS, 99, 1);
        b.on_trade(T0 + 59_000 * NS_PER_MS, 100, 3);
        assert!(b.is_empty());
        b.close_until(T0 + 3 * BAR_NS);
        let bars = b.recent(10, None);
        assert_eq!(bars.len(), 3);
        assert_eq!(
            bars[0],
            Bar {
                ts_ms: T0 / NS_PER_MS,
                open: 101,
                high: 101,
                low: 99,
                close: 100,
                volume_lots: 6,
                trades: Some(3)
            }
        );
        assert_eq!(bars[1], Bar::flat(T0 / NS_PER_MS + 60_000, 100));
        assert_eq!(bars[2].ts_ms, T0 / NS_PER_MS + 120_000);
        assert_eq!(b.recent(1, None), vec![bars[2]]);
        assert_eq!(b.recent(1, Some(bars[2].ts_ms)), vec![bars[1]]);
        assert_eq!(b.recent(5, Some(bars[1].ts_ms + 1)), bars[..2].to_vec());
        assert!(b.recent(5, Some(bars[0].ts_ms)).is_empty());
    }

    #[test]
    fn the_ring_keeps_the_newest_bars() {
        let mut b = BarBuilder::new(Some(5));
        b.close_until(T0);
        b.close_until(T0 + (MAX_BARS as i64 + 50) * BAR_NS);
        assert_eq!(b.len(), MAX_BARS);
        let bars = b.recent(MAX_BARS + 10, None);
        assert_eq!(bars.len(), MAX_BARS);
        assert_eq!(
            bars.last().unwrap().ts_ms,
            (T0 + (MAX_BARS as i64 + 49) * BAR_NS) / NS_PER_MS
        );
        assert!(bars.windows(2).all(|w| w[1].ts_ms == w[0].ts_ms + 60_000));
    }

    #[test]
    fn pages_before_a_time_join_into_the_whole_ring() {
        let mut b = BarBuilder::new(Some(5));
        b.close_until(T0);
        b.close_until(T0 + 2_600 * BAR_NS);
        let all = b.recent(MAX_BARS, None);
        assert_eq!(all.len(), 2_600);
        // Pages of 1000 newest first, each ending before the oldest bar of the previous.
        let mut joined: Vec<Bar> = Vec::new();
        let mut before = None;
        loop {
            let page = b.recent(1000, before);
            let Some(first) = page.first() else { break };
            before = Some(first.ts_ms);
            joined.splice(0..0, page);
        }
        assert_eq!(joined, all);
    }
}
