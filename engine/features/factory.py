"""FeatureFactory: one definition of every feature, computed in batch (forge) or per bar (live).

``batch(bars_1m)`` returns a frame with the input's index and one column per
``feature_names``: technical indicators per timeframe (1m, and 15m/1h bars
resampled from the 1m input that join a row only once closed), the particle
filter's state estimates, if enabled the trailing-window decomposition, the
regime features (hours of the symbol's own bars) and the cross-asset features
(the leader's bars of the same minutes, ``engine.features.cross_asset``).
Values are causal (row t uses bars up to t), NaN during warm-up, and
sanitized (inf -> NaN, then forward fill only). ``incremental()`` gives a
per-symbol streaming state whose ``update(bar)`` returns the same numbers as
the last row of ``batch`` on the bars seen so far (tested to 1e-9).

``regime`` and any other extra columns of the input are ignored: the
simulator's regime label would leak the answer into the features.

Cross-asset features need the leader's 1m bars: ``context_symbols(symbol)``
names them, ``batch(bars, symbol=..., context={leader: frame})`` and
``incremental(symbol).update(bar, context={leader: bar})`` take them. The
leader itself, and ``batch(bars)`` / ``incremental()`` without a symbol, use
the input's own bars as the leader's (the leader role), so the columns and the
feature set id never depend on the symbol or on whether context was passed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from engine.core.errors import DataError
from engine.features.config import FeaturesConfig
from engine.features.cross_asset import (
    CrossAssetStream,
    aligned_close,
    cross_asset_batch,
    cross_asset_names,
    cross_asset_warmup,
    leader_close_of,
    require_context,
)
from engine.features.decomposition import OUTPUTS as DECOMPOSITION_OUTPUTS
from engine.features.decomposition import DecompositionStream, decomposition_batch
from engine.features.feature_set import FeatureSet
from engine.features.particle_filter import OUTPUTS as FILTER_OUTPUTS
from engine.features.particle_filter import ParticleFilter, particle_filter_batch
from engine.features.regime import RegimeStream, regime_batch, regime_names, regime_warmup
from engine.features.sanitize import LastFinite, sanitize_frame
from engine.features.technical import TechnicalStream, technical_batch, technical_names
from engine.marketdata.bars import BarResampler, align_to_base, resample_bars
from engine.marketdata.frames import index_ns, require_bar_frame
from engine.marketdata.timeframes import feature_prefix, timeframe_ns
from engine.model.market import Bar

FEATURE_VERSION: Final = 2
BASE_TIMEFRAME: Final = "1m"
_BASE_NS: Final = timeframe_ns(BASE_TIMEFRAME)


class FeatureFactory:
    """Builds the feature set described by a ``FeaturesConfig``."""

    def __init__(self, config: FeaturesConfig | None = None) -> None:
        self.config = config or FeaturesConfig()
        names: list[str] = []
        for tf in self.config.timeframes:
            names += technical_names(self.config, feature_prefix(tf))
        if self.config.particle_filter.enabled:
            names += list(FILTER_OUTPUTS)
        if self.config.decomposition.enabled:
            names += list(DECOMPOSITION_OUTPUTS)
        if self.config.regime.enabled:
            names += regime_names(self.config.regime)
        if self.config.cross_asset.enabled:
            names += cross_asset_names(self.config.cross_asset)
        self.feature_names: list[str] = names
        self.feature_set = FeatureSet(
            tuple(names), FEATURE_VERSION, self.config.model_dump(mode="json")
        )
        self.feature_set_id: str = self.feature_set.id

    @property
    def warmup_bars(self) -> int:
        """An upper bound on the 1m bars before every feature has a value."""
        cfg = self.config
        per_tf = 1 + max(
            *cfg.return_lags,
            cfg.volatility_window,
            cfg.atr_period,
            cfg.rsi_period,
            cfg.macd_slow + cfg.macd_signal,
            cfg.bollinger_window,
            cfg.volume_window,
        )
        bars = max((per_tf + 1) * (timeframe_ns(tf) // _BASE_NS) for tf in cfg.timeframes)
        if cfg.particle_filter.enabled:
            bars = max(bars, cfg.particle_filter.warmup + 1)
        if cfg.decomposition.enabled:
            bars = max(bars, cfg.decomposition.window)
        if cfg.regime.enabled:
            bars = max(bars, regime_warmup(cfg.regime))
        if cfg.cross_asset.enabled:
            bars = max(bars, cross_asset_warmup(cfg.cross_asset))
        return int(bars)

    def context_symbols(self, symbol: str | None) -> tuple[str, ...]:
        """The other symbols whose 1m bars the features of ``symbol`` need.

        Empty when cross-asset features are off, for the leader itself and for
        ``None`` (the leader role: the input's own bars stand for the leader's).
        """
        cross = self.config.cross_asset
        if not cross.enabled or symbol is None or symbol == cross.leader:
            return ()
        return (cross.leader,)

    def require(self, feature_set_id: str, names: list[str] | None = None) -> None:
        """Raise ``FeatureSetMismatch`` unless a model's recorded id is this factory's."""
        self.feature_set.require(feature_set_id, names)

    def batch(
        self,
        bars_1m: pd.DataFrame,
        *,
        symbol: str | None = None,
        context: Mapping[str, pd.DataFrame] | None = None,
    ) -> pd.DataFrame:
        """Features for every row of ``symbol``'s 1m bar frame (see the module docstring).

        ``context`` maps each of ``context_symbols(symbol)`` to its 1m bar frame
        (any index): a context bar joins the row of the same open minute only,
        and a row without one is a missing minute (NaN, then forward-filled).
        A needed context symbol that is absent raises ``DataError``; context
        that is not needed is ignored.
        """
        require_bar_frame(bars_1m, "FeatureFactory.batch")
        frames = require_context(context, self.context_symbols(symbol), symbol)
        ns = index_ns(bars_1m.index)
        off_grid = ns % _BASE_NS != 0
        if off_grid.any():
            first = bars_1m.index[int(np.argmax(off_grid))]
            raise DataError(
                f"FeatureFactory.batch: bar open times must be whole minutes (first off at {first})"
            )
        prices = bars_1m[["open", "high", "low", "close"]].to_numpy(dtype=np.float64)
        bars_1m = bars_1m.assign(high=prices.max(axis=1), low=prices.min(axis=1))
        columns: dict[str, np.ndarray] = {}
        for tf in self.config.timeframes:
            names = technical_names(self.config, feature_prefix(tf))
            bars = bars_1m if tf == BASE_TIMEFRAME else resample_bars(bars_1m, tf, closed_only=True)
            values = technical_batch(bars, self.config)
            if tf == BASE_TIMEFRAME:
                columns.update(zip(names, values, strict=True))
                continue
            frame = pd.DataFrame(dict(zip(names, values, strict=True)), index=bars.index)
            aligned = align_to_base(pd.DatetimeIndex(bars_1m.index), frame, tf)
            columns.update({n: aligned[n].to_numpy(dtype=np.float64) for n in names})
        close = bars_1m["close"].to_numpy(dtype=np.float64)
        if self.config.particle_filter.enabled:
            filtered = particle_filter_batch(close, self.config.particle_filter)
            columns.update({n: filtered[:, i] for i, n in enumerate(FILTER_OUTPUTS)})
        if self.config.decomposition.enabled:
            parts = decomposition_batch(np.log(close), self.config.decomposition)
            columns.update({n: parts[:, i] for i, n in enumerate(DECOMPOSITION_OUTPUTS)})
        if self.config.regime.enabled:
            values = regime_batch(
                close, bars_1m["volume"].to_numpy(dtype=np.float64), self.config.regime
            )
            columns.update(zip(regime_names(self.config.regime), values, strict=True))
        cross = self.config.cross_asset
        if cross.enabled:
            leader = (
                aligned_close(pd.DatetimeIndex(bars_1m.index), frames[cross.leader], cross.leader)
                if frames
                else close
            )
            values = cross_asset_batch(close, leader, cross)
            columns.update(zip(cross_asset_names(cross), values, strict=True))
        raw = pd.DataFrame({n: columns[n] for n in self.feature_names}, index=bars_1m.index)
        return sanitize_frame(raw)

    def incremental(self, symbol: str | None = None) -> IncrementalFeatures:
        """A fresh streaming state for ``symbol`` (one per symbol; see ``context_symbols``)."""
        return IncrementalFeatures(self, symbol)


class IncrementalFeatures:
    """Per-symbol streaming features: ``update(bar, context)`` per closed 1m bar.

    A bar that is not a closed, finite, positive 1m bar strictly after the
    previous one raises ``DataError`` and leaves the state unchanged, so the
    caller can log it and carry on. ``context`` maps each of
    ``context_symbols`` to its closed 1m bar of the same minute; a missing,
    stale (another minute) or unusable one counts as a missing minute.
    """

    def __init__(self, factory: FeatureFactory, symbol: str | None = None) -> None:
        cfg = factory.config
        self.symbol = symbol
        self.context_symbols = factory.context_symbols(symbol)
        self.feature_names = list(factory.feature_names)
        self.feature_set_id = factory.feature_set_id
        self._base = TechnicalStream(cfg)
        self._higher = [
            (BarResampler(tf), TechnicalStream(cfg), [math.nan] * len(technical_names(cfg, "x")))
            for tf in cfg.timeframes
            if tf != BASE_TIMEFRAME
        ]
        self._filter = ParticleFilter(cfg.particle_filter) if cfg.particle_filter.enabled else None
        self._decomposition = (
            DecompositionStream(cfg.decomposition) if cfg.decomposition.enabled else None
        )
        self._regime = RegimeStream(cfg.regime) if cfg.regime.enabled else None
        self._cross = CrossAssetStream(cfg.cross_asset) if cfg.cross_asset.enabled else None
        self._fill = LastFinite(len(self.feature_names))
        self.last_ts: int | None = None

    def _check(self, bar: Bar) -> None:
        problem = None
        prices = (bar.open, bar.high, bar.low, bar.close)
        if bar.timeframe != BASE_TIMEFRAME or not bar.closed:
            problem = f"needs closed {BASE_TIMEFRAME} bars, got {bar.timeframe} closed={bar.closed}"
        elif not all(math.isfinite(p) and p > 0 for p in prices):
            problem = f"non-finite or non-positive price in {prices}"
        elif not (math.isfinite(bar.volume) and bar.volume >= 0):
            problem = f"bad volume {bar.volume}"
        elif bar.ts_open % _BASE_NS:
            problem = f"open time {bar.ts_open} is not a whole minute"
        elif self.last_ts is not None and bar.ts_open <= self.last_ts:
            problem = f"bar at {bar.ts_open} is not after the previous one ({self.last_ts})"
        if problem:
            raise DataError(f"IncrementalFeatures {bar.symbol}: {problem}")

    def update(self, bar: Bar, context: Mapping[str, Bar] | None = None) -> dict[str, float]:
        """Features after one more closed 1m bar (same values as ``batch``'s last row)."""
        self._check(bar)
        self.last_ts = bar.ts_open
        high = max(bar.open, bar.high, bar.low, bar.close)
        low = min(bar.open, bar.high, bar.low, bar.close)
        values = self._base.update(bar.open, high, low, bar.close, bar.volume)
        clean = Bar(
            bar.symbol,
            bar.timeframe,
            bar.ts_open,
            bar.open,
            high,
            low,
            bar.close,
            bar.volume,
            bar.trades,
        )
        for i, (resampler, stream, latest) in enumerate(self._higher):
            for done in resampler.on_bar(clean):
                latest = stream.update(done.open, done.high, done.low, done.close, done.volume)
            self._higher[i] = (resampler, stream, latest)
            values += latest
        if self._filter is not None:
            values += list(self._filter.update(bar.close))
        if self._decomposition is not None:
            values += self._decomposition.update(math.log(bar.close))
        if self._regime is not None:
            values += self._regime.update(bar.close, bar.volume)
        if self._cross is not None:
            values += self._cross.update(bar.close, self._leader_close(bar, context))
        return dict(zip(self.feature_names, self._fill.apply(values), strict=True))

    def _leader_close(self, bar: Bar, context: Mapping[str, Bar] | None) -> float:
        if not self.context_symbols:
            return bar.close
        return leader_close_of(bar, (context or {}).get(self.context_symbols[0]))
