//! Messages from the core: replies, journaled reports and market data, as
//! borrowed serde structs written into a reusable buffer.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    orders::{order::Order, position::Position},
    risk::killswitch::TradingStateView,
    types::{Instrument, Side},
};

const V: u8 = 1;

/// Rounds to `decimals` decimal places (for fees, PnL and averages, so the
/// JSON shows `0.33` rather than `0.33000000000000002`).
pub fn round_dp(x: f64, decimals: u32) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(decimals as i32);
    let y = (x * scale).round() / scale;
    if y == 0.0 {
        0.0
    } else {
        y
    }
}

/// `None` for an empty id (an order the venue has not answered yet).
pub fn non_empty(id: &str) -> Option<&str> {
    (!id.is_empty()).then_some(id)
}

/// Writes a message as JSON into `buf` (cleared first).
pub fn encode<T: Serialize>(buf: &mut Vec<u8>, message: &T) {
    buf.clear();
    if serde_json::to_writer(&mut *buf, message).is_err() {
        // Serialising these plain structs cannot fail; keep the frame well-formed anyway.
        buf.clear();
        buf.extend_from_slice(br#"{"v":1,"type":"Reject","req_id":null,"last_seq":0,"client_order_id":null,"code":"VENUE_ERROR","reason":"encoding failed"}"#);
    }
}

/// `Reject`.
#[derive(Serialize)]
pub struct Reject<'a> {
    /// 1.
    pub v: u8,
    /// "Reject".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Echoed, or null.
    pub req_id: Option<i64>,
    /// Highest journaled seq.
    pub last_seq: u64,
    /// Echoed, or null.
    pub client_order_id: Option<&'a str>,
    /// Wire code.
    pub code: &'static str,
    /// Human explanation.
    pub reason: &'a str,
}

impl<'a> Reject<'a> {
    /// Builds a reject.
    pub fn new(
        req_id: Option<i64>,
        last_seq: u64,
        client_order_id: Option<&'a str>,
        code: &'static str,
        reason: &'a str,
    ) -> Self {
        Self {
            v: V,
            kind: "Reject",
            req_id,
            last_seq,
            client_order_id,
            code,
            reason,
        }
    }
}

/// `Ack` with the optional fields each command uses.
#[derive(Serialize, Default)]
pub struct Ack<'a> {
    /// 1.
    pub v: u8,
    /// "Ack".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Echoed.
    pub req_id: i64,
    /// Highest journaled seq.
    pub last_seq: u64,
    /// Order commands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<&'a str>,
    /// Order commands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue_order_id: Option<&'a str>,
    /// Order commands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// `NewOrder`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
    /// `CancelAll`, `KillSwitch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canceled: Option<u64>,
    /// `Flatten`, `KillSwitch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<u64>,
    /// `KillSwitch`, `Resume`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trading_state: Option<TradingStateView>,
}

impl<'a> Ack<'a> {
    /// Builds a bare ack.
    pub fn new(req_id: i64, last_seq: u64) -> Self {
        Self {
            v: V,
            kind: "Ack",
            req_id,
            last_seq,
            ..Self::default()
        }
    }
}

/// An instrument in `Welcome`.
#[derive(Serialize)]
pub struct InstrumentView<'a> {
    /// `BASE/QUOTE`.
    pub symbol: &'a str,
    /// Base asset.
    pub base: &'a str,
    /// Quote asset.
    pub quote: &'a str,
    /// Tick size.
    pub tick_size: f64,
    /// Lot size.
    pub lot_size: f64,
    /// Minimum quantity.
    pub min_qty: f64,
}

impl<'a> InstrumentView<'a> {
    /// Builds the view of an instrument.
    pub fn new(i: &'a Instrument) -> Self {
        Self {
            symbol: &i.symbol,
            base: &i.base,
            quote: &i.quote,
            tick_size: i.tick_size(),
            lot_size: i.lot_size(),
            min_qty: i.min_qty(),
        }
    }
}

/// `Welcome`.
#[derive(Serialize)]
pub struct Welcome<'a> {
    /// 1.
    pub v: u8,
    /// "Welcome".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Echoed.
    pub req_id: i64,
    /// Random per process.
    pub session_id: &'a str,
    /// "sim" or "bybit".
    pub venue: &'a str,
    /// Run mode.
    pub mode: &'a str,
    /// Highest journaled seq.
    pub last_seq: u64,
    /// Core time.
    pub ts_init: i64,
    /// Tradable instruments.
    pub instruments: Vec<InstrumentView<'a>>,
    /// Kill switch state.
    pub trading_state: TradingStateView,
}

impl<'a> Welcome<'a> {
    /// Builds the welcome.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        req_id: i64,
        session_id: &'a str,
        venue: &'a str,
        mode: &'a str,
        last_seq: u64,
        ts_init: i64,
        instruments: &'a [Instrument],
        trading_state: TradingStateView,
    ) -> Self {
        Self {
            v: V,
            kind: "Welcome",
            req_id,
            session_id,
            venue,
            mode,
            last_seq,
            ts_init,
            instruments: instruments.iter().map(InstrumentView::new).collect(),
            trading_state,
        }
    }
}

/// Heartbeat reply.
#[derive(Serialize)]
pub struct HeartbeatReply<'a> {
    /// 1.
    pub v: u8,
    /// "Heartbeat".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Echoed.
    pub req_id: i64,
    /// Highest journaled seq.
    pub last_seq: u64,
    /// Session.
    pub session_id: &'a str,
    /// Core time.
    pub ts_init: i64,
    /// Kill switch state.
    pub trading_state: TradingStateView,
}

impl<'a> HeartbeatReply<'a> {
    /// Builds the reply.
    pub fn new(
        req_id: i64,
        last_seq: u64,
        session_id: &'a str,
        ts_init: i64,
        trading_state: TradingStateView,
    ) -> Self {
        Self {
            v: V,
            kind: "Heartbeat",
            req_id,
            last_seq,
            session_id,
            ts_init,
            trading_state,
        }
    }
}

/// An order in `SnapshotReport` / `OrderState`.
#[derive(Serialize)]
pub struct OrderView<'a> {
    /// Engine id.
    pub client_order_id: &'a str,
    /// Venue id (null until the venue answered).
    pub venue_order_id: Option<&'a str>,
    /// Owner.
    pub strategy_id: &'a str,
    /// Symbol.
    pub symbol: &'a str,
    /// Side.
    pub side: &'static str,
    /// Type.
    pub order_type: &'static str,
    /// Limit price or null.
    pub price: Option<f64>,
    /// Quantity.
    pub qty: f64,
    /// Filled quantity.
    pub cum_qty: f64,
    /// Average fill price (0 before any fill).
    pub avg_price: f64,
    /// Status.
    pub status: &'static str,
    /// Last change.
    pub ts_event: i64,
}

/// Average price of an order in price units, rounded to the tick's decimals + 6.
pub fn avg_price(order: &Order, instrument: &Instrument) -> f64 {
    order.avg_price_ticks().map_or(0.0, |t| {
        round_dp(t * instrument.tick_size(), instrument.tick.decimals() + 6)
    })
}

impl<'a> OrderView<'a> {
    /// Builds the view of an order.
    pub fn new(order: &'a Order, instrument: &'a Instrument) -> Self {
        Self {
            client_order_id: &order.client_order_id,
            venue_order_id: non_empty(&order.venue_order_id),
            strategy_id: &order.strategy_id,
            symbol: &instrument.symbol,
            side: order.side.as_str(),
            order_type: order.order_type.as_str(),
            price: order.price_ticks.map(|t| instrument.price(t)),
            qty: instrument.qty(order.qty_lots),
            cum_qty: instrument.qty(order.cum_lots),
            avg_price: avg_price(order, instrument),
            status: order.status.as_str(),
            ts_event: order.ts_event,
        }
    }
}

/// A position in `SnapshotReport`.
#[derive(Serialize)]
pub struct PositionView<'a> {
    /// Owner.
    pub strategy_id: &'a str,
    /// Symbol.
    pub symbol: &'a str,
    /// Signed quantity.
    pub qty: f64,
    /// Average entry price.
    pub avg_price: f64,
    /// Realised PnL before fees.
    pub realized_pnl: f64,
    /// Fees paid.
    pub fees: f64,
}

impl<'a> PositionView<'a> {
    /// Builds the view of a position.
    pub fn new(strategy_id: &'a str, p: &Position, instrument: &'a Instrument) -> Self {
        let qty = instrument.qty(p.qty_lots.abs()) * p.qty_lots.signum() as f64;
        Self {
            strategy_id,
            symbol: &instrument.symbol,
            qty,
            avg_price: round_dp(p.avg_price, instrument.tick.decimals() + 6),
            realized_pnl: round_dp(p.realized_pnl, 8),
            fees: round_dp(p.fees, 8),
        }
    }
}

/// A balance in `SnapshotReport`.
#[derive(Serialize)]
pub struct BalanceView<'a> {
    /// Asset.
    pub asset: &'a str,
    /// Amount.
    pub total: f64,
}

/// `SnapshotReport`.
#[derive(Serialize)]
pub struct SnapshotReport<'a> {
    /// 1.
    pub v: u8,
    /// "SnapshotReport".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Echoed.
    pub req_id: i64,
    /// Highest journaled seq.
    pub last_seq: u64,
    /// Session.
    pub session_id: &'a str,
    /// Core time.
    pub ts_init: i64,
    /// Kill switch state.
    pub trading_state: TradingStateView,
    /// Open orders.
    pub open_orders: Vec<OrderView<'a>>,
    /// Every (strategy, symbol) that traded.
    pub positions: Vec<PositionView<'a>>,
    /// Cash balances.
    pub balances: Vec<BalanceView<'a>>,
    /// Current mids.
    pub mids: BTreeMap<&'a str, f64>,
}

/// `OrderState`.
#[derive(Serialize)]
pub struct OrderStateReply<'a> {
    /// 1.
    pub v: u8,
    /// "OrderState".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Echoed.
    pub req_id: i64,
    /// Highest journaled seq.
    pub last_seq: u64,
    /// Whether the id was ever seen.
    pub known: bool,
    /// The order, or null.
    pub order: Option<OrderView<'a>>,
}

/// `ReplayDone`.
#[derive(Serialize)]
pub struct ReplayDone {
    /// 1.
    pub v: u8,
    /// "ReplayDone".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Echoed.
    pub req_id: i64,
    /// First seq asked for.
    pub from_seq: u64,
    /// Last seq resent.
    pub to_seq: u64,
    /// Highest journaled seq.
    pub last_seq: u64,
}

/// `BarsReport`: closed 1-minute bars, oldest first, each
/// `[ts_ms, open, high, low, close, volume, trades]`.
#[derive(Serialize)]
pub struct BarsReport<'a> {
    /// 1.
    pub v: u8,
    /// "BarsReport".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Echoed.
    pub req_id: i64,
    /// Highest journaled seq.
    pub last_seq: u64,
    /// Symbol.
    pub symbol: &'a str,
    /// Always "1m".
    pub timeframe: &'static str,
    /// The bars.
    pub bars: Vec<BarRow>,
}

/// One bar on the wire: `[ts_ms, open, high, low, close, volume, trades]`
/// (`trades` is null when the venue does not count them).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct BarRow(
    pub i64,
    pub f64,
    pub f64,
    pub f64,
    pub f64,
    pub f64,
    pub Option<u64>,
);

impl BarRow {
    /// Converts a bar in ticks and lots to price and quantity units.
    pub fn new(bar: &crate::venue::Bar, instrument: &Instrument) -> Self {
        Self(
            bar.ts_ms,
            instrument.price(bar.open),
            instrument.price(bar.high),
            instrument.price(bar.low),
            instrument.price(bar.close),
            instrument.qty(bar.volume_lots),
            bar.trades,
        )
    }
}

/// Fill fields of an `OrderUpdate`.
#[derive(Clone, Copy, Debug)]
pub struct FillFields<'a> {
    /// Fill quantity.
    pub last_qty: f64,
    /// Fill price.
    pub last_price: f64,
    /// Fee.
    pub fee: f64,
    /// Fee asset.
    pub fee_asset: &'a str,
    /// MAKER or TAKER.
    pub liquidity: &'static str,
    /// Unique fill id.
    pub exec_id: &'a str,
}

/// `OrderUpdate` (journaled).
#[derive(Serialize)]
pub struct OrderUpdate<'a> {
    /// 1.
    pub v: u8,
    /// "OrderUpdate".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Journal sequence.
    pub seq: u64,
    /// Engine id.
    pub client_order_id: &'a str,
    /// Venue id (null until the venue answered).
    pub venue_order_id: Option<&'a str>,
    /// Owner.
    pub strategy_id: &'a str,
    /// Symbol.
    pub symbol: &'a str,
    /// Side.
    pub side: &'static str,
    /// Type.
    pub order_type: &'static str,
    /// Status after this update.
    pub status: &'static str,
    /// Limit price or null.
    pub price: Option<f64>,
    /// Order quantity.
    pub qty: f64,
    /// Fill quantity or null.
    pub last_qty: Option<f64>,
    /// Fill price or null.
    pub last_price: Option<f64>,
    /// Fee or null.
    pub fee: Option<f64>,
    /// Fee asset or null.
    pub fee_asset: Option<&'a str>,
    /// MAKER/TAKER or null.
    pub liquidity: Option<&'static str>,
    /// Fill id or null.
    pub exec_id: Option<&'a str>,
    /// Filled so far.
    pub cum_qty: f64,
    /// Average fill price (0 before any fill).
    pub avg_price: f64,
    /// Open quantity.
    pub leaves_qty: f64,
    /// Why (CANCELED / REJECTED), else null.
    pub reason: Option<&'a str>,
    /// Whether the engine never sent this order.
    pub unsolicited: bool,
    /// Venue time.
    pub ts_event: i64,
    /// Core time.
    pub ts_init: i64,
}

impl<'a> OrderUpdate<'a> {
    /// Builds the update of an order after an event.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seq: u64,
        order: &'a Order,
        instrument: &'a Instrument,
        fill: Option<FillFields<'a>>,
        reason: Option<&'a str>,
        unsolicited: bool,
        ts_event: i64,
        ts_init: i64,
    ) -> Self {
        Self {
            v: V,
            kind: "OrderUpdate",
            seq,
            client_order_id: &order.client_order_id,
            venue_order_id: non_empty(&order.venue_order_id),
            strategy_id: &order.strategy_id,
            symbol: &instrument.symbol,
            side: order.side.as_str(),
            order_type: order.order_type.as_str(),
            status: order.status.as_str(),
            price: order.price_ticks.map(|t| instrument.price(t)),
            qty: instrument.qty(order.qty_lots),
            last_qty: fill.map(|f| f.last_qty),
            last_price: fill.map(|f| f.last_price),
            fee: fill.map(|f| round_dp(f.fee, 10)),
            fee_asset: fill.map(|f| f.fee_asset),
            liquidity: fill.map(|f| f.liquidity),
            exec_id: fill.map(|f| f.exec_id),
            cum_qty: instrument.qty(order.cum_lots),
            avg_price: avg_price(order, instrument),
            leaves_qty: instrument.qty(order.leaves_lots()),
            reason,
            unsolicited,
            ts_event,
            ts_init,
        }
    }
}

/// `RiskEvent` (journaled).
#[derive(Serialize)]
pub struct RiskEvent<'a> {
    /// 1.
    pub v: u8,
    /// "RiskEvent".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Journal sequence.
    pub seq: u64,
    /// DEADMAN, KILL_SWITCH, RESUMED or LIMIT_BREACH.
    #[serde(rename = "kind")]
    pub event_kind: &'static str,
    /// GLOBAL, STRATEGY or SYMBOL.
    pub scope: &'static str,
    /// Strategy or symbol, or null.
    pub target: Option<&'a str>,
    /// Human explanation.
    pub message: &'a str,
    /// Venue time.
    pub ts_event: i64,
    /// Core time.
    pub ts_init: i64,
}

impl<'a> RiskEvent<'a> {
    /// Builds a risk event.
    pub fn new(
        seq: u64,
        event_kind: &'static str,
        scope: &'static str,
        target: Option<&'a str>,
        message: &'a str,
        ts_event: i64,
        ts_init: i64,
    ) -> Self {
        Self {
            v: V,
            kind: "RiskEvent",
            seq,
            event_kind,
            scope,
            target,
            message,
            ts_event,
            ts_init,
        }
    }
}

/// `BookSnapshot` (market data).
#[derive(Serialize)]
pub struct BookSnapshot<'a> {
    /// 1.
    pub v: u8,
    /// "BookSnapshot".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Symbol.
    pub symbol: &'a str,
    /// Per-symbol market data sequence.
    pub seq: u64,
    /// Venue time.
    pub ts_event: i64,
    /// `[price, qty]` best first.
    pub bids: Vec<[f64; 2]>,
    /// `[price, qty]` best first.
    pub asks: Vec<[f64; 2]>,
}

impl<'a> BookSnapshot<'a> {
    /// Builds a snapshot from integer levels.
    pub fn new(
        instrument: &'a Instrument,
        seq: u64,
        ts_event: i64,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> Self {
        let conv = |levels: &[(i64, i64)]| -> Vec<[f64; 2]> {
            levels
                .iter()
                .map(|(p, q)| [instrument.price(*p), instrument.qty(*q)])
                .collect()
        };
        Self {
            v: V,
            kind: "BookSnapshot",
            symbol: &instrument.symbol,
            seq,
            ts_event,
            bids: conv(bids),
            asks: conv(asks),
        }
    }
}

/// `Trade` (market data).
#[derive(Serialize)]
pub struct Trade<'a> {
    /// 1.
    pub v: u8,
    /// "Trade".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Symbol.
    pub symbol: &'a str,
    /// Per-symbol market data sequence.
    pub seq: u64,
    /// Venue time.
    pub ts_event: i64,
    /// Price.
    pub price: f64,
    /// Quantity.
    pub qty: f64,
    /// Taker side.
    pub aggressor: &'static str,
    /// Unique trade id.
    pub trade_id: String,
}

impl<'a> Trade<'a> {
    /// Builds a trade from integer units.
    pub fn new(
        instrument: &'a Instrument,
        seq: u64,
        ts_event: i64,
        price_ticks: i64,
        qty_lots: i64,
        aggressor: Side,
        trade_id: u64,
    ) -> Self {
        Self {
            v: V,
            kind: "Trade",
            symbol: &instrument.symbol,
            seq,
            ts_event,
            price: instrument.price(price_ticks),
            qty: instrument.qty(qty_lots),
            aggressor: aggressor.as_str(),
            trade_id: format!("T-{trade_id}"),
        }
    }
}

/// Returns the PUB topic of a book snapshot.
pub fn book_topic(symbol: &str) -> String {
    format!("md.book.{symbol}")
}

/// Returns the PUB topic of a trade.
pub fn trade_topic(symbol: &str) -> String {
    format!("md.trade.{symbol}")
}
