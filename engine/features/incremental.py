"""Streaming counterparts of ``engine.features.indicators`` (one value per new input).

Each class keeps the minimum state and evaluates the same expressions as the
batch function it mirrors, so the two paths agree to rounding (tested to
1e-9 on long series). ``math.nan`` is returned during warm-up.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from engine.features.indicators import (
    FLAT_EPS,
    window_mean_std,
    window_nan_corr,
    window_nan_std,
    window_sum,
)


class Lag:
    """``x[t] - x[t - lag]`` over a stream."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self._values: deque[float] = deque(maxlen=lag + 1)

    def update(self, x: float) -> float:
        self._values.append(x)
        if len(self._values) <= self.lag:
            return math.nan
        return x - self._values[0]


class TrailingWindow:
    """The last ``n`` values of a stream as a contiguous array, oldest first, without a copy.

    Each value is written twice into a buffer of ``2 n`` (at ``i`` and ``i + n``), so the
    window is always the slice ``[i, i + n)``: one write per input instead of rebuilding
    an array from a deque.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._buf = np.zeros(2 * n, dtype=np.float64)
        self._i = 0
        self.count = 0

    def append(self, x: float) -> None:
        self._buf[self._i] = x
        self._buf[self._i + self.n] = x
        self._i = (self._i + 1) % self.n
        self.count += 1

    @property
    def full(self) -> bool:
        return self.count >= self.n

    def values(self) -> np.ndarray:
        """The window (valid once ``full``), read-only."""
        view = self._buf[self._i : self._i + self.n]
        view.flags.writeable = False
        return view


class RollingStats:
    """Mean and standard deviation of the trailing ``window`` values (two-pass per window)."""

    def __init__(self, window: int, ddof: int = 0) -> None:
        self.window = window
        self.ddof = ddof
        self._values = TrailingWindow(window)

    def update(self, x: float) -> tuple[float, float]:
        self._values.append(x)
        if not self._values.full:
            return math.nan, math.nan
        mean, std = window_mean_std(self._values.values(), self.ddof)
        return float(mean), float(std)


class RecursiveAverage:
    """``y = alpha * x + (1 - alpha) * y_prev`` seeded with the mean of the first ``period`` inputs.

    NaN inputs before the first finite one are skipped, as in the batch path.
    """

    def __init__(self, period: int, alpha: float) -> None:
        self.period = period
        self.alpha = alpha
        self.decay = 1.0 - alpha
        self._seed: list[float] = []
        self.value = math.nan

    def update(self, x: float) -> float:
        if not math.isnan(self.value):
            self.value = self.alpha * x + self.decay * self.value
            return self.value
        if math.isnan(x) and not self._seed:
            return math.nan
        self._seed.append(x)
        if len(self._seed) == self.period:
            self.value = float(np.sum(np.array(self._seed, dtype=np.float64))) / self.period
            self._seed = []
        return self.value


def ema(period: int) -> RecursiveAverage:
    return RecursiveAverage(period, 2.0 / (period + 1.0))


def wilder(period: int) -> RecursiveAverage:
    return RecursiveAverage(period, 1.0 / period)


class TrueRange:
    """True range over a stream of (high, low, close)."""

    def __init__(self) -> None:
        self._prev_close = math.nan

    def update(self, high: float, low: float, close: float) -> float:
        prev, self._prev_close = self._prev_close, close
        if math.isnan(prev):
            return math.nan
        return max(high - low, max(abs(high - prev), abs(low - prev)))


class Rsi:
    """Wilder's RSI over a stream of closes."""

    def __init__(self, period: int) -> None:
        self._change = Lag(1)
        self._gain = wilder(period)
        self._loss = wilder(period)

    def update(self, close: float) -> float:
        change = self._change.update(close)
        if math.isnan(change):
            gain = loss = math.nan
        else:
            gain = change if change > 0 else 0.0
            loss = -change if change < 0 else 0.0
        avg_gain, avg_loss = self._gain.update(gain), self._loss.update(loss)
        return rsi_value(avg_gain, avg_loss)


def rsi_value(avg_gain: float, avg_loss: float) -> float:
    """Scalar ``indicators.rsi_from_averages``."""
    if math.isnan(avg_loss):
        return math.nan
    if avg_loss > 0:
        return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return 100.0 if avg_gain > 0 else 50.0


def bollinger_value(x: float, mean: float, std: float, k: float) -> tuple[float, float]:
    """Scalar ``indicators.bollinger_from_stats``."""
    width = 2.0 * k * std
    if math.isnan(std):
        return math.nan, width
    if std > FLAT_EPS:
        return (x - mean + k * std) / width, width
    return 0.5, width


def zscore_value(x: float, mean: float, std: float) -> float:
    """Scalar ``indicators.zscore_from_stats``."""
    if math.isnan(std):
        return math.nan
    return (x - mean) / std if std > FLAT_EPS else 0.0


class Delay:
    """``x[t - k]`` over a stream (NaN for the first ``k`` inputs)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._values: deque[float] = deque(maxlen=k + 1)

    def update(self, x: float) -> float:
        self._values.append(x)
        if len(self._values) <= self.k:
            return math.nan
        return self._values[0]


class RollingSum:
    """Sum of the trailing ``window`` values (per window, as the batch path)."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._values = TrailingWindow(window)

    def update(self, x: float) -> float:
        self._values.append(x)
        if not self._values.full:
            return math.nan
        return float(window_sum(self._values.values()))


class NanRollingStd:
    """``indicators.window_nan_std`` of the trailing ``window`` values (missing ones skipped)."""

    def __init__(self, window: int, ddof: int = 1) -> None:
        self.window = window
        self.ddof = ddof
        self._values = TrailingWindow(window)

    def update(self, x: float) -> float:
        self._values.append(x)
        if not self._values.full:
            return math.nan
        return float(window_nan_std(self._values.values(), self.ddof))


class NanRollingCorr:
    """``indicators.window_nan_corr`` of two streams over the trailing ``window`` pairs."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._x = TrailingWindow(window)
        self._y = TrailingWindow(window)

    def update(self, x: float, y: float) -> float:
        self._x.append(x)
        self._y.append(y)
        if not self._x.full:
            return math.nan
        return float(window_nan_corr(self._x.values(), self._y.values()))


def safe_ratio_value(num: float, den: float, neutral: float) -> float:
    """Scalar ``indicators.safe_ratio``."""
    if math.isnan(num) or math.isnan(den):
        return math.nan
    return neutral if abs(den) <= FLAT_EPS else num / den
