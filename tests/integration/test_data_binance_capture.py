"""Replay of the real Binance ETHUSDT capture (../shared/data/l2): book rebuilt by snapshot + diffs.

Checks continuity (one sync, no update-id gap, every applied diff contiguous)
and that the rebuilt best bid/ask agree with the capture's own ``@bookTicker``
stream. For each rebuilt book (after diff ``u``) the reference is the latest
bookTicker with update id ``<= u``: Binance sends a bookTicker on every change
of the best levels, so that message describes the top of book at ``u``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from engine.core.bus import EventBus
from engine.core.clock import SimClock
from engine.core.tasks import TaskSupervisor
from engine.marketdata.config import DataConfig
from engine.marketdata.feed import MarketDataFeed
from engine.marketdata.replay import read_binance_capture, read_book_tickers
from engine.marketdata.replay_source import ReplaySource
from engine.model.events import BookStatus
from engine.model.market import BookSnapshot, Trade

CAPTURE = "l2/binance_spot_ethusdt_20240808.gz"


@pytest.fixture(scope="module")
def capture(shared_data_dir: Path) -> Path:
    path = shared_data_dir / CAPTURE
    if not path.is_file():
        pytest.skip(f"Binance capture not present at {path}")
    return path


def test_capture_replay_is_continuous_and_agrees_with_book_ticker(capture: Path) -> None:
    books: list[tuple[int, float, float, float, float]] = []
    statuses: list[BookStatus] = []
    trades = 0
    for record in read_binance_capture(capture, depth=20):
        if isinstance(record, BookSnapshot):
            assert not record.is_crossed
            books.append(
                (record.seq, record.best_bid, record.best_ask, record.bids[0, 1], record.asks[0, 1])
            )
        elif isinstance(record, Trade):
            trades += 1
        else:
            statuses.append(record)

    assert [s.stale for s in statuses] == [False], statuses  # synced once, never lost
    seqs = [b[0] for b in books]
    assert seqs == sorted(seqs)
    assert len(books) > 3_000
    assert trades > 6_000

    rebuilt = pd.DataFrame(books, columns=["u", "bid", "ask", "bid_qty", "ask_qty"])
    tickers = pd.DataFrame(
        [(t.update_id, t.bid, t.ask, t.bid_qty, t.ask_qty) for t in read_book_tickers(capture)],
        columns=["u", "t_bid", "t_ask", "t_bid_qty", "t_ask_qty"],
    ).sort_values("u")
    joined = pd.merge_asof(rebuilt, tickers, on="u", direction="backward").dropna()
    price_match = (joined["bid"] == joined["t_bid"]) & (joined["ask"] == joined["t_ask"])
    full_match = (
        price_match
        & (joined["bid_qty"] == joined["t_bid_qty"])
        & (joined["ask_qty"] == joined["t_ask_qty"])
    )
    same_id = rebuilt.merge(tickers, on="u")
    same_id_match = (
        (same_id["bid"] == same_id["t_bid"]) & (same_id["ask"] == same_id["t_ask"])
    ).mean()
    print(
        f"\nBinance capture: {len(books)} rebuilt books, {trades} trades, {len(tickers)} bookTickers; "
        f"best bid/ask agreement {price_match.mean():.4%} of {len(joined)} books "
        f"(prices and sizes {full_match.mean():.4%}); "
        f"{len(same_id)} books with a bookTicker of the same update id agree {same_id_match:.4%}"
    )
    assert len(joined) > 3_000
    assert price_match.mean() >= 0.999


async def test_capture_through_the_feed_publishes_fresh_books(capture: Path) -> None:
    sup = TaskSupervisor()
    bus = EventBus(sup)
    stale_books = 0
    books = 0
    statuses: list[BookStatus] = []

    def on_md(topic: str, msg: object) -> None:
        nonlocal stale_books, books
        if isinstance(msg, BookSnapshot):
            books += 1
            stale_books += msg.stale
        elif isinstance(msg, BookStatus):
            statuses.append(msg)

    bus.subscribe("md.*", on_md, name="test", direct=True)
    clock = SimClock(0)
    feed = MarketDataFeed(bus, clock, DataConfig(), sup, ReplaySource([capture], clock))
    await feed.start()
    for _ in range(3_000):
        if statuses and statuses[-1].reason == "market data source stopped":
            break
        await asyncio.sleep(0.01)
    await feed.stop()
    await sup.stop()
    assert books > 3_000
    assert stale_books == 0
    assert [s.stale for s in statuses] == [False, True]
    assert feed.counts["trades"] > 6_000
