"""Batch indicators against independent references (pandas, plain loops) and edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.features import indicators as ind


@pytest.fixture
def walk() -> np.ndarray:
    rng = np.random.default_rng(3)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 500)))


def _seeded_reference(x: np.ndarray, period: int, alpha: float) -> np.ndarray:
    """pandas' recursive EWM started from the simple mean of the first ``period`` values."""
    s = pd.Series(x, dtype=float)
    seeded = s.copy()
    seeded.iloc[period - 1] = s.iloc[:period].mean()
    out = seeded.iloc[period - 1 :].ewm(alpha=alpha, adjust=False).mean()
    return np.concatenate([np.full(period - 1, np.nan), out.to_numpy()])


def test_ema_matches_pandas_recursive_ewm_after_an_sma_seed(walk: np.ndarray) -> None:
    np.testing.assert_allclose(ind.ema(walk, 12), _seeded_reference(walk, 12, 2 / 13), rtol=1e-12)


def test_wilder_matches_pandas_with_alpha_one_over_period(walk: np.ndarray) -> None:
    np.testing.assert_allclose(
        ind.wilder(walk, 14), _seeded_reference(walk, 14, 1 / 14), rtol=1e-12
    )


def test_recursive_average_skips_leading_nans_only() -> None:
    x = np.array([np.nan, np.nan, 1.0, 2.0, 3.0, 4.0])
    out = ind.wilder(x, 2)
    assert np.isnan(out[:3]).all()
    assert out[3] == 1.5
    assert out[4] == pytest.approx(0.5 * 3 + 0.5 * 1.5)


@pytest.mark.parametrize("ddof", [0, 1])
def test_rolling_mean_std_matches_pandas_rolling(walk: np.ndarray, ddof: int) -> None:
    mean, std = ind.rolling_mean_std(walk, 20, ddof=ddof)
    ref = pd.Series(walk).rolling(20)
    np.testing.assert_allclose(mean, ref.mean(), rtol=1e-12)
    np.testing.assert_allclose(std, ref.std(ddof=ddof), rtol=1e-9)


def test_rolling_std_stays_accurate_on_large_values_with_small_spread() -> None:
    x = 1e6 + np.random.default_rng(0).normal(0, 1e-3, 100_000)
    _, std = ind.rolling_mean_std(x, 20, ddof=1)
    exact = np.array([np.std(x[i - 19 : i + 1], ddof=1) for i in range(99_900, 100_000)])
    np.testing.assert_allclose(std[99_900:], exact, rtol=1e-6)


def _rsi_loop(close: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(close), np.nan)
    d = np.diff(close)
    gain, loss = np.clip(d, 0, None), np.clip(-d, 0, None)
    ag, al = gain[:n].mean(), loss[:n].mean()
    for t in range(n, len(close)):
        if t > n:
            ag = (ag * (n - 1) + gain[t - 1]) / n
            al = (al * (n - 1) + loss[t - 1]) / n
        out[t] = 100.0 if al == 0 else 100.0 - 100.0 / (1.0 + ag / al)
    return out


def test_rsi_matches_a_plain_wilder_loop(walk: np.ndarray) -> None:
    np.testing.assert_allclose(ind.rsi(walk, 14), _rsi_loop(walk, 14), rtol=1e-9)


def test_rsi_of_a_rising_series_is_100_and_of_a_flat_one_50() -> None:
    assert ind.rsi(np.arange(1.0, 40.0), 14)[-1] == 100.0
    assert ind.rsi(np.full(40, 5.0), 14)[-1] == 50.0


def test_true_range_uses_the_previous_close() -> None:
    high, low, close = (
        np.array([10.0, 12.0, 9.0]),
        np.array([9.0, 11.0, 8.0]),
        np.array([9.5, 11.5, 8.5]),
    )
    tr = ind.true_range(high, low, close)
    assert np.isnan(tr[0])
    assert tr[1] == 2.5
    assert tr[2] == 3.5


def test_bollinger_pctb_is_half_on_a_flat_window_and_one_at_the_upper_band() -> None:
    x = np.full(30, 11.0)
    mean, std = ind.rolling_mean_std(x, 20)
    pctb, width = ind.bollinger_from_stats(x, mean, std, 2.0)
    assert pctb[-1] == 0.5
    assert width[-1] == 0.0
    upper = np.array([1.0]) + 2.0 * np.array([0.5])
    assert ind.bollinger_from_stats(upper, np.array([1.0]), np.array([0.5]), 2.0)[0][0] == 1.0


def test_zscore_is_zero_on_a_flat_window_and_nan_in_warm_up() -> None:
    z = ind.zscore_from_stats(
        np.array([1.0, 2.0]), np.array([np.nan, 2.0]), np.array([np.nan, 0.0])
    )
    assert np.isnan(z[0])
    assert z[1] == 0.0


def test_lag_diff_has_a_nan_head_of_the_lag_length() -> None:
    out = ind.lag_diff(np.arange(6.0), 3)
    assert np.isnan(out[:3]).all()
    assert (out[3:] == 3.0).all()
