"""Configuration section for engine.agents (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from pydantic import Field

from engine.core.settings import FrozenModel


class SizingConfig(FrozenModel):
    """Fractional Kelly and the signal multipliers that scale an entry."""

    kelly_fraction: float = Field(default=0.25, gt=0, le=1)
    max_fraction: float = Field(default=0.5, gt=0, le=1)  # of the agent's equity, per entry
    # Regime: 1 at or below the radar's exit threshold, `regime_floor` at or above its
    # enter threshold (and while a regime change is detected), linear in between.
    regime_floor: float = Field(default=0.25, ge=0, le=1)
    # MCE: skew against the trade shrinks the entry by `mce_skew_gain * |skew|`, down to
    # `mce_floor`; skew with the trade never grows it.
    mce_skew_gain: float = Field(default=1.0, ge=0)
    mce_floor: float = Field(default=0.25, ge=0, le=1)
    # Influence: the symbol's share of influence over an equal share (1 / symbols),
    # capped at 1 (never grows an entry), floored at `influence_floor`.
    influence_floor: float = Field(default=0.5, ge=0, le=1)


class ExitConfig(FrozenModel):
    """When an open position is closed, besides the weighted EXIT vote."""

    # Adaptive timeout: this multiple of the 90th percentile holding time the
    # gauntlet saw (bars); `default_timeout_bars` for a bundle that recorded none.
    timeout_multiple: float = Field(default=2.0, gt=0)
    default_timeout_bars: int = Field(default=240, ge=1)
    exit_on_regime_change: bool = True
    # MCE pressure spike against the position: P(shock) at or above this and
    # skew against the position at or beyond `mce_skew_against`.
    mce_pressure_prob: float = Field(default=0.8, gt=0, le=1)
    mce_skew_against: float = Field(default=0.3, ge=0, le=1)


class AgentsConfig(FrozenModel):
    """Settings of the Arena and its agents."""

    enabled: bool = True
    capital_per_agent: float = Field(default=10_000.0, gt=0)  # each agent's virtual balance
    hedge_eta: float = Field(default=0.5, gt=0)  # Hedge learning rate per bar
    # A specialist's per-bar loss is 0.5 - (its position x the bar's return) / (2 x this),
    # clipped to [0, 1]: a return this large saturates it.
    hedge_return_scale: float = Field(default=0.005, gt=0)
    decision_timeout_ms: int = Field(default=2_000, gt=0)
    max_consecutive_errors: int = Field(default=3, ge=1)
    history_rows: int = Field(default=300, ge=241)  # feature rows kept (GP windows reach 240)
    workers: int = Field(default=2, ge=1, le=16)  # inference threads
    # An agent whose inference has cost at most this much CPU (smoothed) decides on the
    # event loop: handing a sub-millisecond job to a thread costs more than the job
    # (queueing and the GIL). Heavier agents, and every agent's first decision, run in
    # the thread pool with the decision timeout. 0 sends every agent to the pool.
    inline_inference_ms: float = Field(default=1.0, ge=0, le=20)
    # A signal older than this counts as unavailable (neutral).
    bar_signal_max_age_s: float = Field(default=180.0, gt=0)
    mce_max_age_s: float = Field(default=30.0, gt=0)
    sizing: SizingConfig = SizingConfig()
    exits: ExitConfig = ExitConfig()
