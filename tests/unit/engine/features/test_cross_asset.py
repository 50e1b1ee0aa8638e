"""Cross-asset features: the leader's bars of the same minute, batch and incremental alike."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.bench.features import synthetic_bars
from engine.core.errors import DataError
from engine.features.config import CrossAssetConfig, FeaturesConfig
from engine.features.cross_asset import cross_asset_names
from engine.features.factory import FeatureFactory
from engine.marketdata.bars import frame_to_bars
from engine.model.market import Bar

LEADER, FOLLOWER = "BTC/USDT", "ETH/USDT"
TOL = 1e-9
# A small configuration keeps the tests quick; the defaults are exercised elsewhere.
SMALL = FeaturesConfig(
    timeframes=("1m", "15m"),
    cross_asset=CrossAssetConfig(return_windows=(5, 30), vol_windows=(10, 40), corr_window=60),
)


def lead_lag_pair(n: int, seed: int, noise: float = 2e-4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leader bars and follower bars whose closes repeat the leader's one bar late."""
    leader = synthetic_bars(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    log_close = np.log(leader["close"].to_numpy()) - np.log(20.0)
    follower_log = np.r_[log_close[0], log_close[:-1]] + np.cumsum(rng.normal(0, noise, n))
    close = np.exp(follower_log)
    open_ = np.r_[close[0], close[:-1]]
    wick = np.abs(rng.normal(0, 3e-4, (2, n)))
    follower = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + wick[0]),
            "low": np.minimum(open_, close) * (1 - wick[1]),
            "close": close,
            "volume": rng.gamma(2.0, 5.0, n),
        },
        index=leader.index,
    )
    return leader, follower


def _stream(
    factory: FeatureFactory, bars: pd.DataFrame, context: dict[int, Bar | None]
) -> pd.DataFrame:
    stream = factory.incremental(FOLLOWER)
    rows = [
        stream.update(bar, {LEADER: context.get(bar.ts_open)} if bar.ts_open in context else None)
        for bar in frame_to_bars(bars, FOLLOWER)
    ]
    return pd.DataFrame(rows, index=bars.index)[factory.feature_names]


def test_context_symbols_name_the_leader_for_followers_only() -> None:
    factory = FeatureFactory()
    assert factory.context_symbols(FOLLOWER) == (LEADER,)
    assert factory.context_symbols("SOL/USDT") == (LEADER,)
    assert factory.context_symbols(LEADER) == ()
    assert factory.context_symbols(None) == ()
    off = FeatureFactory(FeaturesConfig(cross_asset=CrossAssetConfig(enabled=False)))
    assert off.context_symbols(FOLLOWER) == ()
    assert not any(n.startswith("lead_") for n in off.feature_names)
    other = FeatureFactory(FeaturesConfig(cross_asset=CrossAssetConfig(leader="ETH/USDT")))
    assert other.context_symbols(LEADER) == ("ETH/USDT",)


def test_every_cross_asset_setting_changes_the_feature_set_id() -> None:
    ids = {
        FeatureFactory(FeaturesConfig(cross_asset=c)).feature_set_id
        for c in (
            CrossAssetConfig(),
            CrossAssetConfig(enabled=False),
            CrossAssetConfig(leader="ETH/USDT"),
            CrossAssetConfig(lags=(0, 1)),
            CrossAssetConfig(corr_window=120),
            CrossAssetConfig(corr_lag=2),
            CrossAssetConfig(gap_bars=3),
        )
    }
    assert len(ids) == 7
    assert cross_asset_names(CrossAssetConfig()) == [
        "lead_ret_lag0",
        "lead_ret_lag1",
        "lead_ret_lag2",
        "lead_ret_15",
        "lead_ret_60",
        "lead_ret_240",
        "lead_vol_20",
        "lead_vol_240",
        "lead_corr_240",
        "lead_gap_2",
    ]


def test_the_columns_are_the_same_with_or_without_symbol_and_context() -> None:
    leader, follower = lead_lag_pair(600, seed=3)
    factory = FeatureFactory(SMALL)
    plain = factory.batch(follower)
    with_context = factory.batch(follower, symbol=FOLLOWER, context={LEADER: leader})
    as_leader = factory.batch(leader, symbol=LEADER)
    assert list(plain.columns) == list(with_context.columns) == list(as_leader.columns)
    assert list(plain.columns) == factory.feature_names
    assert not plain["lead_ret_lag0"].equals(with_context["lead_ret_lag0"])


def test_the_leader_and_a_frame_without_symbol_use_their_own_bars_as_the_leader() -> None:
    leader, follower = lead_lag_pair(600, seed=4)
    factory = FeatureFactory(SMALL)
    own = factory.batch(leader)
    pd.testing.assert_frame_equal(own, factory.batch(leader, symbol=LEADER))
    # Context that the leader does not need is ignored.
    pd.testing.assert_frame_equal(
        own, factory.batch(leader, symbol=LEADER, context={FOLLOWER: follower})
    )
    np.testing.assert_allclose(own["lead_ret_lag0"], own["m1_ret_1"], rtol=0, atol=0)
    assert (own["lead_gap_2"].dropna() == 0.0).all()
    stream = factory.incremental(LEADER)
    last = [stream.update(b) for b in frame_to_bars(leader, LEADER)][-1]
    np.testing.assert_allclose(list(last.values()), own.iloc[-1].to_numpy(), rtol=0, atol=TOL)


def test_a_follower_without_its_leaders_bars_is_refused_in_batch() -> None:
    _leader, follower = lead_lag_pair(300, seed=5)
    factory = FeatureFactory(SMALL)
    with pytest.raises(DataError, match=r"ETH/USDT need the 1m bars of BTC/USDT"):
        factory.batch(follower, symbol=FOLLOWER)
    with pytest.raises(DataError, match=r"need the 1m bars of BTC/USDT"):
        factory.batch(follower, symbol=FOLLOWER, context={"SOL/USDT": follower})


def test_a_context_bar_joins_the_row_of_its_own_minute_only() -> None:
    leader, follower = lead_lag_pair(400, seed=6)
    # The leader lacks minutes 100-104 and has minutes the follower lacks (200-209).
    leader = leader.drop(index=leader.index[100:105])
    follower = follower.drop(index=follower.index[200:210])
    factory = FeatureFactory(SMALL)
    out = factory.batch(follower, symbol=FOLLOWER, context={LEADER: leader})
    log_l = np.log(leader["close"].reindex(follower.index))
    expected = (log_l - log_l.shift(1)).ffill()  # missing minutes: the last finite value
    np.testing.assert_allclose(
        out["lead_ret_lag0"].to_numpy()[1:], expected.to_numpy()[1:], rtol=0, atol=1e-15
    )
    # Row 99 (the last before the hole) carries on through the missing leader minutes.
    assert (out["lead_ret_lag0"].iloc[100:106] == out["lead_ret_lag0"].iloc[99]).all()
    # Across the follower's own gap the leader's return is between the rows' minutes.
    row = follower.index.get_loc(leader.index[205])  # first follower row after the gap
    assert out["lead_ret_lag0"].iloc[row] == pytest.approx(
        math.log(leader["close"].loc[follower.index[row]])
        - math.log(leader["close"].loc[follower.index[row - 1]]),
        abs=1e-15,
    )


def test_a_later_leader_bar_never_reaches_an_earlier_row() -> None:
    leader, follower = lead_lag_pair(500, seed=7)
    factory = FeatureFactory(SMALL)
    base = factory.batch(follower, symbol=FOLLOWER, context={LEADER: leader})
    t = 321
    shocked = leader.copy()
    shocked.iloc[t + 1 :, :4] *= 1.05
    moved = factory.batch(follower, symbol=FOLLOWER, context={LEADER: shocked})
    np.testing.assert_array_equal(base.iloc[: t + 1].to_numpy(), moved.iloc[: t + 1].to_numpy())
    assert base["lead_ret_lag0"].iloc[t + 1] != moved["lead_ret_lag0"].iloc[t + 1]


@pytest.mark.parametrize("seed", [11, 12])
def test_batch_and_incremental_agree_with_gaps_missing_and_stale_context(seed: int) -> None:
    leader, follower = lead_lag_pair(2_600, seed=seed)
    rng = np.random.default_rng(seed)
    leader = leader.drop(index=leader.index[np.sort(rng.choice(2_600, 150, replace=False))])
    follower = follower.drop(index=follower.index[1_000:1_030])
    factory = FeatureFactory(FeaturesConfig())
    batch = factory.batch(follower, symbol=FOLLOWER, context={LEADER: leader})
    leader_bars = {b.ts_open: b for b in frame_to_bars(leader, LEADER)}
    context: dict[int, Bar | None] = {}
    previous: Bar | None = None
    for i, bar in enumerate(frame_to_bars(follower, FOLLOWER)):
        found = leader_bars.get(bar.ts_open)
        if found is not None:
            context[bar.ts_open] = found
            previous = found
        elif i % 3 == 0:
            context[bar.ts_open] = previous  # stale: the leader's bar of an earlier minute
        elif i % 3 == 1:
            context[bar.ts_open] = None  # the leader's entry is present but empty
        # else: no context mapping at all for this minute
    streamed = _stream(factory, follower, context)
    assert (streamed.isna().to_numpy() == batch.isna().to_numpy()).all()
    worst = float(np.nanmax((streamed - batch).abs().to_numpy()))
    print(f"{len(follower)} bars, {len(leader)} leader bars: max |diff| {worst:.2e}")
    assert worst <= TOL
    assert batch.iloc[-1].notna().all()


def test_an_open_other_timeframe_or_broken_context_bar_counts_as_missing() -> None:
    leader, follower = lead_lag_pair(300, seed=8)
    factory = FeatureFactory(SMALL)
    bars = frame_to_bars(follower, FOLLOWER)
    lead = frame_to_bars(leader, LEADER)
    at = lead[150].ts_open
    variants = [
        Bar(LEADER, "1m", at, 1, 1, 1, 1, 1, closed=False),
        Bar(LEADER, "5m", at, 1, 1, 1, 1, 1),
        Bar(LEADER, "1m", at, 1, 1, 1, math.nan, 1),
        Bar(LEADER, "1m", at, 1, 1, 1, -1.0, 1),
    ]
    clean = factory.incremental(FOLLOWER)
    expected = [
        clean.update(b, {LEADER: c} if i != 150 else None)
        for i, (b, c) in enumerate(zip(bars, lead, strict=True))
    ]
    for variant in variants:
        poked = factory.incremental(FOLLOWER)
        got = [
            poked.update(b, {LEADER: variant if i == 150 else c})
            for i, (b, c) in enumerate(zip(bars, lead, strict=True))
        ]
        assert got == expected
    assert expected[150] != expected[151]


def test_the_lead_lag_correlation_finds_a_one_bar_lead_and_nothing_in_noise() -> None:
    leader, follower = lead_lag_pair(1_000, seed=9)
    factory = FeatureFactory(SMALL)
    out = factory.batch(follower, symbol=FOLLOWER, context={LEADER: leader})
    assert out["lead_corr_60"].iloc[-300:].min() > 0.9
    unrelated = synthetic_bars(1_000, seed=99)
    noise = factory.batch(unrelated, symbol=FOLLOWER, context={LEADER: leader})
    assert noise["lead_corr_60"].iloc[-300:].abs().max() < 0.6
    assert abs(noise["lead_corr_60"].iloc[-300:].mean()) < 0.15
    # The gap is the leader's two-bar move that the follower has not made yet.
    log_l, log_s = np.log(leader["close"]), np.log(follower["close"])
    gap = (log_l - log_l.shift(2)) - (log_s - log_s.shift(2))
    np.testing.assert_allclose(out["lead_gap_2"].iloc[2:], gap.iloc[2:], rtol=0, atol=1e-12)
