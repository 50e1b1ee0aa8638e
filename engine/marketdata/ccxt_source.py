"""CcxtLiveSource: a real exchange's public websockets (ccxt pro) as a MarketDataSource.

One watcher task per (symbol, stream) calls ``watch_trades``,
``watch_order_book`` or ``watch_ohlcv`` in a loop; each call is bounded by
``silence_timeout_s``. A network error or silence marks the book stale and the
watcher reconnects (ccxt pro reconnects on the next ``watch_*`` call) after an
exponential backoff capped at ``reconnect_backoff_max_s``; any other exchange
error (bad symbol, unsupported stream) stops that watcher with a logged
reason. Watchers belong to the source's own TaskSupervisor and are cancelled
and awaited by ``close()``, which also closes the exchange client.

ccxt books carry no contiguous sequence number, so snapshots have ``seq`` 0
and the integrity guard checks them for crossing and silence only.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Final

import ccxt

from engine.core.clock import Clock
from engine.core.errors import DataError
from engine.core.tasks import TaskSupervisor
from engine.marketdata.config import LiveConfig
from engine.marketdata.source import MarketEvent
from engine.marketdata.timeframes import timeframe_ms
from engine.model.enums import Side
from engine.model.events import BookStatus
from engine.model.market import Bar, BookSnapshot, Trade, levels_array

log = logging.getLogger(__name__)

_QUEUE_SIZE: Final = 10_000
_SEEN_TRADES: Final = 2_000
_OHLCV_TIMEFRAME: Final = "1m"


def make_pro_exchange(exchange_id: str) -> Any:
    """A ccxt pro (websocket) client for public market data."""
    import ccxt.pro as ccxt_pro

    try:
        cls = getattr(ccxt_pro, exchange_id)
    except AttributeError:
        raise DataError(f"ccxt pro has no exchange called {exchange_id!r}") from None
    return cls({"enableRateLimit": True})


def _finite_positive(*values: Any) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in values)


class _Normalizer:
    """Turns ccxt's unified structures into engine types, skipping malformed items."""

    def __init__(self, clock: Clock, depth: int) -> None:
        self.clock = clock
        self.depth = depth
        self.malformed = 0
        self._seen: dict[str, deque[str]] = {}
        self._seen_set: dict[str, set[str]] = {}
        self._candles: dict[str, list[Any]] = {}

    def trades(self, symbol: str, raw: list[dict[str, Any]]) -> list[Trade]:
        seen = self._seen.setdefault(symbol, deque())
        seen_set = self._seen_set.setdefault(symbol, set())
        out = []
        for t in raw:
            trade_id = str(t.get("id"))
            if trade_id in seen_set:
                continue
            price, qty, ts, side = (
                t.get("price"),
                t.get("amount"),
                t.get("timestamp"),
                t.get("side"),
            )
            if not (
                _finite_positive(price, qty) and isinstance(ts, int) and side in ("buy", "sell")
            ):
                self.malformed += 1
                continue
            seen.append(trade_id)
            seen_set.add(trade_id)
            if len(seen) > _SEEN_TRADES:
                seen_set.discard(seen.popleft())
            out.append(
                Trade(
                    symbol,
                    ts * 1_000_000,
                    self.clock.timestamp_ns(),
                    float(price or 0.0),
                    float(qty or 0.0),
                    Side.BUY if side == "buy" else Side.SELL,
                    trade_id,
                )
            )
        return out

    def book(self, symbol: str, raw: dict[str, Any]) -> BookSnapshot | None:
        try:
            bids = levels_array([lvl[:2] for lvl in raw["bids"][: self.depth]])
            asks = levels_array([lvl[:2] for lvl in raw["asks"][: self.depth]])
        except (KeyError, TypeError, ValueError):
            self.malformed += 1
            return None
        now = self.clock.timestamp_ns()
        ts = raw.get("timestamp")
        ts_event = ts * 1_000_000 if isinstance(ts, int) else now
        return BookSnapshot(symbol, ts_event, now, bids, asks)

    def closed_candles(self, symbol: str, raw: list[list[Any]]) -> list[Bar]:
        """Bars for candles that a newer candle has superseded (the last one is still forming)."""
        out = []
        step = timeframe_ms(_OHLCV_TIMEFRAME)
        for candle in sorted(raw, key=lambda c: c[0]):
            if len(candle) < 6 or not _finite_positive(*candle[1:5]):
                self.malformed += 1
                continue
            last = self._candles.get(symbol)
            if last is not None and candle[0] > last[0] and last[0] % step == 0:
                o, h, lo, c, v = (float(x) for x in last[1:6])
                out.append(Bar(symbol, _OHLCV_TIMEFRAME, int(last[0]) * 1_000_000, o, h, lo, c, v))
            if last is None or candle[0] >= last[0]:
                self._candles[symbol] = list(candle)
        return out


class CcxtLiveSource:
    """Live public market data from one exchange via ccxt pro websockets."""

    def __init__(
        self,
        symbols: Sequence[str],
        config: LiveConfig,
        clock: Clock,
        *,
        exchange_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.name = f"ccxt:{config.exchange}"
        self.symbols = list(symbols)
        self.config = config
        self.clock = clock
        self._factory = exchange_factory or (lambda: make_pro_exchange(config.exchange))
        self._exchange: Any = None
        self._normalizer = _Normalizer(clock, config.book_depth)
        self._queue: asyncio.Queue[MarketEvent] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self._tasks = TaskSupervisor()
        self._closed = False
        self.reconnects = 0
        self.dropped = 0

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._tasks.stop(timeout=5.0)
        if self._exchange is not None:
            try:
                await asyncio.wait_for(self._exchange.close(), 5.0)
            except Exception:
                log.exception("%s: closing the exchange client failed", self.name)

    def _offer(self, event: MarketEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def events(self) -> AsyncIterator[MarketEvent]:
        self._exchange = self._factory()
        for symbol in self.symbols:
            for stream in self.config.streams:
                self._tasks.spawn(f"{self.name}:{stream}:{symbol}", self._watch(symbol, stream))
        while not self._closed:
            yield await self._queue.get()

    async def _watch_once(self, symbol: str, stream: str) -> list[MarketEvent]:
        ex, norm, timeout = self._exchange, self._normalizer, self.config.silence_timeout_s
        if stream == "trades":
            return list(
                norm.trades(symbol, await asyncio.wait_for(ex.watch_trades(symbol), timeout))
            )
        if stream == "book":
            raw = await asyncio.wait_for(
                ex.watch_order_book(symbol, self.config.book_depth), timeout
            )
            snap = norm.book(symbol, raw)
            return [] if snap is None else [snap]
        raw_candles = await asyncio.wait_for(ex.watch_ohlcv(symbol, _OHLCV_TIMEFRAME), timeout)
        return list(norm.closed_candles(symbol, raw_candles))

    async def _watch(self, symbol: str, stream: str) -> None:
        cfg = self.config
        backoff = cfg.reconnect_backoff_s
        while not self._closed:
            try:
                for event in await self._watch_once(symbol, stream):
                    self._offer(event)
                backoff = cfg.reconnect_backoff_s
            except asyncio.CancelledError:
                raise
            except (ccxt.NetworkError, TimeoutError) as exc:
                self.reconnects += 1
                why = f"{stream} stream interrupted ({type(exc).__name__}: {exc}); reconnecting in {backoff:.1f} s"
                log.warning("%s %s: %s", self.name, symbol, why)
                if stream == "book":
                    self._offer(BookStatus(symbol, True, why, self.clock.timestamp_ns()))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, cfg.reconnect_backoff_max_s)
            except ccxt.BaseError as exc:
                why = f"{stream} stream stopped: {type(exc).__name__}: {exc}"
                log.error("%s %s: %s", self.name, symbol, why)
                self._offer(BookStatus(symbol, True, why, self.clock.timestamp_ns()))
                return
