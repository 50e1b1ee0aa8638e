//! Bybit v5 wire DTOs (serde), shaped as Bybit documents them.
//!
//! Responses are `{"retCode":0,"retMsg":"OK","result":{...},"retExtInfo":{},"time":...}`.
//! Numbers travel as strings. Fields the adapter does not need are not
//! declared; fields Bybit sometimes omits or leaves empty default to `""` and
//! are checked in `parse.rs`, never here.

use serde::{Deserialize, Serialize};

/// The common response envelope; `result` is decoded only when `retCode == 0`
/// (error responses carry `"result":{}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// 0 on success.
    pub ret_code: i64,
    /// Human-readable message.
    #[serde(default)]
    pub ret_msg: String,
    /// Endpoint-specific payload.
    #[serde(default)]
    pub result: serde_json::Value,
    /// Server time in ms.
    #[serde(default)]
    pub time: Option<u64>,
}

/// `result` of `/v5/order/create` and `/v5/order/cancel`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderIdResult {
    /// Bybit order id.
    #[serde(default)]
    pub order_id: String,
    /// User order id.
    #[serde(default)]
    pub order_link_id: String,
}

/// `result` of `/v5/order/cancel-all`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelAllResult {
    /// Cancelled orders.
    #[serde(default)]
    pub list: Vec<OrderIdResult>,
    /// `"1"` on success (present for linear/inverse on newer accounts).
    #[serde(default)]
    pub success: Option<String>,
}

/// A paginated `result`: `{"category":..., "list":[...], "nextPageCursor":...}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// Rows of this page.
    #[serde(default = "Vec::new")]
    pub list: Vec<T>,
    /// Cursor for the next page; empty or absent at the end.
    #[serde(default)]
    pub next_page_cursor: Option<String>,
}

/// A row of `/v5/position/list`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionDto {
    /// Venue symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// `Buy`, `Sell`, or `""`/`None` for an empty position.
    #[serde(default)]
    pub side: String,
    /// Absolute size.
    #[serde(default)]
    pub size: String,
    /// Average entry price.
    #[serde(default)]
    pub avg_price: String,
    /// Mark price.
    #[serde(default)]
    pub mark_price: String,
    /// Unrealised PnL.
    #[serde(default)]
    pub unrealised_pnl: String,
    /// Liquidation price (empty when not applicable).
    #[serde(default)]
    pub liq_price: String,
    /// 0 one-way, 1/2 hedge mode.
    #[serde(default)]
    pub position_idx: i64,
    /// Last update, ms as a string.
    #[serde(default)]
    pub updated_time: String,
}

/// A row of `/v5/order/realtime` and `/v5/order/history`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDto {
    /// Bybit order id.
    #[serde(default)]
    pub order_id: String,
    /// User order id.
    #[serde(default)]
    pub order_link_id: String,
    /// Venue symbol.
    pub symbol: String,
    /// Limit price (`"0"` or `""` for market orders).
    #[serde(default)]
    pub price: String,
    /// Ordered quantity.
    pub qty: String,
    /// `Buy` / `Sell`.
    pub side: String,
    /// `New`, `PartiallyFilled`, `Filled`, `Cancelled`, `PartiallyFilledCanceled`,
    /// `Rejected`, `Untriggered`, `Triggered`, `Deactivated`.
    pub order_status: String,
    /// `EC_NoError` or a reason code.
    #[serde(default)]
    pub reject_reason: String,
    /// Average fill price (`""` or `"0"` before fills).
    #[serde(default)]
    pub avg_price: String,
    /// Filled quantity.
    #[serde(default)]
    pub cum_exec_qty: String,
    /// `Market` / `Limit`.
    pub order_type: String,
    /// Last update, ms as a string.
    #[serde(default)]
    pub updated_time: String,
}

/// A row of `/v5/execution/list`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDto {
    /// Venue symbol.
    pub symbol: String,
    /// Bybit order id (may be empty for settlements).
    #[serde(default)]
    pub order_id: String,
    /// User order id (empty for liquidations, ADL and orders placed without one).
    #[serde(default)]
    pub order_link_id: String,
    /// `Buy` / `Sell`.
    #[serde(default)]
    pub side: String,
    /// Unique execution id.
    pub exec_id: String,
    /// Execution price.
    #[serde(default)]
    pub exec_price: String,
    /// Execution quantity.
    #[serde(default)]
    pub exec_qty: String,
    /// Fee (negative = rebate).
    #[serde(default)]
    pub exec_fee: String,
    /// Fee currency (not always present).
    #[serde(default)]
    pub fee_currency: String,
    /// `Trade`, `AdlTrade`, `Funding`, `BustTrade`, `Settle`, `Delivery`, ...
    pub exec_type: String,
    /// Maker flag.
    #[serde(default)]
    pub is_maker: bool,
    /// Remaining order quantity after this execution.
    #[serde(default)]
    pub leaves_qty: String,
    /// Execution time, ms as a string.
    pub exec_time: String,
}

/// `result` of `/v5/market/time`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTimeResult {
    /// Server time in seconds, as a string.
    #[serde(default)]
    pub time_second: String,
    /// Server time in nanoseconds, as a string.
    #[serde(default)]
    pub time_nano: String,
}

/// Body of `POST /v5/order/create`. Field order is the order on the wire and
/// therefore in the signed string.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderBody<'a> {
    /// Product type, e.g. `linear`.
    pub category: &'a str,
    /// Venue symbol.
    pub symbol: &'a str,
    /// `Buy` / `Sell`.
    pub side: &'a str,
    /// `Market` / `Limit`.
    pub order_type: &'a str,
    /// Quantity as a decimal string.
    pub qty: &'a str,
    /// Limit price as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<&'a str>,
    /// `GTC`, `IOC`, `PostOnly` (omitted for market orders).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_in_force: Option<&'a str>,
    /// Reduce-only flag.
    pub reduce_only: bool,
    /// The engine's client order id.
    pub order_link_id: &'a str,
}

/// Body of `POST /v5/order/cancel`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelOrderBody<'a> {
    /// Product type.
    pub category: &'a str,
    /// Venue symbol.
    pub symbol: &'a str,
    /// The engine's client order id.
    pub order_link_id: &'a str,
}

/// Body of `POST /v5/order/cancel-all`. Linear needs a symbol, base coin or settle coin.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelAllBody<'a> {
    /// Product type.
    pub category: &'a str,
    /// Venue symbol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<&'a str>,
    /// Settle coin, used when no symbol is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_coin: Option<&'a str>,
}

/// A row of `/v5/market/instruments-info` (linear).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstrumentInfoDto {
    /// Venue symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// `Trading`, `PreLaunch`, `Settling`, `Delivering`, `Closed`.
    #[serde(default)]
    pub status: String,
    /// Base coin, e.g. `BTC`.
    #[serde(default)]
    pub base_coin: String,
    /// Quote coin, e.g. `USDT`.
    #[serde(default)]
    pub quote_coin: String,
    /// Price grid.
    pub price_filter: PriceFilterDto,
    /// Quantity grid.
    pub lot_size_filter: LotSizeFilterDto,
}

/// `priceFilter` of an instrument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceFilterDto {
    /// Tick size, e.g. `"0.10"`.
    pub tick_size: String,
}

/// `lotSizeFilter` of an instrument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LotSizeFilterDto {
    /// Quantity step, e.g. `"0.001"`.
    pub qty_step: String,
    /// Smallest order quantity.
    pub min_order_qty: String,
}

/// A row of `/v5/market/tickers` (linear).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickerDto {
    /// Venue symbol.
    pub symbol: String,
    /// Best bid price (`""` when the side is empty).
    #[serde(default)]
    pub bid1_price: String,
    /// Best ask price (`""` when the side is empty).
    #[serde(default)]
    pub ask1_price: String,
}

/// `result` of `/v5/market/kline`: rows
/// `[startTime, open, high, low, close, volume, turnover]`, newest first.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KlineResult {
    /// Venue symbol.
    #[serde(default)]
    pub symbol: String,
    /// The rows, all strings.
    #[serde(default)]
    pub list: Vec<Vec<String>>,
}
