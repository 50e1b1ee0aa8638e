"""Cross-asset features: what the leader (BTC/USDT by default) did in the same minutes.

On the sim venue BTC leads ETH by 75 s and SOL by 100 s (docs/sim_venue.md):
a follower's fair value is ``w * C_t + (1 - w) * C_{t - lag}`` of the common
factor, so most of the leader's move in minute t reaches the follower during
minutes t+1 and t+2. On 1m bars that is visible only next to the leader's bars.

Inputs per row t of the symbol's 1m bars: its close ``s`` and the leader's
close ``l`` *of the same minute* (NaN when the leader has no bar for that
minute: a context bar joins the row of its own minute, never a later one).
``lr`` is the leader's one-bar log return and ``r`` the symbol's, both between
consecutive rows; every lag and window counts rows, as for the other features.
A missing leader minute makes the values that need it NaN, which the factory's
sanitising forward-fills like any other gap.

* ``lead_ret_lag<k>``: ``lr`` ``k`` rows back (0: the same minute).
* ``lead_ret_<w>``: the leader's log return over ``w`` rows.
* ``lead_vol_<w>``: std of ``lr`` over ``w`` rows (ddof 1).
* ``lead_corr_<w>``: correlation of ``r_t`` with ``lr_{t - corr_lag}`` over ``w``
  rows (0 when either is flat): how strongly the symbol follows the leader now.

The two windowed statistics skip missing leader minutes and need at least
half of their window present (``indicators.min_present``), so a few missing
minutes do not blank them for a whole window.
* ``lead_gap_<g>``: the leader's log return over ``g`` rows minus the symbol's:
  the part of the leader's recent move the symbol has not followed yet.

For the leader itself the "leader" is its own series: ``lead_ret_*`` are its
own returns, ``lead_corr`` its autocorrelation and ``lead_gap`` zero, so every
symbol has the same columns and one feature set id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from engine.core.errors import DataError
from engine.features import incremental as inc
from engine.features import indicators as ind
from engine.features.config import CrossAssetConfig
from engine.features.indicators import Array
from engine.marketdata.frames import index_ns, require_bar_frame
from engine.model.market import Bar


def cross_asset_names(config: CrossAssetConfig) -> list[str]:
    """Feature names in output order."""
    names = [f"lead_ret_lag{k}" for k in config.lags]
    names += [f"lead_ret_{w}" for w in config.return_windows]
    names += [f"lead_vol_{w}" for w in config.vol_windows]
    names.append(f"lead_corr_{config.corr_window}")
    names.append(f"lead_gap_{config.gap_bars}")
    return names


def cross_asset_warmup(config: CrossAssetConfig) -> int:
    """Rows before every cross-asset feature has a value (no missing leader minutes)."""
    return 1 + max(
        max(config.lags) + 1,
        *config.return_windows,
        *config.vol_windows,
        config.corr_window + config.corr_lag,
        config.gap_bars,
    )


def aligned_close(base_index: pd.DatetimeIndex, context: pd.DataFrame, symbol: str) -> Array:
    """The context frame's closes on the base rows: same open minute only, else NaN."""
    require_bar_frame(context, f"FeatureFactory.batch context {symbol}")
    if context.empty:
        return ind.nan_array(len(base_index))
    ns = index_ns(context.index)
    close = pd.Series(context["close"].to_numpy(dtype=np.float64), index=ns)
    return np.asarray(close.reindex(index_ns(base_index)).to_numpy(), dtype=np.float64)


def cross_asset_batch(close: Array, leader_close: Array, config: CrossAssetConfig) -> list[Array]:
    """Every cross-asset feature over whole arrays, in ``cross_asset_names`` order."""
    log_s = np.log(close)
    log_l = np.log(leader_close)
    lr = ind.lag_diff(log_l, 1)
    out = [ind.shift(lr, k) for k in config.lags]
    out += [ind.lag_diff(log_l, w) for w in config.return_windows]
    out += [ind.rolling_nan_std(lr, w, ddof=1) for w in config.vol_windows]
    r = ind.lag_diff(log_s, 1)
    out.append(ind.rolling_nan_corr(r, ind.shift(lr, config.corr_lag), config.corr_window))
    g = config.gap_bars
    out.append(ind.lag_diff(log_l, g) - ind.lag_diff(log_s, g))
    return out


class CrossAssetStream:
    """Streaming state of the cross-asset features (one ``update`` per 1m bar of the symbol)."""

    def __init__(self, config: CrossAssetConfig) -> None:
        self.config = config
        self._lr = inc.Lag(1)
        self._r = inc.Lag(1)
        self._lags = [inc.Delay(k) for k in config.lags]
        self._returns = [inc.Lag(w) for w in config.return_windows]
        self._vols = [inc.NanRollingStd(w, ddof=1) for w in config.vol_windows]
        self._corr_delay = inc.Delay(config.corr_lag)
        self._corr = inc.NanRollingCorr(config.corr_window)
        self._gap_leader = inc.Lag(config.gap_bars)
        self._gap_own = inc.Lag(config.gap_bars)

    def update(self, close: float, leader_close: float) -> list[float]:
        """Values after one more row; ``leader_close`` is NaN when the leader's minute is missing."""
        log_s = math.log(close)
        log_l = math.log(leader_close) if math.isfinite(leader_close) else math.nan
        lr = self._lr.update(log_l)
        out = [d.update(lr) for d in self._lags]
        out += [lag.update(log_l) for lag in self._returns]
        out += [s.update(lr) for s in self._vols]
        r = self._r.update(log_s)
        out.append(self._corr.update(r, self._corr_delay.update(lr)))
        out.append(self._gap_leader.update(log_l) - self._gap_own.update(log_s))
        return out


def leader_close_of(bar: Bar, context_bar: Bar | None) -> float:
    """The context bar's close if it is a usable closed 1m bar of ``bar``'s minute, else NaN.

    A missing, stale (another minute), open or broken context bar counts as a
    missing minute, like a gap in the leader's history.
    """
    if context_bar is None:
        return math.nan
    usable = (
        context_bar.ts_open == bar.ts_open
        and context_bar.timeframe == bar.timeframe
        and context_bar.closed
        and math.isfinite(context_bar.close)
        and context_bar.close > 0
    )
    return context_bar.close if usable else math.nan


def require_context(
    context: Mapping[str, pd.DataFrame] | None, needed: tuple[str, ...], symbol: str | None
) -> dict[str, pd.DataFrame]:
    """The context frames ``needed`` for ``symbol``'s features (``DataError`` if one is absent)."""
    available: Mapping[str, pd.DataFrame] = {} if context is None else context
    missing = [s for s in needed if s not in available]
    if missing:
        raise DataError(
            f"FeatureFactory.batch: the features of {symbol} need the 1m bars of"
            f" {', '.join(missing)} as context (see FeatureFactory.context_symbols)"
        )
    return {s: available[s] for s in needed}
