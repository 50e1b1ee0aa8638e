"""Exit rules: barriers, regime change, MCE pressure spike, adaptive timeout, the weighted vote."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine.agents.config import ExitConfig
from engine.agents.rules import Barriers, adaptive_timeout_bars, exit_reason
from engine.agents.signal_board import SignalSnapshot
from engine.forge.ensemble import tally

MINUTE = 60_000_000_000
BARRIERS = Barriers(profit_take=2.0, stop_loss=1.0, horizon=16, vol_span=20)
HOLD_VOTES = tally([0, 0, 0])


def _reason(**kw: Any) -> str | None:
    args: dict[str, Any] = {
        "qty": 1.0,
        "entry_price": 100.0,
        "entry_ts": 0,
        "entry_width": 0.01,
        "close": 100.0,
        "bar_close_ts": 10 * MINUTE,
        "tally": HOLD_VOTES,
        "signals": SignalSnapshot(),
        "barriers": BARRIERS,
        "timeout_bars": 60,
        "config": ExitConfig(),
    }
    args.update(kw)
    return exit_reason(**args)


def test_a_calm_position_is_kept_and_a_flat_agent_has_nothing_to_exit() -> None:
    assert _reason() is None
    assert _reason(qty=0.0, close=1.0) is None


def test_the_label_barriers_close_the_position() -> None:
    stop = 100.0 * math.exp(-1.0 * 0.01)
    take = 100.0 * math.exp(2.0 * 0.01)
    assert _reason(close=stop - 0.01) == "stop_loss"
    assert _reason(close=stop + 0.01) is None
    assert _reason(close=take + 0.01) == "take_profit"
    assert _reason(close=take - 0.01) is None
    assert _reason(close=50.0, entry_width=0.0) is None  # no width recorded: no barrier


def test_a_regime_change_closes_unless_configured_off() -> None:
    signals = SignalSnapshot(regime_score=4.0, regime_change=True)
    assert _reason(signals=signals) == "regime_change"
    assert _reason(signals=signals, config=ExitConfig(exit_on_regime_change=False)) is None


def test_an_mce_pressure_spike_against_the_position_closes_it() -> None:
    against = SignalSnapshot(mce_skew=-0.5, mce_pressure=0.9)
    assert _reason(signals=against) == "mce_pressure"
    assert _reason(signals=SignalSnapshot(mce_skew=0.5, mce_pressure=0.9)) is None  # with it
    assert _reason(signals=SignalSnapshot(mce_skew=-0.5, mce_pressure=0.5)) is None  # no spike
    assert _reason(signals=SignalSnapshot(mce_skew=-0.5)) is None  # pressure unknown: neutral


def test_the_adaptive_timeout_follows_the_gauntlets_holding_times() -> None:
    config = ExitConfig(timeout_multiple=2.0, default_timeout_bars=240)
    assert adaptive_timeout_bars({"holding_bars_p90": 17.5}, config) == 35
    assert adaptive_timeout_bars({}, config) == 240
    assert adaptive_timeout_bars({"holding_bars_p90": float("nan")}, config) == 240
    assert _reason(bar_close_ts=35 * MINUTE, timeout_bars=35) == "timeout"
    assert _reason(bar_close_ts=34 * MINUTE, timeout_bars=35) is None


def test_a_weighted_exit_majority_closes_even_when_exit_is_not_the_top_vote_by_count() -> None:
    votes = tally([2, 0, 0], [0.6, 0.2, 0.2])  # one EXIT against two HOLD
    assert votes.counts == (2, 0, 1)
    assert votes.exits
    assert _reason(tally=votes) == "exit_vote"
    assert _reason(tally=tally([2, 0, 0])) is None  # equal weights: a third is no majority


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"close": 90.0, "signals": SignalSnapshot(regime_change=True)}, "stop_loss"),
        ({"signals": SignalSnapshot(regime_change=True), "bar_close_ts": 10**15}, "regime_change"),
        ({"bar_close_ts": 10**15, "tally": tally([2, 2, 0])}, "timeout"),
    ],
)
def test_the_first_rule_that_holds_names_the_exit(kw: dict[str, Any], expected: str) -> None:
    assert _reason(**kw) == expected
