"""RiskManager on a simulated clock: fail-closed marks, per-strategy limits, latched breakers.

A real portfolio, order tracker, bus and SQLite journal; only time is simulated.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import SimClock
from engine.core.tasks import TaskSupervisor
from engine.execution.order_tracker import OrderTracker
from engine.execution.portfolio import Portfolio
from engine.journal import Journal
from engine.journal.queries import JournalReader
from engine.model.commands import NewOrder
from engine.model.enums import OrderType, RiskEventKind, Scope, Side, TradingState
from engine.model.events import Fill, RiskEvent
from engine.risk.manager import RiskManager
from tests.kit.configs import make_config

SYMBOL = "BTC/USDT"
SEC = 1_000_000_000
# 2026-03-01 23:00:00 UTC: one hour before a UTC day boundary.
T0 = int(dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC).timestamp()) * SEC
RISK = {
    "starting_nav": 100_000.0,
    "max_mid_age_ms": 1_000,
    "daily_loss_limit": 1_000.0,
    "max_drawdown_pct": 0.05,
    "max_order_notional": 50_000.0,
    "max_position_notional": 60_000.0,
    "max_total_exposure": 90_000.0,
    "strategy": {
        "max_position_notional": 20_000.0,
        "max_orders_per_sec": 5.0,
        "daily_loss_limit": 400.0,
    },
    "strategy_overrides": {"slow": {"max_position_notional": 20_000.0, "max_orders_per_sec": 2.0}},
}


@dataclass
class Kit:
    risk: RiskManager
    portfolio: Portfolio
    clock: SimClock
    journal: Journal
    supervisor: TaskSupervisor
    orders: OrderTracker
    events: list[RiskEvent] = field(default_factory=list)
    fills: int = 0

    def mark(self, price: float, symbol: str = SYMBOL) -> None:
        self.portfolio.on_mark(symbol, price, self.clock.monotonic_ns())

    def fill(
        self, strategy: str, side: Side, qty: float, price: float, symbol: str = SYMBOL
    ) -> None:
        self.fills += 1
        n = self.fills
        ts = self.clock.timestamp_ns()
        self.portfolio.on_fill(
            Fill(f"E{n}", f"c{n}", strategy, symbol, side, qty, price, 0.0, "USDT", None, ts, ts)
        )

    def code(self, order: NewOrder) -> str | None:
        verdict = self.risk.check(order)
        return None if verdict is None else verdict.code

    def advance(self, seconds: float) -> None:
        self.clock.advance(int(seconds * SEC))

    def kinds(self) -> list[RiskEventKind]:
        return [e.kind for e in self.events]

    async def close(self) -> None:
        await self.risk.stop()
        await self.supervisor.stop()
        self.journal.close()


def order(
    strategy: str = "a",
    side: Side = Side.BUY,
    qty: float = 0.1,
    *,
    reduce_only: bool = False,
    symbol: str = SYMBOL,
) -> NewOrder:
    return NewOrder("c", strategy, symbol, side, OrderType.MARKET, qty, reduce_only=reduce_only)


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    k = await start_kit(tmp_path)
    yield k
    await k.close()


async def start_kit(tmp_path: Path, **risk: Any) -> Kit:
    clock = SimClock(T0)
    supervisor = TaskSupervisor()
    bus = EventBus(supervisor)
    journal = Journal(tmp_path / "journal.sqlite")
    journal.open()
    portfolio = Portfolio(100_000.0)
    config = make_config(tmp_path, risk={**RISK, **risk})
    orders = OrderTracker()
    manager = RiskManager(config, bus, clock, supervisor, journal, portfolio, orders)
    k = Kit(manager, portfolio, clock, journal, supervisor, orders)
    bus.subscribe(topics.RISK_EVENT, lambda _t, e: k.events.append(e), direct=True)
    await manager.start()
    return k


def _persisted(journal: Journal) -> dict[tuple[Scope, str | None], TradingState]:
    reader = JournalReader(journal.path)
    try:
        return {(p.scope, p.target): p.state for p in reader.trading_states()}
    finally:
        reader.close()


async def _committed(journal: Journal) -> None:
    await asyncio.wrap_future(journal.submit("SELECT 1"))


# -- marks ----------------------------------------------------------------------------
async def test_a_symbol_without_a_mark_refuses_new_exposure_but_not_an_exit(kit: Kit) -> None:
    assert kit.code(order()) == "STALE_MARK"
    kit.fill("a", Side.BUY, 0.1, 50_000.0)  # a position from before (e.g. adopted at reconcile)
    assert kit.code(order(side=Side.SELL, reduce_only=True)) is None
    kit.mark(50_000.0)
    assert kit.code(order()) is None


async def test_a_stale_mark_blocks_entries_until_a_fresh_one_and_values_at_last_price(
    kit: Kit,
) -> None:
    kit.mark(50_000.0)
    kit.fill("a", Side.BUY, 0.2, 50_000.0)
    kit.mark(51_000.0)
    kit.advance(1.5)  # older than max_mid_age_ms = 1,000
    assert kit.code(order()) == "STALE_MARK"
    assert kit.code(order("b")) == "STALE_MARK"  # the symbol, for every strategy
    assert kit.code(order(side=Side.SELL, reduce_only=True)) is None
    kit.risk.evaluate()
    state = kit.risk.portfolio_state()
    assert state.stale_symbols == (SYMBOL,)
    assert state.exposure == pytest.approx(0.2 * 51_000.0)  # at its last known price, never 0
    assert RiskEventKind.LIMIT_BREACH in kit.kinds()
    kit.mark(51_100.0)
    assert kit.code(order()) is None
    kit.risk.evaluate()
    assert kit.risk.portfolio_state().stale_symbols == ()


# -- per-strategy limits ------------------------------------------------------------
async def test_a_strategys_position_limit_counts_its_open_orders_and_spares_the_others(
    kit: Kit,
) -> None:
    kit.mark(50_000.0)
    kit.fill("a", Side.BUY, 0.3, 50_000.0)  # 15,000 of a's 20,000
    assert kit.code(order("a", qty=0.1)) is None  # 20,000: at the limit
    assert kit.code(order("a", qty=0.11)) == "STRATEGY_MAX_POSITION"
    assert kit.code(order("b", qty=0.3)) is None


async def test_the_global_position_limit_is_net_over_strategies(kit: Kit) -> None:
    kit.mark(50_000.0)
    for s in ("a", "b", "c"):
        kit.fill(s, Side.BUY, 0.38, 50_000.0)  # 57,000 net
    assert kit.code(order("d", qty=0.1)) == "MAX_POSITION"
    assert kit.code(order("d", side=Side.SELL, qty=0.1)) is None  # shrinks the net position


async def test_a_strategys_order_rate_is_its_own(kit: Kit) -> None:
    kit.mark(50_000.0)
    assert [kit.code(order("slow", qty=0.01)) for _ in range(3)] == [None, None, "RATE_LIMIT"]
    assert kit.code(order("fast", qty=0.01)) is None
    kit.advance(1.0)
    kit.mark(50_000.0)
    assert kit.code(order("slow", qty=0.01)) is None


async def test_a_strategys_daily_loss_disables_only_it_until_resumed(kit: Kit) -> None:
    kit.mark(50_000.0)
    kit.fill("a", Side.BUY, 0.1, 50_000.0)
    kit.fill("b", Side.BUY, 0.01, 50_000.0)
    kit.mark(45_000.0)  # a: -500 < -400; b: -50
    assert kit.code(order("a")) == "STRATEGY_DAILY_LOSS"
    assert "a" in kit.risk.disabled
    assert kit.code(order("a")) == "STRATEGY_DISABLED"
    assert kit.code(order("b")) is None
    assert kit.code(order("a", side=Side.SELL, reduce_only=True)) is None
    kit.mark(50_000.0)  # a recovers: still disabled, only a resume re-opens it
    assert kit.code(order("a")) == "STRATEGY_DISABLED"
    await _committed(kit.journal)
    assert _persisted(kit.journal)[(Scope.STRATEGY, "a")] is TradingState.REDUCING
    await kit.risk.resume_strategy("a")
    assert kit.code(order("a")) is None
    assert _persisted(kit.journal)[(Scope.STRATEGY, "a")] is TradingState.ACTIVE


async def test_a_disabled_strategy_stays_disabled_after_a_restart(tmp_path: Path) -> None:
    first = await start_kit(tmp_path)
    first.mark(50_000.0)
    first.fill("a", Side.BUY, 0.1, 50_000.0)
    first.mark(45_000.0)
    first.risk.evaluate()  # the periodic evaluation trips it without any order
    assert "a" in first.risk.disabled
    await _committed(first.journal)
    await first.close()
    second = await start_kit(tmp_path)
    second.mark(50_000.0)
    assert second.code(order("a")) == "STRATEGY_DISABLED"
    assert second.code(order("b")) is None
    await second.close()


# -- breakers on NAV at mark ------------------------------------------------------------
async def test_the_daily_loss_counts_from_midnight_utc(kit: Kit) -> None:
    kit.mark(50_000.0)
    for s in ("a", "b", "c", "d", "e"):
        kit.fill(s, Side.BUY, 0.1, 50_000.0)
    kit.mark(48_800.0)  # day 1: -600 of NAV (limit 1,000)
    assert kit.code(order("f", qty=0.01)) is None
    kit.advance(3_600)  # 00:00 UTC: a new day starts at today's NAV
    kit.mark(48_800.0)
    kit.risk.evaluate()
    assert kit.risk.day_start_nav == pytest.approx(100_000.0 - 600.0)
    kit.mark(47_600.0)  # another -600: 1,200 in two days, 600 today
    assert kit.code(order("f", qty=0.01)) is None
    assert kit.risk.state is TradingState.ACTIVE


async def test_a_daily_loss_breach_latches_reduce_only_across_midnight_until_resume(
    kit: Kit,
) -> None:
    kit.mark(50_000.0)
    for s in ("a", "b", "c"):
        kit.fill(s, Side.BUY, 0.1, 50_000.0)
    kit.mark(46_500.0)  # -1,050 since the start of the day
    assert kit.code(order("z", qty=0.01)) == "DAILY_LOSS"
    assert kit.risk.state is TradingState.REDUCING
    assert kit.code(order("z", qty=0.01)) == "REDUCE_ONLY"
    assert kit.code(order("a", side=Side.SELL, reduce_only=True)) is None
    kit.advance(3_600 + 60)  # next UTC day, NAV recovered: still latched
    kit.mark(50_000.0)
    kit.risk.evaluate()
    assert kit.risk.state is TradingState.REDUCING
    assert kit.code(order("z", qty=0.01)) == "REDUCE_ONLY"
    await kit.risk.resume("operator")
    assert kit.risk.state is TradingState.ACTIVE
    assert kit.code(order("z", qty=0.01)) is None
    assert RiskEventKind.RESUMED in kit.kinds()


async def test_the_drawdown_breaker_trips_from_the_periodic_evaluation(tmp_path: Path) -> None:
    kit = await start_kit(tmp_path, strategy={"max_position_notional": 30_000.0})
    kit.mark(50_000.0)
    kit.fill("a", Side.BUY, 0.4, 50_000.0)
    kit.mark(60_000.0)  # NAV 104,000: a new peak
    kit.risk.evaluate()
    assert kit.risk.peak_nav == pytest.approx(104_000.0)
    kit.mark(47_000.0)  # NAV 98,800: 5.0% below the peak, but only -1,200 since the day start
    kit.advance(3_600)  # a new day, so only the drawdown can trip
    kit.mark(47_000.0)
    kit.risk.evaluate()
    kit.mark(46_000.0)  # NAV 98,400: 5.4% drawdown
    kit.risk.evaluate()
    assert kit.risk.state is TradingState.REDUCING
    assert "DRAWDOWN" in kit.risk.reason
    await kit.close()
    assert _persisted(kit.journal)[(Scope.GLOBAL, None)] is TradingState.REDUCING


# -- operator states ---------------------------------------------------------------------
async def test_reduce_only_exits_pass_while_entries_are_paused(kit: Kit) -> None:
    kit.mark(50_000.0)
    kit.fill("a", Side.BUY, 0.1, 50_000.0)
    await kit.risk.pause_entries(True)
    assert kit.code(order("a")) == "ENTRIES_PAUSED"
    assert kit.code(order("a", side=Side.SELL, reduce_only=True)) is None
    assert kit.code(order("a", side=Side.SELL)) is None  # a plain exit too


async def test_only_resume_reopens_a_halted_engine(kit: Kit) -> None:
    kit.mark(50_000.0)
    await kit.risk.halt("test")
    for _ in range(3):
        kit.advance(12 * 3_600)
        kit.mark(50_000.0)
        kit.risk.evaluate()
        assert kit.code(order()) == "HALTED"
    await kit.risk.pause_entries(False)
    assert kit.code(order()) == "HALTED"
    await kit.risk.resume()
    assert kit.code(order()) is None
