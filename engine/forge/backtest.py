"""Vectorized long/flat backtester: signals -> positions -> PnL with costs (pure numpy).

Timing: a signal computed on bar t (using its close) is executed at the open of
bar t+1, so bar t's own return is never earned by a decision made on it. The
position held during bar i (open i -> open i+1) earns ``open[i+1] / open[i] - 1``;
the last bar earns ``close / open``. Each change of position pays
``|change| * (fee + slippage)`` at the open where it happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.forge.config import CostsConfig
from engine.forge.labels import ENTRY, EXIT


@dataclass(frozen=True, slots=True)
class CostModel:
    """Costs per unit of position traded, as fractions (not bps)."""

    maker_fee: float = 0.0002
    taker_fee: float = 0.00055
    slippage: float = 0.0001
    maker_fraction: float = 0.0

    @classmethod
    def from_config(cls, costs: CostsConfig) -> CostModel:
        return cls(
            maker_fee=costs.maker_fee_bps / 1e4,
            taker_fee=costs.taker_fee_bps / 1e4,
            slippage=costs.slippage_bps / 1e4,
            maker_fraction=costs.maker_fraction,
        )

    @property
    def per_unit(self) -> float:
        fee = self.maker_fraction * self.maker_fee + (1.0 - self.maker_fraction) * self.taker_fee
        return fee + self.slippage


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Per-bar series and summary statistics of one backtest."""

    held: np.ndarray
    pnl: np.ndarray
    equity: np.ndarray
    sharpe: float
    sortino: float
    max_drawdown: float
    trades: int
    turnover: float
    total_return: float
    trade_returns: np.ndarray
    holding_bars: np.ndarray

    def summary(self) -> dict[str, float]:
        return {
            "sharpe": self.sharpe,
            "sortino": self.sortino,
            "max_drawdown": self.max_drawdown,
            "trades": float(self.trades),
            "turnover": self.turnover,
            "total_return": self.total_return,
            "mean_holding_bars": float(self.holding_bars.mean()) if self.trades else 0.0,
        }


def bar_returns(open_: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Open-to-next-open return of each bar (close/open for the last one)."""
    open_ = np.asarray(open_, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    if open_.size != close.size:
        raise ValueError("open and close must have the same length")
    ret = np.empty_like(open_)
    ret[:-1] = open_[1:] / open_[:-1] - 1.0
    ret[-1:] = close[-1:] / open_[-1:] - 1.0
    return ret


def positions_from_signals(signals: np.ndarray) -> np.ndarray:
    """Desired position after each bar: 1 after ENTRY until EXIT, else 0 (HOLD keeps it)."""
    signals = np.asarray(signals)
    out = np.zeros(signals.size, dtype=np.float64)
    decided = np.flatnonzero((signals == ENTRY) | (signals == EXIT))
    if decided.size == 0:
        return out
    value = signals[decided] == ENTRY
    # Keep only decisions that change the position, then paint each run at once.
    change = np.empty(value.size, dtype=bool)
    change[0] = True
    np.not_equal(value[1:], value[:-1], out=change[1:])
    starts = decided[change]
    lengths = np.diff(np.append(starts, signals.size))
    out[starts[0] :] = np.repeat(value[change], lengths)
    return out


def held_from_desired(desired: np.ndarray) -> np.ndarray:
    """Shift desired positions by one bar: next-bar execution."""
    held = np.zeros_like(desired)
    held[1:] = desired[:-1]
    return held


def sharpe_ratio(pnl: np.ndarray, bars_per_year: float) -> float:
    """Annualized Sharpe ratio of per-bar returns (0 when they do not vary)."""
    if pnl.size < 2:
        return 0.0
    sd = float(np.std(pnl, ddof=1, dtype=np.float64))
    if not sd > 1e-15:
        return 0.0
    return float(np.mean(pnl, dtype=np.float64) / sd * np.sqrt(bars_per_year))


def sortino_ratio(pnl: np.ndarray, bars_per_year: float) -> float:
    """Annualized Sortino ratio (downside deviation about zero)."""
    if pnl.size < 2:
        return 0.0
    downside = float(np.sqrt(np.mean(np.minimum(pnl, 0.0) ** 2, dtype=np.float64)))
    if not downside > 1e-15:
        return 0.0
    return float(np.mean(pnl, dtype=np.float64) / downside * np.sqrt(bars_per_year))


def max_drawdown(equity: np.ndarray) -> float:
    """Largest peak-to-trough loss as a fraction of the peak (starting equity is 1)."""
    if equity.size == 0:
        return 0.0
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    return float(np.max(1.0 - equity / peak))


def trade_segments(held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and exclusive end index of every run of a non-zero position."""
    on = (held != 0).astype(np.int8)
    edges = np.diff(np.concatenate(([0], on, [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def pnl_from_held(held: np.ndarray, returns: np.ndarray, cost_per_unit: float) -> np.ndarray:
    """Per-bar PnL of holding ``held`` through ``returns``, net of trading costs."""
    change = np.abs(np.diff(held, prepend=0.0))
    return np.asarray(held * returns - cost_per_unit * change)


def backtest(
    signals: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
    costs: CostModel,
    bars_per_year: float,
) -> BacktestResult:
    """Run signals (HOLD/ENTRY/EXIT per bar) through the market and report the result."""
    signals = np.asarray(signals)
    returns = bar_returns(open_, close)
    if signals.size != returns.size:
        raise ValueError(f"{signals.size} signals for {returns.size} bars")
    held = held_from_desired(positions_from_signals(signals))
    pnl = pnl_from_held(held, returns, costs.per_unit)
    equity = np.cumprod(1.0 + pnl)
    starts, ends = trade_segments(held)
    # A trade's return includes its exit cost, charged on the bar where it closes.
    log_equity = np.concatenate(([0.0], np.cumsum(np.log1p(pnl))))
    last = np.minimum(ends, held.size - 1)
    trade_returns = np.expm1(log_equity[last + 1] - log_equity[starts])
    return BacktestResult(
        held=held,
        pnl=pnl,
        equity=equity,
        sharpe=sharpe_ratio(pnl, bars_per_year),
        sortino=sortino_ratio(pnl, bars_per_year),
        max_drawdown=max_drawdown(equity),
        trades=int(starts.size),
        turnover=float(np.abs(np.diff(held, prepend=0.0)).sum()),
        total_return=float(equity[-1] - 1.0) if equity.size else 0.0,
        trade_returns=trade_returns,
        holding_bars=(ends - starts).astype(np.int64),
    )


def trade_stats(result: BacktestResult) -> dict[str, Any]:
    """Per-trade figures a live agent sizes and times out with (JSON-able).

    ``win_rate``: share of trades with a positive return (net of costs);
    ``avg_win``: mean return of the winners; ``avg_loss``: mean loss of the
    others as a positive fraction; ``payoff_ratio``: ``avg_win / avg_loss``
    (None when no trade lost); ``holding_bars_median`` / ``_p90`` / ``_max``:
    bars a position was held. A trade still open at the end of the series
    counts up to its last bar.
    """
    r = np.asarray(result.trade_returns, dtype=np.float64)
    h = np.asarray(result.holding_bars, dtype=np.float64)
    wins, losses = r[r > 0], r[r <= 0]
    avg_win = float(wins.mean()) if wins.size else 0.0
    avg_loss = float(-losses.mean()) if losses.size else 0.0
    return {
        "trades": int(result.trades),
        "win_rate": float(wins.size / r.size) if r.size else 0.0,
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "payoff_ratio": avg_win / avg_loss if avg_loss > 0 else None,
        "mean_return": float(r.mean()) if r.size else 0.0,
        "holding_bars_median": float(np.median(h)) if h.size else 0.0,
        "holding_bars_p90": float(np.percentile(h, 90)) if h.size else 0.0,
        "holding_bars_max": int(h.max()) if h.size else 0,
    }
