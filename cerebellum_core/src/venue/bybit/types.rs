//! Domain types the Bybit adapter speaks, independent of Bybit's wire shapes.
//!
//! They mirror the engine<->core protocol (`docs/protocol.md`): internal
//! symbols (`"BTC/USDT"`), `SCREAMING_SNAKE` status names, timestamps in ns.
//! Quantities and prices are exact [`Decimal`]s so that nothing is lost between
//! Bybit's decimal strings and the core's integer ticks.

use std::fmt;

use super::error::VenueError;

const MAX_DECIMAL_LEN: usize = 40;
const MAX_SCALE: u32 = 18;

/// An exact decimal number kept in canonical text form (`"0.015"`, `"-2"`).
///
/// Canonical means: no `+`, no leading zeros, no trailing fractional zeros,
/// no negative zero. Equal values therefore have equal text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    text: String,
}

impl Decimal {
    /// Parses `-?digits(.digits)?`.
    ///
    /// # Errors
    /// `InvalidRequest` for anything else (empty, exponent, NaN, too long).
    pub fn new_checked(text: &str) -> Result<Self, VenueError> {
        canonicalize(text)
            .map(|text| Self { text })
            .ok_or_else(|| VenueError::InvalidRequest(format!("not a decimal number: {text:?}")))
    }

    /// Returns zero.
    pub fn zero() -> Self {
        Self {
            text: "0".to_owned(),
        }
    }

    /// Builds `units * 10^-scale` exactly, e.g. `(15, 3)` is `0.015`: the bridge
    /// from integer ticks or lots.
    ///
    /// # Errors
    /// `InvalidRequest` when `scale` exceeds 18.
    pub fn from_scaled(units: i64, scale: u32) -> Result<Self, VenueError> {
        if scale > MAX_SCALE {
            return Err(VenueError::InvalidRequest(format!(
                "scale {scale} exceeds {MAX_SCALE}"
            )));
        }
        let digits = units.unsigned_abs().to_string();
        let scale = scale as usize;
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        let sign = if units < 0 { "-" } else { "" };
        let raw = if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        };
        Self::new_checked(&raw)
    }

    /// Rounds a finite float to `max_scale` decimals.
    ///
    /// # Errors
    /// `InvalidRequest` for NaN, infinities, or `max_scale` above 18.
    pub fn from_f64(value: f64, max_scale: u32) -> Result<Self, VenueError> {
        if !value.is_finite() || max_scale > MAX_SCALE {
            return Err(VenueError::InvalidRequest(format!(
                "cannot represent {value} with {max_scale} decimals"
            )));
        }
        Self::new_checked(&format!("{value:.prec$}", prec = max_scale as usize))
    }

    /// Returns the value in units of `10^-scale` when it is exact and fits an
    /// `i64` (the bridge to integer ticks or lots), `None` otherwise.
    pub fn to_scaled(&self, scale: u32) -> Option<i64> {
        let (negative, body) = match self.text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, self.text.as_str()),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if frac.len() > scale as usize {
            return None;
        }
        let frac_padded = format!("{frac:0<width$}", width = scale as usize);
        let digits = format!("{int}{frac_padded}");
        let magnitude: i128 = digits.parse().ok()?;
        let value = if negative { -magnitude } else { magnitude };
        i64::try_from(value).ok()
    }

    /// Returns `self / step` when it is a whole number that fits an `i64`
    /// (price -> ticks with the tick size, quantity -> lots with the lot size),
    /// `None` when off the grid or `step` is not positive.
    pub fn to_ticks(&self, step: &Decimal) -> Option<i64> {
        if !step.is_positive() {
            return None;
        }
        let scale = self.scale().max(step.scale());
        let value = i128::from(self.to_scaled(scale)?);
        let step = i128::from(step.to_scaled(scale)?);
        if value % step != 0 {
            return None;
        }
        i64::try_from(value / step).ok()
    }

    /// Builds `ticks * step` exactly (ticks -> price, lots -> quantity).
    ///
    /// # Errors
    /// `InvalidRequest` when `step` is not positive or the product overflows.
    pub fn from_ticks(ticks: i64, step: &Decimal) -> Result<Self, VenueError> {
        let scale = step.scale();
        let units = step
            .to_scaled(scale)
            .filter(|_| step.is_positive())
            .and_then(|s| ticks.checked_mul(s))
            .ok_or_else(|| {
                VenueError::InvalidRequest(format!("{ticks} x {step} is not representable"))
            })?;
        Self::from_scaled(units, scale)
    }

    /// Number of fractional digits of the canonical text.
    fn scale(&self) -> u32 {
        self.text
            .split_once('.')
            .map_or(0, |(_, frac)| frac.len() as u32)
    }

    /// Returns the nearest `f64` (for display and models only).
    pub fn to_f64(&self) -> f64 {
        self.text.parse().unwrap_or(f64::NAN)
    }

    /// Returns the canonical text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Indicates a value of zero.
    pub fn is_zero(&self) -> bool {
        self.text == "0"
    }

    /// Indicates a value below zero.
    pub fn is_negative(&self) -> bool {
        self.text.starts_with('-')
    }

    /// Indicates a value above zero.
    pub fn is_positive(&self) -> bool {
        !self.is_zero() && !self.is_negative()
    }

    /// Returns the value with the opposite sign.
    pub fn negated(&self) -> Self {
        if self.is_zero() {
            return self.clone();
        }
        match self.text.strip_prefix('-') {
            Some(rest) => Self {
                text: rest.to_owned(),
            },
            None => Self {
                text: format!("-{}", self.text),
            },
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({})", self.text)
    }
}

fn canonicalize(raw: &str) -> Option<String> {
    if raw.is_empty() || raw.len() > MAX_DECIMAL_LEN {
        return None;
    }
    let (negative, body) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (int, frac) = match body.split_once('.') {
        Some((int, frac)) if !frac.is_empty() => (int, frac),
        Some(_) => return None,
        None => (body, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(raw.len());
    if negative && !(int == "0" && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

/// Order side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy (long).
    Buy,
    /// Sell (short).
    Sell,
}

impl Side {
    /// Protocol spelling: `BUY` / `SELL`.
    pub fn as_wire_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }
}

/// Order type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Market order (Bybit executes it as IOC with slippage protection).
    Market,
    /// Limit order.
    Limit,
}

impl OrderType {
    /// Protocol spelling: `MARKET` / `LIMIT`.
    pub fn as_wire_str(self) -> &'static str {
        match self {
            Self::Market => "MARKET",
            Self::Limit => "LIMIT",
        }
    }
}

/// Time in force. The protocol's `post_only: true` maps to [`TimeInForce::PostOnly`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Maker only: Bybit cancels it if it would take liquidity.
    PostOnly,
}

/// A new order as the engine asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// Engine client order id, sent as Bybit `orderLinkId` (1-36 chars of
    /// `[A-Za-z0-9_-]`, a Bybit restriction narrower than the protocol's).
    pub client_order_id: String,
    /// Internal symbol, e.g. `"BTC/USDT"`.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Quantity in base units, positive.
    pub qty: Decimal,
    /// Limit price; required for `Limit`, absent for `Market`.
    pub price: Option<Decimal>,
    /// Time in force (ignored by Bybit for market orders, which are IOC).
    pub time_in_force: TimeInForce,
    /// Only reduce an existing position.
    pub reduce_only: bool,
}

/// Bybit accepted an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitAck {
    /// Engine client order id.
    pub client_order_id: String,
    /// Bybit `orderId`.
    pub venue_order_id: String,
    /// The order already existed on Bybit under this id with the same symbol,
    /// side and quantity (a resend after a lost reply), and was not placed again.
    pub duplicate: bool,
}

/// One order Bybit cancelled (or accepted to cancel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanceledOrder {
    /// Engine client order id (`orderLinkId`; empty for orders placed elsewhere).
    pub client_order_id: String,
    /// Bybit `orderId`.
    pub venue_order_id: String,
}

/// Order status with the protocol's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Resting, nothing filled.
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled (possibly after partial fills).
    Canceled,
    /// Refused by the venue.
    Rejected,
}

impl OrderStatus {
    /// Protocol spelling, e.g. `PARTIALLY_FILLED`.
    pub fn as_wire_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Filled => "FILLED",
            Self::Canceled => "CANCELED",
            Self::Rejected => "REJECTED",
        }
    }

    /// Indicates a final state.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Filled | Self::Canceled | Self::Rejected)
    }
}

/// An order as Bybit reports it (for unknown-outcome recovery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderState {
    /// Engine client order id.
    pub client_order_id: String,
    /// Bybit `orderId`.
    pub venue_order_id: String,
    /// Internal symbol.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Limit price (`None` for market orders).
    pub price: Option<Decimal>,
    /// Ordered quantity.
    pub qty: Decimal,
    /// Filled quantity.
    pub cum_qty: Decimal,
    /// Average fill price (`None` before any fill).
    pub avg_price: Option<Decimal>,
    /// Mapped status.
    pub status: OrderStatus,
    /// Bybit's own status text (`"PartiallyFilledCanceled"`, ...).
    pub venue_status: String,
    /// Bybit reject reason when not `EC_NoError`.
    pub reason: Option<String>,
    /// Last update on the venue clock, ns since the epoch.
    pub ts_event: u64,
}

/// A position as Bybit reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// Internal symbol.
    pub symbol: String,
    /// Signed size in base units (negative = short).
    pub qty: Decimal,
    /// Average entry price.
    pub avg_price: Decimal,
    /// Mark price, when reported.
    pub mark_price: Option<Decimal>,
    /// Unrealised PnL in the settle coin, when reported.
    pub unrealised_pnl: Option<Decimal>,
    /// Estimated liquidation price, when reported.
    pub liq_price: Option<Decimal>,
    /// Bybit `positionIdx`: 0 one-way mode, 1/2 hedge-mode buy/sell side.
    pub position_idx: i64,
    /// Last update on the venue clock, ns since the epoch (0 if not reported).
    pub ts_event: u64,
}

/// What produced an execution, from Bybit `execType`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExecKind {
    /// A normal trade of an order.
    Trade,
    /// Auto-deleveraging.
    AdlTrade,
    /// Liquidation (bankruptcy) trade.
    BustTrade,
    /// Settlement.
    Settle,
    /// Delivery of a dated contract.
    Delivery,
    /// Funding (not a fill: reported as a [`FundingEvent`]).
    Funding,
    /// Any other `execType`, kept verbatim.
    Other(String),
}

/// Maker or taker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Liquidity {
    /// Added liquidity.
    Maker,
    /// Removed liquidity.
    Taker,
}

impl Liquidity {
    /// Protocol spelling: `MAKER` / `TAKER`.
    pub fn as_wire_str(self) -> &'static str {
        match self {
            Self::Maker => "MAKER",
            Self::Taker => "TAKER",
        }
    }
}

/// Why a fill was not caused by an order the engine placed through this adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnsolicitedReason {
    /// `BustTrade`: the position was liquidated.
    Liquidation,
    /// `AdlTrade`: the position was auto-deleveraged.
    AutoDeleverage,
    /// `Settle` / `Delivery`.
    Settlement,
    /// A trade of an order this adapter never issued (web UI, another bot, a
    /// previous session whose ids were not adopted).
    NotIssuedByAdapter,
    /// An `execType` the adapter does not know; reported rather than dropped.
    UnrecognisedExecType,
}

/// One execution that changed a position. Apply each `exec_id` once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Bybit `execId`, unique per fill.
    pub exec_id: String,
    /// Engine client order id, or a venue-made one (`bybit-<orderId>`) for
    /// unsolicited fills without an `orderLinkId`.
    pub client_order_id: String,
    /// Bybit `orderId` (may be empty for settlements).
    pub venue_order_id: String,
    /// Internal symbol; Bybit's own (e.g. `BTCPERP`) when it has no mapping,
    /// which only happens for fills of orders placed outside the adapter.
    pub symbol: String,
    /// Side of this account in the execution.
    pub side: Side,
    /// Executed quantity, positive.
    pub qty: Decimal,
    /// Execution price.
    pub price: Decimal,
    /// Fee charged (negative = rebate).
    pub fee: Decimal,
    /// Fee currency when Bybit reports it.
    pub fee_asset: Option<String>,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Execution type.
    pub kind: ExecKind,
    /// Quantity of the order still open after this fill, when reported.
    pub leaves_qty: Option<Decimal>,
    /// `Some` when the engine did not ask for this fill.
    pub unsolicited: Option<UnsolicitedReason>,
    /// Execution time on the venue clock, ns since the epoch.
    pub ts_event: u64,
}

impl Fill {
    /// Indicates a fill the engine did not ask for.
    pub fn is_unsolicited(&self) -> bool {
        self.unsolicited.is_some()
    }
}

/// A funding payment (`execType` `Funding`). It changes the balance, not the position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingEvent {
    /// Bybit `execId`.
    pub exec_id: String,
    /// Internal symbol.
    pub symbol: String,
    /// Funding fee (positive = paid by this account).
    pub fee: Decimal,
    /// Fee currency when reported.
    pub fee_asset: Option<String>,
    /// Position size the funding applied to.
    pub position_qty: Decimal,
    /// Time on the venue clock, ns since the epoch.
    pub ts_event: u64,
}

/// The result of one [`super::BybitVenue::poll_fills`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FillBatch {
    /// New fills, oldest first, each `exec_id` at most once per adapter lifetime
    /// (within the dedupe memory).
    pub fills: Vec<Fill>,
    /// New funding payments, oldest first.
    pub funding: Vec<FundingEvent>,
    /// False when pagination stopped early (page cap or a cursor that did not
    /// advance): older executions may follow in a later poll.
    pub complete: bool,
}

/// Trading rules of one contract, from `/v5/market/instruments-info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    /// Internal symbol, e.g. `"BTC/USDT"`.
    pub symbol: String,
    /// Bybit status; only `Trading` contracts can be traded.
    pub status: String,
    /// Price grid.
    pub tick_size: Decimal,
    /// Quantity grid.
    pub qty_step: Decimal,
    /// Smallest order quantity.
    pub min_qty: Decimal,
}

/// Best bid and ask of one contract, from `/v5/market/tickers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Internal symbol.
    pub symbol: String,
    /// Best bid (`None` when the side is empty).
    pub bid: Option<Decimal>,
    /// Best ask (`None` when the side is empty).
    pub ask: Option<Decimal>,
}

/// One closed 1-minute kline, from `/v5/market/kline`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kline {
    /// Open time, ms since the epoch.
    pub start_ms: i64,
    /// Open price.
    pub open: Decimal,
    /// High price.
    pub high: Decimal,
    /// Low price.
    pub low: Decimal,
    /// Close price.
    pub close: Decimal,
    /// Volume in base units.
    pub volume: Decimal,
}
