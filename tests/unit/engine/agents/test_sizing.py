"""Entry sizing: fractional Kelly, each multiplier, the caps and the venue minimum."""

from __future__ import annotations

from typing import Any

import pytest

from engine.agents.config import SizingConfig
from engine.agents.signal_board import SignalSnapshot
from engine.agents.sizing import (
    entry_size,
    influence_multiplier,
    kelly_fraction,
    mce_multiplier,
    regime_multiplier,
    round_to_lot,
)

CFG = SizingConfig(kelly_fraction=0.5, max_fraction=0.5, regime_floor=0.25, mce_floor=0.25)
THRESHOLDS = (1.5, 3.0)
NO_SIGNALS = SignalSnapshot()


def _size(signals: SignalSnapshot = NO_SIGNALS, **kw: object) -> Any:
    args: dict[str, object] = {
        "equity": 10_000.0,
        "cash": 10_000.0,
        "price": 100.0,
        "probability": 0.6,
        "loss_probability": 0.4,
        "payoff_ratio": 1.0,
        "signals": signals,
        "config": CFG,
        "regime_thresholds": THRESHOLDS,
        "lot_size": 0.01,
        "min_qty": 0.05,
        "max_position_notional": 1e9,
    }
    args.update(kw)
    return entry_size(**args)  # type: ignore[arg-type]


def test_kelly_is_p_minus_q_over_b_and_counts_the_neither_outcome() -> None:
    assert kelly_fraction(0.6, 0.4, 1.0) == pytest.approx(0.2)
    assert kelly_fraction(0.5, 0.5, 2.0) == pytest.approx(0.25)
    # 40% win, 20% loss, 40% neither: f = (0.4 - 0.2) / 0.6.
    assert kelly_fraction(0.4, 0.2, 1.0) == pytest.approx(1 / 3)
    assert kelly_fraction(0.3, 0.7, 1.0) < 0
    assert kelly_fraction(0.5, 0.5, 0.0) == 0.0


def test_the_base_size_is_the_kelly_fraction_of_equity_rounded_down_to_the_lot() -> None:
    size = _size()
    # 10,000 x 0.5 x 0.2 = 1,000 notional at 100 = 10 units.
    assert size.notional == pytest.approx(1_000.0)
    assert size.qty == pytest.approx(10.0)
    assert size.limited_by == ""
    assert round_to_lot(1.239999999, 0.01) == pytest.approx(1.23)
    assert round_to_lot(0.3, 0.1) == pytest.approx(0.3)  # float noise does not lose a lot


@pytest.mark.parametrize(
    ("signals", "factor"),
    [
        (SignalSnapshot(regime_score=1.0), 1.0),  # calm
        (SignalSnapshot(regime_score=2.25), 0.625),  # half way to the enter threshold
        (SignalSnapshot(regime_score=4.0), 0.25),
        (SignalSnapshot(regime_score=0.5, regime_change=True), 0.25),
        (SignalSnapshot(mce_skew=-0.5), 0.5),  # skew against a long shrinks it
        (SignalSnapshot(mce_skew=+0.9), 1.0),  # skew with it never grows it
        (SignalSnapshot(mce_skew=-0.95), 0.25),  # down to the floor
        (SignalSnapshot(influence=0.2, influence_symbols=3), 0.6),  # 0.2 of an equal 1/3
        (SignalSnapshot(influence=0.7, influence_symbols=3), 1.0),  # capped at 1
        (SignalSnapshot(), 1.0),  # no signals: neutral, never zero
    ],
)
def test_each_multiplier_scales_the_entry(signals: SignalSnapshot, factor: float) -> None:
    size = _size(signals)
    assert size.notional == pytest.approx(1_000.0 * factor)
    product = size.regime_multiplier * size.mce_multiplier * size.influence_multiplier
    assert product == pytest.approx(factor)


def test_multipliers_compose() -> None:
    signals = SignalSnapshot(regime_score=2.25, mce_skew=-0.5, influence=0.2, influence_symbols=3)
    assert _size(signals).notional == pytest.approx(1_000.0 * 0.625 * 0.5 * 0.6)
    assert regime_multiplier(signals, *THRESHOLDS, 0.25) == pytest.approx(0.625)
    assert mce_multiplier(signals, -1, 1.0, 0.25) == 1.0  # the same skew favours a short
    assert influence_multiplier(signals, 0.75) == pytest.approx(0.75)  # floored


def test_the_size_is_capped_by_the_position_limit_and_by_cash() -> None:
    limited = _size(max_position_notional=250.0)
    assert limited.qty == pytest.approx(2.5)
    assert limited.limited_by == "position_limit"
    poor = _size(cash=300.0)
    assert poor.qty == pytest.approx(3.0)
    assert poor.limited_by == "cash"


def test_below_the_venue_minimum_there_is_no_trade() -> None:
    tiny = _size(equity=20.0, cash=20.0)  # 2 USDT notional: 0.02 < min 0.05
    assert tiny.qty == 0.0
    assert tiny.limited_by == "venue_minimum"


def test_no_edge_no_size_and_the_fraction_is_capped() -> None:
    assert _size(probability=0.4, loss_probability=0.6).qty == 0.0
    assert _size(probability=0.4, loss_probability=0.6).limited_by == "kelly"
    capped = SizingConfig(kelly_fraction=0.5, max_fraction=0.3)
    sure = _size(probability=0.99, loss_probability=0.01, payoff_ratio=5.0, config=capped)
    assert sure.kelly == pytest.approx(0.988)
    assert sure.fraction == pytest.approx(0.3)
