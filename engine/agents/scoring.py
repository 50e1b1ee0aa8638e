"""Agent scores (pure): PnL after fees, rolling Sharpe, drawdown, hit rate, trades, a verdict.

Everything comes from the journal: the agent's fills (replayed with average-cost
accounting, fees included, into round trips) and its equity samples (the
``performance`` table the Watchtower writes at each evaluation). No verdict is
given before ``min_trades`` round trips: too few trades say nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.config import WatchtowerConfig

KEEP, REAP, UNDECIDED = "keep", "reap", "undecided"
_MINUTES_PER_YEAR = 365.0 * 24 * 60


@dataclass(frozen=True, slots=True)
class Replay:
    """An agent's fills replayed: its position, realised PnL after fees, round trips."""

    position: float
    avg_price: float
    realized_pnl: float
    fees: float
    trades: int
    wins: int


def replay_fills(fills: Sequence[Mapping[str, Any]]) -> Replay:
    """Average-cost accounting over fill rows (``side``, ``qty``, ``price``, ``fee``), in order.

    A round trip ends when the position returns to zero; it is a win when its PnL
    after the fees of its fills is positive.
    """
    qty = avg = realized = fees = trip = 0.0
    trades = wins = 0
    for f in fills:
        signed = float(f["qty"]) * (1.0 if f["side"] == "BUY" else -1.0)
        price, fee = float(f["price"]), float(f.get("fee") or 0.0)
        fees += fee
        trip -= fee
        if qty == 0 or (qty > 0) == (signed > 0):
            new = qty + signed
            avg = (avg * abs(qty) + price * abs(signed)) / abs(new)
            qty = new
            continue
        closing = min(abs(signed), abs(qty))
        gain = closing * (price - avg) * (1.0 if qty > 0 else -1.0)
        realized += gain
        trip += gain
        new = qty + signed
        if abs(new) < 1e-12 or (new > 0) != (qty > 0):
            trades += 1
            wins += trip > 0
            trip = 0.0
            qty, avg = (0.0, 0.0) if abs(new) < 1e-12 else (new, price)
        else:
            qty = new
    return Replay(qty, avg, realized - fees, fees, trades, wins)


@dataclass(frozen=True, slots=True)
class Score:
    """One evaluation of one agent (journaled and published)."""

    agent_id: str
    ts: int
    equity: float
    pnl: float  # realised after fees + unrealised
    realized_pnl: float
    fees: float
    position: float
    trades: int
    wins: int
    hit_rate: float
    sharpe: float  # annualised, NaN with too few samples
    max_drawdown: float  # fraction of peak equity
    verdict: str
    reason: str

    def figures(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("agent_id", "ts")}


def sharpe_from_equity(equity: Sequence[float], interval_minutes: float) -> float:
    """Annualised Sharpe of the returns between equal-interval equity samples."""
    values = np.asarray(equity, dtype=np.float64)
    if values.size < 4 or np.any(values <= 0):
        return math.nan
    returns = np.diff(values) / values[:-1]
    sd = float(np.std(returns, ddof=1))
    if sd <= 1e-15:
        return math.nan
    return float(np.mean(returns) / sd * math.sqrt(_MINUTES_PER_YEAR / interval_minutes))


def max_drawdown(equity: Sequence[float]) -> float:
    values = np.asarray(equity, dtype=np.float64)
    if values.size == 0:
        return 0.0
    peak = np.maximum.accumulate(values)
    return float(np.max(1.0 - values / np.where(peak > 0, peak, 1.0)))


def score_agent(
    *,
    agent_id: str,
    capital: float,
    fills: Sequence[Mapping[str, Any]],
    equity_history: Sequence[float],
    mark: float | None,
    now: int,
    config: WatchtowerConfig,
) -> Score:
    """Score an agent from its fills and equity samples, and say whether to keep it."""
    book = replay_fills(fills)
    price = mark if mark is not None else book.avg_price
    unrealized = book.position * (price - book.avg_price) if book.position else 0.0
    equity = capital + book.realized_pnl + unrealized
    pnl = equity - capital
    samples = [*equity_history, equity]
    window = max(4, int(config.sharpe_window_hours * 60 / config.interval_minutes))
    sharpe = sharpe_from_equity(samples[-window:], config.interval_minutes)
    drawdown = max_drawdown([capital, *samples])
    hit_rate = book.wins / book.trades if book.trades else math.nan
    verdict, reason = _verdict(book.trades, pnl / capital, drawdown, sharpe, hit_rate, config)
    return Score(
        agent_id, now, equity, pnl, book.realized_pnl, book.fees, book.position,
        book.trades, book.wins, hit_rate, sharpe, drawdown, verdict, reason,
    )  # fmt: skip


def _verdict(
    trades: int,
    pnl_fraction: float,
    drawdown: float,
    sharpe: float,
    hit_rate: float,
    config: WatchtowerConfig,
) -> tuple[str, str]:
    if trades < config.min_trades:
        return UNDECIDED, f"{trades} of {config.min_trades} round trips before a verdict"
    failed = []
    if pnl_fraction < config.min_pnl_fraction:
        failed.append(f"PnL {pnl_fraction:.2%} < {config.min_pnl_fraction:.2%} of capital")
    if drawdown > config.max_drawdown:
        failed.append(f"drawdown {drawdown:.2%} > {config.max_drawdown:.2%}")
    if math.isfinite(sharpe) and sharpe < config.min_sharpe:
        failed.append(f"Sharpe {sharpe:.2f} < {config.min_sharpe:.2f}")
    if math.isfinite(hit_rate) and hit_rate < config.min_hit_rate:
        failed.append(f"hit rate {hit_rate:.0%} < {config.min_hit_rate:.0%}")
    if failed:
        return REAP, "; ".join(failed)
    return KEEP, "every threshold holds"
