"""Replay as a source, Parquet recordings, and the feed that publishes onto the bus."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import SimClock
from engine.core.errors import DataError
from engine.core.tasks import TaskSupervisor
from engine.marketdata import replay_source
from engine.marketdata.config import DataConfig
from engine.marketdata.feed import MarketDataFeed
from engine.marketdata.recording import books_to_table, read_l2_parquet, trades_to_table
from engine.marketdata.replay_source import ReplaySource, open_recording, recording_format
from engine.model.enums import Side
from engine.model.events import BookStatus
from engine.model.market import BookSnapshot, Trade

T0 = 1_704_067_200_000_000_000


def _book(seq: int, ts: int, bid: float = 100.0) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "BookSnapshot",
        "symbol": "BTC/USDT",
        "seq": seq,
        "ts_event": ts,
        "bids": [[bid, 1.0], [bid - 0.5, 2.0]],
        "asks": [[bid + 0.5, 1.0]],
    }


def _trade(seq: int, ts: int) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "Trade",
        "symbol": "BTC/USDT",
        "seq": seq,
        "ts_event": ts,
        "price": 100.5,
        "qty": 0.1,
        "aggressor": "SELL",
        "trade_id": f"T-{seq}",
    }


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_recording_round_trips_books_and_trades_in_time_order(tmp_path: Path) -> None:
    books = [
        BookSnapshot(
            "BTC/USDT",
            T0 + i * 10,
            T0,
            np.array([[100.0 + i, 1.0], [99.0, 2.0]]),
            np.array([[101.0 + i, 1.0]]),
            i + 1,
        )
        for i in range(3)
    ]
    trades = [
        Trade("BTC/USDT", T0 + 5 + i * 10, T0, 100.5, 0.2, Side.BUY, f"t{i}", 10 + i)
        for i in range(3)
    ]
    (tmp_path / "b").mkdir()
    pq.write_table(books_to_table(books, depth=1), tmp_path / "b" / "1.parquet")
    pq.write_table(trades_to_table(trades), tmp_path / "t.parquet")
    out = list(read_l2_parquet(tmp_path))
    assert [r.ts_event for r in out] == sorted(r.ts_event for r in out)
    got_books = [r for r in out if isinstance(r, BookSnapshot)]
    assert [b.bids.tolist() for b in got_books] == [[[100.0 + i, 1.0]] for i in range(3)]
    assert [t.trade_id for t in out if isinstance(t, Trade)] == ["t0", "t1", "t2"]


def test_recording_format_is_detected_from_content(tmp_path: Path) -> None:
    jsonl = _jsonl(tmp_path / "x.jsonl", [_book(1, T0)])
    capture = tmp_path / "cap.txt"
    capture.write_text('123 {"stream":"ethusdt@trade","data":{}}\n')
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    assert recording_format(jsonl) == "jsonl"
    assert recording_format(capture) == "binance"
    with pytest.raises(DataError, match="not a Binance capture"):
        open_recording(junk)


async def test_replay_source_yields_records_and_moves_a_sim_clock(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "x.jsonl", [_book(1, T0 + 5), _trade(2, T0 + 9), _book(3, T0 + 20)])
    clock = SimClock(T0)
    source = ReplaySource([path], clock)
    events = [e async for e in source.events()]
    assert [type(e).__name__ for e in events] == ["BookSnapshot", "Trade", "BookSnapshot"]
    assert clock.timestamp_ns() == T0 + 20
    assert [e.ts_init for e in events if not isinstance(e, BookStatus)] == [T0 + 5, T0 + 9, T0 + 20]


class _ManualClock:
    """A live-like clock (not a SimClock, so the replay paces) that moves only when slept."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def timestamp_ns(self) -> int:
        return self.now_ns

    def monotonic_ns(self) -> int:
        return self.now_ns


class _PacingAsyncio:
    """Stands in for asyncio in replay_source: records each sleep and moves the clock by it."""

    def __init__(self, clock: _ManualClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float) -> None:
        if delay > 0:
            self.slept.append(delay)
            self.clock.now_ns += round(delay * 1e9)
        await asyncio.sleep(0)


async def test_replay_source_at_a_speed_paces_by_event_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ms = 1_000_000
    gaps = [_book(1, T0), _book(2, T0 + 200 * ms), _book(3, T0 + 600 * ms)]
    path = _jsonl(tmp_path / "x.jsonl", gaps)
    clock = _ManualClock(T0)
    pacing = _PacingAsyncio(clock)
    monkeypatch.setattr(replay_source, "asyncio", pacing)
    events = [e async for e in ReplaySource([path], clock, speed=2.0).events()]
    # Event gaps of 200 and 400 ms at speed 2: it waits 100 then 200 ms, each event on time.
    assert pacing.slept == [pytest.approx(0.1), pytest.approx(0.2)]
    books = [e for e in events if not isinstance(e, BookStatus)]
    assert [e.ts_init for e in books] == [T0, T0 + 100 * ms, T0 + 300 * ms]


async def _run_feed(
    path: Path, max_age_ms: int = 60_000
) -> tuple[list[tuple[str, Any]], MarketDataFeed]:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    seen: list[tuple[str, Any]] = []
    bus.subscribe("md.*", lambda topic, msg: seen.append((topic, msg)), name="test", direct=True)
    feed = MarketDataFeed(
        bus,
        SimClock(T0),
        DataConfig(book_max_age_ms=max_age_ms),
        sup,
        ReplaySource([path], SimClock(T0)),
    )
    await feed.start()
    for _ in range(200):
        if any(
            t == topics.md_status("BTC/USDT") and m.reason == "market data source stopped"
            for t, m in seen
        ):
            break
        await asyncio.sleep(0.01)
    await feed.stop()
    await feed.stop()  # idempotent
    await sup.stop()
    return seen, feed


async def test_feed_publishes_books_trades_and_marks_a_gap_stale(tmp_path: Path) -> None:
    rows = [
        _book(1, T0 + 1),
        _trade(2, T0 + 2),
        _book(3, T0 + 3),
        _book(7, T0 + 4),
        _book(8, T0 + 5),
    ]
    seen, feed = await _run_feed(_jsonl(tmp_path / "x.jsonl", rows))
    books = [m for t, m in seen if t == topics.md_book("BTC/USDT")]
    statuses = [(m.stale, m.reason) for t, m in seen if t == topics.md_status("BTC/USDT")]
    assert [b.stale for b in books] == [False, False, True, False]
    assert [s for s, _ in statuses] == [False, True, False, True]
    assert "3 -> 7" in statuses[1][1]
    assert statuses[-1][1] == "market data source stopped"
    assert [t for t, _ in seen].count(topics.md_trade("BTC/USDT")) == 1
    assert feed.counts["books"] == 4


async def test_feed_marks_a_crossed_book_stale(tmp_path: Path) -> None:
    crossed = _book(2, T0 + 2) | {"bids": [[101.0, 1.0]], "asks": [[100.0, 1.0]]}
    seen, _ = await _run_feed(
        _jsonl(tmp_path / "x.jsonl", [_book(1, T0 + 1), crossed, _book(3, T0 + 3)])
    )
    books = [m for t, m in seen if t == topics.md_book("BTC/USDT")]
    assert [b.stale for b in books] == [False, True, False]


def test_make_source_follows_the_configured_source(tmp_path: Path) -> None:
    from engine.marketdata.ccxt_source import CcxtLiveSource
    from engine.marketdata.source import make_source
    from tests.kit.configs import make_config

    clock = SimClock(T0)
    assert make_source(make_config(tmp_path), clock) is None
    replay = make_source(
        make_config(
            tmp_path, data={"source": "replay", "replay": {"files": ["rec.jsonl"], "speed": 2.0}}
        ),
        clock,
    )
    assert isinstance(replay, ReplaySource)
    assert replay.paths == [tmp_path / "rec.jsonl"]
    assert replay.speed == 2.0
    assert isinstance(
        make_source(make_config(tmp_path, data={"source": "ccxt"}), clock), CcxtLiveSource
    )
