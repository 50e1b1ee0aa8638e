//! Price-time matching on top of [`Book`]: takers walk the book, public trades
//! are aggregated per taker order and price level, and fills of agent orders
//! resting in the book are reported with their honest queue outcome.

use super::book::{Book, Owner};
use crate::types::{OrderKey, Side, SymbolId};

/// One public trade (one taker order at one price level).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeRec {
    /// Symbol.
    pub symbol: SymbolId,
    /// Simulated time, ns since the epoch.
    pub ts: i64,
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots.
    pub qty: i64,
    /// Taker side.
    pub aggressor: Side,
    /// Unique per session.
    pub trade_id: u64,
}

/// A fill of an agent order that was resting in the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentMakerFill {
    /// Agent order.
    pub key: OrderKey,
    /// Symbol.
    pub symbol: SymbolId,
    /// Simulated time.
    pub ts: i64,
    /// Price in ticks.
    pub price: i64,
    /// Lots.
    pub qty: i64,
    /// Whether the order is now completely filled.
    pub done: bool,
}

/// Where matching writes its results.
#[derive(Debug, Default)]
pub struct MatchOut {
    /// Public trades in order.
    pub trades: Vec<TradeRec>,
    /// Agent maker fills in order.
    pub agent_fills: Vec<AgentMakerFill>,
}

impl MatchOut {
    /// Clears both lists.
    pub fn clear(&mut self) {
        self.trades.clear();
        self.agent_fills.clear();
    }
}

/// Trade id generator: ids `n * stride + symbol` are unique across symbols and
/// independent of how symbols interleave in time.
#[derive(Clone, Copy, Debug)]
pub struct TradeIds {
    next: u64,
    stride: u64,
    symbol: u64,
}

impl TradeIds {
    /// Creates the generator of one symbol among `symbols`.
    pub fn new(symbol: SymbolId, symbols: usize) -> Self {
        Self {
            next: 1,
            stride: symbols.max(1) as u64,
            symbol: u64::from(symbol),
        }
    }

    #[inline]
    fn take(&mut self) -> u64 {
        let id = self.next * self.stride + self.symbol;
        self.next += 1;
        id
    }
}

/// Executes a taker order of `qty` lots against the book, down to `limit`.
///
/// Appends one [`TradeRec`] per price level touched and one
/// [`AgentMakerFill`] per agent maker order touched; returns the lots filled.
#[allow(clippy::too_many_arguments)]
pub fn execute(
    book: &mut Book,
    symbol: SymbolId,
    ids: &mut TradeIds,
    taker: Side,
    limit: Option<i64>,
    qty: i64,
    ts: i64,
    out: &mut MatchOut,
) -> i64 {
    let mut level_price = i64::MIN;
    let mut level_qty = 0i64;
    let trades = &mut out.trades;
    let agent_fills = &mut out.agent_fills;
    let filled = book.take(taker, limit, qty, |fill| {
        if fill.price != level_price {
            if level_qty > 0 {
                trades.push(TradeRec {
                    symbol,
                    ts,
                    price: level_price,
                    qty: level_qty,
                    aggressor: taker,
                    trade_id: ids.take(),
                });
            }
            level_price = fill.price;
            level_qty = 0;
        }
        level_qty += fill.qty;
        if let Owner::Agent(key) = fill.owner {
            agent_fills.push(AgentMakerFill {
                key,
                symbol,
                ts,
                price: fill.price,
                qty: fill.qty,
                done: fill.done,
            });
        }
    });
    if level_qty > 0 {
        out.trades.push(TradeRec {
            symbol,
            ts,
            price: level_price,
            qty: level_qty,
            aggressor: taker,
            trade_id: ids.take(),
        });
    }
    filled
}

/// Places a limit order: matches what crosses, rests the remainder when `rest`
/// is true. Returns `(filled, resting slot)`.
#[allow(clippy::too_many_arguments)]
pub fn place_limit(
    book: &mut Book,
    symbol: SymbolId,
    ids: &mut TradeIds,
    side: Side,
    price: i64,
    qty: i64,
    owner: Owner,
    rest: bool,
    ts: i64,
    out: &mut MatchOut,
) -> (i64, Option<u32>) {
    let filled = if book.crosses(side, price) {
        execute(book, symbol, ids, side, Some(price), qty, ts, out)
    } else {
        0
    };
    let remaining = qty - filled;
    let slot = (rest && remaining > 0).then(|| book.add(side, price, remaining, owner));
    (filled, slot)
}
