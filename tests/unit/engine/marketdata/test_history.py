"""History download driven by a scripted exchange (the one stand-in for the outside world).

``ScriptedExchange`` behaves like a ccxt async exchange serving a fixed 1m
history (``fetch_ohlcv(symbol, timeframe, since, limit)`` returns the bars
from ``since`` on, including the forming one), and can be told to fail,
stall or misbehave on given calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt
import pandas as pd
import pytest

from engine.core.clock import SimClock
from engine.marketdata.config import DownloadConfig
from engine.marketdata.history import HistoryDownloader, StopReason, download_history
from engine.marketdata.store import BarStore

T0_MS = 1_704_067_200_000
MIN_MS = 60_000

Action = BaseException | Callable[[int, int], list[list[Any]]]


class ScriptedExchange:
    """A ccxt-like async exchange with a scripted sequence of answers."""

    def __init__(
        self,
        bars: int,
        *,
        script: list[Action] | None = None,
        missing: range = range(0),
        rate_limit_ms: float = 0.0,
        enable_rate_limit: bool = True,
    ) -> None:
        self.history = [
            [T0_MS + i * MIN_MS, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 1.0 + i]
            for i in range(bars)
            if i not in missing
        ]
        self.script: list[Action] = list(script or [])
        self.rateLimit = rate_limit_ms
        self.enableRateLimit = enable_rate_limit
        self.calls: list[tuple[int, int, float]] = []
        self.closed = False

    def page(self, since: int, limit: int) -> list[list[Any]]:
        return [row for row in self.history if row[0] >= since][:limit]

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[Any]]:
        assert symbol == "BTC/USDT"
        assert timeframe == "1m"
        assert since is not None
        assert limit
        self.calls.append((since, limit, time.monotonic()))
        if self.script:
            action = self.script.pop(0)
            if isinstance(action, BaseException):
                raise action
            return action(since, limit)
        return self.page(since, limit)

    async def close(self) -> None:
        self.closed = True


def _config(**overrides: Any) -> DownloadConfig:
    base: dict[str, Any] = {"page_limit": 100, "backoff_s": 0.001, "backoff_max_s": 0.01}
    return DownloadConfig(**(base | overrides))


def _clock(minutes: float) -> SimClock:
    return SimClock(int((T0_MS + minutes * MIN_MS) * 1_000_000))


def _downloader(
    ex: ScriptedExchange, tmp_path: Path, now_minutes: float = 1000.5, **cfg: Any
) -> HistoryDownloader:
    return HistoryDownloader(
        ex, BarStore(tmp_path), "scripted", _config(**cfg), _clock(now_minutes)
    )


def _stored(tmp_path: Path) -> pd.DataFrame:
    return BarStore(tmp_path).load("scripted", "BTC/USDT", "1m")


async def test_download_pages_through_history_and_drops_the_forming_bar(tmp_path: Path) -> None:
    ex = ScriptedExchange(1001)  # bar 1000 is still forming at now = minute 1000.5
    result = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    assert result.ok
    assert result.stop_reason is StopReason.COMPLETE
    assert result.rows_added == 1000
    assert result.pages == 10
    stored = _stored(tmp_path)
    assert len(stored) == 1000
    assert stored.index[-1] == pd.Timestamp(T0_MS + 999 * MIN_MS, unit="ms", tz="UTC")
    assert result.gaps == ()


async def test_download_resumes_after_the_last_stored_bar(tmp_path: Path) -> None:
    first = await _downloader(ScriptedExchange(1001), tmp_path).download(
        "BTC/USDT",
        "1m",
        "2024-01-01",
        until=pd.Timestamp(T0_MS + 500 * MIN_MS, unit="ms", tz="UTC"),
    )
    assert first.rows_added == 500
    ex = ScriptedExchange(1001)
    second = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    assert ex.calls[0][0] == T0_MS + 500 * MIN_MS
    assert second.rows_added == 500
    assert len(_stored(tmp_path)) == 1000


async def test_download_stops_with_a_warning_when_the_cursor_does_not_advance(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ex = ScriptedExchange(1001)
    stuck = [lambda since, limit: ex.page(T0_MS, limit)] * 50
    ex.script = [lambda since, limit: ex.page(since, limit), *stuck]
    with caplog.at_level(logging.WARNING):
        result = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    assert result.stop_reason is StopReason.STUCK_CURSOR
    assert not result.ok
    assert len(ex.calls) == 2
    assert "cursor did not advance" in caplog.text
    assert len(_stored(tmp_path)) == 100


async def test_download_stops_when_the_exchange_returns_the_same_last_timestamp(
    tmp_path: Path,
) -> None:
    ex = ScriptedExchange(1001)
    same_last = ex.page(T0_MS + 50 * MIN_MS, 50)
    ex.script = [lambda s, n: ex.page(s, 100), lambda s, n: same_last[-1:] + same_last[-1:]]
    result = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    assert result.stop_reason is StopReason.STUCK_CURSOR
    assert len(ex.calls) == 2


async def test_download_stops_cleanly_on_an_empty_page(tmp_path: Path) -> None:
    ex = ScriptedExchange(300)
    result = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    assert result.stop_reason is StopReason.EMPTY_PAGE
    assert result.ok
    assert result.rows_added == 300
    assert len(ex.calls) == 4


async def test_download_retries_rate_limit_answers_with_backoff(tmp_path: Path) -> None:
    ex = ScriptedExchange(
        250,
        script=[ccxt.RateLimitExceeded("429"), ccxt.RateLimitExceeded("429")],
        rate_limit_ms=20.0,
    )
    result = await _downloader(ex, tmp_path, now_minutes=250).download(
        "BTC/USDT", "1m", "2024-01-01"
    )
    assert result.rows_added == 250
    assert result.ok
    assert result.requests == len(ex.calls) == 2 + 3
    waits = [b[2] - a[2] for a, b in zip(ex.calls, ex.calls[1:], strict=False)][:2]
    assert all(w >= 0.019 for w in waits)  # at least the exchange's rateLimit after a 429


async def test_download_gives_up_after_bounded_retries_and_keeps_what_it_fetched(
    tmp_path: Path,
) -> None:
    ex = ScriptedExchange(1001)
    ok = lambda s, n: ex.page(s, n)  # noqa: E731
    ex.script = [ok, ok, *[ccxt.NetworkError("connection reset")] * 4]
    result = await _downloader(ex, tmp_path, max_retries=3).download("BTC/USDT", "1m", "2024-01-01")
    assert result.stop_reason is StopReason.RETRIES_EXHAUSTED
    assert not result.ok
    assert "4 attempts" in result.message
    assert "connection reset" in result.message
    assert len(ex.calls) == 2 + 4
    assert len(_stored(tmp_path)) == 200


async def test_download_bounds_a_request_that_never_answers(tmp_path: Path) -> None:
    never = asyncio.Event()

    class Hanging(ScriptedExchange):
        async def fetch_ohlcv(self, *args: Any, **kwargs: Any) -> list[list[Any]]:
            self.calls.append((0, 0, time.monotonic()))
            await never.wait()
            return []

    ex = Hanging(10)
    downloader = _downloader(ex, tmp_path, request_timeout_s=0.05, max_retries=1)
    # The exchange never answers: the download ends at all only if each request is bounded.
    # (30 s guards the test against a hang; it is no speed target.)
    result = await asyncio.wait_for(downloader.download("BTC/USDT", "1m", "2024-01-01"), 30)
    assert result.stop_reason is StopReason.RETRIES_EXHAUSTED
    assert "TimeoutError" in result.message
    assert len(ex.calls) == 2  # the first try and one retry, each given up after its timeout


async def test_download_stops_at_once_on_a_non_retryable_exchange_error(tmp_path: Path) -> None:
    ex = ScriptedExchange(100, script=[ccxt.BadSymbol("BTC/USDT not listed")])
    result = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    assert result.stop_reason is StopReason.EXCHANGE_ERROR
    assert "BadSymbol" in result.message
    assert len(ex.calls) == 1


async def test_download_deduplicates_overlapping_and_repeated_rows(tmp_path: Path) -> None:
    ex = ScriptedExchange(1001)

    def overlapping(since: int, limit: int) -> list[list[Any]]:
        rows = ex.page(max(T0_MS, since - 5 * MIN_MS), limit)
        return rows + rows[-3:]

    ex.script = [overlapping] * 100
    result = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    stored = _stored(tmp_path)
    assert result.ok
    assert len(stored) == 1000
    assert stored.index.is_unique
    assert result.rows_added == 1000


async def test_download_skips_malformed_rows_and_counts_them(tmp_path: Path) -> None:
    ex = ScriptedExchange(1001)
    ex.script = [lambda s, n: [*ex.page(s, n), ["garbage"], [None, 1, 2]]]
    result = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    assert result.malformed_rows == 2
    assert result.ok
    assert len(_stored(tmp_path)) == 1000


async def test_download_reports_gaps_left_by_the_exchange(tmp_path: Path) -> None:
    ex = ScriptedExchange(1001, missing=range(400, 410))
    result = await _downloader(ex, tmp_path).download("BTC/USDT", "1m", "2024-01-01")
    assert [g.missing for g in result.gaps] == [10]


async def test_download_throttles_itself_when_ccxt_rate_limiting_is_off(tmp_path: Path) -> None:
    ex = ScriptedExchange(400, rate_limit_ms=30.0, enable_rate_limit=False)
    await _downloader(ex, tmp_path, now_minutes=400).download("BTC/USDT", "1m", "2024-01-01")
    gaps = [b[2] - a[2] for a, b in zip(ex.calls, ex.calls[1:], strict=False)]
    assert len(gaps) == 3
    assert min(gaps) >= 0.029


async def test_download_history_closes_the_exchange_even_when_it_fails(tmp_path: Path) -> None:
    ex = ScriptedExchange(10, script=[ccxt.AuthenticationError("no")])
    results = await download_history(
        "scripted", ["BTC/USDT"], "1m", "2024-01-01", BarStore(tmp_path), _config(), exchange=ex
    )
    assert ex.closed
    assert results[0].stop_reason is StopReason.EXCHANGE_ERROR
