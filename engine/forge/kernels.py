"""Compiled (numba) inner loop of GP fitness: signals -> positions -> PnL moments in one pass.

The numpy backtester (engine.forge.backtest) is the reference; this kernel
computes the same held positions, costs and PnL for the GP's hot path without
allocating a single temporary array (tests check the two agree).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _fitness_moments(
    signals: np.ndarray, returns: np.ndarray, cost: float
) -> tuple[float, float, int]:
    desired = 0.0
    held_prev = 0.0
    total = 0.0
    total_sq = 0.0
    trades = 0
    for i in range(signals.size):
        held = desired  # decided at the previous bar's close, held from this bar's open
        pnl = held * returns[i]
        if held != held_prev:
            pnl -= cost
            if held > 0.0:
                trades += 1
        total += pnl
        total_sq += pnl * pnl
        held_prev = held
        s = signals[i]
        if s == 1:
            desired = 1.0
        elif s == 2:
            desired = 0.0
    return total, total_sq, trades


def fitness_moments(
    signals: np.ndarray, returns: np.ndarray, cost_per_unit: float
) -> tuple[float, float, int]:
    """Sum and sum of squares of per-bar PnL, and the number of entries."""
    if signals.size != returns.size:
        raise ValueError(f"{signals.size} signals for {returns.size} returns")
    total, total_sq, trades = _fitness_moments(
        np.ascontiguousarray(signals, dtype=np.int8),
        np.ascontiguousarray(returns, dtype=np.float64),
        float(cost_per_unit),
    )
    return float(total), float(total_sq), int(trades)
