//! Venues behind one trait: the simulated exchange and Bybit.
//!
//! The core (order registry, risk, journal) talks to a venue only through
//! [`Venue`]. A venue never sees the wire: it gets validated integer orders and
//! answers with [`VenueEvent`]s (order lifecycle) and [`MarketData`] (book
//! snapshots and trades, only the simulator produces these).
//!
//! Contract for implementers:
//! * `submit` and `cancel` must return quickly (the core's event loop runs
//!   heartbeats and the dead-man's switch); slow I/O belongs on a worker thread
//!   whose results come back through `poll`.
//! * For each accepted order the venue emits exactly one `Accepted` before any
//!   `Filled`/`Canceled` of that order, or a single `Rejected` instead of all of
//!   them (an asynchronous refusal). The core journals `NEW` on `Accepted`.
//! * `Filled.exec_id` is unique per fill; the core ignores a repeated `exec_id`.
//! * Events may be pushed into the sink by `submit`/`cancel` themselves (the
//!   simulator with zero latency matches synchronously) or later by `poll`.
//! * `bars` answers at once ([`BarsAnswer::Ready`]) or later through
//!   [`VenueSink::bars`] with the same token ([`BarsAnswer::Pending`]).

pub mod bars;
pub mod bybit;
pub mod sim;

use thiserror::Error;

pub use self::bars::{Bar, MAX_BARS};
use crate::types::{
    CancelReason, Instrument, Liquidity, OrderKey, OrderType, RejectCode, Side, SymbolId,
    TimeInForce,
};

/// An order the core has validated and risk-checked, in integer units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// Core-internal key; every event about this order carries it.
    pub key: OrderKey,
    /// The engine's client order id (Bybit: `orderLinkId`).
    pub client_order_id: String,
    /// The strategy (agent) that owns the order.
    pub strategy_id: String,
    /// Index into [`Venue::instruments`].
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// Market or limit.
    pub order_type: OrderType,
    /// Limit price in ticks (`None` for market orders).
    pub price_ticks: Option<i64>,
    /// Quantity in lots.
    pub qty_lots: i64,
    /// GTC or IOC (market orders behave as IOC).
    pub time_in_force: TimeInForce,
    /// Reject (or cancel on arrival) instead of taking liquidity.
    pub post_only: bool,
    /// Only reduces a position (checked by the core; venues may re-check).
    pub reduce_only: bool,
}

/// Identifies an order to cancel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelRequest {
    /// Core-internal key.
    pub key: OrderKey,
    /// The engine's client order id.
    pub client_order_id: String,
    /// The id the venue gave at submit.
    pub venue_order_id: String,
    /// Index into [`Venue::instruments`].
    pub symbol: SymbolId,
}

/// One execution of an order.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    /// Which order.
    pub key: OrderKey,
    /// Unique per fill.
    pub exec_id: String,
    /// Execution price in ticks.
    pub price_ticks: i64,
    /// Executed quantity in lots.
    pub qty_lots: i64,
    /// Fee charged, in `fee_asset` (negative = rebate).
    pub fee: f64,
    /// Asset of the fee, e.g. `USDT`.
    pub fee_asset: String,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Venue time of the fill, ns since the epoch.
    pub ts_event: i64,
}

/// A fill the engine did not ask for (liquidation, ADL on a real venue).
#[derive(Clone, Debug, PartialEq)]
pub struct UnsolicitedFill {
    /// A venue-made id, used as the report's `client_order_id`.
    pub client_order_id: String,
    /// The venue's order id.
    pub venue_order_id: String,
    /// Index into [`Venue::instruments`].
    pub symbol: SymbolId,
    /// Side of the account's order.
    pub side: Side,
    /// The fill itself (`key` is ignored).
    pub fill: Fill,
}

/// Order lifecycle events a venue reports to the core.
#[derive(Clone, Debug, PartialEq)]
pub enum VenueEvent {
    /// The order reached the venue and is live.
    Accepted {
        /// Which order.
        key: OrderKey,
        /// The venue's order id when it was not known at `submit` (asynchronous venues).
        venue_order_id: Option<String>,
        /// Venue time.
        ts_event: i64,
    },
    /// The venue refused the order after `submit` returned `Ok` (never after `Accepted`).
    Rejected {
        /// Which order.
        key: OrderKey,
        /// Wire reject code.
        code: RejectCode,
        /// Human explanation.
        reason: String,
        /// Venue time.
        ts_event: i64,
    },
    /// An execution.
    Filled(Fill),
    /// The order is gone from the book with its remaining quantity.
    Canceled {
        /// Which order.
        key: OrderKey,
        /// Why.
        reason: CancelReason,
        /// Venue time.
        ts_event: i64,
    },
    /// A fill of an order the engine never sent.
    UnsolicitedFill(UnsolicitedFill),
}

/// Market data a venue produces (the simulator; Bybit data comes via ccxt in Python).
#[derive(Clone, Debug, PartialEq)]
pub enum MarketData {
    /// Top levels of one book, best first, `(ticks, lots)`.
    Book {
        /// Index into [`Venue::instruments`].
        symbol: SymbolId,
        /// Venue time.
        ts_event: i64,
        /// Bids, best (highest) first.
        bids: Vec<(i64, i64)>,
        /// Asks, best (lowest) first.
        asks: Vec<(i64, i64)>,
    },
    /// One trade (aggregated per taker order and price level).
    Trade {
        /// Index into [`Venue::instruments`].
        symbol: SymbolId,
        /// Venue time.
        ts_event: i64,
        /// Price in ticks.
        price_ticks: i64,
        /// Quantity in lots.
        qty_lots: i64,
        /// Side of the taker.
        aggressor: Side,
        /// Unique per venue session.
        trade_id: u64,
    },
}

/// The late answer to a [`Venue::bars`] request that returned [`BarsAnswer::Pending`].
#[derive(Debug)]
pub struct BarsResult {
    /// The token of the request.
    pub token: u64,
    /// Closed bars oldest first, or why there are none.
    pub result: Result<Vec<Bar>, VenueError>,
}

/// What [`Venue::bars`] can say at once.
#[derive(Debug)]
pub enum BarsAnswer {
    /// The closed bars, oldest first.
    Ready(Vec<Bar>),
    /// The venue is fetching them; a [`BarsResult`] with the token follows in the sink.
    Pending,
}

/// Where a venue puts what happened.
#[derive(Debug, Default)]
pub struct VenueSink {
    /// Order lifecycle events, in the order they happened.
    pub events: Vec<VenueEvent>,
    /// Market data, in the order it happened.
    pub market: Vec<MarketData>,
    /// Late answers to `bars` requests.
    pub bars: Vec<BarsResult>,
}

impl VenueSink {
    /// Creates an empty sink.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A mid price and the venue time it is valid for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mid {
    /// `(best bid + best ask) / 2` in price units.
    pub price: f64,
    /// Venue time of the quote, ns since the epoch.
    pub ts_ns: i64,
}

/// A position the venue held at startup.
#[derive(Clone, Debug, PartialEq)]
pub struct VenuePosition {
    /// Index into [`Venue::instruments`].
    pub symbol: SymbolId,
    /// Signed quantity in lots.
    pub qty_lots: i64,
    /// Average entry price.
    pub avg_price: f64,
}

/// What can go wrong at the venue.
#[derive(Debug, Error)]
pub enum VenueError {
    /// A final refusal of this request; becomes `Reject{code}`.
    #[error("{reason}")]
    Rejected {
        /// Wire reject code.
        code: RejectCode,
        /// Human explanation.
        reason: String,
    },
    /// The venue could not be reached; becomes `Reject{code:"VENUE_ERROR"}`.
    #[error("venue unavailable: {0}")]
    Unavailable(String),
    /// The request may or may not have been executed; the venue will settle it
    /// through later events (the core keeps the order as pending `NEW`).
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
}

impl VenueError {
    /// Builds a final refusal.
    pub fn rejected(code: RejectCode, reason: impl Into<String>) -> Self {
        Self::Rejected {
            code,
            reason: reason.into(),
        }
    }
}

/// One exchange, simulated or real.
pub trait Venue {
    /// Returns `"sim"` or `"bybit"`.
    fn name(&self) -> &'static str;

    /// Returns the run mode for `Welcome.mode` (`"realtime"`, `"fastforward"`, `"live"`, `"testnet"`).
    fn mode(&self) -> &'static str;

    /// Returns the instruments; a [`SymbolId`] indexes this slice.
    fn instruments(&self) -> &[Instrument];

    /// Returns the venue clock (simulated time for the simulator).
    fn now_ns(&self) -> i64;

    /// Advances the venue to `now_ns` (core clock) and collects what happened.
    fn poll(&mut self, now_ns: i64, sink: &mut VenueSink);

    /// Returns the core-clock time at which `poll` has something to do, if known.
    fn next_wakeup_ns(&self, now_ns: i64) -> Option<i64>;

    /// Sends an order; returns the venue order id.
    ///
    /// # Errors
    /// [`VenueError::Rejected`] for a final refusal (e.g. `POST_ONLY_WOULD_TAKE`),
    /// [`VenueError::Unavailable`] when nothing was sent.
    fn submit(
        &mut self,
        order: &OrderRequest,
        now_ns: i64,
        sink: &mut VenueSink,
    ) -> Result<String, VenueError>;

    /// Asks the venue to cancel an order; `Canceled` follows (or a fill wins the race).
    ///
    /// # Errors
    /// [`VenueError`] when the request could not be sent or was refused.
    fn cancel(
        &mut self,
        order: &CancelRequest,
        now_ns: i64,
        sink: &mut VenueSink,
    ) -> Result<(), VenueError>;

    /// Returns the current mid of a symbol, if both sides are quoted.
    fn mid(&self, symbol: SymbolId) -> Option<Mid>;

    /// Returns (or starts fetching) the last `limit` closed 1-minute bars of a
    /// symbol, oldest first; with `before_ms`, the last `limit` of those that
    /// opened before it. `token` identifies a late answer.
    ///
    /// # Errors
    /// [`VenueError`] when the venue has no bars for the symbol.
    fn bars(
        &mut self,
        token: u64,
        symbol: SymbolId,
        limit: usize,
        before_ms: Option<i64>,
        now_ns: i64,
    ) -> Result<BarsAnswer, VenueError>;

    /// Returns the positions the venue already held when it was started (an
    /// earlier session's, or placed elsewhere), which the core adopts so that
    /// risk counts them and the kill switch closes them. The simulated venue
    /// always starts flat.
    fn opening_positions(&self) -> Vec<VenuePosition> {
        Vec::new()
    }
}
