"""Hedge (multiplicative weights) over an agent's specialists, as pure functions.

After each bar every specialist suffers a loss in [0, 1] from the return its
own vote would have earned: a specialist that voted itself long earns the
bar's return, one that voted itself flat earns nothing. Weights are updated
``w_i <- w_i * exp(-eta * loss_i)`` and renormalised (Freund & Schapire 1997).
With ``eta = sqrt(8 ln N / T)`` the regret against the best specialist after
T bars is at most ``sqrt(T ln N / 2)`` (tested on a synthetic loss sequence).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.forge.ensemble import ENTRY, EXIT


def equal_weights(n: int) -> list[float]:
    return [1.0 / n] * n


def hedge_update(weights: Sequence[float], losses: Sequence[float], eta: float) -> list[float]:
    """The weights after one round of ``losses`` (each in [0, 1])."""
    if len(weights) != len(losses) or not weights:
        raise ValueError("one loss per weight, and at least one weight")
    # Subtract the smallest loss first: the same normalised result, never underflows.
    floor = min(losses)
    raw = [w * math.exp(-eta * (loss - floor)) for w, loss in zip(weights, losses, strict=True)]
    total = sum(raw)
    if not math.isfinite(total) or total <= 0.0:
        return equal_weights(len(weights))
    return [w / total for w in raw]


def optimal_eta(n: int, rounds: int) -> float:
    """The learning rate that gives Hedge its ``sqrt(T ln N / 2)`` regret bound."""
    return math.sqrt(8.0 * math.log(max(n, 2)) / max(rounds, 1))


def regret_bound(n: int, rounds: int) -> float:
    return math.sqrt(rounds * math.log(max(n, 2)) / 2.0)


def next_position(position: int, vote: int) -> int:
    """A specialist's own long/flat state after its vote (HOLD keeps it), as in the forge."""
    if vote == ENTRY:
        return 1
    if vote == EXIT:
        return 0
    return position


def vote_loss(position: int, bar_return: float, scale: float) -> float:
    """The loss of having held ``position`` (1 long, 0 flat) through ``bar_return``, in [0, 1]."""
    earned = position * bar_return
    return min(1.0, max(0.0, 0.5 - earned / (2.0 * scale)))
