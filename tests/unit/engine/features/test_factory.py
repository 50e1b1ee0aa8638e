"""FeatureFactory: the batch and incremental paths agree; bad input is rejected clearly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.bench.features import synthetic_bars
from engine.core.errors import DataError
from engine.features.config import DecompositionConfig, FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.marketdata.bars import frame_to_bars
from engine.model.market import Bar


def test_batch_and_incremental_agree_to_1e9_on_10000_bars() -> None:
    """Acceptance 2 (decomposition on, so every feature family is compared)."""
    bars = synthetic_bars(10_005, seed=21)
    bars = bars.drop(index=bars.index[[500, 501, 502, 3_333, 7_000]])  # gaps too
    factory = FeatureFactory(FeaturesConfig(decomposition=DecompositionConfig(enabled=True)))
    batch = factory.batch(bars)
    stream = factory.incremental()
    rows = [stream.update(bar) for bar in frame_to_bars(bars, "BTC/USDT")]
    incremental = pd.DataFrame(rows, index=bars.index)[factory.feature_names]
    diff = (incremental - batch).abs().to_numpy()
    assert (incremental.isna().to_numpy() == batch.isna().to_numpy()).all()
    worst = float(np.nanmax(diff))
    print(
        f"batch vs incremental on {len(bars)} bars x {len(factory.feature_names)} features: max |diff| {worst:.3e}"
    )
    assert len(bars) == 10_000
    assert worst <= 1e-9
    assert batch.iloc[-1].notna().all()


def test_batch_keeps_the_input_index_and_one_column_per_feature() -> None:
    bars = synthetic_bars(3_000).assign(regime="calm")
    factory = FeatureFactory()
    out = factory.batch(bars)
    assert out.index.equals(bars.index)
    assert list(out.columns) == factory.feature_names
    assert "regime" not in " ".join(out.columns)
    # 3 timeframes x 14 technical, 3 particle filter, 8 regime, 10 cross-asset.
    assert len(set(factory.feature_names)) == len(factory.feature_names) == 63
    assert all(name.isidentifier() for name in factory.feature_names)


def test_every_feature_has_a_value_after_the_announced_warm_up() -> None:
    factory = FeatureFactory()
    out = factory.batch(synthetic_bars(factory.warmup_bars + 10))
    assert out.iloc[factory.warmup_bars :].notna().all().all()
    assert out.iloc[0].isna().sum() > 40  # only range and body exist on the first bar


def test_batch_rejects_duplicate_out_of_order_and_bad_price_rows() -> None:
    bars = synthetic_bars(100)
    factory = FeatureFactory()
    with pytest.raises(DataError, match="strictly increase"):
        factory.batch(pd.concat([bars, bars.iloc[[5]]]))
    with pytest.raises(DataError, match="strictly increase"):
        factory.batch(bars.iloc[::-1])
    for value in (np.nan, np.inf, 0.0, -1.0):
        bad = bars.copy()
        bad.iloc[10, bad.columns.get_loc("close")] = value
        with pytest.raises(DataError, match="non-finite or non-positive"):
            factory.batch(bad)
    with pytest.raises(DataError, match="whole minutes"):
        factory.batch(bars.set_axis(bars.index + pd.Timedelta("5s")))


def test_incremental_rejects_a_bad_bar_and_keeps_its_state() -> None:
    bars = frame_to_bars(synthetic_bars(300), "BTC/USDT")
    factory = FeatureFactory()
    clean, poked = factory.incremental(), factory.incremental()
    for bar in bars[:200]:
        clean.update(bar)
        poked.update(bar)
    last = bars[199]
    broken = [
        Bar("BTC/USDT", "1m", last.ts_open, 1, 1, 1, 1, 1),
        Bar("BTC/USDT", "1m", bars[200].ts_open, math.nan, 1, 1, 1, 1),
        Bar("BTC/USDT", "1m", bars[200].ts_open, 1, 1, 1, -1, 1),
        Bar("BTC/USDT", "15m", bars[200].ts_open, 1, 1, 1, 1, 1),
        Bar("BTC/USDT", "1m", bars[200].ts_open, 1, 1, 1, 1, 1, closed=False),
        Bar("BTC/USDT", "1m", bars[200].ts_open + 7, 1, 1, 1, 1, 1),
    ]
    for bar in broken:
        with pytest.raises(DataError, match="IncrementalFeatures BTC/USDT"):
            poked.update(bar)
    for bar in bars[200:]:
        assert clean.update(bar) == poked.update(bar)


def test_incremental_values_are_sanitized_by_carrying_the_last_finite_value() -> None:
    factory = FeatureFactory(FeaturesConfig(timeframes=("1m",)))
    stream = factory.incremental()
    bars = synthetic_bars(factory.warmup_bars + 20)
    out = [stream.update(b) for b in frame_to_bars(bars, "X/USDT")]
    assert all(math.isfinite(v) for v in out[-1].values())
