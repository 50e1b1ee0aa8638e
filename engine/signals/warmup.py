"""SignalWarmup: give the bar-driven signals recent history from the venue at start.

The regime radar needs about 80 closed 1-minute bars and the influence mapper
about 120 before they produce a value. Rather than saying "warming up" for
two hours after every start, this component asks the venue (through the
order gateway) for its latest closed bars and hands them to each signal's
``warm_start`` before the signal starts. If the venue cannot provide them the
signals simply warm up live, and say so.
"""

from __future__ import annotations

import logging
from typing import Protocol

import pandas as pd

from engine.core.errors import CrucibleError
from engine.model.market import Bar

log = logging.getLogger(__name__)


class WarmStartable(Protocol):
    def warm_start(self, closes: pd.DataFrame) -> None: ...


class RecentBars(Protocol):
    """Where recent closed bars come from (the order gateway asks the venue)."""

    async def recent_bars(self, symbol: str, timeframe: str, limit: int) -> list[Bar]: ...


class SignalWarmup:
    """Component: fetch recent 1m bars per symbol, then warm the given signals up."""

    name = "signals.warmup"

    def __init__(
        self,
        source: RecentBars,
        symbols: tuple[str, ...],
        targets: list[WarmStartable],
        limit: int = 240,
    ) -> None:
        self._source = source
        self._symbols = symbols
        self._targets = targets
        self._limit = limit
        self.rows = 0

    async def start(self) -> None:
        if not self._targets:
            return
        columns: dict[str, pd.Series] = {}
        for symbol in self._symbols:
            try:
                bars = await self._source.recent_bars(symbol, "1m", self._limit)
            except (CrucibleError, TimeoutError) as exc:
                log.warning(
                    "no recent bars for %s from the venue (%s); signals warm up live", symbol, exc
                )
                return
            index = pd.to_datetime([b.ts_open for b in bars], unit="ns", utc=True)
            columns[symbol] = pd.Series([b.close for b in bars], index=index, dtype="float64")
        closes = pd.DataFrame(columns).dropna()
        closes.index.name = "ts"
        self.rows = len(closes)
        log.info("warming signals up on %d recent 1m bars from the venue", self.rows)
        for target in self._targets:
            target.warm_start(closes)

    async def stop(self) -> None:
        return None
