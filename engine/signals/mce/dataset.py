"""Training samples for the MCE: feature windows, horizon targets, chronological splits.

For a snapshot at time t with horizon h (ms):

* ``move_bps``: log(mid at the first snapshot at or after t + h / mid_t), in bps.
* ``excursion_bps``: the largest |log(mid_s / mid_t)| for t < s <= t + h, in bps.
  A *large move* (the pressure target) is an excursion at or above the
  training split's ``large_move_quantile``.

Windows never cross symbols; samples whose horizon runs past the data are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.signals.mce.features import L2FeatureFrame

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def horizon_targets(
    mid: FloatArray, ts_ns: IntArray, horizon_ms: int
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """(move_bps, excursion_bps, valid) for every snapshot of one symbol."""
    n = len(mid)
    end = np.searchsorted(ts_ns, ts_ns + horizon_ms * 1_000_000, side="left")
    valid = end < n
    logmid = np.log(mid)
    move = np.full(n, np.nan)
    exc = np.full(n, np.nan)
    idx = np.nonzero(valid)[0]
    move[idx] = (logmid[end[idx]] - logmid[idx]) * 1e4
    for i in idx:
        seg = logmid[i + 1 : end[i] + 1]
        exc[i] = np.abs(seg - logmid[i]).max() * 1e4 if len(seg) else 0.0
    return move, exc, valid


@dataclass(frozen=True)
class SymbolSamples:
    """Per-symbol arrays: raw features (n, V), and per-sample end index + targets."""

    symbol: str
    features: FloatArray
    end_index: IntArray
    move_bps: FloatArray
    excursion_bps: FloatArray
    ts_event: IntArray


def symbol_samples(
    symbol: str, frame: L2FeatureFrame, seq_len: int, horizon_ms: int
) -> SymbolSamples:
    """Samples whose window (seq_len snapshots) and horizon both lie inside the data."""
    move, exc, valid = horizon_targets(frame.mid, frame.ts_event, horizon_ms)
    ends = np.nonzero(valid)[0]
    ends = ends[ends >= seq_len - 1].astype(np.int64)
    return SymbolSamples(
        symbol=symbol,
        features=frame.features.to_numpy(dtype=np.float64),
        end_index=ends,
        move_bps=move[ends],
        excursion_bps=exc[ends],
        ts_event=frame.ts_event[ends],
    )


def windows(z: FloatArray, end_index: IntArray, seq_len: int) -> FloatArray:
    """(len(end_index), seq_len, V) windows of ``z`` ending at each index (inclusive)."""
    view = np.lib.stride_tricks.sliding_window_view(z, seq_len, axis=0)  # (n-L+1, V, L)
    return np.ascontiguousarray(np.moveaxis(view[end_index - seq_len + 1], -1, 1))


@dataclass(frozen=True)
class Split:
    """Chronological split fractions per symbol; the gap keeps horizons from leaking across."""

    train: float = 0.6
    validation: float = 0.2


def split_indices(n: int, split: Split, gap: int) -> tuple[slice, slice, slice]:
    """Chronological train / validation / test slices over n samples with ``gap`` dropped between."""
    a = int(n * split.train)
    b = int(n * (split.train + split.validation))
    return slice(0, max(a - gap, 0)), slice(a, max(b - gap, a)), slice(b, n)
