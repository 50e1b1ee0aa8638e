"""OrderGateway: the one door to the venue for every strategy, agent and the order ticket.

Each order meets the risk manager's pre-trade check before anything is sent;
a refusal becomes a journaled, published ``RiskEvent`` and a ``RiskRejected``
for the caller. The gateway owns what follows from the core's reports: the
order tracker, the portfolio (positions change only on fills), the journal's
staging of order rows, and the per-strategy fill callbacks (the strategy
hears first, then the bus). Underneath, ``CerebellumLink`` is transport only.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.core.errors import LinkDown, OperationalError, OrderRejected, RiskRejected
from engine.core.tasks import TaskSupervisor
from engine.execution import protocol
from engine.execution.link import CerebellumLink
from engine.execution.order_tracker import OrderTracker
from engine.execution.portfolio import Portfolio
from engine.journal import Journal
from engine.journal.order_journal import OrderJournal
from engine.model.commands import KillSwitch, NewOrder, Resume
from engine.model.enums import LinkStatus, OrderStatus, Scope, TradingState
from engine.model.events import Fill, OrderUpdate
from engine.model.market import Bar, BookSnapshot
from engine.model.orders import OrderView
from engine.risk.manager import RiskManager

log = logging.getLogger(__name__)

StrategyCallback = Callable[[OrderUpdate, Fill | None], None]


class OrderGateway:
    """Component: risk-checked orders in, fill-driven positions and events out."""

    name = "order-gateway"

    def __init__(
        self,
        config: CrucibleConfig,
        bus: EventBus,
        clock: Clock,
        supervisor: TaskSupervisor,
        link: CerebellumLink,
        risk: RiskManager,
        orders: OrderTracker,
        portfolio: Portfolio,
        journal: Journal | None = None,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._supervisor = supervisor
        self._link = link
        self.risk = risk
        self.orders = orders
        self.portfolio = portfolio
        self._journal = journal
        self._symbols = config.universe.symbols
        self._order_journal: OrderJournal | None = None
        self._journal_flush: asyncio.TimerHandle | None = None
        self._callbacks: dict[str, StrategyCallback] = {}
        self._strategy_topics: dict[str, tuple[str, str]] = {}
        self._halt_sent_session: str | None = None
        # Reports reach the gateway from the start, including the first reconcile.
        link.set_report_handler(self._on_report, self._on_snapshot)
        link.requests.on_order_reject = self._on_order_rejected

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        self._order_journal = self._journal.order_journal() if self._journal else None
        self._bus.subscribe(
            topics.all_of("md.book"), self._on_book, name="gateway:marks", direct=True
        )
        self._supervisor.spawn("gateway:core-state", self._keep_core_state())

    async def stop(self) -> None:
        if self._journal_flush is not None:
            self._journal_flush.cancel()
        self._flush_journal(everything=True)
        journal, self._order_journal = self._order_journal, None  # later reports: not staged
        if journal is not None:
            # Waits for the journal process to commit its last batches: not on the loop.
            await asyncio.get_running_loop().run_in_executor(None, journal.close)

    # -- what callers read ------------------------------------------------------------
    @property
    def status(self) -> LinkStatus:
        return self._link.status

    @property
    def can_trade(self) -> bool:
        return self._link.can_trade

    @property
    def journal_path(self) -> Path:
        """Where the journal is (read-only readers open their own connection)."""
        if self._journal is None:
            raise OperationalError("this engine keeps no journal")
        return self._journal.path

    @property
    def instruments(self) -> dict[str, protocol.Instrument]:
        return self._link.instruments

    async def snapshot(self) -> protocol.SnapshotReport:
        return await self._link.request_snapshot()

    async def recent_bars(self, symbol: str, timeframe: str = "1m", limit: int = 240) -> list[Bar]:
        return await self._link.fetch_recent_bars(symbol, timeframe, limit)

    # -- strategies --------------------------------------------------------------------
    def register_strategy(self, strategy_id: str, callback: StrategyCallback) -> None:
        """Route this strategy's OrderUpdates (and their fills) to ``callback`` first."""
        self._callbacks[strategy_id] = callback

    def unregister_strategy(self, strategy_id: str) -> None:
        self._callbacks.pop(strategy_id, None)

    # -- orders ------------------------------------------------------------------------
    def submit_nowait(self, order: NewOrder) -> asyncio.Future[Any]:
        """Check and send an order now; the future resolves with its Ack or Reject.

        Raises RiskRejected (nothing sent) or LinkDown at once. For callers that
        keep many orders in flight: their fills arrive through the strategy callback.
        """
        self._admit(order)
        return self._link.send_order(order)

    async def submit(self, order: NewOrder) -> protocol.Ack:
        """Check, send and await the Ack (raises RiskRejected, OrderRejected or LinkDown)."""
        self._admit(order)
        try:
            return await self._link.send_order_and_confirm(order)
        except OrderRejected as exc:  # also when the answer came from recovering a timeout
            self._close_rejected(order.client_order_id, f"{exc.code}: {exc.reason}")
            raise

    def _on_order_rejected(self, client_order_id: str, reject: protocol.Reject) -> None:
        """The core's Reject of a new order, before whoever awaits it hears."""
        self._close_rejected(client_order_id, f"{reject.code}: {reject.reason}")

    def _close_rejected(self, client_order_id: str, reason: str) -> None:
        """The core refused a new order outright (no report follows): close it here, as
        REJECTED (else it stays PENDING_NEW in the tracker and the journal). Idempotent."""
        order = self.orders.orders.get(client_order_id)
        if order is None or not order.status.is_open:
            return
        ts = self._clock.timestamp_ns()
        self._on_report(
            OrderUpdate(
                seq=0,
                client_order_id=order.client_order_id,
                venue_order_id=None,
                strategy_id=order.strategy_id,
                symbol=order.symbol,
                side=order.side,
                order_type=order.order_type,
                status=OrderStatus.REJECTED,
                price=order.price,
                qty=order.qty,
                cum_qty=0.0,
                avg_price=0.0,
                leaves_qty=0.0,
                ts_event=ts,
                ts_init=ts,
                reason=reason,
            )
        )

    def _admit(self, order: NewOrder) -> None:
        self._link.require_connected()
        verdict = self.risk.check(order)
        if verdict is not None:
            self.risk.refused(order, verdict)
            raise RiskRejected(verdict.code, verdict.reason)
        self.orders.on_submitted(
            OrderView(
                order.client_order_id,
                order.strategy_id,
                order.symbol,
                order.side,
                order.order_type,
                order.qty,
                order.price,
                OrderStatus.PENDING_NEW,
            )
        )
        if self._order_journal is not None:
            self._order_journal.stage_intent(
                order, self._clock.timestamp_ns(), self._clock.monotonic_ns()
            )
            self._schedule_journal()

    async def cancel(self, client_order_id: str) -> protocol.Ack:
        return await self._link.send_cancel(client_order_id)

    async def cancel_all(
        self, strategy_id: str | None = None, symbol: str | None = None
    ) -> protocol.Ack:
        """Cancel resting orders (always allowed: it only ever reduces risk)."""
        return await self._link.send_cancel_all(strategy_id, symbol)

    async def flatten(
        self, strategy_id: str | None = None, symbol: str | None = None
    ) -> protocol.Ack:
        """Close positions at market (always allowed, also while entries are paused or halted)."""
        return await self._link.send_flatten(strategy_id, symbol)

    # -- trading state ---------------------------------------------------------------------
    async def kill_switch(self, reason: str = "operator") -> protocol.SnapshotReport | None:
        """Halt everything: the engine stops order flow, the core cancels all and flattens.

        Returns the core's Snapshot taken afterwards (None if the core is unreachable;
        the halt is still in force in the engine and is re-sent when the link is back).
        """
        await self.risk.halt(reason)
        try:
            await self._link.send_kill_switch(
                KillSwitch(Scope.GLOBAL, None, TradingState.HALTED, reason)
            )
            self._halt_sent_session = self._link.session_id
            return await self._link.request_snapshot()
        except (LinkDown, OrderRejected, TimeoutError) as exc:
            log.error("kill switch could not reach the core (%s); engine is halted", exc)
            return None

    async def resume(self, reason: str = "operator") -> None:
        """Back to ACTIVE in the core, then in the engine (the only way out of a halt)."""
        await self._link.send_resume(Resume(Scope.GLOBAL))
        await self.risk.resume(reason)
        self._halt_sent_session = None

    async def _keep_core_state(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self._enforce_state_on_core()

    async def _enforce_state_on_core(self) -> None:
        """A halted or reducing engine has a halted or reducing core (after a restart of either)."""
        state, link = self.risk.state, self._link
        if state is TradingState.ACTIVE or link.status is not LinkStatus.CONNECTED:
            return
        if self._halt_sent_session == link.session_id:
            return
        if link.trading_state.global_state is state:
            self._halt_sent_session = link.session_id
            return
        try:
            await link.send_kill_switch(KillSwitch(Scope.GLOBAL, None, state, self.risk.reason))
            self._halt_sent_session = link.session_id
            log.warning("re-applied %s to cerebellum_core (%s)", state.value, self.risk.reason)
        except (LinkDown, OrderRejected) as exc:
            log.error("could not re-apply %s to the core: %s", state.value, exc)

    # -- reports (from the link, in order, exactly once) ------------------------------------
    def _on_report(self, report: OrderUpdate) -> None:
        fill = self.orders.on_update(report)
        if fill is not None:
            self.portfolio.on_fill(fill)
        if self._order_journal is not None:
            self._order_journal.stage_update(report)
            self._schedule_journal()
        # The strategy that owns the order hears first; bus subscribers are woken after it.
        callback = self._callbacks.get(report.strategy_id)
        if callback is not None:
            try:
                callback(report, fill)
            except Exception:
                log.exception("order callback of %s failed", report.strategy_id)
        order_topic, fill_topic = self._topics_of(report.strategy_id)
        self._bus.publish(order_topic, report)
        if fill is not None:
            self._bus.publish(fill_topic, fill)

    def _on_snapshot(self, snap: protocol.SnapshotReport) -> list[str]:
        return self.orders.reconcile(snap) + self.portfolio.adopt(snap.positions)

    def _topics_of(self, strategy_id: str) -> tuple[str, str]:
        """A strategy's order and fill topics (built once: this is the report path)."""
        pair = self._strategy_topics.get(strategy_id)
        if pair is None:
            pair = (topics.exec_order(strategy_id), topics.exec_fill(strategy_id))
            self._strategy_topics[strategy_id] = pair
        return pair

    def _on_book(self, _topic: str, book: BookSnapshot) -> None:
        if not book.stale and len(book.bids) and len(book.asks):
            self.portfolio.on_mark(book.symbol, book.mid, self._clock.monotonic_ns())

    # -- journal staging ----------------------------------------------------------------------
    def _schedule_journal(self, delay_s: float = 0.002) -> None:
        # A moment later, in one transaction: whoever awaits the report runs (and sends) first.
        if self._journal_flush is None:
            self._journal_flush = asyncio.get_running_loop().call_later(
                delay_s, self._flush_journal
            )

    def _flush_journal(self, *, everything: bool = False) -> None:
        self._journal_flush = None
        journal = self._order_journal
        if journal is None:
            return
        try:
            journal.flush(self._clock.monotonic_ns(), everything=everything)
        except sqlite3.Error:
            log.exception("could not journal a batch of orders and reports")
        if journal.held and not everything:
            self._schedule_journal(0.05)  # unanswered intents: written once held too long
