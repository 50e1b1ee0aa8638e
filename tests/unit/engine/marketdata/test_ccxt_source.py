"""ccxt live source driven by a scripted websocket exchange (a stand-in for the outside world).

``ScriptedPro`` mimics a ccxt pro client: each ``watch_*`` call returns the
next scripted answer for that stream, raises a scripted ccxt error, or waits
forever once the script is exhausted (like a quiet market).
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt

from engine.core.clock import SimClock
from engine.marketdata.ccxt_source import CcxtLiveSource
from engine.marketdata.config import LiveConfig
from engine.model.enums import Side
from engine.model.events import BookStatus
from engine.model.market import Bar, BookSnapshot, Trade

T0_MS = 1_704_067_200_000


class ScriptedPro:
    def __init__(self, scripts: dict[str, list[Any]]) -> None:
        self.scripts = scripts
        self.calls: dict[str, int] = {}
        self.closed = False
        self._forever = asyncio.Event()

    async def _next(self, stream: str) -> Any:
        self.calls[stream] = self.calls.get(stream, 0) + 1
        script = self.scripts.get(stream, [])
        if not script:
            await self._forever.wait()
        item = script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    async def watch_trades(self, symbol: str) -> Any:
        return await self._next("trades")

    async def watch_order_book(self, symbol: str, limit: int | None = None) -> Any:
        return await self._next("book")

    async def watch_ohlcv(self, symbol: str, timeframe: str) -> Any:
        return await self._next("ohlcv")

    async def close(self) -> None:
        self.closed = True


def _trade(tid: int, side: str = "buy", price: Any = 100.0) -> dict[str, Any]:
    return {"id": str(tid), "timestamp": T0_MS + tid, "side": side, "price": price, "amount": 0.5}


async def _collect(source: CcxtLiveSource, n: int, timeout: float = 3.0) -> list[Any]:
    out: list[Any] = []

    async def take() -> None:
        async for event in source.events():
            out.append(event)
            if len(out) == n:
                return

    await asyncio.wait_for(take(), timeout)
    return out


def _source(ex: ScriptedPro, streams: tuple[str, ...], **cfg: Any) -> CcxtLiveSource:
    config = LiveConfig(
        streams=streams, reconnect_backoff_s=0.01, reconnect_backoff_max_s=0.02, **cfg
    )
    return CcxtLiveSource(["BTC/USDT"], config, SimClock(5), exchange_factory=lambda: ex)


async def test_ccxt_source_normalizes_trades_and_drops_repeats_and_malformed() -> None:
    ex = ScriptedPro(
        {
            "trades": [
                [_trade(1), _trade(2, "sell")],
                [_trade(2, "sell"), _trade(3, price=None), _trade(4)],
            ]
        }
    )
    source = _source(ex, ("trades",))
    events = await _collect(source, 3)
    await source.close()
    assert [e.trade_id for e in events] == ["1", "2", "4"]
    assert all(isinstance(e, Trade) for e in events)
    assert events[1].aggressor is Side.SELL
    assert events[0].ts_event == (T0_MS + 1) * 1_000_000
    assert ex.closed


async def test_ccxt_source_reconnects_after_network_errors_and_reports_the_book_stale() -> None:
    book = {"bids": [[100.0, 1.0], [99.5, 2.0]], "asks": [[100.5, 1.0]], "timestamp": T0_MS}
    ex = ScriptedPro(
        {"book": [ccxt.NetworkError("socket closed"), ccxt.RequestTimeout("slow"), book]}
    )
    source = _source(ex, ("book",), book_depth=1)
    events = await _collect(source, 3)
    await source.close()
    assert [type(e).__name__ for e in events] == ["BookStatus", "BookStatus", "BookSnapshot"]
    assert all(e.stale for e in events[:2])
    assert "socket closed" in events[0].reason
    snap = events[2]
    assert isinstance(snap, BookSnapshot)
    assert snap.bids.tolist() == [[100.0, 1.0]]
    assert source.reconnects == 2
    assert ex.calls["book"] >= 3


async def test_ccxt_source_bounds_a_silent_stream_and_retries() -> None:
    ex = ScriptedPro({})
    source = _source(ex, ("book",), silence_timeout_s=0.05)
    (status,) = await _collect(source, 1)
    await source.close()
    assert isinstance(status, BookStatus)
    assert "TimeoutError" in status.reason


async def test_ccxt_source_stops_a_stream_on_a_non_retryable_error() -> None:
    ex = ScriptedPro({"book": [ccxt.BadSymbol("no such market")]})
    source = _source(ex, ("book",))
    (status,) = await _collect(source, 1)
    await asyncio.sleep(0.05)
    await source.close()
    assert "stopped" in status.reason
    assert ex.calls["book"] == 1


async def test_ccxt_source_emits_a_candle_once_a_newer_one_starts() -> None:
    m = 60_000
    ex = ScriptedPro(
        {
            "ohlcv": [
                [[T0_MS, 1, 2, 0.5, 1.5, 10]],
                [[T0_MS, 1, 2.5, 0.5, 2.0, 12]],
                [[T0_MS + m, 2, 2, 2, 2, 1]],
            ]
        }
    )
    source = _source(ex, ("ohlcv",))
    (bar,) = await _collect(source, 1)
    await source.close()
    assert isinstance(bar, Bar)
    assert bar.ts_open == T0_MS * 1_000_000
    assert (bar.high, bar.close, bar.volume) == (2.5, 2.0, 12.0)


async def test_ccxt_source_close_is_idempotent_and_cancels_watchers() -> None:
    ex = ScriptedPro({})
    source = _source(ex, ("trades", "book"))
    consumer = asyncio.ensure_future(_collect(source, 1, timeout=5))
    await asyncio.sleep(0.05)
    await source.close()
    await source.close()
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    assert ex.closed
    assert len(source._tasks) == 0
