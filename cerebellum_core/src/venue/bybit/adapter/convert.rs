//! Conversions between the core's integer ticks and lots and Bybit's exact
//! decimals, and from the core's `bybit` config section to the REST client's.

use std::{collections::HashMap, time::Duration};

use super::Grid;
use crate::{
    config::BybitConfig,
    types::{Instrument, OrderType, RejectCode, Side, SymbolId, TimeInForce},
    venue::{
        bybit::{
            config::{BybitConfig as AdapterConfig, Category},
            error::VenueError as BybitError,
            http::RetryPolicy,
            types::{
                Decimal, Kline, OrderRequest as BybitOrder, OrderType as BybitOrderType, Position,
                Side as BybitSide, TimeInForce as BybitTif,
            },
        },
        Bar, OrderRequest, VenueError, VenuePosition,
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

/// Bybit's positions in the configured symbols as the core's, in lots; also the
/// symbols of positions outside the configuration (the core cannot trade them).
///
/// # Errors
/// `Config` for a hedge-mode position (only one-way mode is supported) or a size
/// off the symbol's lot grid: the core must not start with a position it
/// cannot represent exactly (fail closed).
pub fn opening_positions(
    rows: &[Position],
    symbol_ids: &HashMap<String, SymbolId>,
    grids: &[Grid],
) -> Result<(Vec<VenuePosition>, Vec<String>), BybitError> {
    let mut adopted = Vec::new();
    let mut outside = Vec::new();
    for row in rows {
        if row.position_idx != 0 {
            return Err(BybitError::Config(format!(
                "{} has a hedge-mode position (positionIdx {}); only one-way mode is supported",
                row.symbol, row.position_idx
            )));
        }
        let Some((&symbol, grid)) = symbol_ids
            .get(&row.symbol)
            .and_then(|id| Some((id, grids.get(usize::from(*id))?)))
        else {
            outside.push(row.symbol.clone());
            continue;
        };
        let (qty_lots, exact) = to_units(&row.qty, &grid.lot);
        if !exact {
            return Err(BybitError::Config(format!(
                "{}: position size {} is not a multiple of the lot {}",
                row.symbol, row.qty, grid.lot
            )));
        }
        adopted.push(VenuePosition {
            symbol,
            qty_lots,
            avg_price: row.avg_price.to_f64(),
        });
    }
    Ok((adopted, outside))
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

    fn row(symbol: &str, qty: &str, position_idx: i64) -> Position {
        Position {
            symbol: symbol.into(),
            qty: dec(qty),
            avg_price: dec("60000.5"),
            mark_price: None,
            unrealised_pnl: None,
            liq_price: None,
            position_idx,
            ts_event: 0,
        }
    }

    fn btc_only() -> (HashMap<String, SymbolId>, Vec<Grid>) {
        let ids = HashMap::from([("BTC/USDT".to_owned(), 0)]);
        let grids = vec![Grid {
            tick: dec("0.1"),
            lot: dec("0.001"),
        }];
        (ids, grids)
    }

    #[test]
    fn opening_positions_are_adopted_in_lots_and_others_are_named() {
        let (ids, grids) = btc_only();
        let rows = [row("BTC/USDT", "-0.25", 0), row("SOL/USDT", "3", 0)];
        let (adopted, outside) = opening_positions(&rows, &ids, &grids).unwrap();
        assert_eq!(
            adopted,
            [VenuePosition {
                symbol: 0,
                qty_lots: -250,
                avg_price: 60_000.5
            }]
        );
        assert_eq!(outside, ["SOL/USDT"]);
    }

    #[test]
    fn hedge_mode_and_off_grid_positions_refuse_the_start() {
        let (ids, grids) = btc_only();
        let hedge = opening_positions(&[row("BTC/USDT", "0.25", 1)], &ids, &grids).unwrap_err();
        assert!(hedge.to_string().contains("hedge-mode"), "{hedge}");
        let off = opening_positions(&[row("BTC/USDT", "0.0005", 0)], &ids, &grids).unwrap_err();
        assert!(
            off.to_string().contains("not a multiple of the lot"),
            "{off}"
        );
    }

    #[test]
    fn off_grid_values_round_to_the_nearest_unit_and_say_so() {
        assert_eq!(to_units(&dec("63250.5"), &dec("0.1")), (632_505, true));
        assert_eq!(to_units(&dec("63250.54"), &dec("0.1")), (632_505, false));
    }
}
