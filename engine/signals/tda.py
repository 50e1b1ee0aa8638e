"""Persistence-landscape norms of point clouds (after Gidea & Katz 2018), via giotto-tda.

Each window of ``w`` multi-asset log returns is a cloud of ``w`` points in
R^k. Vietoris–Rips persistence gives diagrams in the chosen homology
dimensions; each window's persistence landscapes are sampled on a grid fitted
to that window's own diagram, and their L1/L2 norms summarise how much
topological structure (spread and loops) the cloud has. The same function
serves the batch path (many windows) and the live path (one window), so the
two agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

RETURN_SCALE = 1e4
"""Log returns are scaled to basis points before building the clouds (readable norms)."""


@dataclass(frozen=True, slots=True)
class LandscapeParams:
    homology_dimensions: tuple[int, ...] = (0, 1)
    n_layers: int = 5
    n_bins: int = 100


def point_clouds(log_returns: FloatArray, window: int) -> FloatArray:
    """Sliding windows of ``log_returns`` (T, k) -> (T - window + 1, window, k), in bps."""
    r = np.asarray(log_returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < window:
        raise ValueError(f"need a (T >= {window}, k) return matrix, got shape {r.shape}")
    views = np.lib.stride_tricks.sliding_window_view(r, window, axis=0)
    return np.ascontiguousarray(np.moveaxis(views, -1, 1)) * RETURN_SCALE


def persistence_diagrams(clouds: FloatArray, params: LandscapeParams) -> FloatArray:
    """Vietoris–Rips diagrams (n, points, 3) of (n, w, k) clouds; giotto pads with trivial points."""
    from gtda.homology import VietorisRipsPersistence

    vr = VietorisRipsPersistence(homology_dimensions=params.homology_dimensions, n_jobs=1)
    result: FloatArray = vr.fit_transform(clouds)
    return result


def _landscape_norms(diagram: FloatArray, params: LandscapeParams) -> FloatArray:
    """Per-dimension (L1, L2) landscape norms of one diagram: shape (len(dims), 2)."""
    from gtda.diagrams import PersistenceLandscape

    out = np.zeros((len(params.homology_dimensions), 2))
    for i, dim in enumerate(params.homology_dimensions):
        sub = diagram[(diagram[:, 2] == dim) & (diagram[:, 1] > diagram[:, 0])]
        if len(sub) == 0:
            continue
        landscape = PersistenceLandscape(n_layers=params.n_layers, n_bins=params.n_bins)
        values = landscape.fit_transform(sub[None, :, :])[0]
        grid = landscape.samplings_[dim]
        step = float(grid[1] - grid[0]) if len(grid) > 1 else 0.0
        out[i, 0] = np.abs(values).sum() * step
        out[i, 1] = np.sqrt((values**2).sum() * step)
    return out


def landscape_norms(clouds: FloatArray, params: LandscapeParams) -> FloatArray:
    """(n, len(dims), 2) landscape norms [L1, L2] per window and homology dimension."""
    diagrams = persistence_diagrams(clouds, params)
    return np.stack([_landscape_norms(d, params) for d in diagrams])


def total_norms(per_dim: FloatArray) -> FloatArray:
    """Sum the per-dimension norms: (n, dims, 2) -> (n, 2) columns [L1, L2]."""
    total: FloatArray = per_dim.sum(axis=1)
    return total
