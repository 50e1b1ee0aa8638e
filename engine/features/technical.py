"""The technical indicator set of one timeframe: names, batch computation, streaming state.

Per timeframe (prefix ``m1``, ``m15``, ``h1``, ...), on log prices so the
values do not depend on the price level:

* ``ret_<k>``: log return over ``k`` bars, for each of ``return_lags``.
* ``vol_<n>``: standard deviation (ddof 1) of 1-bar log returns over ``n`` bars.
* ``natr_<n>``: Wilder ATR over ``n`` bars divided by the close.
* ``rsi_<n>``: Wilder RSI (0..100) of the close.
* ``macd``, ``macd_signal``, ``macd_hist``: EMA(fast) - EMA(slow) of log close,
  its EMA(signal), and their difference.
* ``bb_pctb``, ``bb_width``: Bollinger %b and width (2 k sigma) of log close.
* ``volume_z``: z-score of ``log1p(volume)`` over ``volume_window`` bars.
* ``range``: ``log(high / low)``; ``body``: ``log(close / open)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine.features import incremental as inc
from engine.features import indicators as ind
from engine.features.config import FeaturesConfig
from engine.features.indicators import Array


def technical_names(config: FeaturesConfig, prefix: str) -> list[str]:
    """Feature names of one timeframe, in output order."""
    names = [f"{prefix}_ret_{k}" for k in config.return_lags]
    names += [
        f"{prefix}_vol_{config.volatility_window}",
        f"{prefix}_natr_{config.atr_period}",
        f"{prefix}_rsi_{config.rsi_period}",
        f"{prefix}_macd",
        f"{prefix}_macd_signal",
        f"{prefix}_macd_hist",
        f"{prefix}_bb_pctb",
        f"{prefix}_bb_width",
        f"{prefix}_volume_z",
        f"{prefix}_range",
        f"{prefix}_body",
    ]
    return names


def technical_batch(bars: pd.DataFrame, config: FeaturesConfig) -> list[Array]:
    """Every indicator of one timeframe over a bar frame, in ``technical_names`` order."""
    open_, high, low, close, volume = (
        bars[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")
    )
    log_close = np.log(close)
    out = [ind.lag_diff(log_close, k) for k in config.return_lags]
    _, vol = ind.rolling_mean_std(ind.lag_diff(log_close, 1), config.volatility_window, ddof=1)
    out.append(vol)
    atr = ind.wilder(ind.true_range(high, low, close), config.atr_period)
    out.append(atr / close)
    out.append(ind.rsi(close, config.rsi_period))
    macd = ind.ema(log_close, config.macd_fast) - ind.ema(log_close, config.macd_slow)
    signal = ind.ema(macd, config.macd_signal)
    out += [macd, signal, macd - signal]
    mean, std = ind.rolling_mean_std(log_close, config.bollinger_window, ddof=0)
    out += list(ind.bollinger_from_stats(log_close, mean, std, config.bollinger_k))
    log_volume = np.log1p(volume)
    mean, std = ind.rolling_mean_std(log_volume, config.volume_window, ddof=0)
    out.append(ind.zscore_from_stats(log_volume, mean, std))
    out.append(np.log(high) - np.log(low))
    out.append(log_close - np.log(open_))
    return out


class TechnicalStream:
    """Streaming state of one timeframe's indicators (one ``update`` per closed bar)."""

    def __init__(self, config: FeaturesConfig) -> None:
        self.config = config
        self._returns = [inc.Lag(k) for k in config.return_lags]
        self._ret1 = inc.Lag(1)
        self._vol = inc.RollingStats(config.volatility_window, ddof=1)
        self._tr = inc.TrueRange()
        self._atr = inc.wilder(config.atr_period)
        self._rsi = inc.Rsi(config.rsi_period)
        self._fast = inc.ema(config.macd_fast)
        self._slow = inc.ema(config.macd_slow)
        self._signal = inc.ema(config.macd_signal)
        self._bands = inc.RollingStats(config.bollinger_window, ddof=0)
        self._volume = inc.RollingStats(config.volume_window, ddof=0)

    def update(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> list[float]:
        """Values after one more bar, in ``technical_names`` order."""
        cfg = self.config
        log_close = math.log(close)
        out = [lag.update(log_close) for lag in self._returns]
        out.append(self._vol.update(self._ret1.update(log_close))[1])
        atr = self._atr.update(self._tr.update(high, low, close))
        out.append(atr / close)
        out.append(self._rsi.update(close))
        macd = self._fast.update(log_close) - self._slow.update(log_close)
        signal = self._signal.update(macd)
        out += [macd, signal, macd - signal]
        mean, std = self._bands.update(log_close)
        out += list(inc.bollinger_value(log_close, mean, std, cfg.bollinger_k))
        log_volume = math.log1p(volume)
        mean, std = self._volume.update(log_volume)
        out.append(inc.zscore_value(log_volume, mean, std))
        out.append(math.log(high) - math.log(low))
        out.append(log_close - math.log(open_))
        return out
