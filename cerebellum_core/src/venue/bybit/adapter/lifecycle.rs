//! The order state machine of the Bybit adapter: worker answers in, venue
//! events out (see the module doc of `adapter` for the rules).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use super::{
    convert::{bars_of, describe, to_units},
    BybitAdapter, Closed, LiveOrder, SubmitPhase,
};
use crate::{
    types::{CancelReason, Liquidity, OrderType, RejectCode, Side, SymbolId, TimeInForce},
    venue::{
        bybit::{
            error::VenueError as BybitError,
            types::{FillBatch, OrderState, OrderStatus as BybitStatus, Quote, Side as BybitSide},
            worker::{Done, Job},
            CanceledOrder, ExecKind, SubmitAck,
        },
        BarsResult, Fill, Mid, UnsolicitedFill, Venue, VenueError, VenueEvent, VenueSink,
    },
};

/// Delay before the first query of an IOC, market or post-only order (they
/// close on Bybit at once) and between queries of a cancelled order.
const QUICK_QUERY: Duration = Duration::from_millis(250);
/// Delay between queries of an order whose submit outcome is unknown.
const UNKNOWN_QUERY: Duration = Duration::from_secs(1);
/// How long a closed order waits for its last fills before it is closed anyway
/// (a fill found later is booked by the core as a late, unsolicited fill).
const FILL_WAIT: Duration = Duration::from_secs(60);
/// Smallest interval between "read fills now" requests.
const FILLS_NOW_INTERVAL: Duration = Duration::from_millis(200);
/// How long a cancel Bybit accepted may leave the order open before it is resent.
const CANCEL_STUCK: Duration = Duration::from_secs(5);

impl BybitAdapter {
    fn request_fills_now(&mut self) {
        let now = Instant::now();
        if self
            .fills_requested_at
            .is_some_and(|t| now.duration_since(t) < FILLS_NOW_INTERVAL)
        {
            return;
        }
        self.fills_requested_at = Some(now);
        let _ = Self::send(self.poll_jobs.as_ref(), Job::PollFillsNow);
    }

    pub(super) fn send_cancel(&mut self, client_order_id: &str) -> Result<(), VenueError> {
        let Some(order) = self.live.get(client_order_id) else {
            return Ok(());
        };
        let job = Job::Cancel {
            symbol: self.symbol_name(order.symbol),
            client_order_id: client_order_id.to_owned(),
        };
        Self::send(self.cancel_jobs.as_ref(), job)?;
        if let Some(order) = self.live.get_mut(client_order_id) {
            order.cancel_inflight = true;
        }
        Ok(())
    }

    // ------------------------------------------------------------- results

    pub(super) fn on_done(&mut self, done: Done, sink: &mut VenueSink) {
        match done {
            Done::Submitted {
                client_order_id,
                result,
            } => self.on_submitted(&client_order_id, result, sink),
            Done::Canceled {
                client_order_id,
                result,
            } => self.on_cancel_answer(&client_order_id, result),
            Done::Queried {
                client_order_id,
                result,
            } => self.on_queried(&client_order_id, result, sink),
            Done::Quotes { started, quotes } => self.on_quotes(started, quotes),
            Done::Fills(Ok(batch)) => self.on_fills(batch, sink),
            Done::Fills(Err(_)) => {}
            Done::OpenOrders { started, result } => {
                if let Ok(list) = result {
                    self.on_open_orders(started, &list);
                }
            }
            Done::Klines {
                token,
                symbol,
                result,
            } => {
                let grid = self.grids.get(usize::from(symbol));
                let result = result
                    .map(|klines| grid.map(|g| bars_of(g, &klines)).unwrap_or_default())
                    .map_err(|e| VenueError::Unavailable(describe(&e)));
                sink.bars.push(BarsResult { token, result });
            }
        }
    }

    fn accept(
        &mut self,
        client_order_id: &str,
        venue_order_id: &str,
        ts: i64,
        sink: &mut VenueSink,
    ) {
        let Some(order) = self.live.get_mut(client_order_id) else {
            return;
        };
        if !matches!(order.submit, SubmitPhase::Acked { .. }) {
            order.submit = SubmitPhase::Acked { at: Instant::now() };
        }
        if !order.accepted_sent {
            order.accepted_sent = true;
            sink.events.push(VenueEvent::Accepted {
                key: order.key,
                venue_order_id: (!venue_order_id.is_empty()).then(|| venue_order_id.to_owned()),
                ts_event: ts,
            });
        }
    }

    fn on_submitted(
        &mut self,
        client_order_id: &str,
        result: Result<SubmitAck, BybitError>,
        sink: &mut VenueSink,
    ) {
        let now_ns = self.now_ns();
        let Some(order) = self.live.get(client_order_id) else {
            return;
        };
        match result {
            Ok(ack) => {
                self.accept(client_order_id, &ack.venue_order_id, now_ns, sink);
                let Some(order) = self.live.get_mut(client_order_id) else {
                    return;
                };
                // IOC, market and post-only orders close on Bybit at once: look soon.
                let closes_fast = order.order_type == OrderType::Market
                    || order.time_in_force == TimeInForce::Ioc
                    || order.post_only;
                if closes_fast && order.next_query_at.is_none() {
                    order.next_query_at = Some(Instant::now() + QUICK_QUERY);
                }
                let resend = order.cancel_wanted
                    && !order.cancel_inflight
                    && order.cancel_accepted_at.is_none();
                if resend {
                    let _ = self.send_cancel(client_order_id);
                }
            }
            Err(BybitError::OutcomeUnknown { source, .. }) => {
                tracing::warn!(client_order_id, error = %source,
                    "Bybit submit outcome unknown; the order stays pending and is resolved by query");
                if let Some(order) = self.live.get_mut(client_order_id) {
                    if !matches!(order.submit, SubmitPhase::Acked { .. }) {
                        order.submit = SubmitPhase::Unknown { misses: 0 };
                        order.next_query_at = Some(Instant::now() + UNKNOWN_QUERY);
                    }
                }
            }
            Err(e) => {
                if order.accepted_sent {
                    tracing::error!(client_order_id, error = %e, "Bybit refused an order it had already shown as live");
                    return;
                }
                let key = order.key;
                tracing::info!(client_order_id, error = %e, "Bybit refused the order");
                sink.events.push(VenueEvent::Rejected {
                    key,
                    code: RejectCode::VenueError,
                    reason: describe(&e),
                    ts_event: now_ns,
                });
                self.live.remove(client_order_id);
            }
        }
    }

    fn on_cancel_answer(
        &mut self,
        client_order_id: &str,
        result: Result<CanceledOrder, BybitError>,
    ) {
        let Some(order) = self.live.get_mut(client_order_id) else {
            return;
        };
        order.cancel_inflight = false;
        match result {
            Ok(_) => {
                order.cancel_accepted_at = Some(Instant::now());
                order.next_query_at = Some(Instant::now() + QUICK_QUERY);
            }
            Err(BybitError::OrderNotFound { .. }) => {
                // Already closed, or the cancel overtook the create: ask which.
                if matches!(
                    order.submit,
                    SubmitPhase::Acked { .. } | SubmitPhase::Unknown { .. }
                ) {
                    order.next_query_at = Some(Instant::now());
                }
            }
            Err(e) => {
                tracing::warn!(client_order_id, error = %e, "Bybit cancel failed; it is resent while the order stays open");
            }
        }
    }

    fn on_queried(
        &mut self,
        client_order_id: &str,
        result: Result<Option<OrderState>, BybitError>,
        sink: &mut VenueSink,
    ) {
        let Some(order) = self.live.get_mut(client_order_id) else {
            return;
        };
        order.query_inflight = false;
        let state = match result {
            Ok(state) => state,
            Err(e) => {
                tracing::debug!(client_order_id, error = %e, "Bybit order query failed; retrying");
                order.next_query_at = Some(Instant::now() + UNKNOWN_QUERY);
                return;
            }
        };
        let Some(state) = state else {
            match order.submit {
                SubmitPhase::Unknown { misses } => {
                    let misses = misses + 1;
                    if misses >= self.unknown_order_queries {
                        let key = order.key;
                        tracing::warn!(
                            client_order_id,
                            misses,
                            "Bybit has no order with this orderLinkId; reporting it as not placed"
                        );
                        sink.events.push(VenueEvent::Rejected {
                            key,
                            code: RejectCode::VenueError,
                            reason: format!(
                                "submit outcome unknown and Bybit has no order {client_order_id} after {misses} queries"
                            ),
                            ts_event: self.now_ns(),
                        });
                        self.live.remove(client_order_id);
                    } else {
                        order.submit = SubmitPhase::Unknown { misses };
                        order.next_query_at = Some(Instant::now() + UNKNOWN_QUERY);
                    }
                }
                SubmitPhase::Acked { .. } => {
                    tracing::warn!(
                        client_order_id,
                        "Bybit does not find an order it acknowledged; asking again"
                    );
                    order.next_query_at = Some(Instant::now() + UNKNOWN_QUERY);
                }
                SubmitPhase::InFlight { .. } => {}
            }
            return;
        };
        let ts_event = i64::try_from(state.ts_event)
            .ok()
            .filter(|t| *t > 0)
            .unwrap_or_else(|| self.now_ns());
        if state.status != BybitStatus::Rejected {
            self.accept(client_order_id, &state.venue_order_id, ts_event, sink);
        }
        let Some(order) = self.live.get_mut(client_order_id) else {
            return;
        };
        if !state.status.is_closed() {
            let stuck = order
                .cancel_accepted_at
                .is_some_and(|t| t.elapsed() > CANCEL_STUCK);
            if stuck {
                order.cancel_accepted_at = None;
            }
            if order.cancel_accepted_at.is_some() {
                order.next_query_at = Some(Instant::now() + QUICK_QUERY);
            } else if order.cancel_wanted && !order.cancel_inflight {
                let _ = self.send_cancel(client_order_id);
            }
            return;
        }
        let Some(grid) = self.grids.get(usize::from(order.symbol)) else {
            return;
        };
        let (cum_lots, _) = to_units(&state.cum_qty, &grid.lot);
        order.closed = Some(Closed {
            status: state.status,
            cum_lots,
            venue_status: state.venue_status.clone(),
            reason: state.reason.clone(),
            ts_event,
            seen_at: Instant::now(),
        });
        self.try_finish(client_order_id, sink);
    }

    /// Reports the end of a closed order once its fills are all in.
    fn try_finish(&mut self, client_order_id: &str, sink: &mut VenueSink) {
        let Some(order) = self.live.get(client_order_id) else {
            return;
        };
        let Some(closed) = order.closed.clone() else {
            return;
        };
        if order.filled_lots < closed.cum_lots {
            if closed.seen_at.elapsed() < FILL_WAIT {
                self.request_fills_now();
                return;
            }
            tracing::error!(
                client_order_id,
                filled = order.filled_lots,
                cum = closed.cum_lots,
                "Bybit's fills of a closed order did not all arrive; closing it anyway"
            );
        }
        let key = order.key;
        let event = match closed.status {
            BybitStatus::Filled | BybitStatus::New | BybitStatus::PartiallyFilled => None,
            BybitStatus::Rejected if !order.accepted_sent => Some(VenueEvent::Rejected {
                key,
                code: RejectCode::VenueError,
                reason: format!(
                    "Bybit rejected the order: {}",
                    closed.reason.as_deref().unwrap_or(&closed.venue_status)
                ),
                ts_event: closed.ts_event,
            }),
            BybitStatus::Canceled | BybitStatus::Rejected => Some(VenueEvent::Canceled {
                key,
                reason: self.cancel_reason(order, &closed),
                ts_event: closed.ts_event,
            }),
        };
        sink.events.extend(event);
        self.live.remove(client_order_id);
    }

    fn cancel_reason(&self, order: &LiveOrder, closed: &Closed) -> CancelReason {
        let venue_reason = closed.reason.as_deref().unwrap_or("");
        if order.cancel_wanted {
            // The core substitutes the reason it asked with (user, kill switch, dead-man).
            CancelReason::User
        } else if order.post_only && venue_reason.contains("PostOnly") {
            CancelReason::PostOnlyWouldTake
        } else if order.order_type == OrderType::Market {
            CancelReason::NoLiquidity
        } else if order.time_in_force == TimeInForce::Ioc {
            CancelReason::IocRemainder
        } else if venue_reason.is_empty() {
            CancelReason::Venue(format!("bybit {}", closed.venue_status))
        } else {
            CancelReason::Venue(format!("bybit {} {venue_reason}", closed.venue_status))
        }
    }

    fn on_quotes(&mut self, started: Instant, quotes: Vec<(SymbolId, Result<Quote, BybitError>)>) {
        let ts_ns = self.ns_at(started);
        for (symbol, result) in quotes {
            let Some(slot) = self.mids.get_mut(usize::from(symbol)) else {
                continue;
            };
            match result {
                Ok(Quote {
                    bid: Some(bid),
                    ask: Some(ask),
                    ..
                }) => {
                    let price = (bid.to_f64() + ask.to_f64()) / 2.0;
                    if price.is_finite() && price > 0.0 {
                        *slot = Some(Mid { price, ts_ns });
                    }
                }
                // An empty side means no reference: fail closed at once.
                Ok(_) => *slot = None,
                // Keep the last mid: it turns stale by itself.
                Err(_) => {}
            }
        }
    }

    fn on_fills(&mut self, batch: FillBatch, sink: &mut VenueSink) {
        if !batch.funding.is_empty() {
            tracing::info!(
                count = batch.funding.len(),
                "Bybit funding payments (not reported to the engine)"
            );
        }
        let mut touched = Vec::new();
        for fill in batch.fills {
            let Some(&symbol) = self.symbol_ids.get(&fill.symbol) else {
                tracing::error!(exec_id = %fill.exec_id, symbol = %fill.symbol, qty = %fill.qty,
                    price = %fill.price, "Bybit fill on a symbol the core does not trade; it cannot be booked");
                continue;
            };
            let Some(grid) = self.grids.get(usize::from(symbol)).cloned() else {
                continue;
            };
            let (price_ticks, exact_price) = to_units(&fill.price, &grid.tick);
            let (qty_lots, exact_qty) = to_units(&fill.qty, &grid.lot);
            if !exact_price || !exact_qty || qty_lots <= 0 {
                tracing::warn!(exec_id = %fill.exec_id, price = %fill.price, qty = %fill.qty,
                    "Bybit fill off the instrument grid; rounded to the nearest tick and lot");
            }
            let quote = self
                .instruments
                .get(usize::from(symbol))
                .map(|i| i.quote.clone())
                .unwrap_or_default();
            let ts_event = i64::try_from(fill.ts_event).unwrap_or_else(|_| self.now_ns());
            let mut core_fill = Fill {
                key: 0,
                exec_id: fill.exec_id.clone(),
                price_ticks,
                qty_lots: qty_lots.max(1),
                fee: fill.fee.to_f64(),
                fee_asset: fill.fee_asset.clone().unwrap_or(quote),
                liquidity: match fill.liquidity {
                    crate::venue::bybit::Liquidity::Maker => Liquidity::Maker,
                    crate::venue::bybit::Liquidity::Taker => Liquidity::Taker,
                },
                ts_event,
            };
            let ours =
                fill.kind == ExecKind::Trade && self.live.contains_key(&fill.client_order_id);
            if ours {
                self.accept(&fill.client_order_id, &fill.venue_order_id, ts_event, sink);
                if let Some(order) = self.live.get_mut(&fill.client_order_id) {
                    core_fill.key = order.key;
                    order.filled_lots += core_fill.qty_lots;
                    sink.events.push(VenueEvent::Filled(core_fill));
                    touched.push(fill.client_order_id.clone());
                }
            } else {
                tracing::warn!(exec_id = %fill.exec_id, client_order_id = %fill.client_order_id,
                    kind = ?fill.kind, reason = ?fill.unsolicited, "Bybit unsolicited fill");
                sink.events
                    .push(VenueEvent::UnsolicitedFill(UnsolicitedFill {
                        client_order_id: fill.client_order_id.clone(),
                        venue_order_id: fill.venue_order_id.clone(),
                        symbol,
                        side: match fill.side {
                            BybitSide::Buy => Side::Buy,
                            BybitSide::Sell => Side::Sell,
                        },
                        fill: core_fill,
                    }));
            }
        }
        for client_order_id in touched {
            let complete = self
                .live
                .get(&client_order_id)
                .is_some_and(|o| o.filled_lots >= o.qty_lots);
            if complete {
                self.live.remove(&client_order_id);
            }
        }
        let waiting: Vec<String> = self
            .live
            .iter()
            .filter(|(_, o)| o.closed.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for client_order_id in waiting {
            self.try_finish(&client_order_id, sink);
        }
    }

    fn on_open_orders(&mut self, started: Instant, list: &[OrderState]) {
        let open: HashMap<&str, &OrderState> = list
            .iter()
            .map(|o| (o.client_order_id.as_str(), o))
            .collect();
        let mut resend = Vec::new();
        for (id, order) in &mut self.live {
            let acked_before = matches!(order.submit, SubmitPhase::Acked { at } if at < started);
            if !acked_before || order.closed.is_some() || order.query_inflight {
                continue;
            }
            if open.contains_key(id.as_str()) {
                if order.cancel_wanted
                    && !order.cancel_inflight
                    && order.cancel_accepted_at.is_none()
                {
                    resend.push(id.clone());
                }
            } else if order.next_query_at.is_none() {
                // Gone from the open orders: filled or cancelled on Bybit.
                order.next_query_at = Some(Instant::now());
            }
        }
        for id in resend {
            let _ = self.send_cancel(&id);
        }
    }

    pub(super) fn run_timers(&mut self) {
        let now = Instant::now();
        let mut due = Vec::new();
        for (id, order) in &mut self.live {
            if let SubmitPhase::InFlight { since } = order.submit {
                if now.duration_since(since) > self.submit_timeout {
                    tracing::error!(client_order_id = %id, "no answer from the Bybit submit worker; resolving by query");
                    order.submit = SubmitPhase::Unknown { misses: 0 };
                    order.next_query_at = Some(now);
                }
            }
            if !order.query_inflight && order.next_query_at.is_some_and(|t| t <= now) {
                due.push((id.clone(), order.symbol));
            }
        }
        for (client_order_id, symbol) in due {
            let job = Job::Query {
                symbol: self.symbol_name(symbol),
                client_order_id: client_order_id.clone(),
            };
            if Self::send(self.poll_jobs.as_ref(), job).is_ok() {
                if let Some(order) = self.live.get_mut(&client_order_id) {
                    order.query_inflight = true;
                    order.next_query_at = None;
                }
            }
        }
    }
}
