"""Paginated, resumable, rate-limited OHLCV download from a ccxt exchange into the BarStore.

The loop (DESIGN invariant 9: bounded waits, and it stops when the cursor
stops advancing):

* starts at ``since`` or just after the last stored bar, whichever is later
  (resumable);
* asks for ``page_limit`` bars from the cursor, each call bounded by
  ``request_timeout_s``; network errors and rate-limit answers are retried
  ``max_retries`` times with exponential backoff, other exchange errors stop
  it at once;
* keeps only closed bars (the forming bar is dropped), de-duplicates, and
  writes to the store every ``flush_rows`` rows and in any case on exit, so
  an interrupted download keeps what it fetched;
* stops when a page is empty (no more data), when the page's last timestamp
  does not move past the previous page's (a stuck cursor: the old loop hung
  here forever), or when the retries run out;
* reports the gaps left in the stored range.

ccxt's own rate limiter (``enableRateLimit``) spaces the requests; if it is
off, the loop waits ``rateLimit`` ms between calls itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import ccxt
import numpy as np
import pandas as pd
from tqdm import tqdm

from engine.core.clock import Clock, LiveClock
from engine.core.errors import DataError
from engine.marketdata.config import DownloadConfig
from engine.marketdata.frames import Gap, bars_from_arrays, find_gaps
from engine.marketdata.store import BarStore
from engine.marketdata.timeframes import timeframe_ms

log = logging.getLogger(__name__)


class OhlcvExchange(Protocol):
    """The part of a ccxt async exchange the downloader uses."""

    rateLimit: float  # noqa: N815 - ccxt's attribute name
    enableRateLimit: bool  # noqa: N815

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[Any]]: ...

    async def close(self) -> None: ...


class StopReason(StrEnum):
    COMPLETE = "complete"
    EMPTY_PAGE = "empty_page"
    STUCK_CURSOR = "stuck_cursor"
    RETRIES_EXHAUSTED = "retries_exhausted"
    EXCHANGE_ERROR = "exchange_error"


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """What one symbol's download did and why it stopped."""

    exchange: str
    symbol: str
    timeframe: str
    rows_added: int
    pages: int
    requests: int
    stop_reason: StopReason
    message: str = ""
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    malformed_rows: int = 0
    gaps: tuple[Gap, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.stop_reason in (StopReason.COMPLETE, StopReason.EMPTY_PAGE)


class _Abort(Exception):
    def __init__(self, reason: StopReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _utc_ms(ts: pd.Timestamp | str) -> int:
    stamp = pd.Timestamp(ts)
    stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)


def _page_to_arrays(page: list[list[Any]]) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows of ``[ts_ms, o, h, l, c, v]`` -> (ts, ohlcv) with malformed rows removed."""
    good_ts: list[int] = []
    good_values: list[list[float]] = []
    bad = 0
    for row in page:
        try:
            ts = int(row[0])
            values = [float(x) for x in row[1:6]]
        except (TypeError, ValueError, IndexError):
            bad += 1
            continue
        if len(values) != 5:
            bad += 1
            continue
        good_ts.append(ts)
        good_values.append(values)
    return (
        np.asarray(good_ts, dtype=np.int64),
        np.asarray(good_values, dtype=np.float64).reshape(-1, 5),
        bad,
    )


class HistoryDownloader:
    """Downloads OHLCV history of one ccxt exchange into a BarStore."""

    def __init__(
        self,
        exchange: OhlcvExchange,
        store: BarStore,
        exchange_name: str,
        config: DownloadConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.exchange_name = exchange_name
        self.config = config or DownloadConfig()
        self.clock: Clock = clock or LiveClock()
        self.requests = 0

    async def _fetch(self, symbol: str, timeframe: str, since: int) -> list[list[Any]]:
        cfg = self.config
        last_error = ""
        for attempt in range(cfg.max_retries + 1):
            if self.requests and not getattr(self.exchange, "enableRateLimit", False):
                await asyncio.sleep(float(getattr(self.exchange, "rateLimit", 0)) / 1000.0)
            self.requests += 1
            try:
                page = await asyncio.wait_for(
                    self.exchange.fetch_ohlcv(symbol, timeframe, since=since, limit=cfg.page_limit),
                    cfg.request_timeout_s,
                )
            except (ccxt.NetworkError, TimeoutError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if attempt == cfg.max_retries:
                    break
                delay = min(cfg.backoff_max_s, cfg.backoff_s * 2**attempt)
                if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
                    delay = max(delay, float(getattr(self.exchange, "rateLimit", 0)) / 1000.0)
                log.warning(
                    "%s %s: request %d/%d failed (%s); retrying in %.2f s",
                    self.exchange_name,
                    symbol,
                    attempt + 1,
                    cfg.max_retries + 1,
                    last_error,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            except ccxt.BaseError as exc:
                raise _Abort(StopReason.EXCHANGE_ERROR, f"{type(exc).__name__}: {exc}") from None
            if not isinstance(page, list):
                raise _Abort(
                    StopReason.EXCHANGE_ERROR, f"fetch_ohlcv returned {type(page).__name__}"
                )
            return page
        raise _Abort(
            StopReason.RETRIES_EXHAUSTED,
            f"gave up after {cfg.max_retries + 1} attempts; last error {last_error}",
        )

    async def _flush(self, symbol: str, timeframe: str, parts: list[pd.DataFrame]) -> int:
        if not parts:
            return 0
        frame = pd.concat(parts)
        parts.clear()
        return await asyncio.to_thread(
            self.store.write, self.exchange_name, symbol, timeframe, frame
        )

    async def download(
        self,
        symbol: str,
        timeframe: str,
        since: pd.Timestamp | str,
        until: pd.Timestamp | str | None = None,
        *,
        progress: bool = False,
    ) -> DownloadResult:
        """Fetch ``[since, until)`` (until defaults to now) of closed bars, resuming from the store."""
        step = timeframe_ms(timeframe)
        now_ms = self.clock.timestamp_ns() // 1_000_000
        end_ms = now_ms - step + 1  # a bar opening before this has closed
        if until is not None:
            end_ms = min(end_ms, _utc_ms(until))
        cursor = _utc_ms(since)
        stored = await asyncio.to_thread(
            self.store.last_timestamp, self.exchange_name, symbol, timeframe
        )
        if stored is not None:
            cursor = max(cursor, int(stored.value // 1_000_000) + step)
        start_ms = cursor
        parts: list[pd.DataFrame] = []
        pending = added = pages = malformed = 0
        previous_last: int | None = None
        first_ts: int | None = None
        last_ts: int | None = None
        reason, message = StopReason.COMPLETE, ""
        bar = tqdm(
            total=max(0, (end_ms - cursor + step - 1) // step),
            desc=f"{self.exchange_name} {symbol} {timeframe}",
            unit="bar",
            disable=not progress,
            leave=False,
        )
        try:
            while cursor < end_ms:
                try:
                    page = await self._fetch(symbol, timeframe, cursor)
                except _Abort as abort:
                    reason, message = abort.reason, abort.message
                    log.error("%s %s: download stopped: %s", self.exchange_name, symbol, message)
                    break
                pages += 1
                ts, values, bad = _page_to_arrays(page)
                malformed += bad
                if len(ts) == 0:
                    reason = StopReason.EMPTY_PAGE
                    message = f"no bars returned from {pd.Timestamp(cursor, unit='ms', tz='UTC')}"
                    log.info("%s %s: %s; stopping", self.exchange_name, symbol, message)
                    break
                page_last = int(ts.max())
                if page_last < cursor or (previous_last is not None and page_last <= previous_last):
                    reason = StopReason.STUCK_CURSOR
                    message = (
                        f"cursor did not advance: asked from "
                        f"{pd.Timestamp(cursor, unit='ms', tz='UTC')}, the page ends at "
                        f"{pd.Timestamp(page_last, unit='ms', tz='UTC')}"
                    )
                    log.warning("%s %s: %s; stopping", self.exchange_name, symbol, message)
                    break
                previous_last = page_last
                keep = (ts >= cursor) & (ts < end_ms)
                if keep.any():
                    parts.append(bars_from_arrays(ts[keep], values[keep]))
                    pending += int(keep.sum())
                    first_ts = int(ts[keep].min()) if first_ts is None else first_ts
                    last_ts = int(ts[keep].max())
                bar.update(max(0, min(page_last + step, end_ms) - cursor) // step)
                cursor = page_last + step
                if pending >= self.config.flush_rows:
                    added += await self._flush(symbol, timeframe, parts)
                    pending = 0
        finally:
            bar.close()
            added += await self._flush(symbol, timeframe, parts)
        gaps = await asyncio.to_thread(self._gaps, symbol, timeframe, start_ms, end_ms)
        if gaps:
            log.warning(
                "%s %s %s: %d gaps (%d bars missing) in the downloaded range",
                self.exchange_name,
                symbol,
                timeframe,
                len(gaps),
                sum(g.missing for g in gaps),
            )
        return DownloadResult(
            self.exchange_name,
            symbol,
            timeframe,
            added,
            pages,
            self.requests,
            reason,
            message,
            None if first_ts is None else pd.Timestamp(first_ts, unit="ms", tz="UTC"),
            None if last_ts is None else pd.Timestamp(last_ts, unit="ms", tz="UTC"),
            malformed,
            gaps,
        )

    def _gaps(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> tuple[Gap, ...]:
        try:
            stored = self.store.load(
                self.exchange_name,
                symbol,
                timeframe,
                pd.Timestamp(start_ms, unit="ms", tz="UTC"),
                pd.Timestamp(end_ms, unit="ms", tz="UTC"),
            )
        except DataError:
            return ()
        return find_gaps(pd.DatetimeIndex(stored.index), timeframe)


def make_exchange(exchange_id: str, timeout_s: float) -> Any:
    """A ccxt async exchange with its rate limiter on (public endpoints only, no keys)."""
    import ccxt.async_support as ccxt_async

    try:
        cls = getattr(ccxt_async, exchange_id)
    except AttributeError:
        raise DataError(f"ccxt has no exchange called {exchange_id!r}") from None
    return cls({"enableRateLimit": True, "timeout": int(timeout_s * 1000)})


async def download_history(
    exchange_id: str,
    symbols: list[str],
    timeframe: str,
    since: pd.Timestamp | str,
    store: BarStore,
    config: DownloadConfig,
    *,
    until: pd.Timestamp | str | None = None,
    progress: bool = False,
    exchange: OhlcvExchange | None = None,
) -> list[DownloadResult]:
    """Download several symbols one after another; the exchange is always closed afterwards."""
    client: OhlcvExchange = exchange or make_exchange(exchange_id, config.request_timeout_s)
    try:
        downloader = HistoryDownloader(client, store, exchange_id, config)
        return [
            await downloader.download(symbol, timeframe, since, until, progress=progress)
            for symbol in symbols
        ]
    finally:
        await client.close()
