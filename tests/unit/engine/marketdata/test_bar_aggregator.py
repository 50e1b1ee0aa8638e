"""BarAggregator: trades on the bus become 1m and resampled bars on the bus."""

from __future__ import annotations

from typing import Any

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import SimClock
from engine.core.tasks import TaskSupervisor
from engine.marketdata.bar_aggregator import BarAggregator
from engine.marketdata.config import DataConfig
from engine.model.enums import Side
from engine.model.market import Bar, Trade

MIN = 60_000_000_000
T0 = 1_704_067_200 * 1_000_000_000


def _trade(minute: float, price: float) -> Trade:
    ts = T0 + int(minute * MIN)
    return Trade("ETH/USDT", ts, ts, price, 1.0, Side.BUY, str(ts))


async def test_aggregator_publishes_1m_and_15m_bars_from_trades() -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    clock = SimClock(T0)
    bars: list[Bar] = []
    bus.subscribe("md.bar.*", lambda _t, m: bars.append(m), name="test", direct=True)
    agg = BarAggregator(bus, clock, DataConfig(bar_timeframes=("1m", "15m")), sup)
    await agg.start()
    for minute in range(16):
        agg.on_trade(topics.md_trade("ETH/USDT"), _trade(minute + 0.5, 100.0 + minute))
    await agg.stop()
    await agg.stop()
    await sup.stop()
    one = [b for b in bars if b.timeframe == "1m"]
    fifteen = [b for b in bars if b.timeframe == "15m"]
    assert [b.close for b in one] == [100.0 + m for m in range(15)]
    assert len(fifteen) == 1
    assert fifteen[0].open == 100.0
    assert fifteen[0].close == 114.0
    assert fifteen[0].volume == 15.0
    assert fifteen[0].closed


async def test_aggregator_timer_closes_quiet_minutes_in_venue_time() -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    clock = SimClock(10**18)  # the local clock is far from the venue's; only elapsed time counts
    bars: list[Any] = []
    bus.subscribe("md.bar.*", lambda _t, m: bars.append(m), name="test", direct=True)
    agg = BarAggregator(bus, clock, DataConfig(bar_timeframes=("1m",)), sup)
    agg.on_trade(topics.md_trade("ETH/USDT"), _trade(0.9, 100.0))
    agg.on_time(clock.monotonic_ns())
    assert bars == []
    clock.advance(int(0.1 * MIN) + 2_000_000_001)
    agg.on_time(clock.monotonic_ns())
    assert [(b.ts_open, b.close) for b in bars] == [(T0, 100.0)]
    await sup.stop()
