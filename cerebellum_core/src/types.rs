//! Domain types shared by the protocol, the order registry, risk and the venues.
//!
//! Prices and quantities are integers inside the core: `ticks` (multiples of the
//! instrument's tick size) and `lots` (multiples of its lot size). Floats appear
//! only at the wire boundary, where [`Instrument`] converts and checks the grid.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Index of an instrument in the venue's instrument list.
pub type SymbolId = u16;

/// Core-internal key of an order (dense, assigned by the registry).
pub type OrderKey = u64;

/// Order side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Side {
    /// Buy (bid).
    Buy,
    /// Sell (ask).
    Sell,
}

impl Side {
    /// Returns the wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }

    /// Returns the other side.
    pub const fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }

    /// Returns +1 for buys and -1 for sells.
    pub const fn sign(self) -> i64 {
        match self {
            Self::Buy => 1,
            Self::Sell => -1,
        }
    }

    /// Parses the wire string.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "BUY" => Some(Self::Buy),
            "SELL" => Some(Self::Sell),
            _ => None,
        }
    }
}

/// Order type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    /// Takes liquidity at any price, walking the book.
    Market,
    /// Trades at the limit price or better.
    Limit,
}

impl OrderType {
    /// Returns the wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Market => "MARKET",
            Self::Limit => "LIMIT",
        }
    }

    /// Parses the wire string.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "MARKET" => Some(Self::Market),
            "LIMIT" => Some(Self::Limit),
            _ => None,
        }
    }
}

/// Time in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeInForce {
    /// Good till cancelled: the remainder rests.
    Gtc,
    /// Immediate or cancel: the remainder is cancelled (`ioc_remainder`).
    Ioc,
}

impl TimeInForce {
    /// Returns the wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gtc => "GTC",
            Self::Ioc => "IOC",
        }
    }

    /// Parses the wire string.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "GTC" => Some(Self::Gtc),
            "IOC" => Some(Self::Ioc),
            _ => None,
        }
    }
}

/// Whether a fill added (maker) or took (taker) liquidity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Liquidity {
    /// The order was resting in the book.
    Maker,
    /// The order took liquidity.
    Taker,
}

impl Liquidity {
    /// Returns the wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Maker => "MAKER",
            Self::Taker => "TAKER",
        }
    }
}

/// Why an order was cancelled (the `reason` of a `CANCELED` `OrderUpdate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// The engine asked (`Cancel`, `CancelAll`, `Flatten`).
    User,
    /// The unfilled rest of an IOC order.
    IocRemainder,
    /// The kill switch halted the order's scope.
    KillSwitch,
    /// The dead-man's switch fired.
    Deadman,
    /// A market order found no (more) liquidity.
    NoLiquidity,
    /// A post-only order would have taken liquidity when it reached the book
    /// (only with a non-zero latency; otherwise it is rejected synchronously).
    PostOnlyWouldTake,
    /// The venue cancelled the order for a reason of its own.
    Venue(String),
}

impl CancelReason {
    /// Returns the wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::User => "user",
            Self::IocRemainder => "ioc_remainder",
            Self::KillSwitch => "kill_switch",
            Self::Deadman => "deadman",
            Self::NoLiquidity => "no_liquidity",
            Self::PostOnlyWouldTake => "post_only_would_take",
            Self::Venue(text) => text,
        }
    }
}

/// Reject codes of `docs/protocol.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectCode {
    /// Not JSON, not an object, or not one frame.
    Malformed,
    /// Larger than `max_frame_bytes`.
    Oversized,
    /// `v` is not 1.
    UnsupportedVersion,
    /// `type` is not a command.
    UnknownType,
    /// A required field is absent or null.
    MissingField,
    /// A field has the wrong type or an illegal value.
    InvalidValue,
    /// Price not a multiple of the tick size.
    OffTick,
    /// Quantity not a multiple of the lot size.
    OffLot,
    /// Symbol not traded by this venue.
    UnknownSymbol,
    /// Client order id never seen.
    UnknownOrder,
    /// The order is already closed.
    OrderClosed,
    /// `max_order_qty` exceeded.
    MaxQty,
    /// `max_order_notional` exceeded.
    MaxNotional,
    /// `max_position_notional` exceeded.
    MaxPosition,
    /// `max_total_exposure` exceeded.
    MaxExposure,
    /// Limit price outside the collar around mid.
    PriceCollar,
    /// No mid, or a mid older than `max_mid_age_ms`.
    StaleReference,
    /// Orders per second exceeded.
    RateLimit,
    /// Same order under another client order id within the duplicate window.
    DuplicateOrder,
    /// The scope is halted by the kill switch.
    Halted,
    /// Only reduce-only orders are accepted, or a reduce-only order would increase the position.
    ReduceOnly,
    /// A post-only order would take liquidity.
    PostOnlyWouldTake,
    /// A market order found an empty book.
    NoLiquidity,
    /// The journal no longer holds `from_seq`.
    ReplayUnavailable,
    /// The venue refused or failed.
    VenueError,
}

impl RejectCode {
    /// Returns the wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED",
            Self::Oversized => "OVERSIZED",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::UnknownType => "UNKNOWN_TYPE",
            Self::MissingField => "MISSING_FIELD",
            Self::InvalidValue => "INVALID_VALUE",
            Self::OffTick => "OFF_TICK",
            Self::OffLot => "OFF_LOT",
            Self::UnknownSymbol => "UNKNOWN_SYMBOL",
            Self::UnknownOrder => "UNKNOWN_ORDER",
            Self::OrderClosed => "ORDER_CLOSED",
            Self::MaxQty => "MAX_QTY",
            Self::MaxNotional => "MAX_NOTIONAL",
            Self::MaxPosition => "MAX_POSITION",
            Self::MaxExposure => "MAX_EXPOSURE",
            Self::PriceCollar => "PRICE_COLLAR",
            Self::StaleReference => "STALE_REFERENCE",
            Self::RateLimit => "RATE_LIMIT",
            Self::DuplicateOrder => "DUPLICATE_ORDER",
            Self::Halted => "HALTED",
            Self::ReduceOnly => "REDUCE_ONLY",
            Self::PostOnlyWouldTake => "POST_ONLY_WOULD_TAKE",
            Self::NoLiquidity => "NO_LIQUIDITY",
            Self::ReplayUnavailable => "REPLAY_UNAVAILABLE",
            Self::VenueError => "VENUE_ERROR",
        }
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a decimal number is not on an instrument's grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridError {
    /// NaN or infinite.
    NotFinite,
    /// Zero or negative.
    NotPositive,
    /// Not a multiple of the step.
    OffGrid,
    /// Too large to represent as integer units.
    TooLarge,
}

/// A decimal step such as a tick size `0.05`, kept as `units * 10^-decimals`
/// so that integer multiples convert back to the shortest decimal text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    value: f64,
    units: i64,
    decimals: u32,
    scale: f64,
}

impl Step {
    /// Builds a step from a positive decimal with at most 12 decimals.
    ///
    /// # Errors
    /// A message when the value is not finite, not positive or has too many decimals.
    pub fn new_checked(value: f64) -> Result<Self, String> {
        if !value.is_finite() || value <= 0.0 {
            return Err(format!("{value} is not a positive finite number"));
        }
        for decimals in 0..=12u32 {
            let scale = 10f64.powi(decimals as i32);
            let scaled = value * scale;
            let units = scaled.round();
            if units >= 1.0 && (scaled - units).abs() <= 1e-9 * scaled.max(1.0) {
                if units > 1e15 {
                    break;
                }
                return Ok(Self {
                    value,
                    units: units as i64,
                    decimals,
                    scale,
                });
            }
        }
        Err(format!("{value} has more than 12 decimals or is too large"))
    }

    /// Returns the step as a float.
    pub const fn value(&self) -> f64 {
        self.value
    }

    /// Returns the number of decimals of the step.
    pub const fn decimals(&self) -> u32 {
        self.decimals
    }

    /// Returns the step in units of `10^-decimals`.
    pub const fn units(&self) -> i64 {
        self.units
    }

    /// Converts a decimal number to integer steps.
    ///
    /// # Errors
    /// [`GridError`] when the value is not finite, not positive, off the grid or too large.
    pub fn to_steps(&self, value: f64) -> Result<i64, GridError> {
        if !value.is_finite() {
            return Err(GridError::NotFinite);
        }
        if value <= 0.0 {
            return Err(GridError::NotPositive);
        }
        let ratio = value / self.value;
        if ratio > 1e15 {
            return Err(GridError::TooLarge);
        }
        let steps = ratio.round();
        if (ratio - steps).abs() > 1e-6 || steps < 1.0 {
            return Err(GridError::OffGrid);
        }
        Ok(steps as i64)
    }

    /// Converts integer steps back to the (shortest) decimal float.
    pub fn to_f64(&self, steps: i64) -> f64 {
        let units = i128::from(steps) * i128::from(self.units);
        units as f64 / self.scale
    }

    /// Converts a float to the nearest number of steps (no grid check; for models).
    pub fn nearest(&self, value: f64) -> i64 {
        (value / self.value).round() as i64
    }
}

/// A tradable instrument with its price and quantity grids.
#[derive(Clone, Debug)]
pub struct Instrument {
    /// `BASE/QUOTE`, e.g. `BTC/USDT`.
    pub symbol: String,
    /// Base asset, e.g. `BTC`.
    pub base: String,
    /// Quote asset, e.g. `USDT`.
    pub quote: String,
    /// Price grid.
    pub tick: Step,
    /// Quantity grid.
    pub lot: Step,
    /// Minimum order quantity in lots.
    pub min_lots: i64,
}

impl Instrument {
    /// Builds an instrument and checks its grids.
    ///
    /// # Errors
    /// A message naming the bad value.
    pub fn new_checked(
        symbol: &str,
        tick_size: f64,
        lot_size: f64,
        min_qty: f64,
    ) -> Result<Self, String> {
        let (base, quote) = symbol
            .split_once('/')
            .filter(|(b, q)| !b.is_empty() && !q.is_empty() && !q.contains('/'))
            .ok_or_else(|| format!("symbol {symbol:?} is not BASE/QUOTE"))?;
        let tick = Step::new_checked(tick_size).map_err(|e| format!("tick_size: {e}"))?;
        let lot = Step::new_checked(lot_size).map_err(|e| format!("lot_size: {e}"))?;
        let min_lots = lot.to_steps(min_qty).map_err(|e| {
            format!("min_qty {min_qty} is not a positive multiple of lot_size {lot_size}: {e:?}")
        })?;
        Ok(Self {
            symbol: symbol.to_owned(),
            base: base.to_owned(),
            quote: quote.to_owned(),
            tick,
            lot,
            min_lots,
        })
    }

    /// Returns the tick size.
    pub const fn tick_size(&self) -> f64 {
        self.tick.value()
    }

    /// Returns the lot size.
    pub const fn lot_size(&self) -> f64 {
        self.lot.value()
    }

    /// Returns the minimum quantity.
    pub fn min_qty(&self) -> f64 {
        self.lot.to_f64(self.min_lots)
    }

    /// Converts ticks to a price.
    pub fn price(&self, ticks: i64) -> f64 {
        self.tick.to_f64(ticks)
    }

    /// Converts lots to a quantity.
    pub fn qty(&self, lots: i64) -> f64 {
        self.lot.to_f64(lots)
    }
}

/// Formats a nanosecond timestamp delta in milliseconds for messages.
pub fn ns_to_ms(ns: i64) -> i64 {
    ns / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_round_trips_decimal_ticks() {
        let step = Step::new_checked(0.05).unwrap();
        assert_eq!(step.to_steps(0.15), Ok(3));
        assert_eq!(step.to_f64(3), 0.15);
        assert_eq!(step.to_steps(0.151), Err(GridError::OffGrid));
        let half = Step::new_checked(0.5).unwrap();
        assert_eq!(half.to_steps(63250.5), Ok(126_501));
        assert_eq!(half.to_steps(63250.3), Err(GridError::OffGrid));
        assert_eq!(half.to_f64(126_501), 63250.5);
        let lot = Step::new_checked(0.0001).unwrap();
        assert_eq!(lot.to_steps(0.015), Ok(150));
        assert_eq!(lot.to_f64(150), 0.015);
        assert_eq!(lot.to_steps(-1.0), Err(GridError::NotPositive));
        assert_eq!(lot.to_steps(f64::NAN), Err(GridError::NotFinite));
    }

    #[test]
    fn instrument_splits_base_and_quote() {
        let inst = Instrument::new_checked("ETH/USDT", 0.05, 0.001, 0.001).unwrap();
        assert_eq!(inst.base, "ETH");
        assert_eq!(inst.quote, "USDT");
        assert_eq!(inst.min_lots, 1);
        assert!(Instrument::new_checked("ETHUSDT", 0.05, 0.001, 0.001).is_err());
    }
}
