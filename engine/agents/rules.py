"""Exit rules (pure): why an open long position should close on this bar, if it should.

Checked in this order, the first that holds names the exit:

* ``stop_loss`` / ``take_profit``: the close crossed a barrier of the triple-barrier
  labels the bundle was trained with, ``entry * exp(-/+ k * width)``, where ``width``
  (EWM volatility x sqrt(horizon)) was measured when the position opened;
* ``regime_change``: the radar detects one (if ``exits.exit_on_regime_change``);
* ``mce_pressure``: a liquidity-shock probability at or above ``exits.mce_pressure_prob``
  with the skew against the position;
* ``timeout``: held longer than the adaptive timeout (a multiple of the holding
  times the gauntlet saw);
* ``exit_vote``: the Hedge-weighted EXIT share exceeds one half.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.agents.config import ExitConfig
from engine.agents.signal_board import SignalSnapshot
from engine.forge.ensemble import VoteTally

_MINUTE_NS = 60_000_000_000


@dataclass(frozen=True, slots=True)
class Barriers:
    """The bundle's label barriers (multiples of the width) and its horizon in bars."""

    profit_take: float
    stop_loss: float
    horizon: int
    vol_span: int

    @classmethod
    def from_metadata(cls, labels: dict[str, Any]) -> Barriers:
        return cls(
            float(labels.get("profit_take", 2.0)),
            float(labels.get("stop_loss", 2.0)),
            int(labels.get("horizon_bars", 60)),
            int(labels.get("vol_span", 120)),
        )

    @property
    def payoff_ratio(self) -> float:
        return self.profit_take / self.stop_loss

    def width(self, ewm_vol: float) -> float:
        """The barrier width for a per-bar EWM volatility (NaN while it is unknown)."""
        return ewm_vol * math.sqrt(self.horizon)


def adaptive_timeout_bars(trade_stats: dict[str, Any] | None, config: ExitConfig) -> int:
    """How many bars a position may be held: a multiple of the gauntlet's p90 holding time."""
    p90 = (trade_stats or {}).get("holding_bars_p90")
    if p90 is None or not math.isfinite(float(p90)) or float(p90) <= 0:
        return config.default_timeout_bars
    return max(1, math.ceil(config.timeout_multiple * float(p90)))


def exit_reason(
    *,
    qty: float,
    entry_price: float,
    entry_ts: int,
    entry_width: float,
    close: float,
    bar_close_ts: int,
    tally: VoteTally,
    signals: SignalSnapshot,
    barriers: Barriers,
    timeout_bars: int,
    config: ExitConfig,
) -> str | None:
    """The reason to close a long position of ``qty`` on this bar, or None to keep it."""
    if qty <= 0:
        return None
    if entry_width > 0 and math.isfinite(entry_width) and entry_price > 0:
        if close <= entry_price * math.exp(-barriers.stop_loss * entry_width):
            return "stop_loss"
        if close >= entry_price * math.exp(barriers.profit_take * entry_width):
            return "take_profit"
    if config.exit_on_regime_change and signals.regime_change:
        return "regime_change"
    if (
        signals.mce_pressure is not None
        and signals.mce_skew is not None
        and signals.mce_pressure >= config.mce_pressure_prob
        and signals.mce_skew <= -config.mce_skew_against
    ):
        return "mce_pressure"
    if bar_close_ts - entry_ts >= timeout_bars * _MINUTE_NS:
        return "timeout"
    if tally.exits:
        return "exit_vote"
    return None
