//! The deterministic simulated market: latent model + one book and flow per
//! symbol, advanced in simulated time by [`SimMarket::run_until`].
//!
//! Within one latent step the symbols do not interact, so each symbol's flow
//! is run to the end of the requested segment in turn; results per symbol are
//! in time order, and the whole path is independent of how callers split time.

use super::{
    book::Book,
    flow::{Flow, FlowCounts, FlowCtx, FlowParams},
    matching::{MatchOut, TradeIds},
    regime::{secs_to_ns, LatentModel, Regime},
};
use crate::{
    config::SimConfig,
    types::{Instrument, Side, SymbolId},
};

/// A book snapshot taken at a scheduled time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookRec {
    /// Symbol.
    pub symbol: SymbolId,
    /// Simulated time.
    pub ts: i64,
    /// Bids best first `(ticks, lots)`.
    pub bids: Vec<(i64, i64)>,
    /// Asks best first `(ticks, lots)`.
    pub asks: Vec<(i64, i64)>,
}

/// What the market produced.
#[derive(Debug, Default)]
pub struct MarketOut {
    /// Trades and agent maker fills.
    pub matched: MatchOut,
    /// Scheduled book snapshots.
    pub books: Vec<BookRec>,
}

impl MarketOut {
    /// Clears everything.
    pub fn clear(&mut self) {
        self.matched.clear();
        self.books.clear();
    }
}

/// One symbol's book and flow.
#[derive(Debug)]
pub struct SymbolSim {
    /// The order book.
    pub book: Book,
    /// The background flow.
    pub flow: Flow,
    /// Trade ids.
    pub ids: TradeIds,
}

/// How the market is built.
#[derive(Clone, Debug)]
pub struct MarketSpec {
    /// Simulated time of t=0, ns since the epoch.
    pub t0_ns: i64,
    /// Flow-rate scale (1.0 = serve rates).
    pub flow_scale: f64,
    /// Snapshots per second per symbol (0 = none).
    pub snapshot_hz: f64,
    /// Levels per side in snapshots.
    pub depth: usize,
}

/// Simulated history run before a market's real-time start (the `serve` backfill).
#[derive(Clone, Copy, Debug)]
pub struct Backfill {
    /// Length of the history, ns (a whole number of minutes keeps bars aligned).
    pub duration_ns: i64,
    /// Flow-rate scale of the history (`sim.history_flow_scale`).
    pub flow_scale: f64,
}

/// The simulated market.
#[derive(Debug)]
pub struct SimMarket {
    instruments: Vec<Instrument>,
    latent: LatentModel,
    symbols: Vec<SymbolSim>,
    t: i64,
    t0: i64,
    next_step: i64,
    snapshot_period: Option<i64>,
    next_snapshot: i64,
    depth: usize,
}

impl SimMarket {
    /// Builds the market and runs the warm-up that fills the books before t0.
    pub fn new(config: &SimConfig, instruments: Vec<Instrument>, spec: &MarketSpec) -> Self {
        let latent = LatentModel::new(&config.model, &config.symbols, config.seed);
        let n = instruments.len();
        let symbols = instruments
            .iter()
            .zip(&config.symbols)
            .enumerate()
            .map(|(i, (instrument, sc))| {
                let id = i as SymbolId;
                SymbolSim {
                    book: Book::new(),
                    flow: Flow::new(
                        FlowParams::new(&sc.flow, instrument),
                        spec.flow_scale,
                        config.seed,
                        id,
                    ),
                    ids: TradeIds::new(id, n),
                }
            })
            .collect();
        let snapshot_period =
            (spec.snapshot_hz > 0.0).then(|| ((1e9 / spec.snapshot_hz).round() as i64).max(1_000));
        let mut market = Self {
            instruments,
            latent,
            symbols,
            t: spec.t0_ns,
            t0: spec.t0_ns,
            next_step: spec.t0_ns,
            snapshot_period,
            next_snapshot: spec.t0_ns,
            depth: spec.depth,
        };
        market.warm_up(secs_to_ns(config.warmup_s / spec.flow_scale));
        market
    }

    /// Builds a market whose real-time part starts at `live.t0_ns`, after
    /// `backfill.duration_ns` of history at `backfill.flow_scale` without book
    /// snapshots. `on_segment(out, t)` sees the history's trades one simulated
    /// minute at a time (`t` = end of the segment). The latent path is the same
    /// as without a backfill started at `live.t0_ns - duration`; the flow switches
    /// to `live.flow_scale` at the first latent step at or after `live.t0_ns`.
    pub fn with_backfill(
        config: &SimConfig,
        instruments: Vec<Instrument>,
        live: &MarketSpec,
        backfill: Backfill,
        mut on_segment: impl FnMut(&MarketOut, i64),
    ) -> Self {
        if backfill.duration_ns <= 0 {
            return Self::new(config, instruments, live);
        }
        let start = live.t0_ns.saturating_sub(backfill.duration_ns);
        let history = MarketSpec {
            t0_ns: start,
            flow_scale: backfill.flow_scale,
            snapshot_hz: 0.0,
            depth: live.depth,
        };
        let mut market = Self::new(config, instruments, &history);
        let mut out = MarketOut::default();
        let mut t = start;
        while t < live.t0_ns {
            t = t.saturating_add(60_000_000_000).min(live.t0_ns);
            market.run_until(t, &mut out);
            on_segment(&out, t);
            out.clear();
        }
        for s in &mut market.symbols {
            s.flow.set_scale(live.flow_scale);
        }
        market.snapshot_period =
            (live.snapshot_hz > 0.0).then(|| ((1e9 / live.snapshot_hz).round() as i64).max(1_000));
        market.next_snapshot = market.t;
        market.depth = live.depth;
        market.t0 = live.t0_ns;
        market
    }

    fn warm_up(&mut self, duration_ns: i64) {
        let start = self.t0 - duration_ns;
        let activity = self.latent.activity();
        let mut scratch = MatchOut::default();
        for (i, s) in self.symbols.iter_mut().enumerate() {
            let fair = self.latent.fair_ticks(i);
            let mut ctx = FlowCtx {
                book: &mut s.book,
                symbol: i as SymbolId,
                ids: &mut s.ids,
                out: &mut scratch,
            };
            s.flow.begin_step(start, activity, fair, &mut ctx);
            s.flow.run(self.t0, fair, &mut ctx);
            scratch.clear();
            s.flow.counts = FlowCounts::default();
        }
    }

    /// Returns the instruments.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// Returns the simulated time reached.
    pub const fn now(&self) -> i64 {
        self.t
    }

    /// Returns t0 (the start of real time, after any backfill).
    pub const fn t0(&self) -> i64 {
        self.t0
    }

    /// Returns the current latent regime.
    pub const fn regime(&self) -> Regime {
        self.latent.regime()
    }

    /// Returns a symbol's latent fair value in price units.
    pub fn fair_price(&self, symbol: SymbolId) -> f64 {
        let s = usize::from(symbol);
        self.instruments
            .get(s)
            .map_or(0.0, |i| self.latent.fair_ticks(s) * i.tick_size())
    }

    /// Returns the latent model (read-only).
    pub const fn latent(&self) -> &LatentModel {
        &self.latent
    }

    /// Returns a symbol's book.
    pub fn book(&self, symbol: SymbolId) -> Option<&Book> {
        self.symbols.get(usize::from(symbol)).map(|s| &s.book)
    }

    /// Returns a symbol's book and trade ids for agent matching.
    pub fn symbol_mut(&mut self, symbol: SymbolId) -> Option<&mut SymbolSim> {
        self.symbols.get_mut(usize::from(symbol))
    }

    /// Redraws a symbol's next event after an agent changed its book at `t`.
    pub fn touch(&mut self, symbol: SymbolId) {
        let t = self.t;
        if let Some(s) = self.symbols.get_mut(usize::from(symbol)) {
            if s.flow.next_event_ns() != i64::MAX || s.book.background_count() > 0 {
                s.flow.resample(t, &s.book);
            }
        }
    }

    /// Returns the sum of all symbols' event counts.
    pub fn counts(&self) -> FlowCounts {
        let mut total = FlowCounts::default();
        for s in &self.symbols {
            total.add(&s.flow.counts);
        }
        total
    }

    /// Returns the earliest simulated time at which something happens.
    pub fn next_wakeup(&self) -> i64 {
        let mut t = self.next_step;
        if self.snapshot_period.is_some() {
            t = t.min(self.next_snapshot);
        }
        for s in &self.symbols {
            t = t.min(s.flow.next_event_ns());
        }
        t.max(self.t)
    }

    /// Returns `(bid, ask)` in ticks.
    pub fn top(&self, symbol: SymbolId) -> (Option<i64>, Option<i64>) {
        self.book(symbol)
            .map_or((None, None), |b| (b.best_bid(), b.best_ask()))
    }

    fn begin_step(&mut self, out: &mut MarketOut) {
        self.latent.step();
        let activity = self.latent.activity();
        let t = self.next_step;
        for (i, s) in self.symbols.iter_mut().enumerate() {
            let fair = self.latent.fair_ticks(i);
            let mut ctx = FlowCtx {
                book: &mut s.book,
                symbol: i as SymbolId,
                ids: &mut s.ids,
                out: &mut out.matched,
            };
            s.flow.begin_step(t, activity, fair, &mut ctx);
        }
        self.next_step += self.latent.step_ns();
    }

    fn snapshot(&mut self, out: &mut MarketOut) {
        for (i, s) in self.symbols.iter().enumerate() {
            let mut bids = Vec::with_capacity(self.depth);
            let mut asks = Vec::with_capacity(self.depth);
            s.book.levels(Side::Buy, self.depth, &mut bids);
            s.book.levels(Side::Sell, self.depth, &mut asks);
            out.books.push(BookRec {
                symbol: i as SymbolId,
                ts: self.t,
                bids,
                asks,
            });
        }
    }

    /// Advances simulated time to `t_end`, processing every event before it.
    pub fn run_until(&mut self, t_end: i64, out: &mut MarketOut) {
        while self.t < t_end {
            if self.t >= self.next_step {
                self.begin_step(out);
            }
            let mut seg_end = t_end.min(self.next_step);
            if self.snapshot_period.is_some() {
                seg_end = seg_end.min(self.next_snapshot);
            }
            for (i, s) in self.symbols.iter_mut().enumerate() {
                let fair = self.latent.fair_ticks(i);
                let mut ctx = FlowCtx {
                    book: &mut s.book,
                    symbol: i as SymbolId,
                    ids: &mut s.ids,
                    out: &mut out.matched,
                };
                s.flow.run(seg_end, fair, &mut ctx);
            }
            self.t = seg_end;
            if let Some(period) = self.snapshot_period {
                if self.t >= self.next_snapshot {
                    self.snapshot(out);
                    self.next_snapshot += period;
                }
            }
        }
    }
}
