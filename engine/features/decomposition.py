"""Trend/cycle decomposition of 1m log prices on trailing windows only (optional features).

Each window of the last ``window`` log closes is split by a least-squares
polynomial of degree ``polyorder`` into a trend and a cycle (the residual).
The trend is read at the window's *last* point (Savitzky-Golay end-point
coefficients from ``scipy.signal.savgol_coeffs(pos=window-1)``), so nothing
after t is used: a causal filter, unlike a centred decomposition (or the
CEEMDAN of the old system, which used the whole series).

* ``dc_slope``: trend slope at t (log units per bar).
* ``dc_curvature``: trend curvature at t (second derivative per bar squared).
* ``dc_cycle``: log close minus the trend at t.
* ``dc_cycle_std``: standard deviation of the residual over the window.
"""

from __future__ import annotations

from collections import deque
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import savgol_coeffs

from engine.features.config import DecompositionConfig
from engine.features.indicators import Array, nan_array

OUTPUTS: Final = ("dc_slope", "dc_curvature", "dc_cycle", "dc_cycle_std")
_CHUNK_ROWS: Final = 16_384


class _Operators:
    """Linear operators of one window length and polynomial order."""

    def __init__(self, config: DecompositionConfig) -> None:
        n, p = config.window, config.polyorder
        pos = n - 1
        # savgol_coeffs(use="dot") gives weights to dot with the window in time order.
        self.level = savgol_coeffs(n, p, deriv=0, pos=pos, use="dot")
        self.slope = savgol_coeffs(n, p, deriv=1, pos=pos, use="dot")
        self.curvature = savgol_coeffs(n, p, deriv=2, pos=pos, use="dot") if p >= 2 else np.zeros(n)
        basis = np.vander(np.arange(n, dtype=np.float64) - pos, p + 1, increasing=True)
        q, _ = np.linalg.qr(basis)
        self.residual = np.eye(n) - q @ q.T

    def apply(self, windows: Array) -> Array:
        """Outputs for a (rows, window) block of log closes, as (rows, 4).

        Row-wise products and sums (not BLAS), so a row's result does not
        depend on how many rows share the block: truncation is bit-exact.
        """
        centred = windows - windows[:, -1:]
        resid = np.einsum("ij,kj->ik", centred, self.residual)
        out = np.empty((len(windows), len(OUTPUTS)))
        out[:, 0] = np.einsum("ij,j->i", centred, self.slope)
        out[:, 1] = np.einsum("ij,j->i", centred, self.curvature)
        out[:, 2] = -np.einsum("ij,j->i", centred, self.level)
        out[:, 3] = np.sqrt(np.einsum("ij,ij->i", resid, resid) / windows.shape[1])
        return out


def decomposition_batch(log_close: Array, config: DecompositionConfig) -> Array:
    """(n, 4) outputs over a whole series; NaN until a full window exists."""
    ops = _Operators(config)
    out = np.full((len(log_close), len(OUTPUTS)), np.nan)
    n = config.window
    if len(log_close) < n:
        return out
    views = sliding_window_view(log_close, n)
    for start in range(0, len(views), _CHUNK_ROWS):
        block = views[start : start + _CHUNK_ROWS]
        out[n - 1 + start : n - 1 + start + len(block)] = ops.apply(block)
    return out


class DecompositionStream:
    """Streaming counterpart of ``decomposition_batch``."""

    def __init__(self, config: DecompositionConfig) -> None:
        self._ops = _Operators(config)
        self._window: deque[float] = deque(maxlen=config.window)

    def update(self, log_close: float) -> list[float]:
        self._window.append(log_close)
        if len(self._window) < self._window.maxlen:  # type: ignore[operator]
            return list(nan_array(len(OUTPUTS)))
        block = np.fromiter(self._window, np.float64, len(self._window))[None, :]
        return [float(v) for v in self._ops.apply(block)[0]]
