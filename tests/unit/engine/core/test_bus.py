"""EventBus: typed topics, lossy market data with a drop counter, reliable order events."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.tasks import TaskSupervisor
from engine.model.enums import OrderStatus, OrderType, RiskEventKind, Side
from engine.model.events import OrderUpdate, RiskEvent
from engine.model.market import Trade


def _trade(i: int) -> Trade:
    return Trade("BTC/USDT", i, i, 100.0 + i, 1.0, Side.BUY, f"t{i}")


def _update(i: int) -> OrderUpdate:
    return OrderUpdate(
        seq=i,
        client_order_id=f"c{i}",
        venue_order_id=None,
        strategy_id="a1",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        status=OrderStatus.NEW,
        price=None,
        qty=1.0,
        cum_qty=0.0,
        avg_price=0.0,
        leaves_qty=1.0,
        ts_event=i,
        ts_init=i,
    )


async def test_bus_publish_wrong_type_raises_type_error() -> None:
    bus = EventBus(TaskSupervisor())
    with pytest.raises(TypeError, match=r"md\.trade"):
        bus.publish(topics.md_trade("BTC/USDT"), _update(1))


async def test_bus_wildcard_subscriber_receives_every_symbol_in_order() -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    got: list[tuple[str, Any]] = []
    bus.subscribe(topics.all_of("md.trade"), lambda t, m: got.append((t, m.trade_id)))
    bus.publish(topics.md_trade("BTC/USDT"), _trade(1))
    bus.publish(topics.md_trade("ETH/USDT"), _trade(2))
    bus.publish(topics.RISK_EVENT, RiskEvent(RiskEventKind.DEADMAN, "x", 0))
    await bus.flush()
    assert got == [("md.trade.BTC/USDT", "t1"), ("md.trade.ETH/USDT", "t2")]
    await sup.stop()


async def test_bus_slow_subscriber_drops_oldest_market_data_and_counts_it() -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup, md_queue_size=16)
    seen: list[int] = []
    bus.subscribe(topics.all_of("md.trade"), lambda _t, m: seen.append(m.ts_event), name="slow")
    for i in range(100):  # published in one go: the subscriber cannot run in between
        bus.publish(topics.md_trade("BTC/USDT"), _trade(i))
    await bus.flush()
    assert bus.dropped == 84
    assert bus.stats()["slow"]["dropped"] == 84
    assert seen == list(range(84, 100))  # the newest survive, in order
    await sup.stop()


async def test_bus_never_drops_order_updates_even_past_capacity() -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup, md_queue_size=16)
    seen: list[int] = []
    bus.subscribe(topics.all_of("exec.order"), lambda _t, m: seen.append(m.seq))
    for i in range(5_000):
        bus.publish(topics.exec_order("a1"), _update(i))
    await bus.flush()
    assert seen == list(range(5_000))
    assert bus.dropped == 0
    await sup.stop()


async def test_bus_failing_handler_is_logged_and_keeps_receiving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    seen: list[int] = []

    def flaky(_t: str, m: OrderUpdate) -> None:
        if m.seq == 2:
            raise RuntimeError("boom")
        seen.append(m.seq)

    bus.subscribe(topics.all_of("exec.order"), flaky, name="flaky")
    with caplog.at_level(logging.ERROR):
        for i in range(1, 5):
            bus.publish(topics.exec_order("a1"), _update(i))
        await bus.flush()
    assert seen == [1, 3, 4]
    assert bus.stats()["flaky"]["errors"] == 1
    assert "flaky" in caplog.text
    assert "boom" in caplog.text
    await sup.stop()


async def test_bus_async_handler_is_awaited() -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    seen: list[int] = []

    async def handler(_t: str, m: OrderUpdate) -> None:
        await asyncio.sleep(0)
        seen.append(m.seq)

    bus.subscribe(topics.all_of("exec.order"), handler)
    for i in range(10):
        bus.publish(topics.exec_order("a1"), _update(i))
    await bus.flush()
    assert seen == list(range(10))
    await sup.stop()


async def test_bus_direct_subscriber_is_called_inline() -> None:
    bus = EventBus(TaskSupervisor())
    seen: list[int] = []
    bus.subscribe(topics.all_of("exec.order"), lambda _t, m: seen.append(m.seq), direct=True)
    bus.publish(topics.exec_order("a1"), _update(7))
    assert seen == [7]
