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

from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import lfilter

Array = npt.NDArray[np.float64]

FLAT_EPS: Final = 1e-12
# Windows are evaluated in blocks of about this many values, so the temporaries of a
# long window stay small (chunking never changes a window's value).
_CHUNK_VALUES: Final = 1 << 21


def _chunk_rows(window: int) -> int:
    return max(256, _CHUNK_VALUES // max(window, 1))


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
    step = _chunk_rows(window)
    for start in range(0, len(views), step):
        block = views[start : start + step]
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


def _rolling(x: Array, window: int, reduce: Callable[[Array], Array]) -> Array:
    """``reduce`` over each trailing ``window`` of ``x`` (NaN until the window is full)."""
    out = nan_array(len(x))
    if len(x) < window:
        return out
    views = sliding_window_view(x, window)
    step = _chunk_rows(window)
    for start in range(0, len(views), step):
        block = views[start : start + step]
        out[window - 1 + start : window - 1 + start + len(block)] = reduce(block)
    return out


def window_sum(windows: Array) -> Array:
    """Sum along the last axis (shared with the streaming path)."""
    return np.asarray(windows.sum(axis=-1), dtype=np.float64)


def rolling_mean(x: Array, window: int) -> Array:
    """Mean of each trailing ``window`` (``window_mean_std``'s mean; NaN until full or with NaN)."""
    return _rolling(x, window, lambda block: window_sum(block) / window)


def rolling_sum(x: Array, window: int) -> Array:
    """Sum of each trailing ``window`` of ``x``, per window (NaN until full or if it holds NaN)."""
    return _rolling(x, window, window_sum)


def min_present(window: int) -> int:
    """Finite values a NaN-tolerant window needs: half of it (at least 3)."""
    return max(3, (window + 1) // 2)


def window_nan_std(windows: Array, ddof: int) -> Array:
    """Standard deviation of the finite values along the last axis, two-pass.

    NaN where fewer than ``min_present`` values of the window are finite.
    """
    ok = np.isfinite(windows)
    if ok.all():  # the common case; the same arithmetic without the masks
        return window_mean_std(windows, ddof)[1]
    n = ok.sum(axis=-1)
    x = np.where(ok, windows, 0.0)
    safe_n = np.maximum(n, 1)
    mean = x.sum(axis=-1) / safe_n
    dev = np.where(ok, windows - mean[..., None], 0.0)
    var = (dev * dev).sum(axis=-1) / np.maximum(n - ddof, 1)
    std = np.sqrt(var)
    return np.asarray(np.where(n >= min_present(windows.shape[-1]), std, np.nan), dtype=np.float64)


def _corr(dx: Array, dy: Array, n: Array | int) -> Array:
    sxx = (dx * dx).sum(axis=-1)
    syy = (dy * dy).sum(axis=-1)
    sxy = (dx * dy).sum(axis=-1)
    sx, sy = np.sqrt(sxx / n), np.sqrt(syy / n)
    flat = (sx <= FLAT_EPS) | (sy <= FLAT_EPS)
    return np.asarray(
        np.where(flat, 0.0, sxy / np.where(flat, 1.0, np.sqrt(sxx) * np.sqrt(syy))),
        dtype=np.float64,
    )


def window_nan_corr(x: Array, y: Array) -> Array:
    """Pearson correlation of the pairs where both are finite, along the last axis, two-pass.

    0 where either side is flat; NaN where fewer than ``min_present`` pairs are finite.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.all():  # the common case; the same arithmetic without the masks
        n = x.shape[-1]
        dx = x - (x.sum(axis=-1) / n)[..., None]
        dy = y - (y.sum(axis=-1) / n)[..., None]
        return _corr(dx, dy, n)
    count = ok.sum(axis=-1)
    safe_n = np.maximum(count, 1)
    xs, ys = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
    dx = np.where(ok, x - (xs.sum(axis=-1) / safe_n)[..., None], 0.0)
    dy = np.where(ok, y - (ys.sum(axis=-1) / safe_n)[..., None], 0.0)
    corr = _corr(dx, dy, safe_n)
    return np.asarray(np.where(count >= min_present(x.shape[-1]), corr, np.nan), dtype=np.float64)


def rolling_nan_std(x: Array, window: int, ddof: int = 1) -> Array:
    """``window_nan_std`` of each trailing ``window`` (NaN until the window is full)."""
    return _rolling(x, window, lambda block: window_nan_std(block, ddof))


def rolling_nan_corr(x: Array, y: Array, window: int) -> Array:
    """``window_nan_corr`` of each trailing ``window`` of pairs (NaN until the window is full)."""
    out = nan_array(len(x))
    if len(x) < window:
        return out
    vx, vy = sliding_window_view(x, window), sliding_window_view(y, window)
    step = _chunk_rows(window)
    for start in range(0, len(vx), step):
        stop = start + step
        block = window_nan_corr(vx[start:stop], vy[start:stop])
        out[window - 1 + start : window - 1 + start + len(block)] = block
    return out


def shift(x: Array, k: int) -> Array:
    """``x[t - k]`` (NaN for the first ``k`` rows)."""
    if k == 0:
        return x.copy()
    out = nan_array(len(x))
    if len(x) > k:
        out[k:] = x[:-k]
    return out


def safe_ratio(num: Array, den: Array, neutral: float) -> Array:
    """``num / den``, ``neutral`` where ``|den|`` is at or below ``FLAT_EPS``, NaN where either is."""
    flat = np.abs(den) <= FLAT_EPS
    value = np.where(flat, neutral, num / np.where(flat, 1.0, den))
    return np.asarray(np.where(np.isnan(num) | np.isnan(den), np.nan, value), dtype=np.float64)
