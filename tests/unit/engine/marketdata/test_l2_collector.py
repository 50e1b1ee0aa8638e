"""L2Collector: samples books, records trades, rotates Parquet files, writes off the loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import SimClock
from engine.core.tasks import TaskSupervisor
from engine.marketdata.config import L2CollectorConfig
from engine.marketdata.l2_collector import L2Collector
from engine.marketdata.recording import read_l2_parquet
from engine.model.enums import Side
from engine.model.market import BookSnapshot, Trade

MS = 1_000_000
T0 = 1_704_067_200 * 1_000_000_000


def _book(i: int, ts: int) -> BookSnapshot:
    bids = np.array([[100.0 - k, 1.0 + i] for k in range(5)])
    asks = np.array([[101.0 + k, 2.0] for k in range(5)])
    return BookSnapshot("BTC/USDT", ts, ts, bids, asks, i)


async def _flush_bus(bus: EventBus) -> None:
    await bus.flush(timeout=2.0)


async def test_collector_samples_books_records_trades_and_rotates(tmp_path: Path) -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    clock = SimClock(T0)
    cfg = L2CollectorConfig(enabled=True, depth=3, interval_ms=100, rotate_minutes=1, flush_rows=5)
    collector = L2Collector(bus, clock, cfg, sup, tmp_path)
    await collector.start()
    for i in range(20):  # one book every 40 ms -> kept every third (>= 100 ms apart)
        bus.publish(topics.md_book("BTC/USDT"), _book(i, T0 + i * 40 * MS))
    await _flush_bus(bus)
    clock.advance(61 * 1_000_000_000)  # past the rotation period
    for i in range(7):
        bus.publish(
            topics.md_trade("BTC/USDT"),
            Trade("BTC/USDT", T0 + i, T0 + i, 100.5, 0.1, Side.SELL, f"t{i}", i),
        )
    await _flush_bus(bus)
    await collector.stop()
    await collector.stop()
    await sup.stop()
    assert collector.recorded_books == 7
    assert collector.recorded_trades == 7
    assert collector.write_errors == 0
    assert len([f for f in collector.files if f.parent.name == "book"]) == 2  # rotated once
    records = list(read_l2_parquet(tmp_path))
    books = [r for r in records if isinstance(r, BookSnapshot)]
    assert [b.seq for b in books] == [0, 3, 6, 9, 12, 15, 18]
    assert all(b.bids.shape == (3, 2) for b in books)
    assert [t.trade_id for t in records if isinstance(t, Trade)] == [f"t{i}" for i in range(7)]


async def test_disabled_collector_subscribes_to_nothing(tmp_path: Path) -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    collector = L2Collector(bus, SimClock(T0), L2CollectorConfig(enabled=False), sup, tmp_path)
    await collector.start()
    bus.publish(topics.md_book("BTC/USDT"), _book(0, T0))
    await asyncio.sleep(0)
    await collector.stop()
    await sup.stop()
    assert collector.recorded_books == 0
    assert not list(tmp_path.glob("**/*.parquet"))  # noqa: ASYNC240 - a tiny test directory
