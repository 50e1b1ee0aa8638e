"""Bars: building from trades, resampling, and alignment that only joins closed bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import DataError
from engine.marketdata.bars import (
    BarBuilder,
    BarResampler,
    align_to_base,
    bars_to_frame,
    frame_to_bars,
    resample_bars,
)
from engine.marketdata.frames import bars_from_arrays
from engine.model.enums import Side
from engine.model.market import Trade

MIN = 60_000_000_000
T0 = 1_704_067_200 * 1_000_000_000  # 2024-01-01T00:00Z in ns


def _trade(ts: int, price: float, qty: float = 1.0, tid: str = "t") -> Trade:
    return Trade("BTC/USDT", ts, ts, price, qty, Side.BUY, tid)


def _minute_bars(n: int, seed: int = 0, drop: tuple[int, ...] = ()) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) + rng.random(n)
    low = np.minimum(open_, close) - rng.random(n)
    ts = T0 // 1_000_000 + np.arange(n, dtype=np.int64) * 60_000
    keep = np.setdiff1d(np.arange(n), np.asarray(drop, dtype=np.int64))
    ohlcv = np.column_stack([open_, high, low, close, rng.random(n) * 10])
    return bars_from_arrays(ts[keep], ohlcv[keep], trades=np.arange(n)[keep])


def test_bar_builder_aggregates_trades_of_one_minute() -> None:
    builder = BarBuilder("BTC/USDT")
    assert builder.on_trade(_trade(T0 + 1, 100.0, 1.0)) == []
    builder.on_trade(_trade(T0 + 10 * 10**9, 105.0, 2.0))
    builder.on_trade(_trade(T0 + 20 * 10**9, 95.0, 0.5))
    forming = builder.current()
    assert forming is not None
    assert not forming.closed
    (bar,) = builder.on_trade(_trade(T0 + MIN + 1, 101.0))
    assert (bar.ts_open, bar.open, bar.high, bar.low, bar.close) == (T0, 100.0, 105.0, 95.0, 95.0)
    assert bar.volume == 3.5
    assert bar.trades == 3
    assert bar.closed


def test_bar_builder_closes_empty_minutes_as_flat_bars_at_the_last_price() -> None:
    builder = BarBuilder("BTC/USDT")
    builder.on_trade(_trade(T0, 100.0))
    bars = builder.on_trade(_trade(T0 + 3 * MIN, 110.0))
    assert [b.ts_open for b in bars] == [T0, T0 + MIN, T0 + 2 * MIN]
    assert [(b.close, b.volume) for b in bars[1:]] == [(100.0, 0.0), (100.0, 0.0)]


def test_bar_builder_without_fill_skips_empty_minutes() -> None:
    builder = BarBuilder("BTC/USDT", fill_empty=False)
    builder.on_trade(_trade(T0, 100.0))
    bars = builder.on_trade(_trade(T0 + 3 * MIN, 110.0))
    assert [b.ts_open for b in bars] == [T0]


def test_bar_builder_on_time_closes_a_minute_without_a_new_trade() -> None:
    builder = BarBuilder("BTC/USDT")
    builder.on_trade(_trade(T0 + 5, 100.0))
    assert builder.on_time(T0 + MIN - 1) == []
    assert [b.ts_open for b in builder.on_time(T0 + MIN)] == [T0]


def test_bar_builder_counts_and_ignores_late_trades() -> None:
    builder = BarBuilder("BTC/USDT")
    builder.on_trade(_trade(T0 + MIN, 100.0))
    builder.on_trade(_trade(T0 + 5, 1.0))
    assert builder.late_trades == 1
    current = builder.current()
    assert current is not None
    assert current.low == 100.0


def test_bar_builder_rejects_a_trade_with_a_bad_price() -> None:
    with pytest.raises(DataError):
        BarBuilder("BTC/USDT").on_trade(_trade(T0, float("nan")))


def test_resample_bars_aggregates_ohlcv_per_epoch_aligned_bucket() -> None:
    df = _minute_bars(30)
    out = resample_bars(df, "15m")
    assert len(out) == 2
    first = df.iloc[:15]
    row = out.iloc[0]
    assert out.index[0] == df.index[0]
    assert row["open"] == first["open"].iloc[0]
    assert row["close"] == first["close"].iloc[-1]
    assert row["high"] == first["high"].max()
    assert row["low"] == first["low"].min()
    assert row["volume"] == pytest.approx(first["volume"].sum(), rel=1e-12)
    assert row["trades"] == first["trades"].sum()


def test_resample_bars_drops_the_unfinished_last_bucket_only_when_asked() -> None:
    df = _minute_bars(20)
    assert len(resample_bars(df, "15m")) == 1
    assert len(resample_bars(df, "15m", closed_only=False)) == 2


def test_align_to_base_joins_a_15m_bar_on_its_last_minute_not_before() -> None:
    df = _minute_bars(45)
    htf = resample_bars(df, "15m")
    aligned = align_to_base(df.index, htf[["close"]], "15m")
    assert aligned["close"].iloc[:14].isna().all()
    assert aligned["close"].iloc[14] == df["close"].iloc[14]
    assert (aligned["close"].iloc[14:29] == df["close"].iloc[14]).all()
    assert aligned["close"].iloc[29] == df["close"].iloc[29]


def test_align_to_base_after_a_gap_joins_at_the_first_bar_past_the_close() -> None:
    df = _minute_bars(40, drop=(13, 14, 15))
    htf = resample_bars(df, "15m")
    aligned = align_to_base(df.index, htf[["close"]], "15m")
    at_12 = df.index.get_loc(df.index[df.index < df.index[0] + pd.Timedelta("13min")][-1])
    assert pd.isna(aligned["close"].iloc[at_12])
    assert aligned["close"].iloc[at_12 + 1] == df["close"].iloc[at_12]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 200),
    seed=st.integers(0, 1000),
    drop=st.lists(st.integers(0, 199), max_size=60),
    timeframe=st.sampled_from(["5m", "15m", "1h"]),
)
def test_bar_resampler_streaming_agrees_with_batch_resampling(
    n: int, seed: int, drop: list[int], timeframe: str
) -> None:
    df = _minute_bars(n, seed, tuple(d for d in drop if d < n - 1))
    expected = resample_bars(df, timeframe)
    resampler = BarResampler(timeframe)
    emitted = [b for bar in frame_to_bars(df, "X/USDT") for b in resampler.on_bar(bar)]
    got = bars_to_frame(emitted) if emitted else expected.iloc[:0]
    assert list(got.index) == list(expected.index)
    for col in ("open", "high", "low", "close", "trades"):
        np.testing.assert_array_equal(got[col].to_numpy(), expected[col].to_numpy())
    np.testing.assert_allclose(got["volume"], expected["volume"], rtol=1e-12)


def test_bar_resampler_on_time_closes_a_bucket_whose_end_passed() -> None:
    resampler = BarResampler("15m")
    (bar,) = frame_to_bars(_minute_bars(1), "X/USDT")
    assert resampler.on_bar(bar) == []
    assert resampler.on_time(T0 + 14 * MIN) == []
    (closed,) = resampler.on_time(T0 + 15 * MIN)
    assert closed.closed
    assert closed.ts_open == T0
    assert resampler.current() is None
