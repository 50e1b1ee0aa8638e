//! Background order flow of one symbol, in the spirit of Cont, Stoikov and
//! Talreja (2010): independent Poisson streams of limit orders (placed at a
//! distance from the reference price drawn from a power law), market orders
//! and cancellations (each resting order at a constant rate), simulated
//! exactly with the Gillespie algorithm.
//!
//! The reference price is the latent fair value rather than the current
//! best quote, so the book tracks fair value: limit orders placed beyond a
//! stale quote trade against it, market orders lean towards fair value
//! (logistic in `fair - mid`), and at each latent step arbitrageurs take quotes
//! more than `arb_margin_ticks` on the wrong side of fair value.
//!
//! Determinism: the next event time is drawn after each event from the total
//! rate and kept across calls, so the path does not depend on how `run` is
//! split in time; it is redrawn only at latent steps (fixed grid) and after
//! an agent action.

use super::{
    book::{Book, Owner},
    matching::{execute, place_limit, MatchOut, TradeIds},
    rng::SimRng,
};
use crate::{
    clock::NS_PER_S,
    config::FlowConfig,
    types::{Instrument, Side, SymbolId},
};

/// Flow parameters in ticks and lots.
#[derive(Clone, Debug)]
pub struct FlowParams {
    limit_rate: f64,
    market_rate: f64,
    cancel_rate: f64,
    half_spread: f64,
    imbalance_ticks: f64,
    arb_margin: f64,
    size_mu: f64,
    size_sigma: f64,
    market_mu: f64,
    market_sigma: f64,
    max_resting: usize,
    placement_cdf: Vec<f64>,
}

impl FlowParams {
    /// Converts a symbol's flow config to ticks and lots.
    pub fn new(cfg: &FlowConfig, instrument: &Instrument) -> Self {
        let lot = instrument.lot_size();
        let weights: Vec<f64> = (0..=cfg.placement_max_ticks)
            .map(|d| (f64::from(d) + cfg.placement_d0).powf(-cfg.placement_alpha))
            .collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut placement_cdf: Vec<f64> = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        if let Some(last) = placement_cdf.last_mut() {
            *last = 1.0;
        }
        Self {
            limit_rate: cfg.limit_rate,
            market_rate: cfg.market_rate,
            cancel_rate: cfg.cancel_rate,
            half_spread: cfg.half_spread_ticks,
            imbalance_ticks: cfg.imbalance_ticks,
            arb_margin: cfg.arb_margin_ticks,
            size_mu: (cfg.order_size_median / lot).ln(),
            size_sigma: cfg.order_size_sigma,
            market_mu: (cfg.market_size_median / lot).ln(),
            market_sigma: cfg.market_size_sigma,
            max_resting: cfg.max_resting_orders,
            placement_cdf,
        }
    }

    /// Returns the probability of each placement distance (for documentation and tests).
    pub fn placement_pmf(&self) -> Vec<f64> {
        let mut prev = 0.0;
        self.placement_cdf
            .iter()
            .map(|c| {
                let p = c - prev;
                prev = *c;
                p
            })
            .collect()
    }
}

/// Book events processed, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCounts {
    /// Limit orders submitted (resting or marketable).
    pub limit_adds: u64,
    /// Cancellations of resting orders.
    pub cancels: u64,
    /// Market orders (including arbitrage sweeps).
    pub market_orders: u64,
    /// Arbitrage sweeps (a subset of `market_orders`).
    pub arb_sweeps: u64,
}

impl FlowCounts {
    /// Returns limit adds + cancels + market orders.
    pub const fn book_events(&self) -> u64 {
        self.limit_adds + self.cancels + self.market_orders
    }

    /// Adds another count.
    pub fn add(&mut self, other: &Self) {
        self.limit_adds += other.limit_adds;
        self.cancels += other.cancels;
        self.market_orders += other.market_orders;
        self.arb_sweeps += other.arb_sweeps;
    }
}

/// The background flow of one symbol.
#[derive(Clone, Debug)]
pub struct Flow {
    rng: SimRng,
    params: FlowParams,
    scale: f64,
    limit_rate: f64,
    market_rate: f64,
    cancel_rate: f64,
    pending: i64,
    /// Events processed so far.
    pub counts: FlowCounts,
}

/// Where the flow of one symbol writes.
pub struct FlowCtx<'a> {
    /// The symbol's book.
    pub book: &'a mut Book,
    /// The symbol id.
    pub symbol: SymbolId,
    /// Its trade id generator.
    pub ids: &'a mut TradeIds,
    /// Trades and agent fills.
    pub out: &'a mut MatchOut,
}

impl Flow {
    /// Creates the flow of one symbol with its own RNG stream.
    pub fn new(params: FlowParams, scale: f64, seed: u64, symbol: SymbolId) -> Self {
        Self {
            rng: SimRng::new(seed, 0x464C_4F57_0000 + u64::from(symbol)),
            params,
            scale,
            limit_rate: 0.0,
            market_rate: 0.0,
            cancel_rate: 0.0,
            pending: i64::MAX,
            counts: FlowCounts::default(),
        }
    }

    /// Changes the flow-rate scale; the new rates apply from the next latent step.
    pub fn set_scale(&mut self, scale: f64) {
        self.scale = scale;
    }

    /// Returns the time of the next background event.
    pub const fn next_event_ns(&self) -> i64 {
        self.pending
    }

    fn total_rate(&self, book: &Book) -> f64 {
        2.0 * self.limit_rate + self.market_rate + self.cancel_rate * book.background_count() as f64
    }

    /// Draws the next event time from `t` with the current rates.
    pub fn resample(&mut self, t: i64, book: &Book) {
        let rate = self.total_rate(book);
        self.pending = if rate > 0.0 {
            let dt = self.rng.exp1() / rate * NS_PER_S as f64;
            t.saturating_add((dt as i64).max(1))
        } else {
            i64::MAX
        };
    }

    /// Starts a latent step at `t`: new rates, arbitrage sweep, new next-event time.
    pub fn begin_step(&mut self, t: i64, activity: f64, fair: f64, ctx: &mut FlowCtx<'_>) {
        let k = self.scale * activity;
        self.limit_rate = self.params.limit_rate * k;
        self.market_rate = self.params.market_rate * k;
        self.cancel_rate = self.params.cancel_rate * k;
        self.arbitrage(t, fair, ctx);
        self.resample(t, ctx.book);
    }

    fn arbitrage(&mut self, t: i64, fair: f64, ctx: &mut FlowCtx<'_>) {
        let margin = self.params.arb_margin;
        // Asks strictly below fair - margin and bids strictly above fair + margin are stale.
        let buy_limit = (fair - margin).ceil() as i64 - 1;
        if ctx.book.best_ask().is_some_and(|a| a <= buy_limit) {
            execute(
                ctx.book,
                ctx.symbol,
                ctx.ids,
                Side::Buy,
                Some(buy_limit),
                i64::MAX / 4,
                t,
                ctx.out,
            );
            self.counts.market_orders += 1;
            self.counts.arb_sweeps += 1;
        }
        let sell_limit = (fair + margin).floor() as i64 + 1;
        if ctx.book.best_bid().is_some_and(|b| b >= sell_limit) {
            execute(
                ctx.book,
                ctx.symbol,
                ctx.ids,
                Side::Sell,
                Some(sell_limit),
                i64::MAX / 4,
                t,
                ctx.out,
            );
            self.counts.market_orders += 1;
            self.counts.arb_sweeps += 1;
        }
    }

    /// Processes every background event before `t_end`.
    pub fn run(&mut self, t_end: i64, fair: f64, ctx: &mut FlowCtx<'_>) {
        while self.pending < t_end {
            let t = self.pending;
            self.event(t, fair, ctx);
            self.resample(t, ctx.book);
        }
    }

    #[inline]
    fn size(&mut self, mu: f64, sigma: f64) -> i64 {
        let x = (mu + sigma * self.rng.normal()).exp().round();
        if x >= 1.0 {
            x.min(1e12) as i64
        } else {
            1
        }
    }

    #[inline]
    fn placement(&mut self) -> i64 {
        let u = self.rng.uniform();
        self.params.placement_cdf.partition_point(|&c| c < u) as i64
    }

    fn event(&mut self, t: i64, fair: f64, ctx: &mut FlowCtx<'_>) {
        let total = self.total_rate(ctx.book);
        let u = self.rng.uniform() * total;
        if u < 2.0 * self.limit_rate {
            let side = if u < self.limit_rate {
                Side::Buy
            } else {
                Side::Sell
            };
            if ctx.book.background_count() >= self.params.max_resting {
                return;
            }
            let d = self.placement();
            let h = self.params.half_spread;
            let price = match side {
                Side::Buy => (fair - h).ceil() as i64 - 1 - d,
                Side::Sell => (fair + h).floor() as i64 + 1 + d,
            };
            if price <= 0 {
                return;
            }
            let qty = self.size(self.params.size_mu, self.params.size_sigma);
            place_limit(
                ctx.book,
                ctx.symbol,
                ctx.ids,
                side,
                price,
                qty,
                Owner::Background,
                true,
                t,
                ctx.out,
            );
            self.counts.limit_adds += 1;
        } else if u < 2.0 * self.limit_rate + self.market_rate {
            let p_buy = match (ctx.book.best_bid(), ctx.book.best_ask()) {
                (Some(b), Some(a)) => {
                    let mid = (b + a) as f64 * 0.5;
                    1.0 / (1.0 + (-(fair - mid) / self.params.imbalance_ticks).exp())
                }
                _ => 0.5,
            };
            let side = if self.rng.uniform() < p_buy {
                Side::Buy
            } else {
                Side::Sell
            };
            if ctx.book.best(side.opposite()).is_none() {
                return;
            }
            let qty = self.size(self.params.market_mu, self.params.market_sigma);
            execute(ctx.book, ctx.symbol, ctx.ids, side, None, qty, t, ctx.out);
            self.counts.market_orders += 1;
        } else {
            let n = ctx.book.background_count();
            if n == 0 {
                return;
            }
            let i = self.rng.below(n.min(u32::MAX as usize) as u32) as usize;
            if let Some(slot) = ctx.book.background_at(i) {
                ctx.book.cancel(slot);
                self.counts.cancels += 1;
            }
        }
    }
}
