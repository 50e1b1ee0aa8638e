"""A forge dataset: bars -> checked features, triple-barrier labels, purged splits.

Every length here (warm-up, label horizon, volatility span, embargo) is in bars
of the timeframe the forge was given, so the settings hold for 1m and 5m bars alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.core.errors import DataError
from engine.features.sanitize import check_finite
from engine.forge.backtest import bar_returns
from engine.forge.config import ForgeConfig
from engine.forge.labels import (
    UNDEFINED,
    ChronologicalSplit,
    Segment,
    chronological_split,
    purged_mask,
    triple_barrier_labels,
)

MIN_ROWS = 2_000


class InsufficientData(DataError):
    """Too few usable bars to forge on: a verdict on the data (the task is rejected), not a fault."""


def require_rows(rows: int, what: str) -> None:
    """Raise ``InsufficientData`` unless ``rows`` reaches the forge's minimum."""
    if rows < MIN_ROWS:
        raise InsufficientData(f"only {rows} {what}; the forge needs >= {MIN_ROWS}")


@dataclass(frozen=True)
class ForgeDataset:
    """Features (warm-up dropped, checked finite), prices and labels on the same rows."""

    features: pd.DataFrame
    open: np.ndarray
    close: np.ndarray
    labels: np.ndarray
    event_end: np.ndarray
    split: ChronologicalSplit

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.features.columns)

    def frame(self, segment: Segment) -> pd.DataFrame:
        return self.features.iloc[segment.slice]

    def returns(self, segment: Segment) -> np.ndarray:
        return bar_returns(self.open[segment.slice], self.close[segment.slice])

    def training_rows(self, segment: Segment) -> np.ndarray:
        """Positions in ``segment`` usable as training targets (defined and purged)."""
        mask = purged_mask(self.event_end, segment) & (self.labels != UNDEFINED)
        return np.flatnonzero(mask)


def drop_warmup(features: pd.DataFrame) -> pd.DataFrame:
    """Drop the leading rows until every feature is finite; then insist on finiteness."""
    ok = np.isfinite(features.to_numpy(dtype=np.float64)).all(axis=1)
    if not ok.any():
        raise InsufficientData(
            f"no row of {len(features)} has every feature finite; the series is shorter than"
            " the warm-up"
        )
    trimmed = features.iloc[int(np.argmax(ok)) :]
    check_finite(trimmed, "forge features")
    return trimmed


def build_dataset(bars: pd.DataFrame, features: pd.DataFrame, config: ForgeConfig) -> ForgeDataset:
    """Align bars and features, label the bars and cut train/validation/holdout."""
    if not features.index.equals(bars.index):
        raise DataError("features and bars must share the same index")
    features = drop_warmup(features)
    bars = bars.loc[features.index]
    require_rows(len(bars), "usable bars after warm-up")
    lab = config.labels
    labels = triple_barrier_labels(
        bars["close"].to_numpy(),
        bars["high"].to_numpy(),
        bars["low"].to_numpy(),
        profit_take=lab.profit_take,
        stop_loss=lab.stop_loss,
        horizon=lab.horizon_bars,
        vol_span=lab.vol_span,
    )
    split = chronological_split(
        len(bars),
        config.split.train_fraction,
        config.split.validation_fraction,
        config.split.embargo_bars,
    )
    return ForgeDataset(
        features=features,
        open=bars["open"].to_numpy(dtype=np.float64),
        close=bars["close"].to_numpy(dtype=np.float64),
        labels=labels.labels,
        event_end=labels.event_end,
        split=split,
    )
