"""Regime features: volatility ratio, signed efficiency ratio, trend t-statistic, activity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.features.config import FeaturesConfig, RegimeConfig
from engine.features.factory import FeatureFactory
from engine.features.regime import RegimeStream, regime_batch, regime_names, regime_warmup

SMALL = RegimeConfig(
    vol_short=5, vol_long=40, trend_windows=(10, 30), volume_short=4, volume_long=25
)


def _stream(close: np.ndarray, volume: np.ndarray, config: RegimeConfig) -> np.ndarray:
    stream = RegimeStream(config)
    return np.array([stream.update(float(c), float(v)) for c, v in zip(close, volume, strict=True)])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000), n=st.integers(1, 200), flat_from=st.none() | st.integers(0, 200)
)
def test_streaming_regime_features_match_batch(seed: int, n: int, flat_from: int | None) -> None:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n) * rng.choice([0.3, 1, 4], n)))
    volume = rng.gamma(2.0, 3.0, n) * (rng.random(n) > 0.1)
    if flat_from is not None and flat_from < n:
        close[flat_from:] = close[flat_from]
        volume[flat_from:] = 7.0
    batch = np.column_stack(regime_batch(close, volume, SMALL))
    streamed = _stream(close, volume, SMALL)
    assert streamed.shape == batch.shape == (n, len(regime_names(SMALL)))
    np.testing.assert_array_equal(np.isnan(streamed), np.isnan(batch))
    np.testing.assert_allclose(streamed, batch, rtol=0, atol=1e-9)


def test_a_steady_rise_is_a_pure_trend_and_a_flat_market_is_neutral() -> None:
    n = 60
    close = 100 * np.exp(0.001 * np.arange(n))
    out = dict(zip(regime_names(SMALL), regime_batch(close, np.full(n, 5.0), SMALL), strict=True))
    assert out["rg_er_10"][-1] == pytest.approx(1.0, abs=1e-12)
    assert out["rg_er_30"][-1] == pytest.approx(1.0, abs=1e-12)
    # Identical returns have no dispersion: the t-statistic's denominator is flat.
    assert out["rg_trend_30"][-1] == 0.0
    assert out["rg_volume_ratio"][-1] == pytest.approx(0.0, abs=1e-12)
    flat = dict(
        zip(regime_names(SMALL), regime_batch(np.full(n, 50.0), np.ones(n), SMALL), strict=True)
    )
    assert flat["rg_vol_ratio"][-1] == 1.0
    assert flat["rg_er_30"][-1] == 0.0
    assert flat["rg_trend_30"][-1] == 0.0


def test_the_features_describe_what_they_say() -> None:
    sign = np.where(np.arange(220) % 2 == 0, 1.0, -1.0)
    r = sign * np.r_[np.full(200, 0.001), np.full(20, 0.004)]
    r[::7] *= 1.5  # uneven, so the windows are not all alike
    close = 100 * np.exp(np.cumsum(r))
    volume = np.r_[np.full(200, 5.0), np.full(20, 50.0)]
    out = dict(zip(regime_names(SMALL), regime_batch(close, volume, SMALL), strict=True))
    assert out["rg_vol_ratio"][199] < 1.2 < 2.0 < out["rg_vol_ratio"][204]
    # Row t's windows hold the returns of rows t-w+1 .. t (row 0 has none).
    expected = np.std(r[200:205], ddof=1) / np.std(r[165:205], ddof=1)
    assert out["rg_vol_ratio"][204] == pytest.approx(expected, rel=1e-12)
    # The short window holds only the busy bars; the long one 20 busy and 5 quiet ones.
    long_mean = (20 * math.log1p(50.0) + 5 * math.log1p(5.0)) / 25
    assert out["rg_volume_ratio"][-1] == pytest.approx(math.log1p(50.0) - long_mean, rel=1e-12)
    log_close = np.log(close)
    move = log_close[-1] - log_close[-31]
    expected_t = move / (np.std(r[-30:], ddof=1) * math.sqrt(30))
    assert out["rg_trend_30"][-1] == pytest.approx(expected_t, rel=1e-12)
    assert out["rg_er_30"][-1] == pytest.approx(move / np.abs(r[-30:]).sum(), rel=1e-12)


def test_regime_settings_change_the_names_warm_up_and_feature_set_id() -> None:
    assert regime_warmup(RegimeConfig()) == 481
    default = FeatureFactory()
    off = FeatureFactory(FeaturesConfig(regime=RegimeConfig(enabled=False)))
    longer = FeatureFactory(FeaturesConfig(regime=RegimeConfig(trend_windows=(60, 1440))))
    assert "rg_trend_480" in default.feature_names
    assert not any(n.startswith("rg_") for n in off.feature_names)
    assert "rg_trend_1440" in longer.feature_names
    assert longer.warmup_bars == default.warmup_bars  # the 1h MACD still needs longer
    assert len({default.feature_set_id, off.feature_set_id, longer.feature_set_id}) == 3
    with pytest.raises(ValueError, match="shorter than the long"):
        RegimeConfig(vol_short=500)
