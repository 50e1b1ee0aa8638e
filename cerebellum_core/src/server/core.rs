//! The core state machine, without sockets: commands in, replies and
//! journaled reports out. The server loop feeds it frames and timer ticks;
//! tests drive it directly with a manual clock.

use std::{
    collections::{BTreeMap, HashMap},
    mem,
    sync::Arc,
};

use super::{journal::Journal, router::Peers, router::Route};
use crate::{
    clock::{Clock, NS_PER_MS},
    config::Config,
    error::Rejection,
    orders::{order::Order, position::Position, registry::Registry, status::OrderStatus},
    protocol::{
        codec::BAR_TIMEFRAME,
        codec::{decode, DecodeError},
        commands::{Command, Filter, NewOrder, Scope, TradingState},
        reports::{
            encode, non_empty, round_dp, Ack, BalanceView, BarRow, BarsReport, FillFields,
            HeartbeatReply, OrderStateReply, OrderUpdate, OrderView, PositionView, Reject,
            ReplayDone, RiskEvent, SnapshotReport, Welcome,
        },
    },
    risk::{
        checks::{
            self, DuplicateGuard, DuplicateKey, OrderIntent, RateLimiter, Reference, RiskInputs,
        },
        deadman::Deadman,
        killswitch::KillSwitch,
    },
    types::{
        CancelReason, GridError, Instrument, OrderKey, OrderType, RejectCode, Side, SymbolId,
        TimeInForce,
    },
    venue::{
        Bar, BarsAnswer, BarsResult, CancelRequest, MarketData, OrderRequest, Venue, VenueError,
        VenueEvent, VenueSink,
    },
};

/// Something to send.
#[derive(Clone, Debug)]
pub enum Out {
    /// A reply (or a replayed report) to one peer.
    To(Route, Arc<[u8]>),
    /// A journaled report for every registered peer.
    Report(Arc<[u8]>),
}

/// How often a halting scope re-sends cancels while orders remain open.
const HALT_RETRY_NS: i64 = 250 * NS_PER_MS;
/// Market data kept for the publisher between drains.
const MARKET_BACKLOG: usize = 200_000;
/// How long a `Bars` request may wait for an asynchronous venue.
const BARS_TIMEOUT_NS: i64 = 45_000 * NS_PER_MS;
/// `Bars` requests waiting for a venue at once.
const MAX_PENDING_BARS: usize = 64;
/// Most envelopes read from one command frame.
pub const MAX_ENVELOPES_PER_FRAME: usize = 1024;

/// A `Bars` request waiting for an asynchronous venue.
#[derive(Clone, Debug)]
struct PendingBars {
    token: u64,
    route: Route,
    req_id: i64,
    symbol: SymbolId,
    limit: usize,
    before_ms: Option<i64>,
    deadline_ns: i64,
}

#[derive(Clone, Debug)]
struct HaltJob {
    scope: Scope,
    next_retry_ns: i64,
}

/// An order to submit, after decoding and grid checks.
struct Submission {
    client_order_id: String,
    strategy_id: String,
    symbol: SymbolId,
    side: Side,
    order_type: OrderType,
    price_ticks: Option<i64>,
    qty_lots: i64,
    time_in_force: TimeInForce,
    post_only: bool,
    reduce_only: bool,
}

/// The strategy that owns what nobody here ordered: positions the venue held at
/// startup and unsolicited fills (ADL, liquidations, orders placed elsewhere).
pub const VENUE_STRATEGY: &str = "venue";

/// The core: registry, positions, risk, journal and one venue.
pub struct Core {
    config: Config,
    venue: Box<dyn Venue>,
    clock: Box<dyn Clock>,
    session_id: String,
    instruments: Vec<Instrument>,
    symbol_ids: HashMap<String, SymbolId>,
    registry: Registry,
    positions: BTreeMap<(String, SymbolId), Position>,
    cash: f64,
    net_lots: Vec<i64>,
    open_buy_lots: Vec<i64>,
    open_sell_lots: Vec<i64>,
    last_mid: Vec<Option<f64>>,
    killswitch: KillSwitch,
    halts: Vec<HaltJob>,
    deadman: Deadman,
    rate: RateLimiter,
    dupes: DuplicateGuard,
    journal: Journal,
    peers: Peers,
    sink: VenueSink,
    /// Orders the venue accepted in the events being drained, with the acceptance time:
    /// their `NEW` is journaled once the drain ends, unless a fill, cancel or reject of
    /// the same drain already told the engine more (a market order that takes at once
    /// gets one `FILLED`, not `NEW` then `FILLED`).
    accepted: Vec<(OrderKey, i64)>,
    reports: Vec<Out>,
    market: Vec<MarketData>,
    buf: Vec<u8>,
    flatten_counter: u64,
    reply_seq: u64,
    last_heartbeat_ns: Option<i64>,
    heartbeat_late_warned: bool,
    pending_bars: Vec<PendingBars>,
    next_bars_token: u64,
}

/// Maps a venue error to the reject the engine sees.
fn venue_rejection(e: VenueError) -> Rejection {
    match e {
        VenueError::Rejected { code, reason } => Rejection::new(code, reason),
        other => Rejection::new(RejectCode::VenueError, other.to_string()),
    }
}

fn random_session_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

impl Core {
    /// Builds the core around a venue.
    pub fn new(config: Config, venue: Box<dyn Venue>, clock: Box<dyn Clock>) -> Self {
        let instruments = venue.instruments().to_vec();
        let n = instruments.len();
        let symbol_ids = instruments
            .iter()
            .enumerate()
            .map(|(i, inst)| (inst.symbol.clone(), i as SymbolId))
            .collect();
        Self {
            deadman: Deadman::new(config.session.deadman_timeout_ms),
            journal: Journal::new(config.session.journal_capacity),
            cash: config.sim.initial_balance,
            config,
            venue,
            clock,
            session_id: random_session_id(),
            instruments,
            symbol_ids,
            registry: Registry::new(),
            positions: BTreeMap::new(),
            net_lots: vec![0; n],
            open_buy_lots: vec![0; n],
            open_sell_lots: vec![0; n],
            last_mid: vec![None; n],
            killswitch: KillSwitch::new(),
            halts: Vec::new(),
            rate: RateLimiter::new(),
            dupes: DuplicateGuard::new(),
            peers: Peers::new(64),
            sink: VenueSink::new(),
            accepted: Vec::new(),
            reports: Vec::new(),
            market: Vec::new(),
            buf: Vec::with_capacity(1024),
            flatten_counter: 0,
            reply_seq: 0,
            last_heartbeat_ns: None,
            heartbeat_late_warned: false,
            pending_bars: Vec::new(),
            next_bars_token: 1,
        }
    }

    /// Returns the session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Returns the highest journaled sequence number.
    pub const fn last_seq(&self) -> u64 {
        self.journal.last_seq()
    }

    // Replies carry the journal position from before the command ran: reports the
    // command journals are sent after the reply, so a receiver comparing `last_seq`
    // with what it has seen never mistakes them for a gap.
    #[inline]
    fn reply_seq(&self) -> u64 {
        self.reply_seq
    }

    /// Returns the instruments.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// Returns the number of open orders.
    pub fn open_order_count(&self) -> usize {
        self.registry.open_count()
    }

    /// Returns a strategy's position in a symbol (base units) if it ever traded.
    pub fn position(&self, strategy_id: &str, symbol: &str) -> Option<&Position> {
        let sym = *self.symbol_ids.get(symbol)?;
        self.positions.get(&(strategy_id.to_owned(), sym))
    }

    /// Returns the USDT cash balance.
    pub const fn cash(&self) -> f64 {
        self.cash
    }

    /// Returns the registered peers.
    pub const fn peers(&self) -> &Peers {
        &self.peers
    }

    /// Returns the venue (read-only).
    pub fn venue(&self) -> &dyn Venue {
        self.venue.as_ref()
    }

    /// Books the positions the venue held at startup under strategy `venue`, as
    /// if bought at their average price (NAV unchanged), so that risk counts them
    /// and the kill switch closes them. Returns how many were adopted.
    pub fn adopt_opening_positions(&mut self) -> usize {
        let opening = self.venue.opening_positions();
        for p in &opening {
            let Some(inst) = self.instruments.get(usize::from(p.symbol)) else {
                continue;
            };
            let (lots, side) = (
                p.qty_lots.abs(),
                if p.qty_lots > 0 {
                    Side::Buy
                } else {
                    Side::Sell
                },
            );
            let qty = inst.qty(lots);
            self.book(
                VENUE_STRATEGY.to_owned(),
                p.symbol,
                side,
                lots,
                qty,
                p.avg_price,
                0.0,
            );
        }
        opening.len()
    }

    /// Takes the market data produced since the last call.
    pub fn take_market(&mut self) -> Vec<MarketData> {
        mem::take(&mut self.market)
    }

    /// Returns the next time `tick` has work (core clock).
    pub fn next_deadline_ns(&self) -> i64 {
        let now = self.clock.now_ns();
        let mut t = now + 200 * NS_PER_MS;
        if let Some(v) = self.venue.next_wakeup_ns(now) {
            t = t.min(v);
        }
        if let Some(d) = self.deadman.deadline_ns() {
            t = t.min(d + NS_PER_MS);
        }
        for h in &self.halts {
            t = t.min(h.next_retry_ns);
        }
        for p in &self.pending_bars {
            t = t.min(p.deadline_ns);
        }
        t
    }

    /// Returns the core clock.
    pub fn now_ns(&self) -> i64 {
        self.clock.now_ns()
    }

    // ---------------------------------------------------------------- frames

    /// Handles one received message (already split into route and body).
    ///
    /// A frame carries one or more envelopes, one per line (a trailing `\n` is
    /// allowed); each is answered as if it had come alone, and the answers to
    /// one frame leave in one frame. At most [`MAX_ENVELOPES_PER_FRAME`] are
    /// read; the rest get one `MALFORMED` reject.
    pub fn handle_frame(&mut self, route: &Route, body: &[u8], out: &mut Vec<Out>) {
        self.peers.touch(route, self.clock.now_ns());
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        for (i, envelope) in body.split(|b| *b == b'\n').enumerate() {
            if i == MAX_ENVELOPES_PER_FRAME {
                self.reply_seq = self.journal.last_seq();
                let reason = format!(
                    "more than {MAX_ENVELOPES_PER_FRAME} envelopes in one frame; the rest were not read"
                );
                let reply = self.reject(None, None, RejectCode::Malformed, &reason);
                out.push(Out::To(route.clone(), reply));
                break;
            }
            self.handle_envelope(route, envelope, out);
        }
    }

    fn handle_envelope(&mut self, route: &Route, envelope: &[u8], out: &mut Vec<Out>) {
        let now = self.clock.now_ns();
        self.reply_seq = self.journal.last_seq();
        let reply = match decode(envelope, self.config.session.max_frame_bytes) {
            Ok(request) => self.dispatch(route, request.req_id, request.command, now),
            Err(e) => vec![self.reject_from_decode(&e)],
        };
        for bytes in reply {
            out.push(Out::To(route.clone(), bytes));
        }
        out.append(&mut self.reports);
    }

    /// Answers a message that is not a single frame.
    pub fn reject_bad_envelope(&mut self, route: &Route, reason: &str, out: &mut Vec<Out>) {
        self.reply_seq = self.journal.last_seq();
        let reply = self.reject(None, None, RejectCode::Malformed, reason);
        out.push(Out::To(route.clone(), reply));
    }

    /// Polls the venue and runs timers (dead-man, halting scopes, late-heartbeat warning).
    pub fn tick(&mut self, out: &mut Vec<Out>) {
        let now = self.clock.now_ns();
        self.venue.poll(now, &mut self.sink);
        self.drain_sink();
        for (i, mid) in self.last_mid.iter_mut().enumerate() {
            if let Some(m) = self.venue.mid(i as SymbolId) {
                *mid = Some(m.price);
            }
        }
        if let Some(silence_ms) = self.deadman.check(now) {
            self.fire_deadman(silence_ms, now);
        }
        self.run_halts(now);
        self.expire_bars(now);
        self.warn_late_heartbeat(now);
        out.append(&mut self.reports);
    }

    fn dispatch(
        &mut self,
        route: &Route,
        req_id: i64,
        command: Command,
        now: i64,
    ) -> Vec<Arc<[u8]>> {
        let result = match command {
            Command::Hello { .. } => Ok(self.on_hello(route, req_id, now)),
            Command::NewOrder(o) => {
                // An order from a registered engine proves its loop is alive.
                if self.peers.is_registered(route) {
                    self.note_alive(now);
                }
                self.on_new_order(req_id, o, now)
            }
            Command::Cancel { client_order_id } => self.on_cancel(req_id, &client_order_id, now),
            Command::CancelAll(filter) => Ok(self.on_cancel_all(req_id, &filter, now)),
            Command::Flatten(filter) => Ok(self.on_flatten(req_id, &filter, now)),
            Command::KillSwitch {
                scope,
                state,
                reason,
            } => Ok(self.on_kill_switch(req_id, &scope, state, reason.as_deref(), now)),
            Command::Resume { scope } => Ok(self.on_resume(req_id, &scope, now)),
            Command::Heartbeat { loop_age_ms, .. } => {
                Ok(self.on_heartbeat(req_id, loop_age_ms, now))
            }
            Command::Snapshot => Ok(self.on_snapshot(req_id, now)),
            Command::QueryOrder { client_order_id } => Ok(self.on_query(req_id, &client_order_id)),
            Command::ReplayReports { from_seq } => return self.on_replay(req_id, from_seq),
            Command::Bars {
                symbol,
                limit,
                before_ms,
            } => {
                return match self.on_bars(route, req_id, &symbol, limit, before_ms, now) {
                    Ok(reply) => reply.into_iter().collect(),
                    Err(rejection) => {
                        vec![self.reject(Some(req_id), None, rejection.code, &rejection.reason)]
                    }
                }
            }
        };
        match result {
            Ok(bytes) => vec![bytes],
            Err((client_order_id, rejection)) => vec![self.reject(
                Some(req_id),
                client_order_id.as_deref(),
                rejection.code,
                &rejection.reason,
            )],
        }
    }

    fn bytes(&self) -> Arc<[u8]> {
        Arc::from(self.buf.as_slice())
    }

    fn reject(
        &mut self,
        req_id: Option<i64>,
        client_order_id: Option<&str>,
        code: RejectCode,
        reason: &str,
    ) -> Arc<[u8]> {
        let msg = Reject::new(
            req_id,
            self.reply_seq(),
            client_order_id,
            code.as_str(),
            reason,
        );
        encode(&mut self.buf, &msg);
        self.bytes()
    }

    fn reject_from_decode(&mut self, e: &DecodeError) -> Arc<[u8]> {
        self.reject(e.req_id, e.client_order_id.as_deref(), e.code, &e.reason)
    }

    // -------------------------------------------------------------- commands

    fn on_hello(&mut self, route: &Route, req_id: i64, now: i64) -> Arc<[u8]> {
        self.peers.register(route, now);
        // A Hello is a sign of life: it arms the dead-man's switch like a
        // heartbeat with loop age 0, so an engine that freezes before its first
        // heartbeat still has its orders cancelled.
        self.note_alive(now);
        let msg = Welcome::new(
            req_id,
            &self.session_id,
            self.venue.name(),
            self.venue.mode(),
            self.reply_seq(),
            now,
            &self.instruments,
            self.killswitch.view(),
        );
        encode(&mut self.buf, &msg);
        self.bytes()
    }

    /// Counts a `Hello` or an order from a registered peer as a heartbeat with loop age 0.
    fn note_alive(&mut self, now: i64) {
        self.deadman.on_heartbeat(now, 0);
        self.last_heartbeat_ns = Some(now);
        self.heartbeat_late_warned = false;
    }

    fn on_heartbeat(&mut self, req_id: i64, loop_age_ms: u64, now: i64) -> Arc<[u8]> {
        let verdict = self.deadman.on_heartbeat(now, loop_age_ms);
        self.last_heartbeat_ns = Some(now);
        self.heartbeat_late_warned = false;
        if verdict == crate::risk::deadman::HeartbeatVerdict::Stale {
            tracing::warn!(
                loop_age_ms,
                "engine heartbeat reports a stale loop; treated as absent"
            );
        }
        let msg = HeartbeatReply::new(
            req_id,
            self.reply_seq(),
            &self.session_id,
            now,
            self.killswitch.view(),
        );
        encode(&mut self.buf, &msg);
        self.bytes()
    }

    fn on_snapshot(&mut self, req_id: i64, now: i64) -> Arc<[u8]> {
        let instruments = &self.instruments;
        let open_orders = self
            .registry
            .open_orders()
            .filter_map(|o| {
                instruments
                    .get(usize::from(o.symbol))
                    .map(|i| OrderView::new(o, i))
            })
            .collect();
        let positions = self
            .positions
            .iter()
            .filter_map(|((strategy, sym), p)| {
                instruments
                    .get(usize::from(*sym))
                    .map(|i| PositionView::new(strategy, p, i))
            })
            .collect();
        let mids = instruments
            .iter()
            .enumerate()
            .filter_map(|(i, inst)| {
                self.venue
                    .mid(i as SymbolId)
                    .map(|m| (inst.symbol.as_str(), m.price))
            })
            .collect();
        let msg = SnapshotReport {
            v: 1,
            kind: "SnapshotReport",
            req_id,
            last_seq: self.reply_seq(),
            session_id: &self.session_id,
            ts_init: now,
            trading_state: self.killswitch.view(),
            open_orders,
            positions,
            balances: vec![BalanceView {
                asset: "USDT",
                total: round_dp(self.cash, 8),
            }],
            mids,
        };
        encode(&mut self.buf, &msg);
        self.bytes()
    }

    fn on_query(&mut self, req_id: i64, client_order_id: &str) -> Arc<[u8]> {
        let order = self.registry.by_client_id(client_order_id);
        let view = order.and_then(|o| {
            self.instruments
                .get(usize::from(o.symbol))
                .map(|i| OrderView::new(o, i))
        });
        let msg = OrderStateReply {
            v: 1,
            kind: "OrderState",
            req_id,
            last_seq: self.reply_seq(),
            known: view.is_some(),
            order: view,
        };
        encode(&mut self.buf, &msg);
        self.bytes()
    }

    fn on_replay(&mut self, req_id: i64, from_seq: u64) -> Vec<Arc<[u8]>> {
        match self.journal.replay(from_seq) {
            Ok(mut entries) => {
                let last = self.reply_seq();
                let msg = ReplayDone {
                    v: 1,
                    kind: "ReplayDone",
                    req_id,
                    from_seq,
                    to_seq: if entries.is_empty() {
                        from_seq.saturating_sub(1).min(last)
                    } else {
                        last
                    },
                    last_seq: last,
                };
                encode(&mut self.buf, &msg);
                entries.push(self.bytes());
                entries
            }
            Err(e) => {
                let reason = format!(
                    "reports from seq {from_seq} are no longer kept (oldest is {}); reconcile from Snapshot",
                    e.oldest
                );
                vec![self.reject(Some(req_id), None, RejectCode::ReplayUnavailable, &reason)]
            }
        }
    }

    fn order_ack(&mut self, req_id: i64, key: OrderKey, duplicate: Option<bool>) -> Arc<[u8]> {
        let last_seq = self.reply_seq();
        let Some(order) = self.registry.get(key) else {
            encode(&mut self.buf, &Ack::new(req_id, last_seq));
            return self.bytes();
        };
        let msg = Ack {
            client_order_id: Some(&order.client_order_id),
            venue_order_id: non_empty(&order.venue_order_id),
            status: Some(order.status.as_str()),
            duplicate,
            ..Ack::new(req_id, last_seq)
        };
        encode(&mut self.buf, &msg);
        self.bytes()
    }

    fn on_new_order(
        &mut self,
        req_id: i64,
        o: NewOrder,
        now: i64,
    ) -> Result<Arc<[u8]>, (Option<String>, Rejection)> {
        if let Some(existing) = self.registry.by_client_id(&o.client_order_id) {
            let key = existing.key;
            return Ok(self.order_ack(req_id, key, Some(true)));
        }
        let id = Some(o.client_order_id.clone());
        let submission = self.validate(&o).map_err(|r| (id.clone(), r))?;
        self.check_risk(&submission, o.price, o.qty, now)
            .map_err(|r| (id.clone(), r))?;
        let key = self.submit(submission, now).map_err(|r| (id, r))?;
        let ack = self.order_ack(req_id, key, Some(false));
        self.drain_sink();
        Ok(ack)
    }

    fn validate(&self, o: &NewOrder) -> Result<Submission, Rejection> {
        let Some(&symbol) = self.symbol_ids.get(&o.symbol) else {
            return Err(Rejection::new(
                RejectCode::UnknownSymbol,
                format!("unknown symbol {:?}", o.symbol),
            ));
        };
        let inst = &self.instruments[usize::from(symbol)];
        let price_ticks = match o.price {
            None => None,
            Some(p) => Some(inst.tick.to_steps(p).map_err(|e| match e {
                GridError::OffGrid => Rejection::new(
                    RejectCode::OffTick,
                    format!(
                        "price {p} is not a multiple of tick {} for {}",
                        inst.tick_size(),
                        inst.symbol
                    ),
                ),
                _ => Rejection::new(
                    RejectCode::InvalidValue,
                    format!("price {p} is not usable ({e:?})"),
                ),
            })?),
        };
        let qty_lots = inst.lot.to_steps(o.qty).map_err(|e| match e {
            GridError::OffGrid => Rejection::new(
                RejectCode::OffLot,
                format!(
                    "qty {} is not a multiple of lot {} for {}",
                    o.qty,
                    inst.lot_size(),
                    inst.symbol
                ),
            ),
            _ => Rejection::new(
                RejectCode::InvalidValue,
                format!("qty {} is not usable ({e:?})", o.qty),
            ),
        })?;
        if qty_lots < inst.min_lots {
            return Err(Rejection::new(
                RejectCode::InvalidValue,
                format!(
                    "qty {} is below min_qty {} for {}",
                    o.qty,
                    inst.min_qty(),
                    inst.symbol
                ),
            ));
        }
        Ok(Submission {
            client_order_id: o.client_order_id.clone(),
            strategy_id: o.strategy_id.clone(),
            symbol,
            side: o.side,
            order_type: o.order_type,
            price_ticks,
            qty_lots,
            time_in_force: o.time_in_force,
            post_only: o.post_only,
            reduce_only: o.reduce_only,
        })
    }

    fn risk_inputs(&self, strategy_id: &str, symbol: SymbolId, side: Side) -> RiskInputs {
        let s = usize::from(symbol);
        let inst = &self.instruments[s];
        let signed_qty = |lots: i64| inst.qty(lots.abs()) * lots.signum() as f64;
        let strategy_lots = self
            .positions
            .get(&(strategy_id.to_owned(), symbol))
            .map_or(0, |p| p.qty_lots);
        let open = match side {
            Side::Buy => self.open_buy_lots[s],
            Side::Sell => self.open_sell_lots[s],
        };
        let reference = self.venue.mid(symbol).map(|m| Reference {
            mid: m.price,
            age_ms: (self.venue.now_ns() - m.ts_ns).max(0) / NS_PER_MS,
        });
        let other_exposure = self
            .instruments
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != s)
            .map(|(i, other)| {
                let mid = self.last_mid[i].unwrap_or(0.0);
                other.qty(self.net_lots[i].abs()) * mid
            })
            .sum();
        RiskInputs {
            state: self.killswitch.effective(strategy_id, &inst.symbol),
            reference,
            strategy_position: signed_qty(strategy_lots),
            symbol_position: signed_qty(self.net_lots[s]),
            open_same_side: inst.qty(open),
            other_exposure,
        }
    }

    fn check_risk(
        &mut self,
        sub: &Submission,
        price: Option<f64>,
        qty: f64,
        now: i64,
    ) -> Result<(), Rejection> {
        let symbol = &self.instruments[usize::from(sub.symbol)].symbol;
        let intent = OrderIntent {
            strategy_id: &sub.strategy_id,
            symbol,
            side: sub.side,
            order_type: sub.order_type,
            price,
            qty,
            reduce_only: sub.reduce_only,
        };
        let inputs = self.risk_inputs(&sub.strategy_id, sub.symbol, sub.side);
        let limits = &self.config.risk;
        checks::pre_trade(&intent, &inputs, limits)?;
        self.rate.check(&sub.strategy_id, now, limits)?;
        let dkey = DuplicateKey {
            strategy_id: sub.strategy_id.clone(),
            symbol: symbol.clone(),
            side: sub.side,
            order_type: sub.order_type,
            price_ticks: sub.price_ticks,
            qty_lots: sub.qty_lots,
        };
        self.dupes.check(&dkey, &sub.client_order_id, now, limits)?;
        self.rate.record(&sub.strategy_id, now);
        self.dupes.record(dkey, &sub.client_order_id, now);
        Ok(())
    }

    fn open_delta(&mut self, symbol: SymbolId, side: Side, lots: i64) {
        let s = usize::from(symbol);
        let slot = match side {
            Side::Buy => &mut self.open_buy_lots[s],
            Side::Sell => &mut self.open_sell_lots[s],
        };
        *slot = (*slot + lots).max(0);
    }

    /// Books `lots` (`qty` base units) bought or sold at `price` into the symbol's net
    /// position, the cash and the strategy's position: every fill, unsolicited or
    /// not, and every position adopted at startup, goes through here.
    #[allow(clippy::too_many_arguments)]
    fn book(
        &mut self,
        strategy: String,
        symbol: SymbolId,
        side: Side,
        lots: i64,
        qty: f64,
        price: f64,
        fee: f64,
    ) {
        self.net_lots[usize::from(symbol)] += side.sign() * lots;
        self.cash -= side.sign() as f64 * price * qty + fee;
        self.positions
            .entry((strategy, symbol))
            .or_default()
            .apply_fill(side, lots, qty, price, fee);
    }

    /// Registers and sends an order; the venue's events stay in the sink.
    fn submit(&mut self, sub: Submission, now: i64) -> Result<OrderKey, Rejection> {
        let key = self.registry.next_key();
        let request = OrderRequest {
            key,
            client_order_id: sub.client_order_id.clone(),
            strategy_id: sub.strategy_id.clone(),
            symbol: sub.symbol,
            side: sub.side,
            order_type: sub.order_type,
            price_ticks: sub.price_ticks,
            qty_lots: sub.qty_lots,
            time_in_force: sub.time_in_force,
            post_only: sub.post_only,
            reduce_only: sub.reduce_only,
        };
        self.registry.insert(Order {
            key,
            client_order_id: sub.client_order_id,
            venue_order_id: String::new(),
            strategy_id: sub.strategy_id,
            symbol: sub.symbol,
            side: sub.side,
            order_type: sub.order_type,
            price_ticks: sub.price_ticks,
            qty_lots: sub.qty_lots,
            time_in_force: sub.time_in_force,
            post_only: sub.post_only,
            reduce_only: sub.reduce_only,
            status: OrderStatus::PendingNew,
            cum_lots: 0,
            filled_ticks_lots: 0,
            fees: 0.0,
            ts_event: self.venue.now_ns(),
            cancel_reason: None,
            cancel_requested_ns: None,
            exec_ids: Vec::new(),
        });
        self.open_delta(sub.symbol, sub.side, sub.qty_lots);
        match self.venue.submit(&request, now, &mut self.sink) {
            Ok(venue_order_id) => {
                if let Some(order) = self.registry.get_mut(key) {
                    order.venue_order_id = venue_order_id;
                }
                Ok(key)
            }
            Err(VenueError::OutcomeUnknown(why)) => {
                tracing::warn!(key, %why, "order outcome unknown; the venue will settle it");
                Ok(key)
            }
            Err(e) => {
                self.registry.remove(key);
                self.open_delta(sub.symbol, sub.side, -sub.qty_lots);
                Err(venue_rejection(e))
            }
        }
    }

    fn request_cancel(
        &mut self,
        key: OrderKey,
        reason: CancelReason,
        now: i64,
    ) -> Result<(), Rejection> {
        let Some(order) = self.registry.get_mut(key) else {
            return Err(Rejection::new(RejectCode::UnknownOrder, "unknown order"));
        };
        if !order.is_open() {
            return Err(Rejection::new(
                RejectCode::OrderClosed,
                format!("order is {}", order.status.as_str()),
            ));
        }
        if order.cancel_reason.is_none() {
            order.cancel_reason = Some(reason);
        }
        order.cancel_requested_ns = Some(now);
        let request = CancelRequest {
            key,
            client_order_id: order.client_order_id.clone(),
            venue_order_id: order.venue_order_id.clone(),
            symbol: order.symbol,
        };
        self.venue
            .cancel(&request, now, &mut self.sink)
            .map_err(venue_rejection)
    }

    fn on_cancel(
        &mut self,
        req_id: i64,
        client_order_id: &str,
        now: i64,
    ) -> Result<Arc<[u8]>, (Option<String>, Rejection)> {
        let id = Some(client_order_id.to_owned());
        let Some(key) = self.registry.by_client_id(client_order_id).map(|o| o.key) else {
            return Err((
                id,
                Rejection::new(
                    RejectCode::UnknownOrder,
                    format!("unknown order {client_order_id}"),
                ),
            ));
        };
        self.request_cancel(key, CancelReason::User, now)
            .map_err(|r| (id, r))?;
        let ack = self.order_ack(req_id, key, None);
        self.drain_sink();
        Ok(ack)
    }

    fn keys_in(&self, filter: &Filter) -> Vec<OrderKey> {
        self.registry
            .open_orders()
            .filter(|o| {
                self.instruments
                    .get(usize::from(o.symbol))
                    .is_some_and(|i| filter.matches(&o.strategy_id, &i.symbol))
            })
            .map(|o| o.key)
            .collect()
    }

    fn cancel_matching(&mut self, filter: &Filter, reason: &CancelReason, now: i64) -> u64 {
        let mut count = 0;
        for key in self.keys_in(filter) {
            match self.request_cancel(key, reason.clone(), now) {
                Ok(()) => count += 1,
                Err(r) => tracing::debug!(key, reason = %r, "cancel not sent"),
            }
        }
        count
    }

    fn on_cancel_all(&mut self, req_id: i64, filter: &Filter, now: i64) -> Arc<[u8]> {
        let canceled = self.cancel_matching(filter, &CancelReason::User, now);
        let msg = Ack {
            canceled: Some(canceled),
            ..Ack::new(req_id, self.reply_seq())
        };
        encode(&mut self.buf, &msg);
        let ack = self.bytes();
        self.drain_sink();
        ack
    }

    /// Sends reduce-only market orders closing every position in the filter
    /// (net of closing orders already open).
    fn flatten_positions(&mut self, filter: &Filter, now: i64) -> u64 {
        let mut targets = Vec::new();
        for ((strategy, sym), p) in &self.positions {
            let Some(inst) = self.instruments.get(usize::from(*sym)) else {
                continue;
            };
            if p.qty_lots == 0 || !filter.matches(strategy, &inst.symbol) {
                continue;
            }
            let closing: i64 = self
                .registry
                .open_orders()
                .filter(|o| o.reduce_only && &o.strategy_id == strategy && o.symbol == *sym)
                .map(|o| o.side.sign() * o.leaves_lots())
                .sum();
            let remaining = p.qty_lots + closing;
            if remaining != 0 && remaining.signum() == p.qty_lots.signum() {
                targets.push((strategy.clone(), *sym, remaining));
            }
        }
        let mut sent = 0;
        for (strategy_id, symbol, lots) in targets {
            self.flatten_counter += 1;
            let sub = Submission {
                client_order_id: format!("flat-{}-{}", self.session_id, self.flatten_counter),
                strategy_id,
                symbol,
                side: if lots > 0 { Side::Sell } else { Side::Buy },
                order_type: OrderType::Market,
                price_ticks: None,
                qty_lots: lots.abs(),
                time_in_force: TimeInForce::Ioc,
                post_only: false,
                reduce_only: true,
            };
            match self.submit(sub, now) {
                Ok(_) => sent += 1,
                Err(r) => tracing::warn!(reason = %r, "flatten order refused"),
            }
        }
        sent
    }

    fn on_flatten(&mut self, req_id: i64, filter: &Filter, now: i64) -> Arc<[u8]> {
        self.cancel_matching(filter, &CancelReason::User, now);
        self.drain_sink();
        let orders = self.flatten_positions(filter, now);
        let msg = Ack {
            orders: Some(orders),
            ..Ack::new(req_id, self.reply_seq())
        };
        encode(&mut self.buf, &msg);
        let ack = self.bytes();
        self.drain_sink();
        ack
    }

    fn on_kill_switch(
        &mut self,
        req_id: i64,
        scope: &Scope,
        state: TradingState,
        reason: Option<&str>,
        now: i64,
    ) -> Arc<[u8]> {
        self.killswitch.set(scope, state);
        let message = format!(
            "{} {}{} by {}",
            state.as_str(),
            scope.kind(),
            scope.target().map(|t| format!(" {t}")).unwrap_or_default(),
            reason.unwrap_or("request")
        );
        self.journal_risk_event("KILL_SWITCH", scope, &message, now);
        let (canceled, orders) = if state == TradingState::Halted {
            let filter = Filter::from_scope(scope);
            let canceled = self.cancel_matching(&filter, &CancelReason::KillSwitch, now);
            self.drain_sink();
            let orders = if self.keys_in(&filter).is_empty() {
                self.flatten_positions(&filter, now)
            } else {
                self.halts.retain(|h| &h.scope != scope);
                self.halts.push(HaltJob {
                    scope: scope.clone(),
                    next_retry_ns: now + HALT_RETRY_NS,
                });
                0
            };
            (canceled, orders)
        } else {
            (0, 0)
        };
        let msg = Ack {
            canceled: Some(canceled),
            orders: Some(orders),
            trading_state: Some(self.killswitch.view()),
            ..Ack::new(req_id, self.reply_seq())
        };
        encode(&mut self.buf, &msg);
        let ack = self.bytes();
        self.drain_sink();
        ack
    }

    fn on_resume(&mut self, req_id: i64, scope: &Scope, now: i64) -> Arc<[u8]> {
        self.killswitch.set(scope, TradingState::Active);
        self.halts.retain(|h| &h.scope != scope);
        let message = format!(
            "ACTIVE {}{}",
            scope.kind(),
            scope.target().map(|t| format!(" {t}")).unwrap_or_default()
        );
        self.journal_risk_event("RESUMED", scope, &message, now);
        let msg = Ack {
            trading_state: Some(self.killswitch.view()),
            ..Ack::new(req_id, self.reply_seq())
        };
        encode(&mut self.buf, &msg);
        self.bytes()
    }

    // ------------------------------------------------------------------ bars

    fn on_bars(
        &mut self,
        route: &Route,
        req_id: i64,
        symbol: &str,
        limit: usize,
        before_ms: Option<i64>,
        now: i64,
    ) -> Result<Option<Arc<[u8]>>, Rejection> {
        let Some(&sym) = self.symbol_ids.get(symbol) else {
            return Err(Rejection::new(
                RejectCode::UnknownSymbol,
                format!("unknown symbol {symbol:?}"),
            ));
        };
        if self.pending_bars.len() >= MAX_PENDING_BARS {
            return Err(Rejection::new(
                RejectCode::RateLimit,
                format!("{MAX_PENDING_BARS} Bars requests are already waiting for the venue"),
            ));
        }
        let token = self.next_bars_token;
        self.next_bars_token += 1;
        let answer = self
            .venue
            .bars(token, sym, limit, before_ms, now)
            .map_err(venue_rejection)?;
        match answer {
            BarsAnswer::Ready(bars) => {
                let last_seq = self.reply_seq();
                Ok(Some(self.bars_report(req_id, last_seq, sym, &bars)))
            }
            BarsAnswer::Pending => {
                self.pending_bars.push(PendingBars {
                    token,
                    route: route.clone(),
                    req_id,
                    symbol: sym,
                    limit,
                    before_ms,
                    deadline_ns: now + BARS_TIMEOUT_NS,
                });
                // Any result the venue already has is answered in this turn.
                self.drain_sink();
                Ok(None)
            }
        }
    }

    /// Encodes a `BarsReport`, leaving out the oldest bars if the frame would
    /// exceed `max_frame_bytes` (the engine refuses larger frames).
    fn bars_report(
        &mut self,
        req_id: i64,
        last_seq: u64,
        symbol: SymbolId,
        bars: &[Bar],
    ) -> Arc<[u8]> {
        let Some(inst) = self.instruments.get(usize::from(symbol)) else {
            return self.reject(
                Some(req_id),
                None,
                RejectCode::UnknownSymbol,
                "unknown symbol id",
            );
        };
        let rows: Vec<BarRow> = bars.iter().map(|b| BarRow::new(b, inst)).collect();
        let max = self.config.session.max_frame_bytes;
        let mut skip = 0;
        loop {
            let msg = BarsReport {
                v: 1,
                kind: "BarsReport",
                req_id,
                last_seq,
                symbol: &inst.symbol,
                timeframe: BAR_TIMEFRAME,
                bars: rows[skip..].to_vec(),
            };
            encode(&mut self.buf, &msg);
            let len = self.buf.len();
            if len <= max || skip >= rows.len() {
                break;
            }
            // Each row is about len / rows long: drop enough of the oldest at once.
            let per_row = len / (rows.len() - skip).max(1) + 1;
            skip += ((len - max) / per_row + 1).min(rows.len() - skip);
        }
        self.bytes()
    }

    fn on_bars_result(&mut self, result: BarsResult) {
        let Some(i) = self
            .pending_bars
            .iter()
            .position(|p| p.token == result.token)
        else {
            tracing::debug!(token = result.token, "late bars result dropped");
            return;
        };
        let pending = self.pending_bars.swap_remove(i);
        // Reports already queued precede this reply, so it may count them.
        let last_seq = self.journal.last_seq();
        let saved = mem::replace(&mut self.reply_seq, last_seq);
        let bytes = match result.result {
            Ok(mut bars) => {
                if let Some(before) = pending.before_ms {
                    bars.retain(|b| b.ts_ms < before);
                }
                let excess = bars.len().saturating_sub(pending.limit);
                bars.drain(..excess);
                self.bars_report(pending.req_id, last_seq, pending.symbol, &bars)
            }
            Err(e) => {
                let r = venue_rejection(e);
                self.reject(Some(pending.req_id), None, r.code, &r.reason)
            }
        };
        self.reply_seq = saved;
        self.reports.push(Out::To(pending.route, bytes));
    }

    fn expire_bars(&mut self, now: i64) {
        while let Some(i) = self.pending_bars.iter().position(|p| p.deadline_ns <= now) {
            let token = self.pending_bars[i].token;
            self.on_bars_result(BarsResult {
                token,
                result: Err(VenueError::Unavailable(
                    "the venue did not answer the Bars request in time".into(),
                )),
            });
        }
    }

    // ---------------------------------------------------------------- timers

    fn warn_late_heartbeat(&mut self, now: i64) {
        let Some(last) = self.last_heartbeat_ns else {
            return;
        };
        let interval = i64::try_from(self.config.session.heartbeat_interval_ms)
            .unwrap_or(i64::MAX / NS_PER_MS)
            .saturating_mul(NS_PER_MS);
        if !self.heartbeat_late_warned && now - last > interval.saturating_mul(4) {
            self.heartbeat_late_warned = true;
            tracing::warn!(
                silence_ms = (now - last) / NS_PER_MS,
                interval_ms = self.config.session.heartbeat_interval_ms,
                "engine heartbeat is late"
            );
        }
    }

    fn fire_deadman(&mut self, silence_ms: i64, now: i64) {
        let keys = self.keys_in(&Filter::default());
        let message = format!(
            "no engine heartbeat for {silence_ms} ms; cancelled {} resting orders",
            keys.len()
        );
        tracing::warn!(%message, "dead-man's switch fired");
        self.journal_risk_event("DEADMAN", &Scope::Global, &message, now);
        for key in keys {
            if let Err(r) = self.request_cancel(key, CancelReason::Deadman, now) {
                tracing::debug!(key, reason = %r, "dead-man cancel not sent");
            }
        }
        self.drain_sink();
    }

    fn run_halts(&mut self, now: i64) {
        let due: Vec<HaltJob> = self
            .halts
            .iter()
            .filter(|h| h.next_retry_ns <= now)
            .cloned()
            .collect();
        for job in due {
            let filter = Filter::from_scope(&job.scope);
            let open = self.keys_in(&filter);
            if open.is_empty() {
                self.halts.retain(|h| h.scope != job.scope);
                if self.killswitch.state_of(&job.scope) == TradingState::Halted {
                    let sent = self.flatten_positions(&filter, now);
                    tracing::info!(scope = job.scope.kind(), sent, "halted scope flattened");
                }
            } else {
                for key in open {
                    let _ = self.request_cancel(key, CancelReason::KillSwitch, now);
                }
                if let Some(h) = self.halts.iter_mut().find(|h| h.scope == job.scope) {
                    h.next_retry_ns = now + HALT_RETRY_NS;
                }
            }
            self.drain_sink();
        }
    }

    // ---------------------------------------------------------- venue events

    fn drain_sink(&mut self) {
        if !self.sink.bars.is_empty() {
            let results = mem::take(&mut self.sink.bars);
            for r in results {
                self.on_bars_result(r);
            }
        }
        if !self.sink.market.is_empty() {
            self.market.append(&mut self.sink.market);
            if self.market.len() > MARKET_BACKLOG {
                let excess = self.market.len() - MARKET_BACKLOG;
                self.market.drain(..excess);
            }
        }
        while !self.sink.events.is_empty() {
            let events = mem::take(&mut self.sink.events);
            for event in events {
                self.on_venue_event(event);
            }
        }
        if !self.accepted.is_empty() {
            let now = self.clock.now_ns();
            for (key, ts_event) in mem::take(&mut self.accepted) {
                if self.registry.get(key).is_some_and(Order::is_pending) {
                    self.announce(key, ts_event, now);
                }
            }
        }
    }

    fn on_venue_event(&mut self, event: VenueEvent) {
        let now = self.clock.now_ns();
        match event {
            VenueEvent::Accepted {
                key,
                venue_order_id,
                ts_event,
            } => {
                if let (Some(id), Some(order)) = (venue_order_id, self.registry.get_mut(key)) {
                    if order.venue_order_id.is_empty() {
                        order.venue_order_id = id;
                    }
                }
                if self.registry.get(key).is_some_and(Order::is_pending) {
                    self.accepted.push((key, ts_event));
                }
            }
            VenueEvent::Rejected {
                key,
                code,
                reason,
                ts_event,
            } => self.on_rejected(key, code, &reason, ts_event, now),
            VenueEvent::Filled(fill) => self.on_fill(fill, now),
            VenueEvent::Canceled {
                key,
                reason,
                ts_event,
            } => self.on_canceled(key, &reason, ts_event, now),
            VenueEvent::UnsolicitedFill(u) => self.on_unsolicited(u, now),
        }
    }

    /// Marks a pending order accepted and journals its `NEW`.
    fn announce(&mut self, key: OrderKey, ts_event: i64, now: i64) {
        let Some(order) = self.registry.get_mut(key) else {
            return;
        };
        if order.apply_accept(ts_event).is_err() {
            return;
        }
        self.journal_order_update(key, None, None, false, ts_event, now);
    }

    fn on_rejected(
        &mut self,
        key: OrderKey,
        code: RejectCode,
        reason: &str,
        ts_event: i64,
        now: i64,
    ) {
        let Some(order) = self.registry.get(key) else {
            return;
        };
        let (symbol, side, leaves, pending) = (
            order.symbol,
            order.side,
            order.leaves_lots(),
            order.is_pending(),
        );
        let text = format!("{}: {reason}", code.as_str());
        let Some(o) = self.registry.get_mut(key) else {
            return;
        };
        // The status table refuses a reject after acceptance. Venues must not refuse an
        // accepted order; if one does, close the order as cancelled.
        let applied = if pending {
            o.apply_reject(ts_event)
        } else {
            o.apply_cancel(ts_event)
        };
        if applied.is_err() {
            return;
        }
        if !pending {
            tracing::error!(key, %text, "venue rejected an accepted order");
        }
        self.open_delta(symbol, side, -leaves);
        self.journal_order_update(key, None, Some(&text), false, ts_event, now);
        self.registry.close(key);
    }

    fn on_fill(&mut self, fill: crate::venue::Fill, now: i64) {
        let key = fill.key;
        let Some(order) = self.registry.get(key) else {
            tracing::error!(key, exec_id = %fill.exec_id, "fill for an unknown order");
            return;
        };
        if order.exec_ids.iter().any(|e| e == &fill.exec_id) {
            return;
        }
        let Some(order) = self.registry.get_mut(key) else {
            return;
        };
        if let Err(e) = order.apply_fill(fill.price_ticks, fill.qty_lots, fill.fee, fill.ts_event) {
            // The money moved anyway (e.g. a venue reporting a fill after the cancel):
            // book it to the order's strategy as an unsolicited fill rather than lose it.
            tracing::error!(key, exec_id = %fill.exec_id, error = %e, "fill refused by the order state machine; booked as unsolicited");
            order.exec_ids.push(fill.exec_id.clone());
            let late = crate::venue::UnsolicitedFill {
                client_order_id: format!("{}-late", order.client_order_id),
                venue_order_id: order.venue_order_id.clone(),
                symbol: order.symbol,
                side: order.side,
                fill,
            };
            let strategy = order.strategy_id.clone();
            self.book_unsolicited(late, &strategy, now);
            return;
        }
        order.exec_ids.push(fill.exec_id.clone());
        let (symbol, side, strategy, terminal) = (
            order.symbol,
            order.side,
            order.strategy_id.clone(),
            order.status.is_terminal(),
        );
        let s = usize::from(symbol);
        let Some(inst) = self.instruments.get(s) else {
            return;
        };
        let (price, qty) = (inst.price(fill.price_ticks), inst.qty(fill.qty_lots));
        self.open_delta(symbol, side, -fill.qty_lots);
        self.book(strategy, symbol, side, fill.qty_lots, qty, price, fill.fee);
        let fields = FillFields {
            last_qty: qty,
            last_price: price,
            fee: fill.fee,
            fee_asset: &fill.fee_asset,
            liquidity: fill.liquidity.as_str(),
            exec_id: &fill.exec_id,
        };
        self.journal_order_update(key, Some(fields), None, false, fill.ts_event, now);
        if terminal {
            self.registry.close(key);
        }
    }

    fn on_canceled(&mut self, key: OrderKey, reason: &CancelReason, ts_event: i64, now: i64) {
        let Some(order) = self.registry.get(key) else {
            return;
        };
        if !order.is_open() {
            return;
        }
        let Some(order) = self.registry.get_mut(key) else {
            return;
        };
        let leaves = order.leaves_lots();
        let (symbol, side) = (order.symbol, order.side);
        let reason = match (reason, &order.cancel_reason) {
            (CancelReason::User, Some(requested)) => requested.clone(),
            (r, _) => r.clone(),
        };
        if order.apply_cancel(ts_event).is_err() {
            return;
        }
        self.open_delta(symbol, side, -leaves);
        self.journal_order_update(key, None, Some(reason.as_str()), false, ts_event, now);
        self.registry.close(key);
    }

    fn on_unsolicited(&mut self, u: crate::venue::UnsolicitedFill, now: i64) {
        self.book_unsolicited(u, VENUE_STRATEGY, now);
    }

    fn book_unsolicited(&mut self, u: crate::venue::UnsolicitedFill, strategy: &str, now: i64) {
        let s = usize::from(u.symbol);
        let Some(inst) = self.instruments.get(s) else {
            return;
        };
        let (price, qty) = (inst.price(u.fill.price_ticks), inst.qty(u.fill.qty_lots));
        let key = self.registry.next_key();
        let mut order = Order {
            key,
            client_order_id: u.client_order_id.clone(),
            venue_order_id: u.venue_order_id.clone(),
            strategy_id: strategy.to_owned(),
            symbol: u.symbol,
            side: u.side,
            order_type: OrderType::Market,
            price_ticks: None,
            qty_lots: u.fill.qty_lots,
            time_in_force: TimeInForce::Ioc,
            post_only: false,
            reduce_only: false,
            // Never accepted: PendingNew -> Filled, so FILLED is its first wire state.
            status: OrderStatus::PendingNew,
            cum_lots: 0,
            filled_ticks_lots: 0,
            fees: 0.0,
            ts_event: u.fill.ts_event,
            cancel_reason: None,
            cancel_requested_ns: None,
            exec_ids: vec![u.fill.exec_id.clone()],
        };
        if order
            .apply_fill(
                u.fill.price_ticks,
                u.fill.qty_lots,
                u.fill.fee,
                u.fill.ts_event,
            )
            .is_err()
        {
            return;
        }
        self.book(
            strategy.to_owned(),
            u.symbol,
            u.side,
            u.fill.qty_lots,
            qty,
            price,
            u.fill.fee,
        );
        if self.registry.by_client_id(&order.client_order_id).is_some() {
            order.client_order_id = format!("{}-{key}", order.client_order_id);
        }
        self.registry.insert(order);
        let fields = FillFields {
            last_qty: qty,
            last_price: price,
            fee: u.fill.fee,
            fee_asset: &u.fill.fee_asset,
            liquidity: u.fill.liquidity.as_str(),
            exec_id: &u.fill.exec_id,
        };
        self.journal_order_update(key, Some(fields), None, true, u.fill.ts_event, now);
        self.registry.close(key);
    }

    // --------------------------------------------------------------- journal

    fn journal_order_update(
        &mut self,
        key: OrderKey,
        fill: Option<FillFields<'_>>,
        reason: Option<&str>,
        unsolicited: bool,
        ts_event: i64,
        now: i64,
    ) {
        let Some(order) = self.registry.get(key) else {
            return;
        };
        let Some(inst) = self.instruments.get(usize::from(order.symbol)) else {
            return;
        };
        let msg = OrderUpdate::new(
            self.journal.next_seq(),
            order,
            inst,
            fill,
            reason,
            unsolicited,
            ts_event,
            now,
        );
        encode(&mut self.buf, &msg);
        let entry = self.journal.append(self.buf.clone());
        self.reports.push(Out::Report(entry));
    }

    fn journal_risk_event(&mut self, kind: &'static str, scope: &Scope, message: &str, now: i64) {
        let msg = RiskEvent::new(
            self.journal.next_seq(),
            kind,
            scope.kind(),
            scope.target(),
            message,
            self.venue.now_ns(),
            now,
        );
        encode(&mut self.buf, &msg);
        let entry = self.journal.append(self.buf.clone());
        self.reports.push(Out::Report(entry));
    }
}
