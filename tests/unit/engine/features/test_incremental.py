"""Each streaming indicator gives the batch indicator's values, one input at a time."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.features import incremental as inc
from engine.features import indicators as ind
from engine.features.config import FeaturesConfig
from engine.features.technical import TechnicalStream, technical_batch, technical_names
from engine.marketdata.frames import bars_from_arrays

TOL = 1e-9


def _series(seed: int, n: int, flat_from: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    if flat_from is not None and flat_from < n:
        x[flat_from:] = x[flat_from]
    return x


def _stream(values: np.ndarray, step: object) -> np.ndarray:
    return np.array([step(float(v)) for v in values])  # type: ignore[operator]


_SERIES = st.tuples(st.integers(0, 10_000), st.integers(1, 300), st.none() | st.integers(0, 300))


@settings(max_examples=40, deadline=None)
@given(spec=_SERIES, period=st.integers(1, 30))
def test_streaming_recursive_averages_match_batch(
    spec: tuple[int, int, int | None], period: int
) -> None:
    x = _series(*spec)
    x_lead = np.concatenate([[np.nan, np.nan], x])
    for batch_fn, stream_factory in ((ind.ema, inc.ema), (ind.wilder, inc.wilder)):
        np.testing.assert_allclose(
            _stream(x_lead, stream_factory(period).update),
            batch_fn(x_lead, period),
            rtol=0,
            atol=TOL,
        )


@settings(max_examples=40, deadline=None)
@given(spec=_SERIES, window=st.integers(2, 40), ddof=st.sampled_from([0, 1]))
def test_streaming_rolling_stats_match_batch(
    spec: tuple[int, int, int | None], window: int, ddof: int
) -> None:
    x = np.log(_series(*spec))
    stats = inc.RollingStats(window, ddof)
    got = np.array([stats.update(float(v)) for v in x]).reshape(-1, 2)
    mean, std = ind.rolling_mean_std(x, window, ddof)
    np.testing.assert_allclose(got[:, 0], mean, rtol=0, atol=TOL)
    np.testing.assert_allclose(got[:, 1], std, rtol=0, atol=TOL)


@settings(max_examples=40, deadline=None)
@given(spec=_SERIES, period=st.integers(1, 30), lag=st.integers(1, 20))
def test_streaming_rsi_and_lag_match_batch(
    spec: tuple[int, int, int | None], period: int, lag: int
) -> None:
    x = _series(*spec)
    np.testing.assert_allclose(
        _stream(x, inc.Rsi(period).update), ind.rsi(x, period), rtol=0, atol=TOL
    )
    np.testing.assert_array_equal(_stream(x, inc.Lag(lag).update), ind.lag_diff(x, lag))


def test_streaming_true_range_matches_batch() -> None:
    close = _series(1, 50)
    high, low = close * 1.01, close * 0.98
    tr = inc.TrueRange()
    got = np.array([tr.update(h, lo, c) for h, lo, c in zip(high, low, close, strict=True)])
    np.testing.assert_array_equal(got, ind.true_range(high, low, close))


def test_scalar_ratio_helpers_match_the_vector_ones() -> None:
    cases = [(1.0, 2.0), (0.0, 0.0), (3.0, 0.0), (math.nan, math.nan)]
    for gain, loss in cases:
        np.testing.assert_array_equal(
            inc.rsi_value(gain, loss), ind.rsi_from_averages(np.array([gain]), np.array([loss]))[0]
        )
    for x, mean, std in [(1.0, 0.5, 0.25), (1.0, 1.0, 0.0), (1.0, math.nan, math.nan)]:
        vec = ind.bollinger_from_stats(np.array([x]), np.array([mean]), np.array([std]), 2.0)
        np.testing.assert_array_equal(
            inc.bollinger_value(x, mean, std, 2.0), [vec[0][0], vec[1][0]]
        )
        np.testing.assert_array_equal(
            inc.zscore_value(x, mean, std),
            ind.zscore_from_stats(np.array([x]), np.array([mean]), np.array([std]))[0],
        )


@settings(max_examples=15, deadline=None)
@given(spec=_SERIES, zero_volume=st.floats(0, 1))
def test_technical_stream_matches_technical_batch(
    spec: tuple[int, int, int | None], zero_volume: float
) -> None:
    close = _series(*spec)
    n = len(close)
    rng = np.random.default_rng(spec[0])
    open_ = np.concatenate([[close[0]], close[:-1]])
    high, low = np.maximum(open_, close) * 1.001, np.minimum(open_, close) * 0.999
    volume = np.where(rng.random(n) < zero_volume, 0.0, rng.exponential(5, n))
    cfg = FeaturesConfig()
    frame = bars_from_arrays(
        np.arange(n) * 60_000, np.column_stack([open_, high, low, close, volume])
    )
    expected = np.column_stack(technical_batch(frame, cfg))
    stream = TechnicalStream(cfg)
    got = np.array(
        [stream.update(*row) for row in zip(open_, high, low, close, volume, strict=True)]
    )
    assert got.shape == expected.shape == (n, len(technical_names(cfg, "m1")))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
