//! `tape` and `bench-sim`: run the market without agents and summarise it.
//!
//! The tape hash covers, per symbol and in order, every trade's time offset
//! from t0, price, quantity and aggressor; the final hash is the SHA-256 of
//! the per-symbol hashes. Same seed, same hash, in realtime and fast-forward.
//! With a backfill (as `serve` runs it), the history before t0 is run first
//! and only trades from t0 on are hashed: tapes compare like with like only
//! for the same seed *and* the same backfill.

use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    market::{Backfill, MarketOut, MarketSpec, SimMarket},
    rng::SimRng,
};
use crate::{
    clock::{NS_PER_MS, NS_PER_S},
    config::SimConfig,
    types::{Instrument, Side},
};

/// 2024-01-01T00:00:00Z in ns: t0 of tapes and the default of `history`.
pub const DEFAULT_T0_NS: i64 = 1_704_067_200_000_000_000;

/// Per-symbol part of a tape summary.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SymbolTape {
    /// Symbol.
    pub symbol: String,
    /// Trades.
    pub trades: u64,
    /// Traded lots.
    pub volume_lots: i64,
    /// SHA-256 of this symbol's trades.
    pub sha256: String,
}

/// Result of `tape`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TapeSummary {
    /// Seed.
    pub seed: u64,
    /// Simulated seconds.
    pub seconds: f64,
    /// realtime or fastforward.
    pub mode: String,
    /// Simulated minutes of history run before t0 (not hashed).
    pub backfill_minutes: u64,
    /// SHA-256 over the per-symbol hashes.
    pub tape_sha256: String,
    /// Trades over all symbols.
    pub trades: u64,
    /// Book events (limit adds + cancels + market orders).
    pub book_events: u64,
    /// Book snapshots taken.
    pub snapshots: u64,
    /// Per symbol.
    pub symbols: Vec<SymbolTape>,
}

struct TapeHasher {
    t0: i64,
    hashers: Vec<Sha256>,
    trades: Vec<u64>,
    volume: Vec<i64>,
    snapshots: u64,
}

impl TapeHasher {
    fn new(t0: i64, n: usize) -> Self {
        Self {
            t0,
            hashers: vec![Sha256::new(); n],
            trades: vec![0; n],
            volume: vec![0; n],
            snapshots: 0,
        }
    }

    fn absorb(&mut self, out: &mut MarketOut) {
        for t in out.matched.trades.drain(..) {
            let s = usize::from(t.symbol);
            let Some(h) = self.hashers.get_mut(s) else {
                continue;
            };
            h.update((t.ts - self.t0).to_le_bytes());
            h.update(t.price.to_le_bytes());
            h.update(t.qty.to_le_bytes());
            h.update([match t.aggressor {
                Side::Buy => 1u8,
                Side::Sell => 2u8,
            }]);
            self.trades[s] += 1;
            self.volume[s] += t.qty;
        }
        self.snapshots += out.books.len() as u64;
        out.clear();
    }
}

/// Runs the market for `seconds` of simulated time, realtime or fast-forward,
/// after `backfill_minutes` of history at `history_flow_scale` (0 = none; the
/// backfill itself always runs fast-forward, as in `serve`).
pub fn run_tape(
    config: &SimConfig,
    instruments: Vec<Instrument>,
    seconds: f64,
    realtime: bool,
    backfill_minutes: u64,
) -> TapeSummary {
    let spec = MarketSpec {
        t0_ns: DEFAULT_T0_NS,
        flow_scale: 1.0,
        snapshot_hz: config.book_hz,
        depth: config.book_depth,
    };
    let backfill = Backfill {
        duration_ns: i64::try_from(backfill_minutes)
            .unwrap_or(0)
            .saturating_mul(60_000 * NS_PER_MS),
        flow_scale: config.history_flow_scale,
    };
    let mut market = SimMarket::with_backfill(config, instruments, &spec, backfill, |_, _| {});
    let t0 = market.t0();
    let end = t0 + (seconds * NS_PER_S as f64) as i64;
    let mut hasher = TapeHasher::new(t0, market.instruments().len());
    let mut out = MarketOut::default();
    if realtime {
        // Irregular wake-ups on purpose: the path must not depend on them.
        let mut jitter = SimRng::new(
            u64::from(std::process::id()) ^ Instant::now().elapsed().subsec_nanos() as u64,
            99,
        );
        let start = Instant::now();
        loop {
            let elapsed = i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX);
            let target = (t0 + elapsed).min(end);
            market.run_until(target, &mut out);
            hasher.absorb(&mut out);
            if target >= end {
                break;
            }
            std::thread::sleep(Duration::from_micros(500 + u64::from(jitter.below(6_500))));
        }
    } else {
        let mut t = t0;
        while t < end {
            t = (t + NS_PER_S).min(end);
            market.run_until(t, &mut out);
            hasher.absorb(&mut out);
        }
    }
    let mut total = Sha256::new();
    let mut symbols = Vec::new();
    for (i, h) in hasher.hashers.into_iter().enumerate() {
        let digest = h.finalize();
        total.update(digest);
        symbols.push(SymbolTape {
            symbol: market.instruments()[i].symbol.clone(),
            trades: hasher.trades[i],
            volume_lots: hasher.volume[i],
            sha256: hex::encode(digest),
        });
    }
    TapeSummary {
        seed: config.seed,
        seconds,
        mode: if realtime { "realtime" } else { "fastforward" }.to_owned(),
        backfill_minutes,
        tape_sha256: hex::encode(total.finalize()),
        trades: hasher.trades.iter().sum(),
        book_events: market.counts().book_events(),
        snapshots: hasher.snapshots,
        symbols,
    }
}

/// Result of `bench-sim`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BenchSummary {
    /// Symbols simulated.
    pub symbols: Vec<String>,
    /// Simulated seconds.
    pub sim_seconds: f64,
    /// Wall seconds spent.
    pub wall_seconds: f64,
    /// Limit adds + cancels + market orders.
    pub book_events: u64,
    /// Limit orders added.
    pub limit_adds: u64,
    /// Cancellations.
    pub cancels: u64,
    /// Market orders (incl. arbitrage sweeps).
    pub market_orders: u64,
    /// Arbitrage sweeps.
    pub arb_sweeps: u64,
    /// Public trades.
    pub trades: u64,
    /// Book snapshots.
    pub snapshots: u64,
    /// Book events per wall second.
    pub sim_events_per_s: f64,
    /// Simulated seconds per wall second.
    pub speedup: f64,
}

/// Runs the market fast-forward on this thread and measures throughput.
pub fn run_bench(config: &SimConfig, instruments: Vec<Instrument>, seconds: f64) -> BenchSummary {
    let spec = MarketSpec {
        t0_ns: DEFAULT_T0_NS,
        flow_scale: 1.0,
        snapshot_hz: config.book_hz,
        depth: config.book_depth,
    };
    let mut market = SimMarket::new(config, instruments, &spec);
    let t0 = market.t0();
    let end = t0 + (seconds * NS_PER_S as f64) as i64;
    let mut out = MarketOut::default();
    let mut trades = 0u64;
    let mut snapshots = 0u64;
    let start = Instant::now();
    let mut t = t0;
    while t < end {
        t = (t + NS_PER_S).min(end);
        market.run_until(t, &mut out);
        trades += out.matched.trades.len() as u64;
        snapshots += out.books.len() as u64;
        out.clear();
    }
    let wall = start.elapsed().as_secs_f64().max(1e-9);
    let c = market.counts();
    BenchSummary {
        symbols: market
            .instruments()
            .iter()
            .map(|i| i.symbol.clone())
            .collect(),
        sim_seconds: seconds,
        wall_seconds: wall,
        book_events: c.book_events(),
        limit_adds: c.limit_adds,
        cancels: c.cancels,
        market_orders: c.market_orders,
        arb_sweeps: c.arb_sweeps,
        trades,
        snapshots,
        sim_events_per_s: c.book_events() as f64 / wall,
        speedup: seconds / wall,
    }
}
