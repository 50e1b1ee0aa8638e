"""Invariant 3 (clean numbers): no NaN or Inf reaches a model, and the checkpoint fails loudly.

The path a forge task takes: raw bars (possibly dirty) -> ``clean_bars`` ->
``FeatureFactory.batch`` -> ``drop_warmup`` -> ``check_finite``. On any input
it either yields a finite frame or raises ``DataError`` with a clear message;
nothing else escapes. The live path (``IncrementalFeatures.update``) rejects a
bad bar with ``DataError`` and keeps producing finite values after warm-up.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bench.features import synthetic_bars
from engine.core.errors import DataError
from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.features.sanitize import check_finite, drop_warmup, sanitize_frame
from engine.marketdata.bars import frame_to_bars
from engine.marketdata.frames import clean_bars
from engine.model.market import Bar

FACTORY = FeatureFactory(FeaturesConfig(timeframes=("1m", "15m")))
BAD_VALUES = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -3.0, 1e-9, 1e9])


@st.composite
def dirty_bars(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 900))
    bars = synthetic_bars(n, seed=draw(st.integers(0, 2**31)))
    if draw(st.booleans()):
        bars.iloc[:, :4] = bars.iloc[:, :4] * draw(st.sampled_from([1e-6, 1.0, 1e6]))
    if draw(st.booleans()) and n:
        start = draw(st.integers(0, n - 1))  # a long flat, zero-volume stretch
        bars.iloc[start : start + 200, :4] = bars.iloc[start, 3]
        bars.iloc[start : start + 200, 4] = 0.0
    for _ in range(draw(st.integers(0, 30)) if n else 0):
        bars.iloc[draw(st.integers(0, n - 1)), draw(st.integers(0, 4))] = draw(BAD_VALUES)
    if n:
        dup = draw(st.lists(st.integers(0, n - 1), max_size=10))
        bars = pd.concat([bars, bars.iloc[dup]])
        if draw(st.booleans()):
            bars = bars.iloc[np.random.default_rng(draw(st.integers(0, 99))).permutation(len(bars))]
        holes = draw(st.lists(st.integers(0, len(bars) - 1), max_size=40))
        bars = bars.drop(index=bars.index[sorted(set(holes))])
    return bars


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=dirty_bars())
def test_dirty_bars_become_finite_model_inputs_or_a_data_error(raw: pd.DataFrame) -> None:
    error: DataError | None = None
    try:
        bars, _report = clean_bars(raw, "1m")
        features = drop_warmup(FACTORY.batch(bars))
        check_finite(features, "forge input")
    except DataError as exc:
        error = exc
    if error is not None:
        assert str(error)
        return
    assert np.isfinite(features.to_numpy()).all()
    if len(bars) > FACTORY.warmup_bars:
        assert len(features) >= len(bars) - FACTORY.warmup_bars


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=dirty_bars())
def test_the_live_path_rejects_bad_bars_and_stays_finite(raw: pd.DataFrame) -> None:
    stream = FACTORY.incremental()
    frame = raw.sort_index(kind="stable")
    bars = frame_to_bars(frame.assign(volume=frame["volume"].fillna(0.0)), "BTC/USDT")
    accepted = 0
    last: dict[str, float] = {}
    rejections: list[str] = []
    for bar in bars:
        try:
            last = stream.update(bar)
            accepted += 1
        except DataError as exc:
            rejections.append(str(exc))
    assert all("IncrementalFeatures BTC/USDT" in r for r in rejections)
    assert accepted + len(rejections) == len(bars)
    if accepted > FACTORY.warmup_bars:
        assert all(math.isfinite(v) for v in last.values())


def test_inf_produced_inside_features_is_sanitized_causally() -> None:
    raw = pd.DataFrame({"f": [np.nan, 1.0, np.inf, -np.inf, 2.0]})
    assert sanitize_frame(raw)["f"].tolist()[1:] == [1.0, 1.0, 1.0, 2.0]


def test_the_checkpoint_names_the_columns_that_are_not_finite() -> None:
    features = drop_warmup(FACTORY.batch(synthetic_bars(FACTORY.warmup_bars + 50)))
    check_finite(features, "forge input")
    broken = features.copy()
    broken.iloc[3, 2] = np.nan
    broken.iloc[7, 5] = np.inf
    with pytest.raises(DataError) as info:
        check_finite(broken, "forge input")
    message = str(info.value)
    assert features.columns[2] in message
    assert features.columns[5] in message
    assert "2 column(s)" in message


def test_a_bar_with_a_non_finite_price_never_reaches_the_live_features() -> None:
    stream = FACTORY.incremental()
    bars = frame_to_bars(synthetic_bars(50), "BTC/USDT")
    for bar in bars[:49]:
        stream.update(bar)
    for price in (math.nan, math.inf, 0.0, -1.0):
        with pytest.raises(DataError, match="non-finite or non-positive"):
            stream.update(Bar("BTC/USDT", "1m", bars[49].ts_open, price, price, price, price, 1.0))
    assert stream.last_ts == bars[48].ts_open
