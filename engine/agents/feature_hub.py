"""FeatureHub: live feature rows per (symbol, feature set), computed once for every agent.

Each bundle records the feature configuration it was trained on; agents that
share a symbol and a feature set share one ``FeatureWindow``: the incremental
FeatureFactory stream (the same numbers as the forge's batch features), the
last ``rows`` feature rows as a frame (GP trees use rolling windows over
them) and the closes (for the label barriers' volatility). A window is warmed
up on the venue's recent bars when it is created, so agents need not wait
hours for their slowest feature.

A window whose features read other symbols (cross-asset features read the
leader's bar of the same minute) waits for those bars: its own bar is held
until the context bars of that minute have arrived, or ``grace_s`` has passed
(then the context counts as a missing minute, as in the batch features).
Updated windows are handed to ``on_ready``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from engine.core.errors import DataError
from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.model.market import Bar

log = logging.getLogger(__name__)

_MINUTE_NS = 60_000_000_000
_RECENT_BARS = 5_000


class FeatureWindow:
    """One symbol's incremental features under one feature set, with recent history."""

    def __init__(self, symbol: str, factory: FeatureFactory, rows: int) -> None:
        self.symbol = symbol
        self.feature_set_id = factory.feature_set_id
        self.names = list(factory.feature_names)
        self.warmup_bars = factory.warmup_bars
        self.context_symbols = factory.context_symbols(symbol)
        self._stream = factory.incremental(symbol)
        self._rows = rows
        self._values = np.full((rows, len(self.names)), np.nan)
        self._index = np.zeros(rows, dtype=np.int64)
        self.count = 0  # rows seen in total
        self.closes: deque[float] = deque(maxlen=max(rows, 1024))
        self.last_bar: Bar | None = None
        self._frame: pd.DataFrame | None = None
        self._latest: dict[tuple[tuple[str, ...], int], np.ndarray] = {}
        self._positions: dict[tuple[str, ...], np.ndarray] = {}
        self._last_bad = np.full(len(self.names), -1, dtype=np.int64)  # per column, row count
        self._column: dict[str, int] = {n: i for i, n in enumerate(self.names)}
        self._vol: dict[int, float] = {}

    def update(self, bar: Bar, context: Mapping[str, Bar] | None = None) -> bool:
        """Add one closed 1m bar (and its minute's context bars); False if it cannot take it."""
        try:
            row = self._stream.update(bar, context)
        except DataError as exc:
            log.debug("feature window %s: %s", self.symbol, exc)
            return False
        slot = self.count % self._rows
        self._values[slot] = [row[n] for n in self.names]
        self._last_bad[~np.isfinite(self._values[slot])] = self.count
        self._index[slot] = bar.ts_open
        self.count += 1
        self.closes.append(bar.close)
        self.last_bar = bar
        self._frame = None
        self._latest = {}
        self._vol = {}
        return True

    @property
    def bar_close_ts(self) -> int:
        """When the latest bar closed (its open time plus a minute)."""
        return 0 if self.last_bar is None else self.last_bar.ts_open + _MINUTE_NS

    def frame(self) -> pd.DataFrame:
        """The kept rows, oldest first, indexed by bar open time (built once per bar)."""
        if self._frame is None:
            n = min(self.count, self._rows)
            order = [(self.count - n + i) % self._rows for i in range(n)]
            self._frame = pd.DataFrame(
                self._values[order],
                columns=self.names,
                index=pd.to_datetime(self._index[order], unit="ns", utc=True),
            )
        return self._frame

    def _columns_of(self, columns: tuple[str, ...]) -> np.ndarray:
        cols = self._positions.get(columns)
        if cols is None:
            try:
                cols = np.array([self._column[c] for c in columns], dtype=np.intp)
            except KeyError as exc:
                raise DataError(f"feature window {self.symbol} has no column {exc}") from None
            self._positions[columns] = cols
        return cols

    def _rows_of(self, columns: tuple[str, ...], rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The latest ``rows`` kept rows (oldest first) of ``columns``, and their open times."""
        n = min(self.count, self._rows, rows)
        order = np.arange(self.count - n, self.count) % self._rows
        return self._values[np.ix_(order, self._columns_of(columns))], self._index[order]

    def latest(self, columns: tuple[str, ...], rows: int) -> np.ndarray:
        """The latest ``rows`` rows of just ``columns``, oldest first (what one agent's models read).

        Built from the ring buffer once per bar for each (columns, rows) and read-only:
        a decision never copies the whole window, nor builds a frame.
        """
        key = (columns, rows)
        values = self._latest.get(key)
        if values is None:
            values, _index = self._rows_of(columns, rows)
            values.flags.writeable = False  # shared by every agent on this feature set
            self._latest[key] = values
        return values

    def finite_rows(self, columns: tuple[str, ...]) -> int:
        """How many of the latest kept rows are finite in every one of ``columns``."""
        cols = self._columns_of(columns)
        last_bad = int(self._last_bad[cols].max()) if cols.size else -1
        return min(self.count - 1 - last_bad, self._rows)

    def ewm_vol(self, span: int) -> float:
        """EWM standard deviation of 1-bar log returns, as the forge's labels use (NaN early)."""
        if span not in self._vol:
            closes = np.asarray(self.closes, dtype=np.float64)
            if closes.size < span + 1:
                self._vol[span] = math.nan
            else:
                returns = np.diff(np.log(closes))
                vol = pd.Series(returns).ewm(span=span, min_periods=span).std().iloc[-1]
                self._vol[span] = float(vol)
        return self._vol[span]

    @property
    def bar_return(self) -> float | None:
        """The latest bar's close-to-close return (None before two closes)."""
        if len(self.closes) < 2 or self.closes[-2] <= 0:
            return None
        return self.closes[-1] / self.closes[-2] - 1.0


class FeatureHub:
    """The feature windows every loaded agent needs, keyed by (symbol, feature set id)."""

    def __init__(
        self,
        rows: int,
        on_ready: Callable[[list[FeatureWindow]], None] | None = None,
        grace_s: float = 3.0,
    ) -> None:
        self._rows = rows
        self._on_ready = on_ready or (lambda _w: None)
        self._grace_s = grace_s
        self.windows: dict[tuple[str, str], FeatureWindow] = {}
        self._latest: dict[str, Bar] = {}  # symbol -> its newest closed 1m bar
        self._held: dict[tuple[str, str], Bar] = {}  # window key -> its bar awaiting context
        # Live bars kept a while, so a window that was warming up meanwhile can catch up.
        self._recent: dict[str, deque[Bar]] = {}
        self.warming: set[tuple[str, str]] = set()

    def window_for(
        self, symbol: str, features_config: Mapping[str, Any], feature_set_id: str
    ) -> tuple[FeatureWindow, bool]:
        """The window for a bundle's feature set (and whether it is new).

        Raises ``FeatureSetMismatch`` if this engine's FeatureFactory computes a
        different set from the same configuration (another definition version).
        """
        factory = FeatureFactory(FeaturesConfig.model_validate(dict(features_config)))
        factory.require(feature_set_id)
        key = (symbol, factory.feature_set_id)
        window = self.windows.get(key)
        if window is not None:
            return window, False
        window = self.windows[key] = FeatureWindow(symbol, factory, self._rows)
        return window, True

    def on_bar(self, bar: Bar) -> None:
        """A closed 1m bar: update the windows it completes; ``on_ready`` hears which."""
        self._latest[bar.symbol] = bar
        recent = self._recent.get(bar.symbol)
        if recent is None:
            recent = self._recent[bar.symbol] = deque(maxlen=_RECENT_BARS)
        recent.append(bar)
        ready: list[FeatureWindow] = []
        for key, window in self.windows.items():
            if key in self.warming:
                continue  # it catches up from ``_recent`` when its warm-up is done
            if key[0] == bar.symbol:
                held = self._held.pop(key, None)
                if held is not None:  # the previous minute's context never came
                    self._update(window, held, ready)
                if self._context_of(window, bar) is None:
                    self._held[key] = bar
                    asyncio.get_running_loop().call_later(self._grace_s, self._release, key, bar)
                else:
                    self._update(window, bar, ready)
            elif bar.symbol in window.context_symbols:
                held = self._held.get(key)
                if held is not None and self._context_of(window, held) is not None:
                    del self._held[key]
                    self._update(window, held, ready)
        if ready:
            self._on_ready(ready)

    def _context_of(self, window: FeatureWindow, bar: Bar) -> dict[str, Bar] | None:
        """The window's context bars of ``bar``'s minute, or None while one is missing."""
        context = {}
        for symbol in window.context_symbols:
            other = self._latest.get(symbol)
            if other is None or other.ts_open != bar.ts_open:
                return None
            context[symbol] = other
        return context

    def _update(self, window: FeatureWindow, bar: Bar, ready: list[FeatureWindow]) -> None:
        if window.update(bar, self._context_of(window, bar) or {}):
            ready.append(window)

    def _release(self, key: tuple[str, str], bar: Bar) -> None:
        """The grace period is over: the held bar goes in without its context."""
        window = self.windows.get(key)
        if window is None or self._held.get(key) is not bar:
            return
        del self._held[key]
        ready: list[FeatureWindow] = []
        self._update(window, bar, ready)
        if ready:
            self._on_ready(ready)

    def catch_up(self, window: FeatureWindow) -> int:
        """After its warm-up: the live bars that came meanwhile, with their minutes' context."""
        self.warming.discard((window.symbol, window.feature_set_id))
        last = window.last_bar.ts_open if window.last_bar is not None else -1
        by_minute = {
            s: {b.ts_open: b for b in self._recent.get(s, ())} for s in window.context_symbols
        }
        fed = 0
        for bar in list(self._recent.get(window.symbol, ())):
            if bar.ts_open > last:
                context = {s: m[bar.ts_open] for s, m in by_minute.items() if bar.ts_open in m}
                fed += window.update(bar, context)
        return fed

    @staticmethod
    def warm(window: FeatureWindow, bars: Mapping[str, list[Bar]]) -> int:
        """Feed a new window the recent bars of its symbol and context symbols (in order)."""
        by_minute = {s: {b.ts_open: b for b in bars.get(s, [])} for s in window.context_symbols}
        fed = 0
        for bar in bars.get(window.symbol, []):
            context = {s: m[bar.ts_open] for s, m in by_minute.items() if bar.ts_open in m}
            fed += window.update(bar, context)
        return fed

    def release(self, unused: Iterable[tuple[str, str]]) -> None:
        for key in unused:
            self.windows.pop(key, None)
            self._held.pop(key, None)
