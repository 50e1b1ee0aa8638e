"""Landscape norms: one code path for batch and single windows; bigger clouds, bigger norms."""

from __future__ import annotations

import numpy as np
import pytest

from engine.signals.tda import LandscapeParams, landscape_norms, point_clouds


def test_point_clouds_shape_is_windows_by_points_by_assets() -> None:
    r = np.arange(40, dtype=float).reshape(10, 4) * 1e-4
    clouds = point_clouds(r, 5)
    assert clouds.shape == (6, 5, 4)
    np.testing.assert_allclose(clouds[-1], r[-5:] * 1e4)


def test_point_clouds_too_short_raises() -> None:
    with pytest.raises(ValueError, match="need a"):
        point_clouds(np.zeros((3, 2)), 5)


def test_landscape_norms_batch_equals_one_window_at_a_time() -> None:
    r = np.random.default_rng(3).normal(size=(80, 4)) * 1e-3
    clouds = point_clouds(r, 50)
    params = LandscapeParams()
    batch = landscape_norms(clouds, params)
    for i in (0, 7, len(clouds) - 1):
        np.testing.assert_allclose(batch[i], landscape_norms(clouds[i : i + 1], params)[0])


def test_landscape_norms_grow_when_the_cloud_spreads() -> None:
    cloud = np.random.default_rng(4).normal(size=(1, 50, 3))
    params = LandscapeParams()
    small = landscape_norms(cloud, params)[0]
    large = landscape_norms(cloud * 3.0, params)[0]
    assert (large[:, 0] > small[:, 0] * 2).all()
    np.testing.assert_allclose(large[:, 0], small[:, 0] * 9.0, rtol=1e-6)  # L1 scales as area


def test_landscape_norms_collinear_cloud_has_no_loops() -> None:
    t = np.linspace(0, 1, 30)[None, :, None]
    cloud = np.concatenate([t, 2 * t], axis=2)
    norms = landscape_norms(cloud, LandscapeParams(homology_dimensions=(0, 1)))[0]
    assert norms[0, 0] > 0
    assert norms[1, 0] == 0.0
