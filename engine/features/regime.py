"""Regime features of one symbol over hours of 1m bars: volatility, trend and activity.

The sim's latent market moves between calm, trending, volatile and crash
regimes that last tens of minutes to hours (docs/sim_venue.md); a real market
has its own. These features describe the recent hours of a symbol's own bars,
per row (row t uses rows up to t; lags and windows count rows, like every
other feature), on log prices so they do not depend on the price level.
``r`` is the one-bar log return.

* ``rg_vol_ratio``: std of ``r`` over ``vol_short`` rows / over ``vol_long``
  rows (ddof 1): above 1 when volatility is rising (1 when the long window is flat).
* ``rg_er_<w>``: signed efficiency ratio, ``(log c_t - log c_{t-w}) / sum |r|``
  over the same ``w`` bars, in [-1, 1]: +1 a straight rise, near 0 noise (0 when flat).
* ``rg_trend_<w>``: the ``w``-bar log return over its standard error,
  ``(log c_t - log c_{t-w}) / (std(r over w) * sqrt(w))`` (0 when flat).
* ``rg_volume_ratio``: mean of ``log1p(volume)`` over ``volume_short`` rows
  minus its mean over ``volume_long`` rows (activity relative to the recent norm).
"""

from __future__ import annotations

import math

import numpy as np

from engine.features import incremental as inc
from engine.features import indicators as ind
from engine.features.config import RegimeConfig
from engine.features.indicators import Array


def regime_names(config: RegimeConfig) -> list[str]:
    """Feature names in output order."""
    names = ["rg_vol_ratio"]
    names += [f"rg_er_{w}" for w in config.trend_windows]
    names += [f"rg_trend_{w}" for w in config.trend_windows]
    names.append("rg_volume_ratio")
    return names


def regime_warmup(config: RegimeConfig) -> int:
    """Rows before every regime feature has a value."""
    return 1 + max(config.vol_long, config.volume_long, *config.trend_windows)


def regime_batch(close: Array, volume: Array, config: RegimeConfig) -> list[Array]:
    """Every regime feature over whole arrays, in ``regime_names`` order."""
    log_close = np.log(close)
    r = ind.lag_diff(log_close, 1)
    stds: dict[int, Array] = {}

    def std(window: int) -> Array:
        if window not in stds:
            stds[window] = ind.rolling_mean_std(r, window, ddof=1)[1]
        return stds[window]

    out = [ind.safe_ratio(std(config.vol_short), std(config.vol_long), 1.0)]
    abs_r = np.abs(r)
    moves = {w: ind.lag_diff(log_close, w) for w in config.trend_windows}
    out += [ind.safe_ratio(moves[w], ind.rolling_sum(abs_r, w), 0.0) for w in config.trend_windows]
    out += [ind.safe_ratio(moves[w], std(w) * math.sqrt(w), 0.0) for w in config.trend_windows]
    log_volume = np.log1p(volume)
    short = ind.rolling_mean(log_volume, config.volume_short)
    long = ind.rolling_mean(log_volume, config.volume_long)
    out.append(short - long)
    return out


class RegimeStream:
    """Streaming state of the regime features (one ``update`` per 1m bar)."""

    def __init__(self, config: RegimeConfig) -> None:
        self.config = config
        self._ret = inc.Lag(1)
        windows = sorted({config.vol_short, config.vol_long, *config.trend_windows})
        self._stds = {w: inc.RollingStats(w, ddof=1) for w in windows}
        self._moves = {w: inc.Lag(w) for w in config.trend_windows}
        self._abs = {w: inc.RollingSum(w) for w in config.trend_windows}
        self._volume_short = inc.RollingStats(config.volume_short)
        self._volume_long = inc.RollingStats(config.volume_long)

    def update(self, close: float, volume: float) -> list[float]:
        """Values after one more bar, in ``regime_names`` order."""
        cfg = self.config
        log_close = math.log(close)
        r = self._ret.update(log_close)
        std = {w: s.update(r)[1] for w, s in self._stds.items()}
        out = [inc.safe_ratio_value(std[cfg.vol_short], std[cfg.vol_long], 1.0)]
        moves = {w: lag.update(log_close) for w, lag in self._moves.items()}
        abs_r = abs(r)
        out += [
            inc.safe_ratio_value(moves[w], self._abs[w].update(abs_r), 0.0)
            for w in cfg.trend_windows
        ]
        out += [
            inc.safe_ratio_value(moves[w], std[w] * math.sqrt(w), 0.0) for w in cfg.trend_windows
        ]
        log_volume = math.log1p(volume)
        short = self._volume_short.update(log_volume)[0]
        long = self._volume_long.update(log_volume)[0]
        out.append(short - long)
        return out
