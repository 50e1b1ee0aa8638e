//! The simulated venue: [`SimMarket`] plus agent orders, latency and fees.
//!
//! Agent orders match against the same books as the background flow, with
//! price-time priority: market orders walk the book, limit orders rest in
//! the FIFO queue behind what was there before them, IOC remainders are
//! cancelled, post-only orders that would take are refused.
//!
//! With zero latency an order is matched inside `submit` (so refusals come back
//! as `Err` and become a `Reject`); with latency it reaches the book later and
//! a refusal then arrives as `VenueEvent::Rejected`.

pub mod book;
pub mod fees;
pub mod flow;
pub mod history;
pub mod latency;
pub mod market;
pub mod matching;
pub mod regime;
pub mod rng;
pub mod tape;

use std::collections::{HashMap, VecDeque};

use self::{
    book::Owner,
    fees::{FeeModel, MakerTakerFees},
    latency::{ConstantLatency, LatencyModel},
    market::{Backfill, MarketOut, MarketSpec, SimMarket},
    matching::{execute, place_limit},
};
use super::{
    bars::{minute_start_ns, BarBuilder, BAR_NS},
    BarsAnswer, CancelRequest, Fill, MarketData, Mid, OrderRequest, Venue, VenueError, VenueEvent,
    VenueSink,
};
use crate::{
    config::{SimConfig, SimMode},
    types::{
        CancelReason, Instrument, Liquidity, OrderKey, OrderType, RejectCode, SymbolId, TimeInForce,
    },
};

#[derive(Clone, Debug)]
struct AgentOrder {
    symbol: SymbolId,
    slot: Option<u32>,
}

#[derive(Clone, Debug)]
enum Action {
    New(OrderRequest),
    Cancel(OrderKey),
}

#[derive(Clone, Debug)]
struct Pending {
    t: i64,
    action: Action,
}

/// The simulated exchange.
pub struct SimVenue {
    market: SimMarket,
    mode: SimMode,
    chunk_ns: i64,
    fees: Box<dyn FeeModel>,
    latency: Box<dyn LatencyModel>,
    orders: HashMap<OrderKey, AgentOrder>,
    pending: VecDeque<Pending>,
    out: MarketOut,
    next_venue_id: u64,
    next_exec_id: u64,
    id_tag: String,
    bars: Vec<BarBuilder>,
}

impl SimVenue {
    /// Builds the venue at simulated time `t0_ns` (serve rates, snapshots at `book_hz`).
    ///
    /// With `sim.backfill_minutes > 0` the market first runs that much history
    /// before `t0_ns`, fast-forward at `sim.history_flow_scale` on the same
    /// model and books, and keeps its 1-minute bars for [`Venue::bars`].
    pub fn new(config: &SimConfig, instruments: Vec<Instrument>, t0_ns: i64) -> Self {
        let spec = MarketSpec {
            t0_ns,
            flow_scale: 1.0,
            snapshot_hz: config.book_hz,
            depth: config.book_depth,
        };
        // The history starts on a whole minute, so every backfilled bar is a
        // full minute and the bars depend only on the seed, not on `t0_ns`.
        let minutes = i64::try_from(config.backfill_minutes).unwrap_or(0);
        let backfill = Backfill {
            duration_ns: if minutes > 0 {
                minutes.saturating_mul(BAR_NS) + (t0_ns - minute_start_ns(t0_ns))
            } else {
                0
            },
            flow_scale: config.history_flow_scale,
        };
        let mut bars = vec![BarBuilder::new(None); instruments.len()];
        let market = SimMarket::with_backfill(config, instruments, &spec, backfill, |out, t| {
            for trade in &out.matched.trades {
                if let Some(b) = bars.get_mut(usize::from(trade.symbol)) {
                    b.on_trade(trade.ts, trade.price, trade.qty);
                }
            }
            for b in &mut bars {
                b.close_until(t);
            }
        });
        Self {
            bars,
            market,
            mode: config.mode,
            chunk_ns: i64::try_from(config.fastforward_chunk_ms.saturating_mul(1_000_000))
                .unwrap_or(i64::MAX / 4),
            fees: Box::new(MakerTakerFees {
                maker_bps: config.maker_fee_bps,
                taker_bps: config.taker_fee_bps,
            }),
            latency: Box::new(ConstantLatency::from_us(config.latency_us)),
            orders: HashMap::new(),
            pending: VecDeque::new(),
            out: MarketOut::default(),
            next_venue_id: 1,
            next_exec_id: 1,
            // Ids stay unique across restarts (the engine may persist fills by exec_id).
            id_tag: format!("{:06x}", rand::random::<u32>() & 0xFF_FFFF),
        }
    }

    /// Returns the simulated market (read-only).
    pub const fn market(&self) -> &SimMarket {
        &self.market
    }

    /// Rests a background (non-agent) order, e.g. to set up a book in tests or
    /// tools; refuses an order that would cross. Returns its book slot.
    pub fn add_background_order(
        &mut self,
        symbol: SymbolId,
        side: crate::types::Side,
        price_ticks: i64,
        qty_lots: i64,
    ) -> Option<u32> {
        let sym = self.market.symbol_mut(symbol)?;
        if qty_lots <= 0 || price_ticks <= 0 || sym.book.crosses(side, price_ticks) {
            return None;
        }
        let slot = sym.book.add(side, price_ticks, qty_lots, Owner::Background);
        self.market.touch(symbol);
        Some(slot)
    }

    /// Returns the number of agent orders resting or in flight.
    pub fn live_agent_orders(&self) -> usize {
        self.orders.len()
    }

    /// Returns the book slot of a resting agent order (tests: queue position).
    pub fn agent_slot(&self, key: OrderKey) -> Option<u32> {
        self.orders.get(&key).and_then(|o| o.slot)
    }

    fn advance(&mut self, target: i64, sink: &mut VenueSink) {
        while let Some(p) = self.pending.front() {
            if p.t > target {
                break;
            }
            let t = p.t;
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            self.market.run_until(t, &mut self.out);
            self.flush(sink);
            match p.action {
                Action::New(order) => {
                    self.orders.remove(&order.key);
                    if let Err(VenueError::Rejected { code, reason }) = self.apply_new(&order, sink)
                    {
                        sink.events.push(VenueEvent::Rejected {
                            key: order.key,
                            code,
                            reason,
                            ts_event: self.market.now(),
                        });
                    }
                }
                Action::Cancel(key) => {
                    // A fill may have won the race; then there is nothing to cancel.
                    let _ = self.apply_cancel(key, sink);
                }
            }
        }
        self.market.run_until(target, &mut self.out);
        self.flush(sink);
        let now = self.market.now();
        for b in &mut self.bars {
            b.close_until(now);
        }
    }

    fn flush(&mut self, sink: &mut VenueSink) {
        for t in self.out.matched.trades.drain(..) {
            if let Some(b) = self.bars.get_mut(usize::from(t.symbol)) {
                b.on_trade(t.ts, t.price, t.qty);
            }
            sink.market.push(MarketData::Trade {
                symbol: t.symbol,
                ts_event: t.ts,
                price_ticks: t.price,
                qty_lots: t.qty,
                aggressor: t.aggressor,
                trade_id: t.trade_id,
            });
        }
        for b in self.out.books.drain(..) {
            sink.market.push(MarketData::Book {
                symbol: b.symbol,
                ts_event: b.ts,
                bids: b.bids,
                asks: b.asks,
            });
        }
        let fills: Vec<_> = self.out.matched.agent_fills.drain(..).collect();
        for f in fills {
            if f.done {
                self.orders.remove(&f.key);
            }
            let fill = self.make_fill(f.key, f.symbol, f.price, f.qty, Liquidity::Maker, f.ts);
            sink.events.push(VenueEvent::Filled(fill));
        }
    }

    fn make_fill(
        &mut self,
        key: OrderKey,
        symbol: SymbolId,
        price_ticks: i64,
        qty_lots: i64,
        liquidity: Liquidity,
        ts_event: i64,
    ) -> Fill {
        let (price, qty, quote) = self
            .market
            .instruments()
            .get(usize::from(symbol))
            .map_or((0.0, 0.0, String::new()), |i| {
                (i.price(price_ticks), i.qty(qty_lots), i.quote.clone())
            });
        let exec_id = format!("E-{}-{}", self.id_tag, self.next_exec_id);
        self.next_exec_id += 1;
        Fill {
            key,
            exec_id,
            price_ticks,
            qty_lots,
            fee: self.fees.fee(liquidity, price, qty),
            fee_asset: quote,
            liquidity,
            ts_event,
        }
    }

    fn apply_new(&mut self, order: &OrderRequest, sink: &mut VenueSink) -> Result<(), VenueError> {
        let t = self.market.now();
        let symbol = order.symbol;
        let Some(sym) = self.market.symbol_mut(symbol) else {
            return Err(VenueError::rejected(
                RejectCode::UnknownSymbol,
                "unknown symbol id",
            ));
        };
        let opposite_empty = sym.book.best(order.side.opposite()).is_none();
        let before = self.out.matched.trades.len();
        let (filled, slot) = match order.order_type {
            OrderType::Market => {
                if opposite_empty {
                    return Err(VenueError::rejected(
                        RejectCode::NoLiquidity,
                        "market order found an empty book side",
                    ));
                }
                sink.events.push(VenueEvent::Accepted {
                    key: order.key,
                    venue_order_id: None,
                    ts_event: t,
                });
                let filled = execute(
                    &mut sym.book,
                    symbol,
                    &mut sym.ids,
                    order.side,
                    None,
                    order.qty_lots,
                    t,
                    &mut self.out.matched,
                );
                (filled, None)
            }
            OrderType::Limit => {
                let Some(price) = order.price_ticks else {
                    return Err(VenueError::rejected(
                        RejectCode::MissingField,
                        "limit order without price",
                    ));
                };
                if order.post_only && sym.book.crosses(order.side, price) {
                    return Err(VenueError::rejected(
                        RejectCode::PostOnlyWouldTake,
                        "post-only order would take liquidity",
                    ));
                }
                sink.events.push(VenueEvent::Accepted {
                    key: order.key,
                    venue_order_id: None,
                    ts_event: t,
                });
                place_limit(
                    &mut sym.book,
                    symbol,
                    &mut sym.ids,
                    order.side,
                    price,
                    order.qty_lots,
                    Owner::Agent(order.key),
                    order.time_in_force == TimeInForce::Gtc,
                    t,
                    &mut self.out.matched,
                )
            }
        };
        let taker_levels: Vec<(i64, i64)> = self.out.matched.trades[before..]
            .iter()
            .map(|tr| (tr.price, tr.qty))
            .collect();
        for (price, qty) in taker_levels {
            let fill = self.make_fill(order.key, symbol, price, qty, Liquidity::Taker, t);
            sink.events.push(VenueEvent::Filled(fill));
        }
        let remaining = order.qty_lots - filled;
        if let Some(slot) = slot {
            self.orders.insert(
                order.key,
                AgentOrder {
                    symbol,
                    slot: Some(slot),
                },
            );
        } else if remaining > 0 {
            let reason = match order.order_type {
                OrderType::Market => CancelReason::NoLiquidity,
                OrderType::Limit => CancelReason::IocRemainder,
            };
            sink.events.push(VenueEvent::Canceled {
                key: order.key,
                reason,
                ts_event: t,
            });
        }
        self.market.touch(symbol);
        self.flush(sink);
        Ok(())
    }

    fn apply_cancel(&mut self, key: OrderKey, sink: &mut VenueSink) -> Result<(), VenueError> {
        let t = self.market.now();
        let Some(order) = self.orders.get(&key).cloned() else {
            return Err(VenueError::rejected(
                RejectCode::OrderClosed,
                "order is no longer in the book",
            ));
        };
        let Some(slot) = order.slot else {
            return Err(VenueError::rejected(
                RejectCode::OrderClosed,
                "order is not resting",
            ));
        };
        self.orders.remove(&key);
        if let Some(sym) = self.market.symbol_mut(order.symbol) {
            sym.book.cancel(slot);
        }
        self.market.touch(order.symbol);
        sink.events.push(VenueEvent::Canceled {
            key,
            reason: CancelReason::User,
            ts_event: t,
        });
        Ok(())
    }

    fn schedule(&mut self, pending: Pending) {
        // Keep the queue sorted by time; equal times stay in submission order.
        let at = self
            .pending
            .iter()
            .rposition(|p| p.t <= pending.t)
            .map_or(0, |i| i + 1);
        self.pending.insert(at, pending);
    }

    fn catch_up(&mut self, now_ns: i64, sink: &mut VenueSink) {
        if self.mode == SimMode::Realtime {
            self.advance(now_ns, sink);
        }
    }
}

impl Venue for SimVenue {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn mode(&self) -> &'static str {
        self.mode.as_str()
    }

    fn instruments(&self) -> &[Instrument] {
        self.market.instruments()
    }

    fn now_ns(&self) -> i64 {
        self.market.now()
    }

    fn poll(&mut self, now_ns: i64, sink: &mut VenueSink) {
        let target = match self.mode {
            SimMode::Realtime => now_ns,
            SimMode::Fastforward => self.market.now().saturating_add(self.chunk_ns),
        };
        self.advance(target, sink);
    }

    fn next_wakeup_ns(&self, now_ns: i64) -> Option<i64> {
        match self.mode {
            SimMode::Fastforward => Some(now_ns),
            SimMode::Realtime => {
                let mut t = self.market.next_wakeup();
                if let Some(p) = self.pending.front() {
                    t = t.min(p.t);
                }
                Some(t)
            }
        }
    }

    fn submit(
        &mut self,
        order: &OrderRequest,
        now_ns: i64,
        sink: &mut VenueSink,
    ) -> Result<String, VenueError> {
        if usize::from(order.symbol) >= self.market.instruments().len() {
            return Err(VenueError::rejected(
                RejectCode::UnknownSymbol,
                "unknown symbol id",
            ));
        }
        self.catch_up(now_ns, sink);
        let venue_order_id = format!("S-{}-{}", self.id_tag, self.next_venue_id);
        self.next_venue_id += 1;
        let delay = self.latency.order_entry_ns();
        if delay <= 0 {
            self.apply_new(order, sink)?;
        } else {
            self.orders.insert(
                order.key,
                AgentOrder {
                    symbol: order.symbol,
                    slot: None,
                },
            );
            let t = self.market.now().saturating_add(delay);
            self.schedule(Pending {
                t,
                action: Action::New(order.clone()),
            });
        }
        Ok(venue_order_id)
    }

    fn cancel(
        &mut self,
        order: &CancelRequest,
        now_ns: i64,
        sink: &mut VenueSink,
    ) -> Result<(), VenueError> {
        self.catch_up(now_ns, sink);
        let delay = self.latency.cancel_ns();
        if delay <= 0 {
            self.apply_cancel(order.key, sink)
        } else {
            let t = self.market.now().saturating_add(delay);
            self.schedule(Pending {
                t,
                action: Action::Cancel(order.key),
            });
            Ok(())
        }
    }

    fn bars(
        &mut self,
        _token: u64,
        symbol: SymbolId,
        limit: usize,
        before_ms: Option<i64>,
        _now_ns: i64,
    ) -> Result<BarsAnswer, VenueError> {
        let now = self.market.now();
        let Some(builder) = self.bars.get_mut(usize::from(symbol)) else {
            return Err(VenueError::rejected(
                RejectCode::UnknownSymbol,
                "unknown symbol id",
            ));
        };
        builder.close_until(now);
        Ok(BarsAnswer::Ready(builder.recent(limit, before_ms)))
    }

    fn mid(&self, symbol: SymbolId) -> Option<Mid> {
        let instrument = self.market.instruments().get(usize::from(symbol))?;
        match self.market.top(symbol) {
            (Some(b), Some(a)) => Some(Mid {
                price: instrument.tick.to_f64(b + a) / 2.0,
                ts_ns: self.market.now(),
            }),
            _ => None,
        }
    }
}
