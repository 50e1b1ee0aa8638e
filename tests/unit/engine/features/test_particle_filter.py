"""Particle filter: seeded and exact across paths, causal, and tracking the latent state."""

from __future__ import annotations

import numpy as np

from engine.features.config import ParticleFilterConfig
from engine.features.particle_filter import ParticleFilter, particle_filter_batch


def _closes(returns: np.ndarray) -> np.ndarray:
    return 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))


def _random_closes(n: int, seed: int = 0, vol: float = 1e-3) -> np.ndarray:
    return _closes(np.random.default_rng(seed).normal(0, vol, n - 1))


def test_streaming_and_batch_filters_agree_bit_for_bit() -> None:
    closes = _random_closes(3_000)
    cfg = ParticleFilterConfig()
    stream = ParticleFilter(cfg)
    got = np.array([stream.update(float(c)) for c in closes])
    np.testing.assert_array_equal(got, particle_filter_batch(closes, cfg))


def test_a_truncated_series_gives_the_same_values_as_the_full_one() -> None:
    closes = _random_closes(2_500, seed=4)
    cfg = ParticleFilterConfig(particles=64)
    full = particle_filter_batch(closes, cfg)
    for cut in (61, 1_023, 1_024, 1_025, 2_000):
        np.testing.assert_array_equal(particle_filter_batch(closes[:cut], cfg), full[:cut])


def test_the_seed_fixes_the_output_and_another_seed_changes_it() -> None:
    closes = _random_closes(500, seed=1)
    a = particle_filter_batch(closes, ParticleFilterConfig(seed=1))
    b = particle_filter_batch(closes, ParticleFilterConfig(seed=1))
    c = particle_filter_batch(closes, ParticleFilterConfig(seed=2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[100:], c[100:])


def test_outputs_are_nan_only_during_warm_up() -> None:
    cfg = ParticleFilterConfig(warmup=30)
    out = particle_filter_batch(_random_closes(200), cfg)
    assert np.isnan(out[:30]).all()
    assert np.isfinite(out[30:]).all()


def test_latent_volatility_follows_a_volatility_jump() -> None:
    rng = np.random.default_rng(7)
    returns = np.concatenate([rng.normal(0, 1e-4, 1_500), rng.normal(0, 1e-2, 500)])
    out = particle_filter_batch(_closes(returns), ParticleFilterConfig())
    calm, wild = np.median(out[1_000:1_500, 2]), np.median(out[1_800:, 2])
    assert 0.5e-4 < calm < 2e-4
    assert 0.5e-2 < wild < 2e-2
    assert np.median(out[1_000:1_500, 1]) < np.median(out[1_800:, 1])  # uncertainty grows too


def test_denoised_drift_has_the_sign_of_a_persistent_trend() -> None:
    rng = np.random.default_rng(3)
    up = _closes(2e-4 + rng.normal(0, 5e-4, 1_000))
    down = _closes(-2e-4 + rng.normal(0, 5e-4, 1_000))
    cfg = ParticleFilterConfig()
    assert np.nanmean(particle_filter_batch(up, cfg)[200:, 0]) > 0
    assert np.nanmean(particle_filter_batch(down, cfg)[200:, 0]) < 0


def test_flat_prices_keep_the_filter_finite() -> None:
    closes = np.concatenate([np.full(300, 50.0), 50.0 * np.exp(np.cumsum(np.full(50, 0.01)))])
    out = particle_filter_batch(closes, ParticleFilterConfig())
    assert np.isfinite(out[60:]).all()
    assert (out[60:, 2] > 0).all()
