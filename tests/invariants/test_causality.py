"""Invariant 1 (causality): a value at t depends only on data up to t.

Properties, on random series with random gaps and random cut points t:
* every feature at t computed on ``data[: t + 1]`` equals its value on the full data;
* changing the data after t changes no feature at or before t;
* a 15m or 1h bar joins a 1m row only once it has closed, and the aligned
  higher-timeframe values at t are the same on truncated and full data;
* cross-asset features (a follower's features with the leader's bars as
  context): truncating both series at t, or changing the leader's bars after
  t, changes no value at or before t.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bench.features import synthetic_bars
from engine.features.config import (
    CrossAssetConfig,
    DecompositionConfig,
    FeaturesConfig,
    RegimeConfig,
)
from engine.features.factory import FeatureFactory
from engine.marketdata.bars import align_to_base, closed_at, resample_bars
from engine.marketdata.frames import index_ns

FACTORY = FeatureFactory(FeaturesConfig(decomposition=DecompositionConfig(enabled=True, window=32)))
CROSS = FeatureFactory(
    FeaturesConfig(
        timeframes=("1m", "15m"),
        regime=RegimeConfig(vol_long=120, trend_windows=(30, 120), volume_long=120),
        cross_asset=CrossAssetConfig(return_windows=(15, 60), vol_windows=(20, 60), corr_window=60),
    )
)
LEADER, FOLLOWER = "BTC/USDT", "ETH/USDT"
MINUTE_NS = 60_000_000_000


@st.composite
def bar_series(draw: st.DrawFn, min_size: int = 200, max_size: int = 2_600) -> pd.DataFrame:
    n = draw(st.integers(min_size, max_size))
    bars = synthetic_bars(n, seed=draw(st.integers(0, 2**31)))
    holes = draw(st.lists(st.integers(1, n - 2), max_size=25))
    widths = draw(st.lists(st.integers(1, 90), min_size=len(holes), max_size=len(holes)))
    drop = {i for h, w in zip(holes, widths, strict=True) for i in range(h, min(h + w, n - 1))}
    return bars.drop(index=bars.index[sorted(drop)])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bars=bar_series(), cuts=st.lists(st.floats(0, 1), min_size=1, max_size=3))
def test_every_feature_at_t_is_the_same_on_data_truncated_at_t(
    bars: pd.DataFrame, cuts: list[float]
) -> None:
    full = FACTORY.batch(bars)
    for cut in cuts:
        t = int(cut * (len(bars) - 1))
        truncated = FACTORY.batch(bars.iloc[: t + 1])
        np.testing.assert_array_equal(truncated.iloc[t].to_numpy(), full.iloc[t].to_numpy())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bars=bar_series(min_size=2_200), cut=st.floats(0.3, 0.95), seed=st.integers(0, 1000))
def test_changing_the_future_changes_no_past_feature(
    bars: pd.DataFrame, cut: float, seed: int
) -> None:
    t = int(cut * (len(bars) - 1))
    future = bars.iloc[t + 1 :]
    shock = np.exp(np.random.default_rng(seed).normal(0, 0.05, len(future)))
    altered = pd.concat(
        [
            bars.iloc[: t + 1],
            future.assign(
                open=future["open"] * shock,
                high=future["high"] * shock * 1.01,
                low=future["low"] * shock * 0.99,
                close=future["close"] * shock,
                volume=future["volume"] * 3,
            ),
        ]
    )
    a, b = FACTORY.batch(bars), FACTORY.batch(altered)
    np.testing.assert_array_equal(a.iloc[: t + 1].to_numpy(), b.iloc[: t + 1].to_numpy())
    assert not np.allclose(a.iloc[t + 1 :].to_numpy(), b.iloc[t + 1 :].to_numpy(), equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(
    bars=bar_series(max_size=1_500), timeframe=st.sampled_from(["15m", "1h"]), cut=st.floats(0, 1)
)
def test_higher_timeframe_bars_join_only_once_closed_and_causally(
    bars: pd.DataFrame, timeframe: str, cut: float
) -> None:
    htf = resample_bars(bars, timeframe)
    aligned = align_to_base(
        pd.DatetimeIndex(bars.index), htf.assign(open_ns=index_ns(htf.index)), timeframe
    )
    joined = aligned["open_ns"].to_numpy()
    has = ~np.isnan(joined)
    htf_close = closed_at(pd.DatetimeIndex(joined[has].astype(np.int64)), timeframe)
    row_close = index_ns(bars.index)[has] + MINUTE_NS
    assert (htf_close <= row_close).all()
    # The newest closed bucket is the one joined: no closed bucket is skipped.
    all_close = closed_at(pd.DatetimeIndex(htf.index), timeframe)
    newest = np.searchsorted(all_close, index_ns(bars.index) + MINUTE_NS, side="right") - 1
    assert (has == (newest >= 0)).all()

    t = int(cut * (len(bars) - 1))
    head = bars.iloc[: t + 1]
    head_aligned = align_to_base(
        pd.DatetimeIndex(head.index), resample_bars(head, timeframe), timeframe
    )
    np.testing.assert_array_equal(
        head_aligned.iloc[t].to_numpy(dtype=float),
        aligned.drop(columns="open_ns").iloc[t].to_numpy(dtype=float),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bars=bar_series(max_size=1_500),
    leader=bar_series(max_size=1_500),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=3),
    seed=st.integers(0, 1000),
)
def test_cross_asset_features_at_t_use_neither_series_after_t(
    bars: pd.DataFrame, leader: pd.DataFrame, cuts: list[float], seed: int
) -> None:
    """The leader's bars join by their own minute; nothing after t reaches row t."""
    full = CROSS.batch(bars, symbol=FOLLOWER, context={LEADER: leader})
    rng = np.random.default_rng(seed)
    for cut in cuts:
        t = int(cut * (len(bars) - 1))
        now = bars.index[t]
        truncated = CROSS.batch(
            bars.iloc[: t + 1], symbol=FOLLOWER, context={LEADER: leader.loc[:now]}
        )
        np.testing.assert_array_equal(truncated.iloc[t].to_numpy(), full.iloc[t].to_numpy())
        later = leader.index > now
        shock = np.exp(rng.normal(0, 0.05, int(later.sum())))
        altered = leader.copy()
        for column in ("open", "high", "low", "close"):
            altered.loc[later, column] = altered.loc[later, column] * shock
        moved = CROSS.batch(bars, symbol=FOLLOWER, context={LEADER: altered})
        np.testing.assert_array_equal(moved.iloc[: t + 1].to_numpy(), full.iloc[: t + 1].to_numpy())
