"""Triple-barrier labels and purged, embargoed chronological splits (pure functions).

A label at bar t looks at bars t+1 .. t+horizon (the future, by design): it is a
training *target*, never a feature. Leakage is prevented at the split: a training
sample whose label window reaches into a later segment is purged, and an embargo
of bars separates the segments (López de Prado, AFML ch. 7).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

HOLD = 0
ENTRY = 1
EXIT = 2
UNDEFINED = -1


@dataclass(frozen=True, slots=True)
class TripleBarrierLabels:
    """``labels[t]`` in {HOLD, ENTRY, EXIT, UNDEFINED}; ``event_end[t]`` is the bar
    at which the label's outcome became known (t itself where undefined)."""

    labels: np.ndarray
    event_end: np.ndarray

    @property
    def defined(self) -> np.ndarray:
        return np.asarray(self.labels != UNDEFINED)


def ewm_volatility(close: np.ndarray, span: int) -> np.ndarray:
    """Causal EWM standard deviation of one-bar log returns (NaN until ``span`` bars)."""
    log_ret = np.diff(np.log(close), prepend=np.nan)
    vol = pd.Series(log_ret).ewm(span=span, min_periods=span).std().to_numpy()
    return np.asarray(vol, dtype=np.float64)


def triple_barrier_labels(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    *,
    profit_take: float,
    stop_loss: float,
    horizon: int,
    vol_span: int,
) -> TripleBarrierLabels:
    """Label each bar by which barrier a long entered at its close touches first.

    Barriers sit at ``close * exp(+/- k * vol * sqrt(horizon))``; touching the
    upper one first gives ENTRY (a long would have paid), the lower one first
    gives EXIT (be flat), neither within ``horizon`` bars gives HOLD. A bar that
    touches both is counted as the stop (conservative). Bars whose horizon runs
    past the end of the data, or whose volatility is not yet defined, are UNDEFINED.
    """
    close = np.asarray(close, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    n = close.size
    if not (high.size == low.size == n):
        raise ValueError("close, high and low must have the same length")
    if horizon < 1:
        raise ValueError("horizon must be >= 1")
    width = ewm_volatility(close, vol_span) * np.sqrt(horizon)
    upper = close * np.exp(profit_take * width)
    lower = close * np.exp(-stop_loss * width)

    first_up = np.full(n, horizon + 1, dtype=np.int64)
    first_down = np.full(n, horizon + 1, dtype=np.int64)
    for k in range(horizon, 0, -1):
        # Walking k downwards leaves the smallest k that touched in first_*.
        hit_up = np.zeros(n, dtype=bool)
        hit_down = np.zeros(n, dtype=bool)
        hit_up[: n - k] = high[k:] >= upper[: n - k]
        hit_down[: n - k] = low[k:] <= lower[: n - k]
        first_up[hit_up] = k
        first_down[hit_down] = k

    labels = np.full(n, HOLD, dtype=np.int8)
    labels[first_up < first_down] = ENTRY
    labels[(first_down <= first_up) & (first_down <= horizon)] = EXIT
    first = np.minimum(np.minimum(first_up, first_down), horizon)
    idx = np.arange(n, dtype=np.int64)
    event_end = idx + first
    undefined = ~np.isfinite(width) | (idx + horizon >= n)
    labels[undefined] = UNDEFINED
    event_end[undefined] = idx[undefined]
    return TripleBarrierLabels(labels=labels, event_end=event_end)


@dataclass(frozen=True, slots=True)
class Segment:
    """A half-open range of bar positions ``[start, stop)``."""

    start: int
    stop: int

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True, slots=True)
class ChronologicalSplit:
    """Train / validation / holdout segments separated by embargo gaps."""

    train: Segment
    validation: Segment
    holdout: Segment


def chronological_split(
    n: int, train_fraction: float, validation_fraction: float, embargo: int
) -> ChronologicalSplit:
    """Cut ``n`` bars into train, validation and holdout with ``embargo`` bars between them."""
    if embargo < 0:
        raise ValueError("embargo must be >= 0")
    a = int(n * train_fraction)
    b = int(n * (train_fraction + validation_fraction))
    split = ChronologicalSplit(
        train=Segment(0, a),
        validation=Segment(a + embargo, b),
        holdout=Segment(b + embargo, n),
    )
    for name in ("train", "validation", "holdout"):
        if len(getattr(split, name)) < 1:
            raise ValueError(f"{n} bars leave no {name} segment (embargo {embargo})")
    return split


def purged_mask(event_end: np.ndarray, segment: Segment) -> np.ndarray:
    """Samples of ``segment`` whose label is fully known before the segment ends.

    Used on training and calibration segments: a label whose window reaches past
    the segment's end would leak the next segment's prices into the model.
    """
    mask = np.zeros(event_end.size, dtype=bool)
    idx = np.arange(segment.start, segment.stop)
    mask[idx] = event_end[idx] < segment.stop
    return mask


def walk_forward_folds(
    segment: Segment, n_folds: int, train_length: int, embargo: int
) -> list[tuple[Segment, Segment]]:
    """Rolling (train, test) windows whose test windows tile ``segment``.

    Each fold trains on the ``train_length`` bars that end ``embargo`` bars before
    its test window starts (so training windows roll forward with the tests).
    """
    if n_folds < 1:
        raise ValueError("n_folds must be >= 1")
    edges = np.linspace(segment.start, segment.stop, n_folds + 1).astype(int)
    folds = []
    for lo, hi in itertools.pairwise(edges.tolist()):
        train_stop = int(lo) - embargo
        train_start = max(0, train_stop - train_length)
        if train_stop - train_start < 1 or hi <= lo:
            raise ValueError("not enough bars before the holdout for a walk-forward fold")
        folds.append((Segment(train_start, train_stop), Segment(int(lo), int(hi))))
    return folds
