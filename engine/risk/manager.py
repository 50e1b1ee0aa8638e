"""RiskManager: trading state, the kill switch, pre-trade checks and NAV at mark.

The trading state (ACTIVE / REDUCING / HALTED, plus "entries paused") is
journaled before it takes effect and restored at start, so a halt survives a
restart of the app; a restored halt is re-sent to Cerebellum as soon as the
link is up. Pre-trade checks here are the engine's; Cerebellum repeats its
own as the last hop before the venue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.core.errors import LinkDown, OrderRejected
from engine.core.tasks import TaskSupervisor
from engine.execution.link import CerebellumLink
from engine.execution.protocol import SnapshotReport
from engine.journal import Journal
from engine.journal.queries import JournalReader, PersistedTradingState
from engine.model.commands import KillSwitch, NewOrder, Resume
from engine.model.enums import LinkStatus, RiskEventKind, Scope, TradingState
from engine.model.events import Fill, PortfolioState, RiskEvent, TradingStateChanged
from engine.model.market import BookSnapshot
from engine.risk.checks import OrderContext, RateLimiter, Verdict, pre_trade_check

log = logging.getLogger(__name__)


class RiskManager:
    """Component: the engine's trading state and pre-trade gate."""

    name = "risk-manager"

    def __init__(
        self,
        config: CrucibleConfig,
        bus: EventBus,
        clock: Clock,
        supervisor: TaskSupervisor,
        journal: Journal,
        link: CerebellumLink,
    ) -> None:
        self._config = config
        self._cfg = config.risk
        self._bus = bus
        self._clock = clock
        self._supervisor = supervisor
        self._journal = journal
        self._link = link
        self.state = TradingState.ACTIVE
        self.entries_paused = False
        self.reason = ""
        self._mids: dict[str, tuple[float, int]] = {}
        self._strategy_rate = RateLimiter(self._cfg.max_orders_per_sec)
        self._total_rate = RateLimiter(self._cfg.max_orders_per_sec_total)
        self.peak_nav = self._cfg.starting_nav
        self.day_start_nav = self._cfg.starting_nav
        self._day = self._utc_day()
        self._halt_sent_session: str | None = None
        self._portfolio_pending: asyncio.TimerHandle | None = None

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        persisted = await asyncio.get_running_loop().run_in_executor(None, self._read_persisted)
        for p in persisted:
            if p.scope is Scope.GLOBAL:
                self.state, self.entries_paused, self.reason = p.state, p.entries_paused, p.reason
        if self.state is not TradingState.ACTIVE or self.entries_paused:
            log.warning(
                "restored trading state %s (entries paused: %s): %s",
                self.state.value,
                self.entries_paused,
                self.reason,
            )
        self._publish_state()
        self._bus.subscribe(topics.all_of("md.book"), self._on_book, name="risk:mids", direct=True)
        self._bus.subscribe(
            topics.all_of("exec.fill"), self._on_fill, name="risk:fills", direct=True
        )
        self._supervisor.spawn("risk:portfolio", self._portfolio_loop())

    async def stop(self) -> None:
        if self._portfolio_pending is not None:
            self._portfolio_pending.cancel()
            self._portfolio_pending = None

    def _read_persisted(self) -> list[PersistedTradingState]:
        reader = JournalReader(self._journal.path)
        try:
            return reader.trading_states()
        finally:
            reader.close()

    # -- market state ------------------------------------------------------------
    def _on_book(self, _topic: str, book: BookSnapshot) -> None:
        if not book.stale and len(book.bids) and len(book.asks):
            self._mids[book.symbol] = (book.mid, time.monotonic_ns())

    def _on_fill(self, _topic: str, _fill: Fill) -> None:
        # Coalesce a burst of fills into one portfolio update (at most one per 50 ms).
        if self._portfolio_pending is None:
            self._portfolio_pending = asyncio.get_running_loop().call_later(
                0.05, self._publish_portfolio
            )

    def _publish_portfolio(self) -> None:
        self._portfolio_pending = None
        self._bus.publish(topics.RISK_PORTFOLIO, self.portfolio())

    def mid(self, symbol: str) -> tuple[float | None, float | None]:
        """(mid, age in ms) of the latest fresh book, or (None, None)."""
        entry = self._mids.get(symbol)
        if entry is None:
            return None, None
        return entry[0], (time.monotonic_ns() - entry[1]) / 1e6

    def portfolio(self) -> PortfolioState:
        realized = unrealized = exposure = 0.0
        marks = {s: m for s, (m, _) in self._mids.items()}
        positions = tuple(self._link.orders.positions.values())
        for pos in positions:
            realized += pos.realized_pnl
            mark = marks.get(pos.symbol)
            if mark is not None and pos.qty:
                unrealized += pos.unrealized_pnl(mark)
                exposure += abs(pos.qty) * mark
        nav = self._cfg.starting_nav + realized + unrealized
        today = self._utc_day()
        if today != self._day:
            self._day, self.day_start_nav = today, nav
        self.peak_nav = max(self.peak_nav, nav)
        return PortfolioState(
            ts_event=self._clock.timestamp_ns(),
            nav=nav,
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            exposure=exposure,
            drawdown=1.0 - nav / self.peak_nav if self.peak_nav else 0.0,
            peak_nav=self.peak_nav,
            day_pnl=nav - self.day_start_nav,
            positions=positions,
            marks=marks,
        )

    def _utc_day(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._clock.timestamp_ns() / 1e9, tz=dt.UTC).date()

    async def _portfolio_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._bus.publish(topics.RISK_PORTFOLIO, self.portfolio())
            await self._enforce_halt_on_core()

    async def _enforce_halt_on_core(self) -> None:
        """Make sure a halted engine has a halted core (after a restart of either)."""
        if self.state is TradingState.ACTIVE or self._link.status is not LinkStatus.CONNECTED:
            return
        if self._halt_sent_session == self._link.session_id:
            return
        if self._link.trading_state.global_state is self.state:
            self._halt_sent_session = self._link.session_id
            return
        try:
            await self._link.kill_switch(KillSwitch(Scope.GLOBAL, None, self.state, self.reason))
            self._halt_sent_session = self._link.session_id
            log.warning("re-applied %s to cerebellum_core (%s)", self.state.value, self.reason)
        except (LinkDown, OrderRejected) as exc:
            log.error("could not re-apply %s to the core: %s", self.state.value, exc)

    # -- pre-trade ---------------------------------------------------------------
    def check(self, order: NewOrder) -> Verdict | None:
        """The engine's pre-trade verdict for ``order`` (None = allowed)."""
        mid, age = self.mid(order.symbol)
        tracker = self._link.orders
        position = tracker.position(order.strategy_id, order.symbol).qty
        open_same = sum(
            o.leaves_qty
            for o in tracker.open_orders(order.strategy_id)
            if o.symbol == order.symbol and o.side is order.side
        )
        pf = self.portfolio()
        ctx = OrderContext(
            state=self.state,
            entries_paused=self.entries_paused,
            mid=mid,
            mid_age_ms=age,
            position_qty=position,
            open_same_side_qty=open_same,
            total_exposure=pf.exposure,
            nav=pf.nav,
            peak_nav=pf.peak_nav,
            day_start_nav=self.day_start_nav,
        )
        verdict = pre_trade_check(order, ctx, self._cfg)
        if verdict is not None:
            return verdict
        now = self._clock.timestamp_ns()
        if not self._strategy_rate.allow(order.strategy_id, now):
            return Verdict(
                "RATE_LIMIT",
                f"more than {self._cfg.max_orders_per_sec:g} orders/s for {order.strategy_id}",
            )
        if not self._total_rate.allow("*", now):
            return Verdict(
                "RATE_LIMIT", f"more than {self._cfg.max_orders_per_sec_total:g} orders/s in total"
            )
        return None

    # -- operator actions ----------------------------------------------------------
    async def _set_state(self, state: TradingState, entries_paused: bool, reason: str) -> None:
        ts = self._clock.timestamp_ns()
        await asyncio.wrap_future(
            self._journal.set_trading_state(Scope.GLOBAL, None, state, entries_paused, reason, ts)
        )
        self.state, self.entries_paused, self.reason = state, entries_paused, reason
        self._publish_state()

    def _publish_state(self) -> None:
        self._bus.publish(
            topics.RISK_STATE,
            TradingStateChanged(
                Scope.GLOBAL,
                None,
                self.state,
                self.reason,
                self._clock.timestamp_ns(),
                self.entries_paused,
            ),
        )

    def _risk_event(self, kind: RiskEventKind, message: str) -> None:
        event = RiskEvent(kind, message, self._clock.timestamp_ns())
        self._journal.record_risk_event(event)
        self._bus.publish(topics.RISK_EVENT, event)

    async def kill_switch(self, reason: str = "operator") -> SnapshotReport | None:
        """Halt everything: the engine stops order flow, the core cancels all and flattens.

        Returns the core's Snapshot taken afterwards (None if the core is unreachable;
        the halt is still in force in the engine and is re-sent when the link is back).
        """
        await self._set_state(TradingState.HALTED, self.entries_paused, reason)
        self._risk_event(RiskEventKind.KILL_SWITCH, f"kill switch: {reason}")
        try:
            await self._link.kill_switch(
                KillSwitch(Scope.GLOBAL, None, TradingState.HALTED, reason)
            )
            self._halt_sent_session = self._link.session_id
            return await self._link.snapshot()
        except (LinkDown, OrderRejected, TimeoutError) as exc:
            log.error("kill switch could not reach the core (%s); engine is halted", exc)
            return None

    async def pause_entries(self, paused: bool = True, reason: str = "operator") -> None:
        """Stop (or allow again) new entries; exits keep being managed."""
        await self._set_state(self.state, paused, reason)
        self._risk_event(
            RiskEventKind.PAUSE_ENTRIES, f"entries {'paused' if paused else 'allowed'}: {reason}"
        )

    async def resume(self, reason: str = "operator") -> None:
        """Back to ACTIVE (the cockpit asks for confirmation before calling this)."""
        await self._link.resume(Resume(Scope.GLOBAL))
        await self._set_state(TradingState.ACTIVE, False, reason)
        self._halt_sent_session = None
        self._risk_event(RiskEventKind.RESUMED, f"resumed: {reason}")
