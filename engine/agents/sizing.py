"""Entry sizing (pure): fractional Kelly scaled by the regime, MCE and influence multipliers.

``entry_size`` returns the quantity to buy and every factor that produced it,
so a decision can be journaled and explained. A missing signal is neutral
(multiplier 1). The result is rounded down to the lot, capped by the agent's
cash and its strategy's position limit, and zero below the venue's minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.agents.config import SizingConfig
from engine.agents.signal_board import SignalSnapshot


@dataclass(frozen=True, slots=True)
class SizeBreakdown:
    """How an entry's size came about (journaled with the decision)."""

    probability: float  # of a win
    loss_probability: float
    payoff_ratio: float
    kelly: float  # the full Kelly fraction
    fraction: float  # after the Kelly fraction and the cap
    regime_multiplier: float
    mce_multiplier: float
    influence_multiplier: float
    notional: float  # equity x fraction x multipliers, before rounding and caps
    qty: float
    limited_by: str  # "", "cash", "position_limit", "venue_minimum" or "kelly"

    def as_dict(self) -> dict[str, float | str]:
        return {
            "probability": self.probability,
            "loss_probability": self.loss_probability,
            "payoff_ratio": self.payoff_ratio,
            "kelly": self.kelly,
            "fraction": self.fraction,
            "regime": self.regime_multiplier,
            "mce": self.mce_multiplier,
            "influence": self.influence_multiplier,
            "notional": self.notional,
            "qty": self.qty,
            "limited_by": self.limited_by,
        }


def kelly_fraction(p_win: float, p_loss: float, payoff_ratio: float) -> float:
    """Full Kelly for a bet that wins ``payoff_ratio`` per unit lost, or neither.

    The triple-barrier outcomes: the upper barrier first (win ``b``), the lower first
    (lose 1), or the horizon ends between them (about 0). Maximising
    ``p log(1 + f b) + q log(1 - f)`` gives ``f = (p b - q) / (b (p + q))``,
    which is the familiar ``p - q / b`` when ``p + q = 1``.
    """
    b = payoff_ratio
    if not (p_win >= 0 and p_loss >= 0 and p_win + p_loss > 0 and b > 0 and math.isfinite(b)):
        return 0.0
    return (p_win * b - p_loss) / (b * (p_win + p_loss))


def regime_multiplier(
    signals: SignalSnapshot, exit_threshold: float, enter_threshold: float, floor: float
) -> float:
    """1 when calm, ``floor`` at the radar's enter threshold or during a regime change."""
    if signals.regime_change:
        return floor
    score = signals.regime_score
    if score is None or score <= exit_threshold:
        return 1.0
    if score >= enter_threshold:
        return floor
    t = (score - exit_threshold) / (enter_threshold - exit_threshold)
    return 1.0 - t * (1.0 - floor)


def mce_multiplier(signals: SignalSnapshot, side_sign: int, gain: float, floor: float) -> float:
    """Skew against the trade (``side_sign`` +1 long) shrinks it; skew with it never grows it."""
    skew = signals.mce_skew
    if skew is None:
        return 1.0
    against = max(0.0, -skew * side_sign)
    return max(floor, 1.0 - gain * against)


def influence_multiplier(signals: SignalSnapshot, floor: float) -> float:
    """The symbol's influence over an equal share, capped at 1 and floored."""
    if signals.influence is None or signals.influence_symbols < 1:
        return 1.0
    equal = 1.0 / signals.influence_symbols
    return min(1.0, max(floor, signals.influence / equal))


def round_to_lot(qty: float, lot: float) -> float:
    """``qty`` rounded down to a whole number of lots (robust to float noise)."""
    if lot <= 0:
        return qty
    lots = math.floor(qty / lot + 1e-9)
    return round(lots * lot, 12)


def entry_size(
    *,
    equity: float,
    cash: float,
    price: float,
    probability: float,
    loss_probability: float,
    payoff_ratio: float,
    signals: SignalSnapshot,
    config: SizingConfig,
    regime_thresholds: tuple[float, float],
    lot_size: float,
    min_qty: float,
    max_position_notional: float,
) -> SizeBreakdown:
    """The quantity of a long entry at ``price`` (0 when Kelly or the venue say no)."""
    kelly = kelly_fraction(probability, loss_probability, payoff_ratio)
    fraction = min(config.kelly_fraction * max(kelly, 0.0), config.max_fraction)
    regime = regime_multiplier(signals, *regime_thresholds, config.regime_floor)
    mce = mce_multiplier(signals, +1, config.mce_skew_gain, config.mce_floor)
    influence = influence_multiplier(signals, config.influence_floor)
    notional = max(equity, 0.0) * fraction * regime * mce * influence
    limited_by = "" if kelly > 0 else "kelly"
    capped = notional
    if capped > cash:
        capped, limited_by = max(cash, 0.0), "cash"
    if capped > max_position_notional:
        capped, limited_by = max_position_notional, "position_limit"
    qty = round_to_lot(capped / price, lot_size) if price > 0 else 0.0
    if qty < min_qty - 1e-12:
        qty = 0.0
        limited_by = limited_by or "venue_minimum"
    return SizeBreakdown(
        probability,
        loss_probability,
        payoff_ratio,
        kelly,
        fraction,
        regime,
        mce,
        influence,
        notional,
        qty,
        limited_by,
    )
