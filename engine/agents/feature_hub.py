"""FeatureHub: live feature rows per (symbol, feature set), computed once for every agent.

Each bundle records the feature configuration it was trained on; agents that
share a symbol and a feature set share one ``FeatureWindow``: the incremental
FeatureFactory stream (the same numbers as the forge's batch features), the
last ``rows`` feature rows as a frame (GP trees use rolling windows over
them) and the closes (for the label barriers' volatility). A window is warmed
up on the venue's recent bars when it is created, so agents need not wait
hours for their slowest feature.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from engine.core.errors import DataError
from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.model.market import Bar

log = logging.getLogger(__name__)

_MINUTE_NS = 60_000_000_000


class FeatureWindow:
    """One symbol's incremental features under one feature set, with recent history."""

    def __init__(self, symbol: str, factory: FeatureFactory, rows: int) -> None:
        self.symbol = symbol
        self.feature_set_id = factory.feature_set_id
        self.names = list(factory.feature_names)
        self.warmup_bars = factory.warmup_bars
        self._stream = factory.incremental()
        self._rows = rows
        self._values = np.full((rows, len(self.names)), np.nan)
        self._index = np.zeros(rows, dtype=np.int64)
        self.count = 0  # rows seen in total
        self.closes: deque[float] = deque(maxlen=max(rows, 1024))
        self.last_bar: Bar | None = None
        self._frame: pd.DataFrame | None = None
        self._vol: dict[int, float] = {}

    def update(self, bar: Bar) -> bool:
        """Add one closed 1m bar; False (and nothing changed) for a bar it cannot take."""
        try:
            row = self._stream.update(bar)
        except DataError as exc:
            log.debug("feature window %s: %s", self.symbol, exc)
            return False
        slot = self.count % self._rows
        self._values[slot] = [row[n] for n in self.names]
        self._index[slot] = bar.ts_open
        self.count += 1
        self.closes.append(bar.close)
        self.last_bar = bar
        self._frame = None
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

    def finite_rows(self, columns: Iterable[str]) -> int:
        """How many of the latest rows are finite in every one of ``columns``."""
        values = self.frame().loc[:, list(columns)].to_numpy()
        bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
        return len(values) if bad.size == 0 else len(values) - 1 - int(bad[-1])

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

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self.windows: dict[tuple[str, str], FeatureWindow] = {}

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

    def on_bar(self, bar: Bar) -> list[FeatureWindow]:
        """Feed a closed 1m bar to the symbol's windows; return those it updated."""
        return [w for (s, _), w in self.windows.items() if s == bar.symbol and w.update(bar)]

    def release(self, unused: Iterable[tuple[str, str]]) -> None:
        for key in unused:
            self.windows.pop(key, None)
