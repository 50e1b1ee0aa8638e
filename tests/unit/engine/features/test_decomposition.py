"""Trailing-window decomposition: causal, streaming equals batch, exact on polynomials."""

from __future__ import annotations

import numpy as np

from engine.features.config import DecompositionConfig
from engine.features.decomposition import DecompositionStream, decomposition_batch

CFG = DecompositionConfig(enabled=True, window=32, polyorder=2)


def test_a_linear_log_trend_has_its_slope_and_no_cycle() -> None:
    x = 11.0 + 2e-4 * np.arange(200)
    out = decomposition_batch(x, CFG)
    assert np.isnan(out[:31]).all()
    np.testing.assert_allclose(out[31:, 0], 2e-4, atol=1e-12)
    np.testing.assert_allclose(out[31:, 1:], 0.0, atol=1e-12)


def test_a_quadratic_log_trend_has_its_curvature() -> None:
    t = np.arange(100, dtype=float)
    out = decomposition_batch(11.0 + 1e-6 * t**2, CFG)
    np.testing.assert_allclose(out[31:, 1], 2e-6, rtol=1e-6)
    np.testing.assert_allclose(out[31:, 0], 2e-6 * t[31:], rtol=1e-6)


def test_a_cycle_shows_up_in_the_residual_spread() -> None:
    t = np.arange(300, dtype=float)
    out = decomposition_batch(11.0 + 1e-3 * np.sin(2 * np.pi * t / 8), CFG)
    assert np.all(out[31:, 3] > 3e-4)


def test_streaming_matches_batch_and_truncation_changes_nothing() -> None:
    x = np.log(100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 1e-3, 400))))
    full = decomposition_batch(x, CFG)
    stream = DecompositionStream(CFG)
    got = np.array([stream.update(float(v)) for v in x])
    np.testing.assert_allclose(got, full, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(decomposition_batch(x[:250], CFG), full[:250])
