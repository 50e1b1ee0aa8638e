//! [`BybitAdapter`]: Bybit v5 behind the core's [`Venue`] trait.
//!
//! The core's loop never waits for Bybit. `submit` and `cancel` check the
//! request, convert integer ticks and lots to Bybit's exact decimals and hand
//! a job to a worker thread (`worker.rs`); `poll` collects the workers'
//! answers and turns them into [`VenueEvent`]s:
//!
//! * three workers, each with its own [`BybitVenue`]: one places orders, one
//!   cancels them (a slow or rate-limited submit never delays a kill switch),
//!   one polls best bid/ask, fills and open orders on timers and answers
//!   order queries and kline requests;
//! * `Accepted` (with Bybit's `orderId`) when the create call succeeds or when
//!   a fill or a query shows the order first;
//! * `Filled` for each new `execId` of an order the engine sent; any other
//!   execution (ADL, liquidation, settlement, orders placed elsewhere) is an
//!   `UnsolicitedFill`, never dropped;
//! * `Canceled` / `Rejected` only when a query shows the order closed on
//!   Bybit *and* every fill up to its `cumExecQty` has been reported, so a
//!   fill never arrives after the order was closed;
//! * a submit whose outcome is unknown (timeouts, 5xx) leaves the order
//!   pending: it is queried by client order id, never resent, and only
//!   reported `REJECTED` when `unknown_order_queries` queries one second apart
//!   all find nothing;
//! * mids come from `/v5/market/tickers` and carry the time the request was
//!   sent, so a venue that stops answering makes them stale (the collar check
//!   then fails closed with `STALE_REFERENCE`).

mod convert;
mod lifecycle;

use std::{
    collections::HashMap,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{unbounded, Receiver, Sender};

pub use self::convert::adapter_config;
use super::{
    auth::Credentials,
    error::VenueError as BybitError,
    parse,
    types::{Decimal, OrderStatus as BybitStatus},
    worker::{self, Done, Job, PollPlan},
    BybitVenue,
};
use crate::{
    config::BybitConfig,
    types::{Instrument, OrderKey, OrderType, RejectCode, SymbolId, TimeInForce},
    venue::{
        BarsAnswer, CancelRequest, Mid, OrderRequest, Venue, VenueError, VenuePosition, VenueSink,
    },
};

/// How long the adapter waits for its workers when dropped.
const JOIN_WAIT: Duration = Duration::from_secs(2);

/// Exact grids of one instrument.
#[derive(Clone, Debug)]
struct Grid {
    tick: Decimal,
    lot: Decimal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SubmitPhase {
    /// The create call is on its way.
    InFlight { since: Instant },
    /// Bybit holds the order (create succeeded, or a fill or query showed it).
    Acked { at: Instant },
    /// The create call failed in a way that may or may not have placed the order.
    Unknown { misses: u32 },
}

#[derive(Clone, Debug)]
struct Closed {
    status: BybitStatus,
    cum_lots: i64,
    venue_status: String,
    reason: Option<String>,
    ts_event: i64,
    seen_at: Instant,
}

/// An order the engine sent that Bybit has not finished with.
#[derive(Clone, Debug)]
struct LiveOrder {
    key: OrderKey,
    symbol: SymbolId,
    order_type: OrderType,
    time_in_force: TimeInForce,
    post_only: bool,
    qty_lots: i64,
    filled_lots: i64,
    submit: SubmitPhase,
    accepted_sent: bool,
    cancel_wanted: bool,
    cancel_inflight: bool,
    cancel_accepted_at: Option<Instant>,
    query_inflight: bool,
    next_query_at: Option<Instant>,
    closed: Option<Closed>,
}

/// Bybit v5 (linear USDT perpetuals) as a [`Venue`].
pub struct BybitAdapter {
    instruments: Vec<Instrument>,
    grids: Vec<Grid>,
    symbol_ids: HashMap<String, SymbolId>,
    mode: &'static str,
    submit_jobs: Option<Sender<Job>>,
    cancel_jobs: Option<Sender<Job>>,
    poll_jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    threads: Vec<JoinHandle<()>>,
    anchor_ns: i64,
    anchor: Instant,
    mids: Vec<Option<Mid>>,
    live: HashMap<String, LiveOrder>,
    unknown_order_queries: u32,
    submit_timeout: Duration,
    fills_requested_at: Option<Instant>,
    opening_positions: Vec<VenuePosition>,
}

impl std::fmt::Debug for BybitAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BybitAdapter")
            .field("mode", &self.mode)
            .field("instruments", &self.instruments.len())
            .field("live_orders", &self.live.len())
            .finish_non_exhaustive()
    }
}

impl BybitAdapter {
    /// Reads the instruments from `/v5/market/instruments-info` and starts the
    /// worker threads. Blocks for the startup calls only.
    ///
    /// # Errors
    /// [`BybitError`] when the configuration is unusable, Bybit cannot be
    /// reached, or a symbol is unknown or not trading.
    pub fn start(
        config: &BybitConfig,
        credentials: &Credentials,
        now_ns: i64,
    ) -> Result<Self, BybitError> {
        let venue_config = adapter_config(config);
        let mut setup = BybitVenue::new(venue_config.clone(), credentials.clone())?;
        if let Err(e) = setup.sync_time() {
            tracing::warn!(error = %e, "Bybit clock sync failed at startup");
        }
        let mut instruments = Vec::with_capacity(config.symbols.len());
        let mut grids = Vec::with_capacity(config.symbols.len());
        for symbol in &config.symbols {
            let spec = setup.instrument_spec(symbol)?;
            if spec.status != "Trading" {
                return Err(BybitError::Config(format!(
                    "{symbol} has status {:?} on Bybit, not Trading",
                    spec.status
                )));
            }
            let instrument = Instrument::new_checked(
                symbol,
                spec.tick_size.to_f64(),
                spec.qty_step.to_f64(),
                spec.min_qty.to_f64(),
            )
            .map_err(|e| BybitError::Config(format!("{symbol}: {e}")))?;
            let exact = |step: &crate::types::Step, want: &Decimal| {
                Decimal::from_scaled(step.units(), step.decimals())
                    .ok()
                    .as_ref()
                    == Some(want)
            };
            if !exact(&instrument.tick, &spec.tick_size) || !exact(&instrument.lot, &spec.qty_step)
            {
                return Err(BybitError::Config(format!(
                    "{symbol}: grid tick {} / lot {} cannot be represented exactly",
                    spec.tick_size, spec.qty_step
                )));
            }
            tracing::info!(symbol = %symbol, tick = %spec.tick_size, lot = %spec.qty_step,
                min_qty = %spec.min_qty, "Bybit instrument");
            instruments.push(instrument);
            grids.push(Grid {
                tick: spec.tick_size,
                lot: spec.qty_step,
            });
        }
        let symbol_ids = instruments
            .iter()
            .enumerate()
            .map(|(i, inst)| (inst.symbol.clone(), i as SymbolId))
            .collect();
        // Fail closed: starting flat while Bybit holds positions would hide them
        // from risk and from the kill switch.
        let (opening_positions, outside) =
            convert::opening_positions(&setup.positions()?, &symbol_ids, &grids)?;
        for p in &opening_positions {
            tracing::warn!(symbol = %instruments[usize::from(p.symbol)].symbol, lots = p.qty_lots,
                avg_price = p.avg_price, "Bybit already holds a position: adopted as strategy 'venue'");
        }
        if !outside.is_empty() {
            tracing::warn!(symbols = ?outside,
                "Bybit holds positions in symbols outside bybit.symbols: not traded, not counted, not flattened");
        }
        let (done_tx, done) = unbounded();
        let (submit_tx, submit_rx) = unbounded();
        let (cancel_tx, cancel_rx) = unbounded();
        let (poll_tx, poll_rx) = unbounded();
        let plan = PollPlan {
            symbols: instruments
                .iter()
                .enumerate()
                .map(|(i, inst)| (i as SymbolId, inst.symbol.clone()))
                .collect(),
            tickers_every: Duration::from_millis(config.ticker_interval_ms),
            fills_every: Duration::from_millis(config.fill_poll_interval_ms),
            open_orders_every: Duration::from_millis(config.open_orders_interval_ms),
        };
        let spawn_err = |e: std::io::Error| BybitError::Config(format!("cannot start worker: {e}"));
        let threads = vec![
            worker::spawn(
                "bybit-submit",
                BybitVenue::new(venue_config.clone(), credentials.clone())?,
                submit_rx,
                done_tx.clone(),
                None,
            )
            .map_err(spawn_err)?,
            worker::spawn(
                "bybit-cancel",
                BybitVenue::new(venue_config.clone(), credentials.clone())?,
                cancel_rx,
                done_tx.clone(),
                None,
            )
            .map_err(spawn_err)?,
            worker::spawn("bybit-poll", setup, poll_rx, done_tx, Some(plan)).map_err(spawn_err)?,
        ];
        let n = instruments.len();
        Ok(Self {
            instruments,
            grids,
            symbol_ids,
            mode: if config.testnet { "testnet" } else { "live" },
            submit_jobs: Some(submit_tx),
            cancel_jobs: Some(cancel_tx),
            poll_jobs: Some(poll_tx),
            done,
            threads,
            anchor_ns: now_ns,
            anchor: Instant::now(),
            mids: vec![None; n],
            live: HashMap::new(),
            unknown_order_queries: config.unknown_order_queries,
            submit_timeout: Duration::from_millis(config.call_deadline_ms)
                + Duration::from_secs(10),
            fills_requested_at: None,
            opening_positions,
        })
    }

    /// Returns the number of orders the adapter still follows.
    pub fn live_orders(&self) -> usize {
        self.live.len()
    }

    fn set_clock(&mut self, now_ns: i64) {
        self.anchor_ns = now_ns;
        self.anchor = Instant::now();
    }

    /// Core-clock time of an `Instant` in the past.
    fn ns_at(&self, at: Instant) -> i64 {
        let back = i64::try_from(Instant::now().saturating_duration_since(at).as_nanos())
            .unwrap_or(i64::MAX);
        self.now_ns().saturating_sub(back)
    }

    fn send(jobs: Option<&Sender<Job>>, job: Job) -> Result<(), VenueError> {
        jobs.ok_or_else(|| VenueError::Unavailable("the Bybit adapter is stopping".into()))?
            .send(job)
            .map_err(|_| VenueError::Unavailable("a Bybit worker thread is not running".into()))
    }

    fn symbol_name(&self, symbol: SymbolId) -> String {
        self.instruments
            .get(usize::from(symbol))
            .map(|i| i.symbol.clone())
            .unwrap_or_default()
    }
}

impl Venue for BybitAdapter {
    fn name(&self) -> &'static str {
        "bybit"
    }

    fn mode(&self) -> &'static str {
        self.mode
    }

    fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    fn opening_positions(&self) -> Vec<VenuePosition> {
        self.opening_positions.clone()
    }

    fn now_ns(&self) -> i64 {
        let elapsed = i64::try_from(self.anchor.elapsed().as_nanos()).unwrap_or(i64::MAX);
        self.anchor_ns.saturating_add(elapsed)
    }

    fn poll(&mut self, now_ns: i64, sink: &mut VenueSink) {
        self.set_clock(now_ns);
        while let Ok(done) = self.done.try_recv() {
            self.on_done(done, sink);
        }
        self.run_timers();
    }

    fn next_wakeup_ns(&self, now_ns: i64) -> Option<i64> {
        // Worker answers cannot wake the socket loop; look for them often.
        if self.done.is_empty() {
            Some(now_ns + 20_000_000)
        } else {
            Some(now_ns)
        }
    }

    fn submit(
        &mut self,
        order: &OrderRequest,
        now_ns: i64,
        _sink: &mut VenueSink,
    ) -> Result<String, VenueError> {
        self.set_clock(now_ns);
        parse::check_order_link_id(&order.client_order_id)
            .map_err(|e| VenueError::rejected(RejectCode::InvalidValue, e.to_string()))?;
        if self.live.contains_key(&order.client_order_id) {
            return Err(VenueError::rejected(
                RejectCode::DuplicateOrder,
                format!("order {} is still live on Bybit", order.client_order_id),
            ));
        }
        let s = usize::from(order.symbol);
        let (Some(instrument), Some(grid)) = (self.instruments.get(s), self.grids.get(s)) else {
            return Err(VenueError::rejected(
                RejectCode::UnknownSymbol,
                "unknown symbol id",
            ));
        };
        let request = convert::bybit_order(order, instrument, grid)?;
        let _ = Self::send(
            self.poll_jobs.as_ref(),
            Job::Adopt {
                client_order_id: order.client_order_id.clone(),
            },
        );
        Self::send(self.submit_jobs.as_ref(), Job::Submit { order: request })?;
        self.live.insert(
            order.client_order_id.clone(),
            LiveOrder {
                key: order.key,
                symbol: order.symbol,
                order_type: order.order_type,
                time_in_force: order.time_in_force,
                post_only: order.post_only,
                qty_lots: order.qty_lots,
                filled_lots: 0,
                submit: SubmitPhase::InFlight {
                    since: Instant::now(),
                },
                accepted_sent: false,
                cancel_wanted: false,
                cancel_inflight: false,
                cancel_accepted_at: None,
                query_inflight: false,
                next_query_at: None,
                closed: None,
            },
        );
        // Bybit's orderId arrives with `Accepted`.
        Ok(String::new())
    }

    fn cancel(
        &mut self,
        request: &CancelRequest,
        now_ns: i64,
        _sink: &mut VenueSink,
    ) -> Result<(), VenueError> {
        self.set_clock(now_ns);
        let Some(order) = self.live.get_mut(&request.client_order_id) else {
            return Err(VenueError::rejected(
                RejectCode::OrderClosed,
                "the order is no longer open on Bybit",
            ));
        };
        order.cancel_wanted = true;
        if order.cancel_inflight || order.cancel_accepted_at.is_some() || order.closed.is_some() {
            return Ok(());
        }
        self.send_cancel(&request.client_order_id)
    }

    fn bars(
        &mut self,
        token: u64,
        symbol: SymbolId,
        limit: usize,
        before_ms: Option<i64>,
        _now_ns: i64,
    ) -> Result<BarsAnswer, VenueError> {
        let name = self.symbol_name(symbol);
        if name.is_empty() {
            return Err(VenueError::rejected(
                RejectCode::UnknownSymbol,
                "unknown symbol id",
            ));
        }
        Self::send(
            self.poll_jobs.as_ref(),
            Job::Klines {
                token,
                symbol,
                name,
                limit,
                before_ms,
            },
        )?;
        Ok(BarsAnswer::Pending)
    }

    fn mid(&self, symbol: SymbolId) -> Option<Mid> {
        self.mids.get(usize::from(symbol)).copied().flatten()
    }
}

impl Drop for BybitAdapter {
    fn drop(&mut self) {
        // Disconnecting the job channels stops the workers after their current call.
        self.submit_jobs = None;
        self.cancel_jobs = None;
        self.poll_jobs = None;
        let deadline = Instant::now() + JOIN_WAIT;
        for handle in self.threads.drain(..) {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                tracing::warn!("a Bybit worker is still inside a REST call; leaving it to finish");
            }
        }
    }
}
