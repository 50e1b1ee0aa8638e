"""Technical indicators over whole arrays (the batch path), as pure functions.

Conventions shared with ``engine.features.incremental`` (the streaming path),
which must give the same numbers:

* Inputs are float64 arrays in time order; outputs have the same length with
  NaN during warm-up. Everything is causal: ``out[t]`` uses ``x[: t + 1]``.
* Recursive averages (EMA, Wilder) are seeded with the simple mean of their
  first ``n`` inputs and then follow ``y = a * x + (1 - a) * y_prev``
  (``scipy.signal.lfilter`` evaluates exactly that expression).
* Rolling statistics are computed per window in two passes (mean, then
  squared deviations), never by running sums, so long series do not drift.
* Ratios whose denominator is (numerically) zero take a neutral value
  instead of dividing: RSI 50 or 100, %b 0.5, z-score 0. ``FLAT_EPS`` is the
  dispersion below which a window counts as flat.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import lfilter

Array = npt.NDArray[np.float64]

FLAT_EPS: Final = 1e-12
_CHUNK_ROWS: Final = 65_536


def nan_array(n: int) -> Array:
    return np.full(n, np.nan, dtype=np.float64)


def lag_diff(x: Array, lag: int) -> Array:
    """``x[t] - x[t - lag]`` (NaN for the first ``lag`` rows)."""
    out = nan_array(len(x))
    if len(x) > lag:
        out[lag:] = x[lag:] - x[:-lag]
    return out


def window_mean_std(windows: Array, ddof: int) -> tuple[Array, Array]:
    """Mean and standard deviation along the last axis, two-pass (shared with the streaming path)."""
    n = windows.shape[-1]
    mean = windows.sum(axis=-1) / n
    dev = windows - mean[..., None]
    var = (dev * dev).sum(axis=-1) / (n - ddof)
    return mean, np.sqrt(var)


def rolling_mean_std(x: Array, window: int, ddof: int = 0) -> tuple[Array, Array]:
    """Mean and standard deviation of each trailing ``window`` (NaN until full or if it holds NaN)."""
    mean, std = nan_array(len(x)), nan_array(len(x))
    if len(x) < window:
        return mean, std
    views = sliding_window_view(x, window)
    for start in range(0, len(views), _CHUNK_ROWS):
        block = views[start : start + _CHUNK_ROWS]
        m, s = window_mean_std(block, ddof)
        mean[window - 1 + start : window - 1 + start + len(block)] = m
        std[window - 1 + start : window - 1 + start + len(block)] = s
    return mean, std


def recursive_average(x: Array, period: int, alpha: float) -> Array:
    """``y = alpha * x + (1 - alpha) * y_prev`` seeded with the mean of the first ``period`` inputs.

    Leading NaNs in ``x`` are skipped; the first value appears at the
    ``period``-th finite input. ``x`` must have no NaN after its first finite value.
    """
    out = nan_array(len(x))
    finite = np.flatnonzero(np.isfinite(x))
    if len(finite) < period:
        return out
    first = int(finite[0])
    seed_at = first + period - 1
    seed = float(np.sum(x[first : seed_at + 1])) / period
    out[seed_at] = seed
    rest = x[seed_at + 1 :]
    if len(rest):
        decay = 1.0 - alpha
        out[seed_at + 1 :] = lfilter([alpha], [1.0, -decay], rest, zi=[decay * seed])[0]
    return out


def ema(x: Array, period: int) -> Array:
    """Exponential moving average with ``alpha = 2 / (period + 1)``."""
    return recursive_average(x, period, 2.0 / (period + 1.0))


def wilder(x: Array, period: int) -> Array:
    """Wilder's smoothing (``alpha = 1 / period``), as used by RSI and ATR."""
    return recursive_average(x, period, 1.0 / period)


def true_range(high: Array, low: Array, close: Array) -> Array:
    """``max(high - low, |high - prev close|, |low - prev close|)``; NaN on the first bar."""
    out = nan_array(len(close))
    if len(close) > 1:
        prev = close[:-1]
        out[1:] = np.maximum(
            high[1:] - low[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev))
        )
    return out


def rsi_from_averages(avg_gain: Array, avg_loss: Array) -> Array:
    """RSI in [0, 100] from Wilder-averaged gains and losses (100 if no loss, 50 if flat)."""
    safe_loss = np.where(avg_loss > 0, avg_loss, 1.0)
    rsi = 100.0 - 100.0 / (1.0 + avg_gain / safe_loss)
    flat = np.where(avg_gain > 0, 100.0, 50.0)
    return np.where(avg_loss > 0, rsi, np.where(np.isnan(avg_loss), np.nan, flat))


def rsi(close: Array, period: int) -> Array:
    """Wilder's relative strength index of ``close``."""
    change = lag_diff(close, 1)
    gains = np.where(change > 0, change, 0.0)
    losses = np.where(change < 0, -change, 0.0)
    gains[:1] = losses[:1] = np.nan  # no change before the first bar
    return rsi_from_averages(wilder(gains, period), wilder(losses, period))


def bollinger_from_stats(x: Array, mean: Array, std: Array, k: float) -> tuple[Array, Array]:
    """%b and band width of ``x`` for bands ``mean +/- k * std`` (%b 0.5 on a flat window)."""
    width = 2.0 * k * std
    safe = np.where(std > FLAT_EPS, width, 1.0)
    pctb = np.where(std > FLAT_EPS, (x - mean + k * std) / safe, 0.5)
    return np.where(np.isnan(std), np.nan, pctb), width


def zscore_from_stats(x: Array, mean: Array, std: Array) -> Array:
    """``(x - mean) / std``, 0 on a flat window."""
    safe = np.where(std > FLAT_EPS, std, 1.0)
    z = np.where(std > FLAT_EPS, (x - mean) / safe, 0.0)
    return np.where(np.isnan(std), np.nan, z)
