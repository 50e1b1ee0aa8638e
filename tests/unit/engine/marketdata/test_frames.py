"""Bar frame cleaning: bad rows are repaired or dropped with counts, never a crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.errors import DataError
from engine.marketdata.frames import (
    bars_from_arrays,
    clean_bars,
    find_gaps,
    require_bar_frame,
)

T0_MS = 1_704_067_200_000  # 2024-01-01T00:00Z


def _bars(n: int, start_ms: int = T0_MS) -> pd.DataFrame:
    ts = start_ms + np.arange(n, dtype=np.int64) * 60_000
    close = 100.0 + np.arange(n, dtype=np.float64)
    ohlcv = np.column_stack([close, close + 1, close - 1, close, np.ones(n)])
    return bars_from_arrays(ts, ohlcv)


def test_clean_bars_on_a_clean_frame_changes_nothing() -> None:
    frame, report = clean_bars(_bars(10))
    pd.testing.assert_frame_equal(frame, _bars(10))
    assert not report.changed
    assert report.summary().endswith("clean")


def test_clean_bars_drops_nan_inf_and_non_positive_rows_with_counts() -> None:
    df = _bars(10)
    df.iloc[1, df.columns.get_loc("close")] = np.nan
    df.iloc[2, df.columns.get_loc("high")] = np.inf
    df.iloc[3, df.columns.get_loc("low")] = 0.0
    df.iloc[4, df.columns.get_loc("open")] = -5.0
    df.iloc[5, df.columns.get_loc("volume")] = -1.0
    frame, report = clean_bars(df)
    assert len(frame) == 5
    assert (report.non_finite, report.non_positive_price, report.negative_volume) == (2, 2, 1)
    require_bar_frame(frame)


def test_clean_bars_sorts_out_of_order_and_keeps_the_last_duplicate() -> None:
    df = _bars(5)
    newer = df.iloc[[2]].assign(close=999.0, high=999.0)
    shuffled = pd.concat([df.iloc[[4, 0, 3]], df.iloc[[2, 1]], newer])
    frame, report = clean_bars(shuffled)
    assert frame.index.is_monotonic_increasing
    assert frame.index.is_unique
    assert report.duplicates == 1
    assert report.out_of_order > 0
    assert frame["close"].iloc[2] == 999.0


def test_clean_bars_reports_gaps_without_filling_them() -> None:
    df = _bars(10).drop(index=_bars(10).index[3:6])
    frame, report = clean_bars(df)
    assert len(frame) == 7
    assert [(g.missing, g.after, g.before) for g in report.gaps] == [(3, df.index[2], df.index[3])]


def test_clean_bars_repairs_high_low_that_do_not_bracket_the_body() -> None:
    df = _bars(3)
    df.iloc[0, df.columns.get_loc("high")] = 50.0
    frame, report = clean_bars(df)
    assert report.repaired_high_low == 1
    assert frame["high"].iloc[0] == max(frame.iloc[0][["open", "close", "low"]])


def test_clean_bars_drops_timestamps_off_the_timeframe_grid() -> None:
    df = _bars(4)
    df.index = df.index + pd.to_timedelta([0, 30, 0, 0], unit="s")
    frame, report = clean_bars(df, "1m")
    assert report.off_grid == 1
    assert len(frame) == 3


def test_clean_bars_reads_epoch_and_string_timestamps_from_a_ts_column() -> None:
    base = _bars(3)
    as_ms = base.reset_index(drop=True).assign(ts=(base.index.asi8 // 1_000_000))
    as_text = base.reset_index(drop=True).assign(ts=[str(t) for t in base.index])
    for raw in (as_ms, as_text):
        frame, _ = clean_bars(raw)
        assert list(frame.index) == list(base.index)


def test_clean_bars_rejects_missing_columns_with_their_names() -> None:
    with pytest.raises(DataError, match=r"missing bar columns \['volume'\]"):
        clean_bars(_bars(3).drop(columns="volume"))


def test_clean_bars_rejects_a_frame_without_timestamps() -> None:
    with pytest.raises(DataError, match="DatetimeIndex"):
        clean_bars(_bars(3).reset_index(drop=True))


def test_clean_bars_rejects_what_is_not_a_frame() -> None:
    with pytest.raises(DataError, match="expected a DataFrame"):
        clean_bars([1, 2, 3])  # type: ignore[arg-type]


def test_require_bar_frame_names_the_first_duplicate() -> None:
    df = pd.concat([_bars(3), _bars(3).iloc[[1]]])
    with pytest.raises(DataError, match=r"strictly increase.*clean_bars"):
        require_bar_frame(df)


def test_require_bar_frame_rejects_non_positive_prices() -> None:
    df = _bars(3)
    df.iloc[1, 0] = 0.0
    with pytest.raises(DataError, match="1 bars have non-finite or non-positive"):
        require_bar_frame(df)


def test_find_gaps_counts_missing_bars_per_hole() -> None:
    idx = pd.DatetimeIndex(pd.to_datetime([0, 60, 300, 360], unit="s", utc=True))
    assert [g.missing for g in find_gaps(idx, "1m")] == [3]


_CELLS = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e-300, 1e300, 101.5])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 40),
    corruptions=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 4), _CELLS), max_size=30),
    shuffle_seed=st.integers(0, 2**16),
    duplicate=st.lists(st.integers(0, 39), max_size=5),
)
def test_clean_bars_on_corrupted_frames_returns_a_valid_frame_or_a_data_error(
    n: int, corruptions: list[tuple[int, int, float]], shuffle_seed: int, duplicate: list[int]
) -> None:
    df = _bars(n)
    for row, col, value in corruptions:
        if row < n:
            df.iloc[row, col] = value
    if n:
        df = pd.concat([df, df.iloc[[d % n for d in duplicate]]])
        df = df.iloc[np.random.default_rng(shuffle_seed).permutation(len(df))]
    frame, report = clean_bars(df)
    require_bar_frame(frame)
    assert report.rows_out == len(frame) <= report.rows_in == len(df)
