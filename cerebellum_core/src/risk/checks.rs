//! Pure pre-trade checks, applied in the order of `docs/protocol.md`:
//! trading state, reduce-only, `max_order_qty`, `max_order_notional`,
//! `max_position_notional`, `max_total_exposure`, price collar, orders per
//! second (strategy, total), duplicate guard.
//!
//! The stateless checks take everything they need in [`RiskInputs`]; the two
//! stateful ones ([`RateLimiter`], [`DuplicateGuard`]) own their windows.

use std::collections::{HashMap, VecDeque};

use crate::{
    clock::NS_PER_MS,
    config::RiskConfig,
    error::Rejection,
    protocol::commands::TradingState,
    types::{OrderType, RejectCode, Side},
};

/// The order being checked, in decimal units.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderIntent<'a> {
    /// Owner.
    pub strategy_id: &'a str,
    /// Symbol.
    pub symbol: &'a str,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Limit price.
    pub price: Option<f64>,
    /// Quantity in base units.
    pub qty: f64,
    /// Reduce-only flag.
    pub reduce_only: bool,
}

/// The reference price for a symbol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reference {
    /// Mid price.
    pub mid: f64,
    /// Age of the mid in ms.
    pub age_ms: i64,
}

/// The account state the checks need.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskInputs {
    /// Effective trading state of the order's (strategy, symbol).
    pub state: TradingState,
    /// Mid of the order's symbol, if any.
    pub reference: Option<Reference>,
    /// The strategy's position in the symbol (base units, signed).
    pub strategy_position: f64,
    /// Net position of the symbol over all strategies (base units, signed).
    pub symbol_position: f64,
    /// Open (unfilled) quantity of the symbol on the order's side, all strategies.
    pub open_same_side: f64,
    /// Sum of |position| * mid over the other symbols.
    pub other_exposure: f64,
}

fn reject(code: RejectCode, reason: String) -> Result<(), Rejection> {
    Err(Rejection::new(code, reason))
}

/// Checks the trading state of the scope.
///
/// # Errors
/// `HALTED` or `REDUCE_ONLY` when only reduce-only orders are accepted.
pub fn check_trading_state(intent: &OrderIntent<'_>, state: TradingState) -> Result<(), Rejection> {
    match state {
        TradingState::Active => Ok(()),
        _ if intent.reduce_only => Ok(()),
        TradingState::Halted => reject(
            RejectCode::Halted,
            format!(
                "trading is halted for {} / {}; only reduce-only orders are accepted",
                intent.strategy_id, intent.symbol
            ),
        ),
        TradingState::Reducing => reject(
            RejectCode::ReduceOnly,
            format!(
                "{} / {} is reducing; only reduce-only orders are accepted",
                intent.strategy_id, intent.symbol
            ),
        ),
    }
}

/// Checks that a reduce-only order only reduces the strategy's position.
///
/// # Errors
/// `REDUCE_ONLY` when it would open or increase a position, or flip it.
pub fn check_reduce_only(
    intent: &OrderIntent<'_>,
    strategy_position: f64,
) -> Result<(), Rejection> {
    if !intent.reduce_only {
        return Ok(());
    }
    let reduces = match intent.side {
        Side::Buy => strategy_position < 0.0,
        Side::Sell => strategy_position > 0.0,
    };
    let eps = 1e-12 * intent.qty.max(1.0);
    if !reduces || intent.qty > strategy_position.abs() + eps {
        return reject(
            RejectCode::ReduceOnly,
            format!(
                "reduce-only {} of {} would not reduce the position of {} ({strategy_position})",
                intent.side.as_str(),
                intent.qty,
                intent.strategy_id
            ),
        );
    }
    Ok(())
}

/// Checks `max_order_qty` for the symbol.
///
/// # Errors
/// `MAX_QTY`.
pub fn check_order_qty(intent: &OrderIntent<'_>, limits: &RiskConfig) -> Result<(), Rejection> {
    match limits.max_order_qty.get(intent.symbol) {
        Some(max) if intent.qty > *max => reject(
            RejectCode::MaxQty,
            format!(
                "qty {} exceeds max_order_qty {max} for {}",
                intent.qty, intent.symbol
            ),
        ),
        _ => Ok(()),
    }
}

/// Returns the price used for notional checks: the limit price, or a fresh mid.
///
/// # Errors
/// `STALE_REFERENCE` for a market order without a fresh mid.
pub fn reference_price(
    intent: &OrderIntent<'_>,
    reference: Option<Reference>,
    limits: &RiskConfig,
) -> Result<f64, Rejection> {
    if let Some(price) = intent.price {
        return Ok(price);
    }
    fresh_mid(intent.symbol, reference, limits)
}

fn fresh_mid(
    symbol: &str,
    reference: Option<Reference>,
    limits: &RiskConfig,
) -> Result<f64, Rejection> {
    let max_age = i64::try_from(limits.max_mid_age_ms).unwrap_or(i64::MAX);
    match reference {
        None => Err(Rejection::new(
            RejectCode::StaleReference,
            format!("no mid price for {symbol}"),
        )),
        Some(r) if r.age_ms > max_age => Err(Rejection::new(
            RejectCode::StaleReference,
            format!("mid of {symbol} is {} ms old (max {max_age} ms)", r.age_ms),
        )),
        Some(r) => Ok(r.mid),
    }
}

/// Checks `max_order_notional`.
///
/// # Errors
/// `MAX_NOTIONAL`.
pub fn check_order_notional(
    intent: &OrderIntent<'_>,
    price: f64,
    limits: &RiskConfig,
) -> Result<(), Rejection> {
    let notional = intent.qty * price;
    if notional > limits.max_order_notional {
        return reject(
            RejectCode::MaxNotional,
            format!(
                "order notional {notional:.2} exceeds max_order_notional {}",
                limits.max_order_notional
            ),
        );
    }
    Ok(())
}

/// Returns the symbol's net position if every open order on this side and this
/// order were filled.
pub fn projected_position(intent: &OrderIntent<'_>, inputs: &RiskInputs) -> f64 {
    match intent.side {
        Side::Buy => inputs.symbol_position + inputs.open_same_side + intent.qty,
        Side::Sell => inputs.symbol_position - inputs.open_same_side - intent.qty,
    }
}

/// Checks `max_position_notional` (skipped for reduce-only orders; an order
/// that does not increase the absolute position always passes).
///
/// # Errors
/// `MAX_POSITION`.
pub fn check_position(
    intent: &OrderIntent<'_>,
    inputs: &RiskInputs,
    price: f64,
    limits: &RiskConfig,
) -> Result<(), Rejection> {
    if intent.reduce_only {
        return Ok(());
    }
    let projected = projected_position(intent, inputs);
    let notional = projected.abs() * price;
    if notional > limits.max_position_notional && projected.abs() > inputs.symbol_position.abs() {
        return reject(
            RejectCode::MaxPosition,
            format!(
                "position in {} would reach {notional:.2} (incl. open orders), above max_position_notional {}",
                intent.symbol, limits.max_position_notional
            ),
        );
    }
    Ok(())
}

/// Checks `max_total_exposure` (skipped for reduce-only orders).
///
/// # Errors
/// `MAX_EXPOSURE`.
pub fn check_exposure(
    intent: &OrderIntent<'_>,
    inputs: &RiskInputs,
    price: f64,
    limits: &RiskConfig,
) -> Result<(), Rejection> {
    if intent.reduce_only {
        return Ok(());
    }
    let projected = projected_position(intent, inputs);
    let total = inputs.other_exposure + projected.abs() * price;
    if total > limits.max_total_exposure && projected.abs() > inputs.symbol_position.abs() {
        return reject(
            RejectCode::MaxExposure,
            format!(
                "total exposure would reach {total:.2}, above max_total_exposure {}",
                limits.max_total_exposure
            ),
        );
    }
    Ok(())
}

/// Checks that a limit price lies within `collar_bps` of a fresh mid.
///
/// # Errors
/// `STALE_REFERENCE` without a fresh mid, `PRICE_COLLAR` outside the collar.
pub fn check_collar(
    intent: &OrderIntent<'_>,
    reference: Option<Reference>,
    limits: &RiskConfig,
) -> Result<(), Rejection> {
    let Some(price) = intent.price else {
        return Ok(());
    };
    let mid = fresh_mid(intent.symbol, reference, limits)?;
    let distance_bps = (price - mid).abs() / mid * 1e4;
    if distance_bps > limits.collar_bps {
        return reject(
            RejectCode::PriceCollar,
            format!(
                "price {price} is {distance_bps:.1} bps from mid {mid}, beyond the {} bps collar",
                limits.collar_bps
            ),
        );
    }
    Ok(())
}

/// Runs every stateless check in protocol order.
///
/// # Errors
/// The first failing check's [`Rejection`].
pub fn pre_trade(
    intent: &OrderIntent<'_>,
    inputs: &RiskInputs,
    limits: &RiskConfig,
) -> Result<(), Rejection> {
    check_trading_state(intent, inputs.state)?;
    check_reduce_only(intent, inputs.strategy_position)?;
    check_order_qty(intent, limits)?;
    let price = reference_price(intent, inputs.reference, limits)?;
    check_order_notional(intent, price, limits)?;
    check_position(intent, inputs, price, limits)?;
    check_exposure(intent, inputs, price, limits)?;
    check_collar(intent, inputs.reference, limits)?;
    Ok(())
}

/// Sliding one-second windows of accepted orders, per strategy and in total.
#[derive(Debug, Default)]
pub struct RateLimiter {
    per_strategy: HashMap<String, VecDeque<i64>>,
    total: VecDeque<i64>,
}

const WINDOW_NS: i64 = 1_000_000_000;

impl RateLimiter {
    /// Creates empty windows.
    pub fn new() -> Self {
        Self::default()
    }

    fn trim(window: &mut VecDeque<i64>, now: i64) {
        while window.front().is_some_and(|&t| t <= now - WINDOW_NS) {
            window.pop_front();
        }
    }

    /// Checks whether one more order fits.
    ///
    /// # Errors
    /// `RATE_LIMIT`.
    pub fn check(
        &mut self,
        strategy: &str,
        now_ns: i64,
        limits: &RiskConfig,
    ) -> Result<(), Rejection> {
        Self::trim(&mut self.total, now_ns);
        if let Some(w) = self.per_strategy.get_mut(strategy) {
            Self::trim(w, now_ns);
            if w.len() >= limits.max_orders_per_sec_strategy as usize {
                return reject(
                    RejectCode::RateLimit,
                    format!(
                        "{strategy} exceeds {} orders per second",
                        limits.max_orders_per_sec_strategy
                    ),
                );
            }
        } else if limits.max_orders_per_sec_strategy == 0 {
            return reject(
                RejectCode::RateLimit,
                "max_orders_per_sec_strategy is 0".into(),
            );
        }
        if self.total.len() >= limits.max_orders_per_sec_total as usize {
            return reject(
                RejectCode::RateLimit,
                format!(
                    "total exceeds {} orders per second",
                    limits.max_orders_per_sec_total
                ),
            );
        }
        Ok(())
    }

    /// Records an order.
    pub fn record(&mut self, strategy: &str, now_ns: i64) {
        self.total.push_back(now_ns);
        match self.per_strategy.get_mut(strategy) {
            Some(w) => w.push_back(now_ns),
            None => {
                self.per_strategy
                    .insert(strategy.to_owned(), VecDeque::from([now_ns]));
            }
        }
        if self.per_strategy.len() > 4096 {
            self.per_strategy
                .retain(|_, w| w.back().is_some_and(|&t| t > now_ns - WINDOW_NS));
        }
    }
}

/// The key of the duplicate guard: same strategy, symbol, side, type, price and qty.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DuplicateKey {
    /// Owner.
    pub strategy_id: String,
    /// Symbol.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Price in ticks (`None` for market).
    pub price_ticks: Option<i64>,
    /// Quantity in lots.
    pub qty_lots: i64,
}

/// Refuses the same order under a different client order id within a window.
#[derive(Debug, Default)]
pub struct DuplicateGuard {
    seen: HashMap<DuplicateKey, (i64, String)>,
    last_prune_ns: i64,
}

impl DuplicateGuard {
    /// Creates an empty guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a candidate.
    ///
    /// # Errors
    /// `DUPLICATE_ORDER`.
    pub fn check(
        &mut self,
        key: &DuplicateKey,
        client_order_id: &str,
        now_ns: i64,
        limits: &RiskConfig,
    ) -> Result<(), Rejection> {
        let window =
            i64::try_from(limits.duplicate_window_ms).unwrap_or(i64::MAX / NS_PER_MS) * NS_PER_MS;
        if window == 0 {
            return Ok(());
        }
        if now_ns - self.last_prune_ns > window.max(NS_PER_MS * 1000) {
            self.seen.retain(|_, (t, _)| *t > now_ns - window);
            self.last_prune_ns = now_ns;
        }
        match self.seen.get(key) {
            Some((t, other)) if *t > now_ns - window && other != client_order_id => reject(
                RejectCode::DuplicateOrder,
                format!(
                    "same order as {other} {} ms ago (duplicate_window_ms {})",
                    (now_ns - t) / NS_PER_MS,
                    limits.duplicate_window_ms
                ),
            ),
            _ => Ok(()),
        }
    }

    /// Records an accepted order.
    pub fn record(&mut self, key: DuplicateKey, client_order_id: &str, now_ns: i64) {
        self.seen.insert(key, (now_ns, client_order_id.to_owned()));
    }
}
