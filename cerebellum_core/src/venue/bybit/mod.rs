//! Bybit v5 adapter (USDT linear perpetuals over signed REST).
//!
//! [`BybitVenue`] is the REST surface: submit, cancel, cancel-all, open
//! orders, positions, order query (for unknown-outcome recovery), fill
//! polling and public market data (instrument rules, best bid/ask, klines).
//! It owns no engine types and its calls block. [`BybitAdapter`]
//! (`adapter.rs`) is the shared `Venue` trait on top of it: it runs the calls
//! on worker threads (`worker.rs`) and converts [`Decimal`]s to ticks and lots
//! with [`Decimal::to_ticks`].
//!
//! Fill polling reads `/v5/execution/list` from a watermark minus an overlap,
//! so a fill that shows up late is still seen; each `execId` is reported once
//! (bounded dedupe memory). Fills the engine did not ask for (liquidation,
//! ADL, settlement, orders not placed through this adapter, unknown
//! `execType`s) are reported flagged [`UnsolicitedReason`], never dropped.
//!
//! Calls block the calling thread (bounded by [`RetryPolicy::deadline`]), so
//! the core should run the adapter off its socket loop.

pub mod adapter;
pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod market;
pub mod models;
pub mod parse;
pub mod types;
pub mod worker;

use std::collections::{HashSet, VecDeque};

pub use self::{
    adapter::BybitAdapter,
    auth::Credentials,
    config::{BybitConfig, Category, MAINNET_URL, TESTNET_URL},
    error::VenueError,
    http::RetryPolicy,
    types::{
        CanceledOrder, Decimal, ExecKind, Fill, FillBatch, FundingEvent, InstrumentSpec, Kline,
        Liquidity, OrderRequest, OrderState, OrderStatus, OrderType, Position, Quote, Side,
        SubmitAck, TimeInForce, UnsolicitedReason,
    },
};
use self::{
    error::codes,
    http::HttpClient,
    models::{
        CancelAllBody, CancelAllResult, CancelOrderBody, CreateOrderBody, ExecutionDto, OrderDto,
        OrderIdResult, Page, PositionDto,
    },
    parse::Execution,
};

const CREATE_PATH: &str = "/v5/order/create";
const CANCEL_PATH: &str = "/v5/order/cancel";
const CANCEL_ALL_PATH: &str = "/v5/order/cancel-all";
const POSITION_PATH: &str = "/v5/position/list";
const REALTIME_PATH: &str = "/v5/order/realtime";
const HISTORY_PATH: &str = "/v5/order/history";
const EXECUTION_PATH: &str = "/v5/execution/list";

/// A set that forgets its oldest entries beyond a capacity.
#[derive(Debug)]
struct BoundedSet {
    set: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl BoundedSet {
    fn new(capacity: usize) -> Self {
        Self {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    fn contains(&self, item: &str) -> bool {
        self.set.contains(item)
    }

    /// Returns true when the item was not there yet.
    fn insert(&mut self, item: &str) -> bool {
        if !self.set.insert(item.to_owned()) {
            return false;
        }
        self.order.push_back(item.to_owned());
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}

/// The Bybit v5 venue. Not `Sync`: one owner drives it.
pub struct BybitVenue {
    config: BybitConfig,
    http: HttpClient,
    seen_exec_ids: BoundedSet,
    issued: BoundedSet,
    fill_watermark_ms: u64,
}

impl std::fmt::Debug for BybitVenue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BybitVenue")
            .field("base_url", &self.config.effective_base_url())
            .field("category", &self.config.category)
            .field("fill_watermark_ms", &self.fill_watermark_ms)
            .field("seen_exec_ids", &self.seen_exec_ids.len())
            .field("issued", &self.issued.len())
            .finish_non_exhaustive()
    }
}

impl BybitVenue {
    /// Builds the adapter. Nothing is sent until the first call.
    ///
    /// # Errors
    /// `Config` for an invalid configuration.
    pub fn new(config: BybitConfig, credentials: Credentials) -> Result<Self, VenueError> {
        config.validate()?;
        let http = HttpClient::new(
            config.effective_base_url(),
            credentials,
            config.recv_window_ms,
            config.retry.clone(),
        );
        let fill_watermark_ms = config.fills_since_ms.unwrap_or_else(|| http.now_ms());
        Ok(Self {
            seen_exec_ids: BoundedSet::new(config.dedupe_capacity),
            issued: BoundedSet::new(config.issued_capacity),
            http,
            fill_watermark_ms,
            config,
        })
    }

    /// Builds the adapter with credentials from `BYBIT_API_KEY` / `BYBIT_API_SECRET`.
    ///
    /// # Errors
    /// `MissingCredentials` or `Config`.
    pub fn from_env(config: BybitConfig) -> Result<Self, VenueError> {
        Self::new(config, Credentials::from_env()?)
    }

    /// The configuration in use.
    pub fn config(&self) -> &BybitConfig {
        &self.config
    }

    /// Measures the server clock offset (also done automatically on `retCode` 10002).
    ///
    /// # Errors
    /// As [`http::HttpClient::sync_time`].
    pub fn sync_time(&mut self) -> Result<i64, VenueError> {
        self.http.sync_time()
    }

    /// Marks a client order id as the engine's, e.g. orders journaled by a
    /// previous session, so their fills are not reported as unsolicited.
    ///
    /// # Errors
    /// `InvalidRequest` when it is not a valid `orderLinkId`.
    pub fn adopt_client_order_id(&mut self, client_order_id: &str) -> Result<(), VenueError> {
        parse::check_order_link_id(client_order_id)?;
        self.issued.insert(client_order_id);
        Ok(())
    }

    /// Places an order with `orderLinkId` = the engine's client order id.
    ///
    /// A resend of an id Bybit already holds (`retCode` 110072, e.g. after a
    /// lost reply) is resolved by querying the order: same symbol, side and
    /// quantity give an ack with `duplicate: true`.
    ///
    /// # Errors
    /// * `InvalidRequest` before sending for an order Bybit would refuse.
    /// * `Api` with Bybit's `retCode`/`retMsg` for a business rejection.
    /// * `DuplicateClientOrderId` when the id is taken by a different order.
    /// * `OutcomeUnknown` when Bybit reports the id taken but the order cannot
    ///   be read back.
    /// * `OutcomeUnknown` when every attempt failed transiently or the reply
    ///   was unreadable: the order may exist; call [`Self::query_order`].
    pub fn submit(&mut self, order: &OrderRequest) -> Result<SubmitAck, VenueError> {
        validate_order(order)?;
        let symbol = parse::to_venue_symbol(&order.symbol)?;
        let body = CreateOrderBody {
            category: self.config.category.as_str(),
            symbol: &symbol,
            side: parse::side_to_venue(order.side),
            order_type: parse::order_type_to_venue(order.order_type),
            qty: order.qty.as_str(),
            price: order.price.as_ref().map(Decimal::as_str),
            time_in_force: match order.order_type {
                OrderType::Limit => Some(parse::time_in_force_to_venue(order.time_in_force)),
                OrderType::Market => None,
            },
            reduce_only: order.reduce_only,
            order_link_id: &order.client_order_id,
        };
        // Recorded before sending: a fill may be seen before (or without) the ack.
        self.issued.insert(&order.client_order_id);
        match self.http.post::<OrderIdResult, _>(CREATE_PATH, &body) {
            Ok(result) => {
                if result.order_id.is_empty() {
                    return Err(VenueError::OutcomeUnknown {
                        client_order_id: order.client_order_id.clone(),
                        source: Box::new(VenueError::parse(CREATE_PATH, "ack without orderId")),
                    });
                }
                tracing::info!(
                    client_order_id = %order.client_order_id,
                    venue_order_id = %result.order_id,
                    "Bybit accepted order"
                );
                Ok(SubmitAck {
                    client_order_id: order.client_order_id.clone(),
                    venue_order_id: result.order_id,
                    duplicate: false,
                })
            }
            Err(err) if err.ret_code() == Some(codes::DUPLICATE_ORDER_LINK_ID) => {
                self.resolve_duplicate(order, err)
            }
            Err(err) if err.is_transient() || matches!(err, VenueError::Parse { .. }) => {
                Err(VenueError::OutcomeUnknown {
                    client_order_id: order.client_order_id.clone(),
                    source: Box::new(err),
                })
            }
            Err(err) => Err(err),
        }
    }

    fn resolve_duplicate(
        &mut self,
        order: &OrderRequest,
        err: VenueError,
    ) -> Result<SubmitAck, VenueError> {
        // 110072 says Bybit holds an order with this id: anything short of
        // finding it leaves the outcome unknown, never "not placed".
        let unknown = |source: VenueError| VenueError::OutcomeUnknown {
            client_order_id: order.client_order_id.clone(),
            source: Box::new(source),
        };
        let existing = self
            .query_order(Some(&order.symbol), &order.client_order_id)
            .map_err(unknown)?;
        match existing {
            Some(state)
                if state.symbol == order.symbol
                    && state.side == order.side
                    && state.qty == order.qty =>
            {
                tracing::info!(
                    client_order_id = %order.client_order_id,
                    "Bybit already holds this order; treating the resend as a duplicate"
                );
                Ok(SubmitAck {
                    client_order_id: order.client_order_id.clone(),
                    venue_order_id: state.venue_order_id,
                    duplicate: true,
                })
            }
            Some(_) => Err(VenueError::DuplicateClientOrderId {
                client_order_id: order.client_order_id.clone(),
            }),
            None => Err(unknown(err)),
        }
    }

    /// Cancels one order by client order id.
    ///
    /// # Errors
    /// `OrderNotFound` when Bybit does not know it as open (`retCode` 110001:
    /// already filled, cancelled, or never placed); `Api` for other rejections.
    pub fn cancel(
        &mut self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<CanceledOrder, VenueError> {
        parse::check_order_link_id(client_order_id)?;
        let venue_symbol = parse::to_venue_symbol(symbol)?;
        let body = CancelOrderBody {
            category: self.config.category.as_str(),
            symbol: &venue_symbol,
            order_link_id: client_order_id,
        };
        match self.http.post::<OrderIdResult, _>(CANCEL_PATH, &body) {
            Ok(result) => Ok(CanceledOrder {
                client_order_id: client_order_id.to_owned(),
                venue_order_id: result.order_id,
            }),
            Err(err) if err.ret_code() == Some(codes::ORDER_NOT_EXISTS) => {
                Err(VenueError::OrderNotFound {
                    client_order_id: client_order_id.to_owned(),
                })
            }
            Err(err) => Err(err),
        }
    }

    /// Cancels every open order of `symbol`, or of the settle coin when `None`.
    ///
    /// # Errors
    /// `Api`, transport or parse errors.
    pub fn cancel_all(&mut self, symbol: Option<&str>) -> Result<Vec<CanceledOrder>, VenueError> {
        let venue_symbol = symbol.map(parse::to_venue_symbol).transpose()?;
        let body = CancelAllBody {
            category: self.config.category.as_str(),
            symbol: venue_symbol.as_deref(),
            settle_coin: venue_symbol
                .is_none()
                .then_some(self.config.settle_coin.as_str()),
        };
        let result: CancelAllResult = self.http.post(CANCEL_ALL_PATH, &body)?;
        Ok(result
            .list
            .into_iter()
            .map(|o| CanceledOrder {
                client_order_id: o.order_link_id,
                venue_order_id: o.order_id,
            })
            .collect())
    }

    /// Returns every non-flat position in the settle coin.
    ///
    /// # Errors
    /// Any error, including one malformed row: an unknown position is never
    /// reported as flat (DESIGN invariant 6, fail closed).
    pub fn positions(&mut self) -> Result<Vec<Position>, VenueError> {
        let category = self.config.category.as_str();
        let settle_coin = self.config.settle_coin.clone();
        let (rows, complete): (Vec<PositionDto>, bool) =
            self.paginate(POSITION_PATH, 20, |cursor| {
                let mut q = vec![
                    ("category", category.to_owned()),
                    ("settleCoin", settle_coin.clone()),
                ];
                q.push(("limit", "200".to_owned()));
                if let Some(c) = cursor {
                    q.push(("cursor", c.to_owned()));
                }
                q
            })?;
        if !complete {
            return Err(VenueError::parse(
                POSITION_PATH,
                "position pagination did not finish",
            ));
        }
        let mut out = Vec::new();
        for row in &rows {
            if let Some(position) = parse::position(POSITION_PATH, row)? {
                out.push(position);
            }
        }
        Ok(out)
    }

    /// Looks an order up by client order id: open orders first, then history.
    /// Returns `None` when Bybit knows neither.
    ///
    /// # Errors
    /// Any transport, API or parse error (never `None` on failure).
    pub fn query_order(
        &mut self,
        symbol: Option<&str>,
        client_order_id: &str,
    ) -> Result<Option<OrderState>, VenueError> {
        parse::check_order_link_id(client_order_id)?;
        let venue_symbol = symbol.map(parse::to_venue_symbol).transpose()?;
        let (scope_key, scope_value) = match &venue_symbol {
            Some(s) => ("symbol", s.as_str()),
            None => ("settleCoin", self.config.settle_coin.as_str()),
        };
        let params = [
            ("category", self.config.category.as_str()),
            (scope_key, scope_value),
            ("orderLinkId", client_order_id),
        ];
        for path in [REALTIME_PATH, HISTORY_PATH] {
            let page: Page<OrderDto> = self.http.get(path, &params)?;
            if let Some(row) = page
                .list
                .iter()
                .find(|o| o.order_link_id == client_order_id)
            {
                return parse::order_state(path, row).map(Some);
            }
        }
        Ok(None)
    }

    /// Returns every open order of `symbol`, or of the settle coin when `None`
    /// (what a kill switch checks until it is empty).
    ///
    /// # Errors
    /// Any transport, API or parse error, and `Parse` when pagination did not
    /// finish: a partial list of open orders is never returned as complete.
    pub fn open_orders(&mut self, symbol: Option<&str>) -> Result<Vec<OrderState>, VenueError> {
        let venue_symbol = symbol.map(parse::to_venue_symbol).transpose()?;
        let category = self.config.category.as_str();
        let scope = match venue_symbol {
            Some(s) => ("symbol", s),
            None => ("settleCoin", self.config.settle_coin.clone()),
        };
        let (rows, complete): (Vec<OrderDto>, bool) =
            self.paginate(REALTIME_PATH, 50, |cursor| {
                let mut q = vec![("category", category.to_owned()), scope.clone()];
                q.push(("limit", "50".to_owned()));
                if let Some(c) = cursor {
                    q.push(("cursor", c.to_owned()));
                }
                q
            })?;
        if !complete {
            return Err(VenueError::parse(
                REALTIME_PATH,
                "open-order pagination did not finish",
            ));
        }
        rows.iter()
            .map(|row| parse::order_state(REALTIME_PATH, row))
            .collect()
    }

    /// Fetches new executions since the last poll.
    ///
    /// Reads from `watermark - fill_overlap_ms`, parses every row before
    /// changing any state (a malformed row fails the poll and is retried next
    /// time, nothing is dropped), skips `execId`s already reported, and
    /// advances the watermark only when pagination completed.
    ///
    /// # Errors
    /// Any transport, API or parse error; state is unchanged then.
    pub fn poll_fills(&mut self) -> Result<FillBatch, VenueError> {
        let category = self.config.category.as_str();
        let start = self
            .fill_watermark_ms
            .saturating_sub(self.config.fill_overlap_ms)
            .to_string();
        let (rows, complete): (Vec<ExecutionDto>, bool) =
            self.paginate(EXECUTION_PATH, self.config.max_fill_pages, |cursor| {
                let mut q = vec![
                    ("category", category.to_owned()),
                    ("startTime", start.clone()),
                    ("limit", "100".to_owned()),
                ];
                if let Some(c) = cursor {
                    q.push(("cursor", c.to_owned()));
                }
                q
            })?;
        let issued = &self.issued;
        let executions = parse::executions(EXECUTION_PATH, &rows, &|id| issued.contains(id))?;

        let mut batch = FillBatch {
            complete,
            ..FillBatch::default()
        };
        let mut newest_ms = self.fill_watermark_ms;
        for execution in executions {
            newest_ms = newest_ms.max(execution.ts_event() / 1_000_000);
            if !self.seen_exec_ids.insert(execution.exec_id()) {
                continue;
            }
            match execution {
                Execution::Fill(fill) => {
                    if let Some(reason) = fill.unsolicited {
                        tracing::warn!(
                            exec_id = %fill.exec_id,
                            symbol = %fill.symbol,
                            reason = ?reason,
                            kind = ?fill.kind,
                            "Bybit reported an unsolicited fill"
                        );
                    }
                    batch.fills.push(fill);
                }
                Execution::Funding(funding) => batch.funding.push(funding),
            }
        }
        if complete {
            self.fill_watermark_ms = newest_ms;
        } else {
            tracing::error!(
                pages = self.config.max_fill_pages,
                "Bybit execution list did not finish paginating; watermark held, older fills may follow"
            );
        }
        Ok(batch)
    }

    /// The fill watermark (ms, venue clock): polls read from here minus the overlap.
    pub fn fill_watermark_ms(&self) -> u64 {
        self.fill_watermark_ms
    }

    /// GETs every page of a cursor-paginated endpoint. Returns the rows and
    /// whether pagination finished (false at the page cap or when the cursor
    /// stops advancing).
    fn paginate<T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        max_pages: u32,
        params: impl Fn(Option<&str>) -> Vec<(&'static str, String)>,
    ) -> Result<(Vec<T>, bool), VenueError> {
        let mut rows = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..max_pages {
            let owned = params(cursor.as_deref());
            let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page: Page<T> = self.http.get(path, &borrowed)?;
            let empty_page = page.list.is_empty();
            rows.extend(page.list);
            let next = page.next_page_cursor.filter(|c| !c.is_empty());
            match next {
                None => return Ok((rows, true)),
                Some(_) if empty_page => return Ok((rows, true)),
                Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                    tracing::error!(path, "Bybit pagination cursor did not advance");
                    return Ok((rows, false));
                }
                Some(next) => cursor = Some(next),
            }
        }
        Ok((rows, false))
    }
}

fn validate_order(order: &OrderRequest) -> Result<(), VenueError> {
    parse::check_order_link_id(&order.client_order_id)?;
    if !order.qty.is_positive() {
        return Err(VenueError::InvalidRequest(format!(
            "qty {} must be positive",
            order.qty
        )));
    }
    match (order.order_type, &order.price) {
        (OrderType::Limit, Some(price)) if price.is_positive() => {}
        (OrderType::Limit, _) => {
            return Err(VenueError::InvalidRequest(
                "a LIMIT order needs a positive price".into(),
            ))
        }
        (OrderType::Market, Some(_)) => {
            return Err(VenueError::InvalidRequest(
                "a MARKET order takes no price".into(),
            ))
        }
        (OrderType::Market, None) => {}
    }
    if order.order_type == OrderType::Market && order.time_in_force == TimeInForce::PostOnly {
        return Err(VenueError::InvalidRequest(
            "a MARKET order cannot be post-only".into(),
        ));
    }
    Ok(())
}
