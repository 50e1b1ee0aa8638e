//! Conversions between the core's integer ticks and lots and Bybit's exact
//! decimals, and from the core's `bybit` config section to the REST client's.

use std::time::Duration;

use super::Grid;
use crate::{
    config::BybitConfig,
    types::{Instrument, OrderType, RejectCode, Side, TimeInForce},
    venue::{
        bybit::{
            config::{BybitConfig as AdapterConfig, Category},
            error::VenueError as BybitError,
            http::RetryPolicy,
            types::{
                Decimal, Kline, OrderRequest as BybitOrder, OrderType as BybitOrderType,
                Side as BybitSide, TimeInForce as BybitTif,
            },
        },
        Bar, OrderRequest, VenueError,
    },
};

/// Builds the REST client's configuration from the core's `bybit` section.
pub fn adapter_config(config: &BybitConfig) -> AdapterConfig {
    let request = Duration::from_millis(config.request_timeout_ms);
    AdapterConfig {
        testnet: config.testnet,
        recv_window_ms: config.recv_window_ms,
        base_url: config.base_url.clone(),
        category: Category::Linear,
        settle_coin: config.settle_coin.clone(),
        retry: RetryPolicy {
            deadline: Duration::from_millis(config.call_deadline_ms),
            request_timeout: request,
            connect_timeout: request.min(Duration::from_secs(5)),
            ..RetryPolicy::default()
        },
        ..AdapterConfig::default()
    }
}

/// The text of a refusal: `Bybit retCode <code>: <retMsg>` for API errors.
pub fn describe(e: &BybitError) -> String {
    match e {
        BybitError::Api { code, msg, .. } => format!("Bybit retCode {code}: {msg}"),
        BybitError::OutcomeUnknown { source, .. } => describe(source),
        other => other.to_string(),
    }
}

/// `value / step` as an integer: exact when on the grid, else the nearest
/// (with `false`), e.g. a liquidation at a bankruptcy price off the tick grid.
pub fn to_units(value: &Decimal, step: &Decimal) -> (i64, bool) {
    match value.to_ticks(step) {
        Some(n) => (n, true),
        None => ((value.to_f64() / step.to_f64()).round() as i64, false),
    }
}

/// Klines as bars in ticks and lots (Bybit gives no trade count).
pub fn bars_of(grid: &Grid, klines: &[Kline]) -> Vec<Bar> {
    klines
        .iter()
        .map(|k| Bar {
            ts_ms: k.start_ms,
            open: to_units(&k.open, &grid.tick).0,
            high: to_units(&k.high, &grid.tick).0,
            low: to_units(&k.low, &grid.tick).0,
            close: to_units(&k.close, &grid.tick).0,
            volume_lots: to_units(&k.volume, &grid.lot).0,
            trades: None,
        })
        .collect()
}

/// The core's order in Bybit's decimal units; `post_only` becomes `PostOnly`.
///
/// # Errors
/// `INVALID_VALUE` when a price or quantity cannot be represented.
pub fn bybit_order(
    order: &OrderRequest,
    instrument: &Instrument,
    grid: &Grid,
) -> Result<BybitOrder, VenueError> {
    let invalid = |e: BybitError| VenueError::rejected(RejectCode::InvalidValue, e.to_string());
    let qty = Decimal::from_ticks(order.qty_lots, &grid.lot).map_err(invalid)?;
    let price = order
        .price_ticks
        .map(|t| Decimal::from_ticks(t, &grid.tick))
        .transpose()
        .map_err(invalid)?;
    Ok(BybitOrder {
        client_order_id: order.client_order_id.clone(),
        symbol: instrument.symbol.clone(),
        side: match order.side {
            Side::Buy => BybitSide::Buy,
            Side::Sell => BybitSide::Sell,
        },
        order_type: match order.order_type {
            OrderType::Market => BybitOrderType::Market,
            OrderType::Limit => BybitOrderType::Limit,
        },
        qty,
        price: match order.order_type {
            OrderType::Market => None,
            OrderType::Limit => price,
        },
        time_in_force: if order.post_only {
            BybitTif::PostOnly
        } else if order.time_in_force == TimeInForce::Ioc {
            BybitTif::Ioc
        } else {
            BybitTif::Gtc
        },
        reduce_only: order.reduce_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::new_checked(s).unwrap()
    }

    #[test]
    fn orders_convert_exactly_and_post_only_maps_to_bybit_post_only() {
        let instrument = Instrument::new_checked("BTC/USDT", 0.1, 0.001, 0.001).unwrap();
        let grid = Grid {
            tick: dec("0.1"),
            lot: dec("0.001"),
        };
        let order = OrderRequest {
            key: 1,
            client_order_id: "a-1".into(),
            strategy_id: "s".into(),
            symbol: 0,
            side: Side::Sell,
            order_type: OrderType::Limit,
            price_ticks: Some(632_505),
            qty_lots: 15,
            time_in_force: TimeInForce::Gtc,
            post_only: true,
            reduce_only: false,
        };
        let b = bybit_order(&order, &instrument, &grid).unwrap();
        assert_eq!(b.price, Some(dec("63250.5")));
        assert_eq!(b.qty, dec("0.015"));
        assert_eq!(b.time_in_force, BybitTif::PostOnly);
        assert_eq!(b.side, BybitSide::Sell);
    }

    #[test]
    fn off_grid_values_round_to_the_nearest_unit_and_say_so() {
        assert_eq!(to_units(&dec("63250.5"), &dec("0.1")), (632_505, true));
        assert_eq!(to_units(&dec("63250.54"), &dec("0.1")), (632_505, false));
    }
}
