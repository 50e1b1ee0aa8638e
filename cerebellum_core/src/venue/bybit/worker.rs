//! Worker threads that run [`BybitVenue`]'s blocking REST calls off the
//! core's socket loop.
//!
//! Each worker owns one `BybitVenue` (its own HTTP client, clock offset and
//! rate-limit state), takes [`Job`]s from a crossbeam channel in order and
//! sends a [`Done`] back for each. The polling worker also reads best
//! bid/ask, fills and open orders on its own timers, between jobs. Workers
//! stop when their job channel is disconnected (the adapter was dropped) or
//! the result channel is gone; a call in progress finishes first (every call
//! is bounded by the retry deadline).

use std::{
    thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::{
    BybitVenue, CanceledOrder, FillBatch, Kline, OrderRequest, OrderState, Quote, SubmitAck,
    VenueError,
};
use crate::types::SymbolId;

/// A request for a worker.
#[derive(Debug)]
pub enum Job {
    /// Place an order (`orderLinkId` = client order id).
    Submit {
        /// The order in Bybit's decimal units.
        order: OrderRequest,
    },
    /// Cancel an order by client order id.
    Cancel {
        /// Internal symbol.
        symbol: String,
        /// The engine's client order id.
        client_order_id: String,
    },
    /// Look an order up (open orders, then history).
    Query {
        /// Internal symbol.
        symbol: String,
        /// The engine's client order id.
        client_order_id: String,
    },
    /// Mark a client order id as the engine's, so its fills are not logged as unsolicited.
    Adopt {
        /// The engine's client order id.
        client_order_id: String,
    },
    /// Read recent closed 1-minute klines.
    Klines {
        /// Token of the core's `Bars` request.
        token: u64,
        /// Core symbol id.
        symbol: SymbolId,
        /// Internal symbol.
        name: String,
        /// Bars wanted (read in pages of at most 1000).
        limit: usize,
        /// Only klines that opened before this time (ms since the epoch).
        before_ms: Option<i64>,
    },
    /// Read fills now rather than at the next timer.
    PollFillsNow,
}

/// What a worker reports back.
#[derive(Debug)]
pub enum Done {
    /// Answer to [`Job::Submit`].
    Submitted {
        /// The engine's client order id.
        client_order_id: String,
        /// Ack or error.
        result: Result<SubmitAck, VenueError>,
    },
    /// Answer to [`Job::Cancel`].
    Canceled {
        /// The engine's client order id.
        client_order_id: String,
        /// Bybit accepted the cancel, or why not.
        result: Result<CanceledOrder, VenueError>,
    },
    /// Answer to [`Job::Query`].
    Queried {
        /// The engine's client order id.
        client_order_id: String,
        /// The order, `None` when Bybit knows neither an open nor a closed order by that id.
        result: Result<Option<OrderState>, VenueError>,
    },
    /// Best bid/ask of every symbol, read on the ticker timer.
    Quotes {
        /// When the first request was sent (the quotes are at least this fresh).
        started: Instant,
        /// One answer per symbol.
        quotes: Vec<(SymbolId, Result<Quote, VenueError>)>,
    },
    /// New executions, read on the fill timer or on [`Job::PollFillsNow`].
    Fills(Result<FillBatch, VenueError>),
    /// Every open order of the settle coin, read on the open-orders timer.
    OpenOrders {
        /// When the request was sent: orders acknowledged before this are listed if open.
        started: Instant,
        /// The open orders.
        result: Result<Vec<OrderState>, VenueError>,
    },
    /// Answer to [`Job::Klines`].
    Klines {
        /// Token of the core's `Bars` request.
        token: u64,
        /// Core symbol id.
        symbol: SymbolId,
        /// Closed klines oldest first, or why not.
        result: Result<Vec<Kline>, VenueError>,
    },
}

/// What the polling worker reads on its own timers.
#[derive(Clone, Debug)]
pub struct PollPlan {
    /// `(core symbol id, internal symbol)` of every traded symbol.
    pub symbols: Vec<(SymbolId, String)>,
    /// Interval of `/v5/market/tickers` reads.
    pub tickers_every: Duration,
    /// Interval of `/v5/execution/list` reads.
    pub fills_every: Duration,
    /// Interval of `/v5/order/realtime` reads.
    pub open_orders_every: Duration,
}

/// Starts a worker thread.
///
/// # Errors
/// The OS error when the thread cannot be spawned.
pub fn spawn(
    name: &str,
    venue: BybitVenue,
    jobs: Receiver<Job>,
    done: Sender<Done>,
    plan: Option<PollPlan>,
) -> std::io::Result<thread::JoinHandle<()>> {
    let name = name.to_owned();
    thread::Builder::new()
        .name(name.clone())
        .spawn(move || Worker::new(name, venue, done, plan).run(&jobs))
}

/// Logs the first failure of a kind and then every 100th, so a venue that is
/// down does not flood the log at the polling rate.
#[derive(Debug, Default)]
struct FailureLog {
    consecutive: u64,
}

impl FailureLog {
    fn failed(&mut self, worker: &str, what: &str, error: &VenueError) {
        self.consecutive += 1;
        if self.consecutive == 1 || self.consecutive.is_multiple_of(100) {
            tracing::warn!(worker, what, failures = self.consecutive, error = %error, "Bybit call failed");
        }
    }

    fn succeeded(&mut self, worker: &str, what: &str) {
        if self.consecutive > 0 {
            tracing::info!(
                worker,
                what,
                after = self.consecutive,
                "Bybit call succeeds again"
            );
        }
        self.consecutive = 0;
    }
}

struct Worker {
    name: String,
    venue: BybitVenue,
    done: Sender<Done>,
    plan: Option<PollPlan>,
    next_tickers: Instant,
    next_fills: Instant,
    next_open_orders: Instant,
    tickers_log: FailureLog,
    fills_log: FailureLog,
    open_orders_log: FailureLog,
}

impl Worker {
    fn new(name: String, venue: BybitVenue, done: Sender<Done>, plan: Option<PollPlan>) -> Self {
        let now = Instant::now();
        Self {
            name,
            venue,
            done,
            plan,
            next_tickers: now,
            next_fills: now,
            next_open_orders: now,
            tickers_log: FailureLog::default(),
            fills_log: FailureLog::default(),
            open_orders_log: FailureLog::default(),
        }
    }

    fn run(mut self, jobs: &Receiver<Job>) {
        if let Err(e) = self.venue.sync_time() {
            tracing::warn!(worker = %self.name, error = %e, "Bybit clock sync failed; using the local clock until Bybit asks for a resync");
        }
        loop {
            let timeout = if self.plan.is_some() {
                self.next_due().saturating_duration_since(Instant::now())
            } else {
                Duration::from_secs(3600)
            };
            match jobs.recv_timeout(timeout) {
                Ok(job) => {
                    if !self.handle(job) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if !self.run_due() {
                break;
            }
        }
        tracing::debug!(worker = %self.name, "Bybit worker stopped");
    }

    fn next_due(&self) -> Instant {
        self.next_tickers
            .min(self.next_fills)
            .min(self.next_open_orders)
    }

    /// Runs one job; false when the adapter is gone.
    fn handle(&mut self, job: Job) -> bool {
        let done = match job {
            Job::Submit { order } => Done::Submitted {
                client_order_id: order.client_order_id.clone(),
                result: self.venue.submit(&order),
            },
            Job::Cancel {
                symbol,
                client_order_id,
            } => Done::Canceled {
                result: self.venue.cancel(&symbol, &client_order_id),
                client_order_id,
            },
            Job::Query {
                symbol,
                client_order_id,
            } => Done::Queried {
                result: self.venue.query_order(Some(&symbol), &client_order_id),
                client_order_id,
            },
            Job::Adopt { client_order_id } => {
                if let Err(e) = self.venue.adopt_client_order_id(&client_order_id) {
                    tracing::debug!(error = %e, "client order id not adopted");
                }
                return true;
            }
            Job::Klines {
                token,
                symbol,
                name,
                limit,
                before_ms,
            } => Done::Klines {
                token,
                symbol,
                result: self.venue.closed_klines(&name, limit, before_ms),
            },
            Job::PollFillsNow => {
                self.next_fills = Instant::now();
                return true;
            }
        };
        self.done.send(done).is_ok()
    }

    /// Runs the timers that are due; false when the adapter is gone.
    fn run_due(&mut self) -> bool {
        let Some(plan) = self.plan.clone() else {
            return true;
        };
        if Instant::now() >= self.next_tickers {
            let started = Instant::now();
            let mut quotes = Vec::with_capacity(plan.symbols.len());
            for (id, name) in &plan.symbols {
                let result = self.venue.quote(name);
                match &result {
                    Ok(_) => self.tickers_log.succeeded(&self.name, "tickers"),
                    Err(e) => self.tickers_log.failed(&self.name, "tickers", e),
                }
                quotes.push((*id, result));
            }
            self.next_tickers = Instant::now() + plan.tickers_every;
            if self.done.send(Done::Quotes { started, quotes }).is_err() {
                return false;
            }
        }
        if Instant::now() >= self.next_fills {
            let result = self.venue.poll_fills();
            match &result {
                Ok(_) => self.fills_log.succeeded(&self.name, "fills"),
                Err(e) => self.fills_log.failed(&self.name, "fills", e),
            }
            self.next_fills = Instant::now() + plan.fills_every;
            if self.done.send(Done::Fills(result)).is_err() {
                return false;
            }
        }
        if Instant::now() >= self.next_open_orders {
            let started = Instant::now();
            let result = self.venue.open_orders(None);
            match &result {
                Ok(_) => self.open_orders_log.succeeded(&self.name, "open orders"),
                Err(e) => self.open_orders_log.failed(&self.name, "open orders", e),
            }
            self.next_open_orders = Instant::now() + plan.open_orders_every;
            if self
                .done
                .send(Done::OpenOrders { started, result })
                .is_err()
            {
                return false;
            }
        }
        true
    }
}
