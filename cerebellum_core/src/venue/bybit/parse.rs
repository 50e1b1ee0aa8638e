//! Bybit DTOs -> domain types, plus symbol and enum mapping.
//!
//! Every function here is pure. Anything malformed is an error naming the
//! endpoint and the field: the adapter fails loudly instead of guessing.

use super::{
    error::VenueError,
    models::{ExecutionDto, InstrumentInfoDto, OrderDto, PositionDto, TickerDto},
    types::{
        Decimal, ExecKind, Fill, FundingEvent, InstrumentSpec, Kline, Liquidity, OrderState,
        OrderStatus, OrderType, Position, Quote, Side, TimeInForce, UnsolicitedReason,
    },
};

/// Settle/quote coins the symbol mapping knows, longest first.
const QUOTES: [&str; 2] = ["USDT", "USDC"];

/// Maps an internal symbol (`"BTC/USDT"`) to Bybit's (`"BTCUSDT"`).
///
/// # Errors
/// `InvalidRequest` when it is not `BASE/QUOTE` with an uppercase alphanumeric
/// base and a known quote.
pub fn to_venue_symbol(symbol: &str) -> Result<String, VenueError> {
    let bad = || VenueError::InvalidRequest(format!("unsupported symbol {symbol:?}"));
    let (base, quote) = symbol.split_once('/').ok_or_else(bad)?;
    let upper_alnum = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if !upper_alnum(base) || !QUOTES.contains(&quote) {
        return Err(bad());
    }
    Ok(format!("{base}{quote}"))
}

/// Maps a Bybit symbol (`"BTCUSDT"`) to the internal one (`"BTC/USDT"`).
///
/// # Errors
/// `Parse` when the symbol does not end in a known quote coin.
pub fn from_venue_symbol(path: &str, venue_symbol: &str) -> Result<String, VenueError> {
    QUOTES
        .iter()
        .find_map(|quote| {
            let base = venue_symbol.strip_suffix(quote)?;
            let ok = !base.is_empty()
                && base
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            ok.then(|| format!("{base}/{quote}"))
        })
        .ok_or_else(|| VenueError::parse(path, format!("unmappable symbol {venue_symbol:?}")))
}

/// Bybit spelling of a side.
pub fn side_to_venue(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

/// Bybit spelling of an order type.
pub fn order_type_to_venue(order_type: OrderType) -> &'static str {
    match order_type {
        OrderType::Market => "Market",
        OrderType::Limit => "Limit",
    }
}

/// Bybit spelling of a time in force.
pub fn time_in_force_to_venue(tif: TimeInForce) -> &'static str {
    match tif {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::PostOnly => "PostOnly",
    }
}

/// Checks a client order id against Bybit's `orderLinkId` rule:
/// at most 36 characters of letters, digits, `-` and `_`.
///
/// # Errors
/// `InvalidRequest` naming the rule.
pub fn check_order_link_id(id: &str) -> Result<(), VenueError> {
    let ok = !id.is_empty()
        && id.len() <= 36
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(VenueError::InvalidRequest(format!(
            "client order id {id:?} is not a valid Bybit orderLinkId (1-36 chars of [A-Za-z0-9_-])"
        )))
    }
}

fn side_from_venue(path: &str, raw: &str) -> Result<Side, VenueError> {
    match raw {
        "Buy" => Ok(Side::Buy),
        "Sell" => Ok(Side::Sell),
        other => Err(VenueError::parse(path, format!("unknown side {other:?}"))),
    }
}

fn order_type_from_venue(path: &str, raw: &str) -> Result<OrderType, VenueError> {
    match raw {
        "Market" => Ok(OrderType::Market),
        "Limit" => Ok(OrderType::Limit),
        other => Err(VenueError::parse(
            path,
            format!("unknown orderType {other:?}"),
        )),
    }
}

/// Maps Bybit `orderStatus` to the protocol status.
///
/// `PartiallyFilledCanceled` is `CANCELED` with `cum_qty > 0`. The conditional
/// states (`Untriggered`, `Triggered`, `Deactivated`) do not occur for the plain
/// orders this adapter places; they map to the nearest plain state.
///
/// # Errors
/// `Parse` for an unknown status (never guessed).
pub fn order_status_from_venue(path: &str, raw: &str) -> Result<OrderStatus, VenueError> {
    match raw {
        "New" | "Untriggered" | "Triggered" => Ok(OrderStatus::New),
        "PartiallyFilled" => Ok(OrderStatus::PartiallyFilled),
        "Filled" => Ok(OrderStatus::Filled),
        "Cancelled" | "PartiallyFilledCanceled" | "Deactivated" => Ok(OrderStatus::Canceled),
        "Rejected" => Ok(OrderStatus::Rejected),
        other => Err(VenueError::parse(
            path,
            format!("unknown orderStatus {other:?}"),
        )),
    }
}

/// Maps Bybit `execType`.
pub fn exec_kind_from_venue(raw: &str) -> ExecKind {
    match raw {
        "Trade" => ExecKind::Trade,
        "AdlTrade" => ExecKind::AdlTrade,
        "BustTrade" => ExecKind::BustTrade,
        "Settle" => ExecKind::Settle,
        "Delivery" => ExecKind::Delivery,
        "Funding" => ExecKind::Funding,
        other => ExecKind::Other(other.to_owned()),
    }
}

fn decimal(path: &str, field: &str, raw: &str) -> Result<Decimal, VenueError> {
    Decimal::new_checked(raw)
        .map_err(|_| VenueError::parse(path, format!("field {field}: not a decimal: {raw:?}")))
}

/// Empty strings mean "not reported".
fn opt_decimal(path: &str, field: &str, raw: &str) -> Result<Option<Decimal>, VenueError> {
    if raw.is_empty() {
        Ok(None)
    } else {
        decimal(path, field, raw).map(Some)
    }
}

/// Empty or zero means "no price" for prices Bybit fills with `"0"`.
fn opt_price(path: &str, field: &str, raw: &str) -> Result<Option<Decimal>, VenueError> {
    Ok(opt_decimal(path, field, raw)?.filter(|d| !d.is_zero()))
}

fn ms_to_ns(path: &str, field: &str, raw: &str) -> Result<u64, VenueError> {
    let ms: u64 = raw.parse().map_err(|_| {
        VenueError::parse(path, format!("field {field}: not a ms timestamp: {raw:?}"))
    })?;
    ms.checked_mul(1_000_000)
        .ok_or_else(|| VenueError::parse(path, format!("field {field}: timestamp overflows ns")))
}

fn opt_ms_to_ns(path: &str, field: &str, raw: &str) -> Result<u64, VenueError> {
    if raw.is_empty() {
        Ok(0)
    } else {
        ms_to_ns(path, field, raw)
    }
}

/// Parses one `/v5/position/list` row. Returns `None` for an empty (flat) row.
///
/// # Errors
/// `Parse` for malformed numbers, an unmappable symbol, or a non-zero size
/// without a side (an unknown position is an error, never "flat").
pub fn position(path: &str, dto: &PositionDto) -> Result<Option<Position>, VenueError> {
    let size = decimal(path, "size", &dto.size)?;
    if size.is_zero() {
        return Ok(None);
    }
    if size.is_negative() {
        return Err(VenueError::parse(
            path,
            format!("negative size {size} for {}", dto.symbol),
        ));
    }
    let qty = match dto.side.as_str() {
        "Buy" => size,
        "Sell" => size.negated(),
        other => {
            return Err(VenueError::parse(
                path,
                format!("position {} has size {size} but side {other:?}", dto.symbol),
            ))
        }
    };
    Ok(Some(Position {
        symbol: from_venue_symbol(path, &dto.symbol)?,
        qty,
        avg_price: decimal(path, "avgPrice", &dto.avg_price)?,
        mark_price: opt_decimal(path, "markPrice", &dto.mark_price)?,
        unrealised_pnl: opt_decimal(path, "unrealisedPnl", &dto.unrealised_pnl)?,
        liq_price: opt_price(path, "liqPrice", &dto.liq_price)?,
        position_idx: dto.position_idx,
        ts_event: opt_ms_to_ns(path, "updatedTime", &dto.updated_time)?,
    }))
}

/// Parses one `/v5/order/realtime` or `/v5/order/history` row.
///
/// # Errors
/// `Parse` for any malformed field or unknown enum value.
pub fn order_state(path: &str, dto: &OrderDto) -> Result<OrderState, VenueError> {
    let order_type = order_type_from_venue(path, &dto.order_type)?;
    let price = match order_type {
        OrderType::Market => None,
        OrderType::Limit => opt_price(path, "price", &dto.price)?,
    };
    let reason = match dto.reject_reason.as_str() {
        "" | "EC_NoError" => None,
        other => Some(other.to_owned()),
    };
    Ok(OrderState {
        client_order_id: dto.order_link_id.clone(),
        venue_order_id: dto.order_id.clone(),
        symbol: from_venue_symbol(path, &dto.symbol)?,
        side: side_from_venue(path, &dto.side)?,
        order_type,
        price,
        qty: decimal(path, "qty", &dto.qty)?,
        cum_qty: opt_decimal(path, "cumExecQty", &dto.cum_exec_qty)?.unwrap_or_else(Decimal::zero),
        avg_price: opt_price(path, "avgPrice", &dto.avg_price)?,
        status: order_status_from_venue(path, &dto.order_status)?,
        venue_status: dto.order_status.clone(),
        reason,
        ts_event: opt_ms_to_ns(path, "updatedTime", &dto.updated_time)?,
    })
}

/// A parsed execution: a fill, or a funding payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Execution {
    /// Changes a position.
    Fill(Fill),
    /// Changes a balance only.
    Funding(FundingEvent),
}

impl Execution {
    /// The `execId`.
    pub fn exec_id(&self) -> &str {
        match self {
            Self::Fill(f) => &f.exec_id,
            Self::Funding(f) => &f.exec_id,
        }
    }

    /// Execution time, ns.
    pub fn ts_event(&self) -> u64 {
        match self {
            Self::Fill(f) => f.ts_event,
            Self::Funding(f) => f.ts_event,
        }
    }
}

/// Parses one `/v5/execution/list` row and classifies it.
///
/// `is_issued` says whether an `orderLinkId` was issued through this adapter.
/// A `Trade` of such an order is solicited; everything else that moves a
/// position (ADL, liquidation, settlement, unknown `execType`, foreign orders)
/// is a fill flagged unsolicited, never dropped.
///
/// # Errors
/// `Parse` for an empty `execId` or any malformed field.
pub fn execution(
    path: &str,
    dto: &ExecutionDto,
    is_issued: &dyn Fn(&str) -> bool,
) -> Result<Execution, VenueError> {
    if dto.exec_id.is_empty() {
        return Err(VenueError::parse(path, "execution without execId"));
    }
    if dto.symbol.is_empty() {
        return Err(VenueError::parse(
            path,
            format!("execution {} without symbol", dto.exec_id),
        ));
    }
    // A fill on a contract the mapping does not know (traded outside the
    // adapter) keeps Bybit's symbol: failing here would wedge fill polling.
    let symbol = from_venue_symbol(path, &dto.symbol).unwrap_or_else(|_| dto.symbol.clone());
    let ts_event = ms_to_ns(path, "execTime", &dto.exec_time)?;
    let fee = opt_decimal(path, "execFee", &dto.exec_fee)?.unwrap_or_else(Decimal::zero);
    let fee_asset = (!dto.fee_currency.is_empty()).then(|| dto.fee_currency.clone());
    let kind = exec_kind_from_venue(&dto.exec_type);
    if kind == ExecKind::Funding {
        return Ok(Execution::Funding(FundingEvent {
            exec_id: dto.exec_id.clone(),
            symbol,
            fee,
            fee_asset,
            position_qty: opt_decimal(path, "execQty", &dto.exec_qty)?
                .unwrap_or_else(Decimal::zero),
            ts_event,
        }));
    }
    let qty = decimal(path, "execQty", &dto.exec_qty)?;
    if !qty.is_positive() {
        return Err(VenueError::parse(
            path,
            format!("execution {} has qty {qty}", dto.exec_id),
        ));
    }
    let unsolicited = match &kind {
        ExecKind::Trade if !dto.order_link_id.is_empty() && is_issued(&dto.order_link_id) => None,
        ExecKind::Trade => Some(UnsolicitedReason::NotIssuedByAdapter),
        ExecKind::AdlTrade => Some(UnsolicitedReason::AutoDeleverage),
        ExecKind::BustTrade => Some(UnsolicitedReason::Liquidation),
        ExecKind::Settle | ExecKind::Delivery => Some(UnsolicitedReason::Settlement),
        ExecKind::Funding | ExecKind::Other(_) => Some(UnsolicitedReason::UnrecognisedExecType),
    };
    let client_order_id = if !dto.order_link_id.is_empty() {
        dto.order_link_id.clone()
    } else if !dto.order_id.is_empty() {
        format!("bybit-{}", dto.order_id)
    } else {
        format!("bybit-exec-{}", dto.exec_id)
    };
    Ok(Execution::Fill(Fill {
        exec_id: dto.exec_id.clone(),
        client_order_id,
        venue_order_id: dto.order_id.clone(),
        symbol,
        side: side_from_venue(path, &dto.side)?,
        qty,
        price: decimal(path, "execPrice", &dto.exec_price)?,
        fee,
        fee_asset,
        liquidity: if dto.is_maker {
            Liquidity::Maker
        } else {
            Liquidity::Taker
        },
        kind,
        leaves_qty: opt_decimal(path, "leavesQty", &dto.leaves_qty)?,
        unsolicited,
        ts_event,
    }))
}

/// Parses a whole execution page, all or nothing, oldest first.
///
/// # Errors
/// The first row's `Parse` error: nothing is returned (and so nothing is
/// marked as seen) until every row parses.
pub fn executions(
    path: &str,
    rows: &[ExecutionDto],
    is_issued: &dyn Fn(&str) -> bool,
) -> Result<Vec<Execution>, VenueError> {
    let mut out = rows
        .iter()
        .map(|row| execution(path, row, is_issued))
        .collect::<Result<Vec<_>, _>>()?;
    // Bybit returns newest first; ties keep Bybit's relative order reversed.
    out.reverse();
    out.sort_by_key(Execution::ts_event);
    Ok(out)
}

/// Parses one `/v5/market/instruments-info` row.
///
/// # Errors
/// `Parse` for an unmappable symbol or a grid that is not a positive decimal.
pub fn instrument_spec(path: &str, dto: &InstrumentInfoDto) -> Result<InstrumentSpec, VenueError> {
    let positive = |field: &str, raw: &str| {
        let d = decimal(path, field, raw)?;
        if d.is_positive() {
            Ok(d)
        } else {
            Err(VenueError::parse(
                path,
                format!("{}: {field} must be positive, got {raw:?}", dto.symbol),
            ))
        }
    };
    Ok(InstrumentSpec {
        symbol: from_venue_symbol(path, &dto.symbol)?,
        status: dto.status.clone(),
        tick_size: positive("priceFilter.tickSize", &dto.price_filter.tick_size)?,
        qty_step: positive("lotSizeFilter.qtyStep", &dto.lot_size_filter.qty_step)?,
        min_qty: positive(
            "lotSizeFilter.minOrderQty",
            &dto.lot_size_filter.min_order_qty,
        )?,
    })
}

/// Parses one `/v5/market/tickers` row; an empty or zero price is a missing side.
///
/// # Errors
/// `Parse` for an unmappable symbol or a malformed price.
pub fn quote(path: &str, dto: &TickerDto) -> Result<Quote, VenueError> {
    Ok(Quote {
        symbol: from_venue_symbol(path, &dto.symbol)?,
        bid: opt_price(path, "bid1Price", &dto.bid1_price)?,
        ask: opt_price(path, "ask1Price", &dto.ask1_price)?,
    })
}

/// Parses `/v5/market/kline` rows, keeps those closed at `now_ms` (server
/// clock) and returns them oldest first.
///
/// # Errors
/// `Parse` for a row that is not seven fields of the documented shape.
pub fn klines(path: &str, rows: &[Vec<String>], now_ms: i64) -> Result<Vec<Kline>, VenueError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let [start, open, high, low, close, volume, ..] = row.as_slice() else {
            return Err(VenueError::parse(
                path,
                format!("kline row has {} fields, expected 7", row.len()),
            ));
        };
        let start_ms: i64 = start
            .parse()
            .map_err(|_| VenueError::parse(path, format!("kline startTime {start:?}")))?;
        if start_ms.saturating_add(60_000) > now_ms {
            continue;
        }
        out.push(Kline {
            start_ms,
            open: decimal(path, "open", open)?,
            high: decimal(path, "high", high)?,
            low: decimal(path, "low", low)?,
            close: decimal(path, "close", close)?,
            volume: decimal(path, "volume", volume)?,
        });
    }
    out.sort_by_key(|k| k.start_ms);
    out.dedup_by_key(|k| k.start_ms);
    Ok(out)
}
