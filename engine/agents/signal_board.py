"""SignalBoard: the latest regime, influence and MCE readings, as agents see them.

Agents never read a signal that is missing, marked unavailable or too old:
such a reading is ``None`` in the ``SignalSnapshot``, and every rule treats
``None`` as neutral (multiplier 1, no exit), never as a fabricated zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import exp, isfinite

from engine.agents.config import AgentsConfig
from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.core.clock import Clock
from engine.model.events import SignalUpdate

_SEC = 1_000_000_000


@dataclass(frozen=True, slots=True)
class SignalSnapshot:
    """What one agent knows of the signals at one decision (None = unavailable)."""

    regime_score: float | None = None
    regime_change: bool | None = None
    influence: float | None = None
    influence_symbols: int = 0  # how many symbols share the influence (for its neutral level)
    mce_skew: float | None = None
    mce_pressure: float | None = None  # P(liquidity shock), 0..1

    def as_dict(self) -> dict[str, float | bool | None]:
        return {
            "regime_score": self.regime_score,
            "regime_change": self.regime_change,
            "influence": self.influence,
            "mce_skew": self.mce_skew,
            "mce_pressure": self.mce_pressure,
        }


class SignalBoard:
    """Keeps the newest ``SignalUpdate`` per (name, symbol) with its arrival time."""

    def __init__(self, bus: EventBus, clock: Clock, config: AgentsConfig) -> None:
        self._bus = bus
        self._clock = clock
        self._bar_age_ns = int(config.bar_signal_max_age_s * _SEC)
        self._mce_age_ns = int(config.mce_max_age_s * _SEC)
        self._latest: dict[tuple[str, str | None], tuple[SignalUpdate, int]] = {}
        self._sub: Subscription | None = None

    def start(self) -> None:
        self._sub = self._bus.subscribe(
            topics.all_of("signal"), self.on_signal, name="agents:signals", direct=True
        )

    def stop(self) -> None:
        if self._sub is not None:
            self._bus.unsubscribe(self._sub)
            self._sub = None

    def on_signal(self, _topic: str, update: SignalUpdate) -> None:
        self._latest[(update.name, update.symbol)] = (update, self._clock.monotonic_ns())

    def _fresh(self, name: str, symbol: str | None, max_age_ns: int) -> SignalUpdate | None:
        entry = self._latest.get((name, symbol))
        if entry is None:
            return None
        update, seen = entry
        if not update.available or self._clock.monotonic_ns() - seen > max_age_ns:
            return None
        return update

    def snapshot(self, symbol: str) -> SignalSnapshot:
        radar = self._fresh("radar", None, self._bar_age_ns)
        influence = self._fresh("influence", symbol, self._bar_age_ns)
        mce = self._fresh("mce", symbol, self._mce_age_ns)
        n_influence = sum(
            1 for (name, _), (u, _) in self._latest.items() if name == "influence" and u.available
        )
        return SignalSnapshot(
            regime_score=_value(radar, "score"),
            regime_change=None if radar is None else radar.flags.get("regime_change_detected"),
            influence=_value(influence, "influence"),
            influence_symbols=n_influence,
            mce_skew=_value(mce, "skew"),
            mce_pressure=_probability(_value(mce, "pressure")),
        )


def _value(update: SignalUpdate | None, key: str) -> float | None:
    if update is None:
        return None
    value = update.values.get(key)
    return value if value is not None and isfinite(value) else None


def _probability(logit: float | None) -> float | None:
    """MCE publishes pressure as a logit; agents reason in probabilities."""
    if logit is None:
        return None
    return 1.0 / (1.0 + exp(-max(min(logit, 50.0), -50.0)))
