"""RiskManager: trading state, breakers, per-strategy limits and the pre-trade verdict.

It reads the portfolio and the open orders through two narrow views and
never talks to the venue: the order gateway asks ``check`` before it sends
anything and carries a halt to the core. What it decides:

* the trading state (ACTIVE / REDUCING / HALTED, plus "entries paused"),
  journaled and restored at start, so a halt survives a restart of the app;
* the breakers on NAV at mark (daily loss since 00:00 UTC, drawdown from the
  peak): a breach latches REDUCING (exits only) until an operator resumes;
* per-strategy limits (position notional, orders per second, a daily loss
  that disables only that strategy until it is resumed);
* fail-closed marks: a symbol with no mark or one older than
  ``risk.max_mid_age_ms`` refuses new exposure, and its positions count at
  their last known price.

Time comes from the injected clock only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from engine.config import CrucibleConfig, StrategyLimits
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.core.tasks import TaskSupervisor
from engine.journal import Journal
from engine.journal.queries import JournalReader, PersistedTradingState
from engine.model.commands import NewOrder
from engine.model.enums import OrderType, RiskEventKind, Scope, Side, TradingState
from engine.model.events import Fill, PortfolioState, RiskEvent, TradingStateChanged
from engine.model.positions import Position
from engine.risk.checks import (
    OrderContext,
    OrderRates,
    Verdict,
    breached_daily_loss,
    breached_drawdown,
    breached_strategy_loss,
    increases_exposure,
    pre_trade_check,
)

log = logging.getLogger(__name__)

_DAY_NS = 86_400 * 1_000_000_000

RiskInputs = tuple[float | None, int, float | None, float, float, float, float]
"""One read of the portfolio for one (strategy, symbol), in this order: the mark (None:
never had one), when it arrived (clock ns, 0 without one), the valuation price (the
mark, else the last fill), the strategy's position, every strategy's net position in
the symbol, total exposure, NAV. A plain tuple: it is built for every order."""
_BREAKERS = ("DAILY_LOSS", "DRAWDOWN")


class PortfolioView(Protocol):
    """What risk reads of the portfolio (engine.execution.portfolio.Portfolio)."""

    def mark(self, symbol: str) -> tuple[float, int] | None: ...

    def price(self, symbol: str) -> float | None: ...

    def position(self, strategy_id: str, symbol: str) -> Position: ...

    def net_qty(self, symbol: str) -> float: ...

    def exposure(self) -> float: ...

    def nav(self) -> float: ...

    def strategy_pnl(self, strategy_id: str) -> float: ...

    def strategies(self) -> set[str]: ...

    def held_symbols(self) -> set[str]: ...

    def state(
        self, ts_ns: int, peak_nav: float, day_start_nav: float, stale_symbols: tuple[str, ...]
    ) -> PortfolioState: ...

    def risk_inputs(self, strategy_id: str, symbol: str) -> RiskInputs: ...


class OpenOrdersView(Protocol):
    """What risk reads of the open orders (engine.execution.order_tracker.OrderTracker)."""

    def open_qty(self, strategy_id: str, symbol: str, side: Side) -> float: ...


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
        portfolio: PortfolioView,
        orders: OpenOrdersView,
    ) -> None:
        self._cfg = config.risk
        self._bus = bus
        self._clock = clock
        self._supervisor = supervisor
        self._journal = journal
        self.portfolio = portfolio
        self._orders = orders
        self.state = TradingState.ACTIVE
        self.entries_paused = False
        self.reason = ""
        self.disabled: dict[str, str] = {}  # strategy id -> why it takes no new exposure
        self._stale: set[str] = set()
        self._rates = OrderRates(self._cfg.max_orders_per_sec_total)
        self.peak_nav = self._cfg.starting_nav
        self.day_start_nav = self._cfg.starting_nav
        self._strategy_day_start: dict[str, float] = {}
        self._limits: dict[str, StrategyLimits] = {}
        self._next_day_ns = self._midnight_after(clock.timestamp_ns())
        self._next_day_mono = self._day_deadline_mono()
        self._portfolio_pending: asyncio.TimerHandle | None = None

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        persisted = await asyncio.get_running_loop().run_in_executor(None, self._read_persisted)
        for p in persisted:
            if p.scope is Scope.GLOBAL:
                self.state, self.entries_paused, self.reason = p.state, p.entries_paused, p.reason
            elif p.scope is Scope.STRATEGY and p.target and p.state is not TradingState.ACTIVE:
                self.disabled[p.target] = p.reason
        if self.state is not TradingState.ACTIVE or self.entries_paused:
            log.warning(
                "restored trading state %s (entries paused: %s): %s",
                self.state.value,
                self.entries_paused,
                self.reason,
            )
        self._publish_state()
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

    # -- marks and the portfolio ------------------------------------------------------
    def mark_age_ms(self, symbol: str) -> float | None:
        mark = self.portfolio.mark(symbol)
        return None if mark is None else (self._clock.monotonic_ns() - mark[1]) / 1e6

    def mid(self, symbol: str) -> tuple[float | None, float | None]:
        """(mark, age in ms) of ``symbol``'s latest book, or (None, None)."""
        mark = self.portfolio.mark(symbol)
        if mark is None:
            return None, None
        return mark[0], (self._clock.monotonic_ns() - mark[1]) / 1e6

    def is_fresh(self, symbol: str) -> bool:
        age = self.mark_age_ms(symbol)
        return age is not None and age <= self._cfg.max_mid_age_ms

    def portfolio_state(self) -> PortfolioState:
        return self.portfolio.state(
            self._clock.timestamp_ns(),
            self.peak_nav,
            self.day_start_nav,
            tuple(sorted(self._stale)),
        )

    def _on_fill(self, _topic: str, _fill: Fill) -> None:
        # Coalesce a burst of fills into one portfolio update (at most one per 50 ms).
        if self._portfolio_pending is None:
            self._portfolio_pending = asyncio.get_running_loop().call_later(
                0.05, self._publish_portfolio
            )

    def _publish_portfolio(self) -> None:
        self._portfolio_pending = None
        self._bus.publish(topics.RISK_PORTFOLIO, self.portfolio_state())

    async def _portfolio_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.evaluate()
            self._bus.publish(topics.RISK_PORTFOLIO, self.portfolio_state())

    # -- breakers ------------------------------------------------------------------
    @staticmethod
    def _midnight_after(ts_ns: int) -> int:
        return (ts_ns // _DAY_NS + 1) * _DAY_NS

    def _day_deadline_mono(self) -> int:
        """The next UTC midnight on the monotonic clock (one clock read per order, not two)."""
        return self._clock.monotonic_ns() + (self._next_day_ns - self._clock.timestamp_ns())

    def _roll_day(self, nav: float) -> None:
        now = self._clock.timestamp_ns()
        self._next_day_mono = self._day_deadline_mono()
        if now < self._next_day_ns:
            return
        self._next_day_ns = self._midnight_after(now)
        self._next_day_mono = self._day_deadline_mono()
        self.day_start_nav = nav
        self._strategy_day_start = {
            s: self.portfolio.strategy_pnl(s) for s in self.portfolio.strategies()
        }
        log.info("new UTC day: NAV at the start of the day %.2f", nav)

    def strategy_day_pnl(self, strategy_id: str) -> float:
        return self.portfolio.strategy_pnl(strategy_id) - self._strategy_day_start.get(
            strategy_id, 0.0
        )

    def evaluate(self) -> None:
        """Roll the day, track the peak, trip breakers and per-strategy limits, watch marks."""
        nav = self.portfolio.nav()
        self._roll_day(nav)
        self.peak_nav = max(self.peak_nav, nav)
        breach = breached_daily_loss(nav, self.day_start_nav, self._cfg) or breached_drawdown(
            nav, self.peak_nav, self._cfg
        )
        if breach is not None:
            self._trip(breach)
        for strategy_id in self.portfolio.strategies():
            limits = self._cfg.limits_for(strategy_id)
            verdict = breached_strategy_loss(
                strategy_id, self.strategy_day_pnl(strategy_id), limits
            )
            if verdict is not None:
                self._disable(strategy_id, verdict)
        self._watch_marks()

    def _watch_marks(self) -> None:
        stale = {s for s in self.portfolio.held_symbols() if not self.is_fresh(s)}
        for symbol in sorted(stale - self._stale):
            self._risk_event(
                RiskEventKind.LIMIT_BREACH,
                f"mark for {symbol} is missing or stale: its positions count at the last known "
                "price and new exposure on it is refused",
                Scope.SYMBOL,
                symbol,
            )
        self._stale = stale

    def _trip(self, verdict: Verdict) -> None:
        if self.state is not TradingState.ACTIVE:
            return
        reason = f"breaker {verdict.code}: {verdict.reason}"
        log.error("%s: reduce-only until resumed", reason)
        self._apply_state(TradingState.REDUCING, self.entries_paused, reason)
        self._risk_event(RiskEventKind.LIMIT_BREACH, reason + "; reduce-only until resumed")

    def _disable(self, strategy_id: str, verdict: Verdict) -> None:
        if strategy_id in self.disabled:
            return
        reason = f"{verdict.code}: {verdict.reason}"
        self.disabled[strategy_id] = reason
        ts = self._clock.timestamp_ns()
        self._journal.set_trading_state(
            Scope.STRATEGY, strategy_id, TradingState.REDUCING, False, reason, ts
        )
        log.warning("strategy %s disabled: %s", strategy_id, reason)
        self._bus.publish(
            topics.RISK_STATE,
            TradingStateChanged(Scope.STRATEGY, strategy_id, TradingState.REDUCING, reason, ts),
        )
        self._risk_event(
            RiskEventKind.LIMIT_BREACH,
            f"{reason}; {strategy_id} takes no new exposure until resumed",
            Scope.STRATEGY,
            strategy_id,
        )

    # -- pre-trade ---------------------------------------------------------------
    def limits_for(self, strategy_id: str) -> StrategyLimits:
        return self._cfg.limits_for(strategy_id)

    def check(self, order: NewOrder) -> Verdict | None:
        """The engine's pre-trade verdict for ``order`` (None = allowed).

        ``pre_trade_check`` is the rule book; this runs for every order, so the
        common case (ACTIVE, a fresh mark, well inside every limit) is decided
        first by the same comparisons on plain numbers, with nothing built, and
        anything else goes to the rule book, which names the rule that refuses.
        A breach of a breaker or a strategy's loss limit found there is latched
        at once (the periodic evaluation would latch it within a second).
        """
        sid, qty = order.strategy_id, order.qty
        mark, mark_ts, _price, position, net, exposure, nav = self.portfolio.risk_inputs(
            sid, order.symbol
        )
        now = self._clock.monotonic_ns()
        if now >= self._next_day_mono:
            self._roll_day(nav)
        if nav > self.peak_nav:
            self.peak_nav = nav
        limits = self._limits.get(sid)
        if limits is None:
            limits = self._limits[sid] = self._cfg.limits_for(sid)
        signed = qty if order.side is Side.BUY else -qty
        entry = abs(position + signed) > abs(position) + 1e-12  # as increases_exposure
        cfg = self._cfg
        px = order.price
        if (
            self.state is TradingState.ACTIVE
            and not self.entries_paused
            and mark is not None
            and mark > 0
            and (now - mark_ts) / 1e6 <= cfg.max_mid_age_ms
            and (
                px is None
                or order.order_type is not OrderType.LIMIT
                or abs(px / mark - 1.0) * 1e4 <= cfg.collar_bps
            )
        ):
            if px is None:
                px = mark
            notional = qty * px
            if notional <= cfg.max_order_notional and (
                not entry
                or self._entry_within_limits(
                    order, signed, px, limits, position, net, exposure, nav
                )
            ):
                return self._rates.allow(sid, now, limits.max_orders_per_sec)
        verdict = pre_trade_check(order, self.order_context(order), cfg, entry)
        if verdict is not None:
            if verdict.code in _BREAKERS:
                self._trip(verdict)
            elif verdict.code == "STRATEGY_DAILY_LOSS":
                self._disable(sid, verdict)
            return verdict
        return self._rates.allow(sid, now, limits.max_orders_per_sec)

    def order_context(self, order: NewOrder) -> OrderContext:
        """What the rule book (``pre_trade_check``) is told of ``order`` now."""
        sid = order.strategy_id
        mark, mark_ts, price, position, net, exposure, nav = self.portfolio.risk_inputs(
            sid, order.symbol
        )
        entry = increases_exposure(order, position)
        return OrderContext(
            self.state,
            self.entries_paused,
            sid in self.disabled,
            mark,
            None if mark is None else (self._clock.monotonic_ns() - mark_ts) / 1e6,
            price,
            position,
            self._orders.open_qty(sid, order.symbol, order.side),
            net,
            exposure,
            nav,
            max(self.peak_nav, nav),
            self.day_start_nav,
            # Only an entry meets the strategy's loss limit (a pass over its positions).
            self.strategy_day_pnl(sid) if entry else 0.0,
            self.limits_for(sid),
        )

    def _entry_within_limits(
        self,
        order: NewOrder,
        signed: float,
        px: float,
        limits: StrategyLimits,
        position: float,
        net: float,
        exposure: float,
        nav: float,
    ) -> bool:
        """The entry rules of ``pre_trade_check`` for an ACTIVE engine: True if none refuses."""
        sid, cfg = order.strategy_id, self._cfg
        open_qty = self._orders.open_qty(sid, order.symbol, order.side)
        net_after = abs(net + signed) * px
        peak = self.peak_nav
        return (
            sid not in self.disabled
            and abs(position + (open_qty if signed > 0 else -open_qty) + signed) * px
            <= limits.max_position_notional
            and (net_after <= cfg.max_position_notional or net_after <= abs(net) * px)
            and exposure + order.qty * px <= cfg.max_total_exposure
            and self.day_start_nav - nav <= cfg.daily_loss_limit
            and (peak <= 0 or 1.0 - nav / peak <= cfg.max_drawdown_pct)
            and -self.strategy_day_pnl(sid) <= limits.daily_loss_limit
        )

    # -- operator actions ----------------------------------------------------------
    def _apply_state(self, state: TradingState, entries_paused: bool, reason: str) -> None:
        ts = self._clock.timestamp_ns()
        self._journal.set_trading_state(Scope.GLOBAL, None, state, entries_paused, reason, ts)
        self.state, self.entries_paused, self.reason = state, entries_paused, reason
        self._publish_state()

    async def _set_state(self, state: TradingState, entries_paused: bool, reason: str) -> None:
        """Journal first (awaited), then take effect: an operator's change survives a crash."""
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

    def _risk_event(
        self,
        kind: RiskEventKind,
        message: str,
        scope: Scope = Scope.GLOBAL,
        target: str | None = None,
    ) -> None:
        event = RiskEvent(kind, message, self._clock.timestamp_ns(), scope, target)
        self._journal.record_risk_event(event)
        self._bus.publish(topics.RISK_EVENT, event)

    def refused(self, order: NewOrder, verdict: Verdict) -> RiskEvent:
        """Journal and publish the refusal of ``order`` (the gateway calls this)."""
        event = RiskEvent(
            RiskEventKind.ORDER_REFUSED,
            f"{order.side.value} {order.qty:g} {order.symbol} refused: "
            f"{verdict.code}: {verdict.reason}",
            self._clock.timestamp_ns(),
            Scope.STRATEGY,
            order.strategy_id,
        )
        self._journal.record_risk_event(event)
        self._bus.publish(topics.RISK_EVENT, event)
        return event

    async def halt(self, reason: str) -> None:
        """Enter HALTED in the engine (the gateway carries it to the core)."""
        await self._set_state(TradingState.HALTED, self.entries_paused, reason)
        self._risk_event(RiskEventKind.KILL_SWITCH, f"kill switch: {reason}")

    async def pause_entries(self, paused: bool = True, reason: str = "operator") -> None:
        """Stop (or allow again) new entries; exits keep being managed."""
        await self._set_state(self.state, paused, reason)
        self._risk_event(
            RiskEventKind.PAUSE_ENTRIES, f"entries {'paused' if paused else 'allowed'}: {reason}"
        )

    async def resume(self, reason: str = "operator") -> None:
        """Back to ACTIVE: the only way out of HALTED or a tripped breaker."""
        await self._set_state(TradingState.ACTIVE, False, reason)
        # The breakers start over from here: today's loss and the peak count from now.
        nav = self.portfolio.nav()
        self.day_start_nav = nav
        self.peak_nav = nav
        self._risk_event(RiskEventKind.RESUMED, f"resumed: {reason}")

    async def resume_strategy(self, strategy_id: str, reason: str = "operator") -> None:
        """Let a disabled strategy take new exposure again (its loss counts from now)."""
        ts = self._clock.timestamp_ns()
        await asyncio.wrap_future(
            self._journal.set_trading_state(
                Scope.STRATEGY, strategy_id, TradingState.ACTIVE, False, reason, ts
            )
        )
        self.disabled.pop(strategy_id, None)
        self._strategy_day_start[strategy_id] = self.portfolio.strategy_pnl(strategy_id)
        self._bus.publish(
            topics.RISK_STATE,
            TradingStateChanged(Scope.STRATEGY, strategy_id, TradingState.ACTIVE, reason, ts),
        )
        self._risk_event(
            RiskEventKind.RESUMED, f"{strategy_id} resumed: {reason}", Scope.STRATEGY, strategy_id
        )
