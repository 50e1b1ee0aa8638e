"""Regime score: how far a landscape norm sits above its own trailing distribution.

score_t = (log n_t - median(log n_{t-m..t-1})) / (1.4826 * MAD), a robust
z-score against the previous ``trailing`` values only (causal: the value at
t never looks at t+1). ``regime_change_detected`` switches on when the score
crosses ``enter`` and off only when it falls below ``exit`` (hysteresis), so
a score hovering at the threshold does not flap.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_MAD_TO_SIGMA = 1.4826
_FLOOR = 1e-12
_MIN_SPREAD = 1e-6


def _log_norm(values: FloatArray) -> FloatArray:
    out: FloatArray = np.log(np.maximum(np.asarray(values, dtype=np.float64), _FLOOR))
    return out


def _robust_z(x: float | FloatArray, reference: FloatArray) -> FloatArray:
    med = np.median(reference, axis=-1)
    mad = np.median(np.abs(reference - med[..., None]), axis=-1)
    z: FloatArray = (np.asarray(x) - med) / np.maximum(_MAD_TO_SIGMA * mad, _MIN_SPREAD)
    return z


def trailing_scores(norms: FloatArray, trailing: int, min_trailing: int) -> FloatArray:
    """Robust z-score of each log norm against up to ``trailing`` previous ones (NaN before
    ``min_trailing`` are available)."""
    x = _log_norm(norms)
    out = np.full(len(x), np.nan)
    for t in range(min_trailing, min(trailing, len(x))):
        out[t] = _robust_z(x[t], x[:t])
    if len(x) > trailing:
        refs = np.lib.stride_tricks.sliding_window_view(x[:-1], trailing)
        out[trailing:] = _robust_z(x[trailing:], refs)
    return out


def hysteresis(scores: FloatArray, enter: float, exit_: float, state: bool = False) -> BoolArray:
    """On when a score crosses ``enter``, off when it drops below ``exit_``; NaN keeps the state."""
    out = np.zeros(len(scores), dtype=bool)
    for i, s in enumerate(scores):
        if np.isfinite(s):
            state = bool(s >= enter or (state and s >= exit_))
        out[i] = state
    return out


class RegimeScorer:
    """Incremental twin of ``trailing_scores`` + ``hysteresis`` (same values, one step at a time)."""

    def __init__(self, trailing: int, min_trailing: int, enter: float, exit_: float) -> None:
        self._history: deque[float] = deque(maxlen=trailing)
        self._min = min_trailing
        self._enter = enter
        self._exit = exit_
        self.detected = False

    def __len__(self) -> int:
        return len(self._history)

    @property
    def ready(self) -> bool:
        return len(self._history) >= self._min

    def update(self, norm: float) -> tuple[float, bool, bool]:
        """Add one norm; return ``(score, detected, onset)`` (score NaN while warming up)."""
        x = float(_log_norm(np.array([norm]))[0])
        score = float("nan")
        if self.ready:
            score = float(_robust_z(x, np.fromiter(self._history, dtype=np.float64)))
        self._history.append(x)
        before = self.detected
        if np.isfinite(score):
            self.detected = score >= self._enter or (before and score >= self._exit)
        return score, self.detected, self.detected and not before
