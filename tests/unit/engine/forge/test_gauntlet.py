"""Gauntlet statistics: deflated Sharpe, Monte Carlo drawdowns, random entries, gates."""

from __future__ import annotations

import numpy as np
import pytest

from engine.forge.backtest import CostModel, backtest, trade_segments
from engine.forge.config import GatesConfig
from engine.forge.gauntlet import (
    GauntletInputs,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    gate,
    monte_carlo_drawdowns,
    random_entry_test,
    random_held,
    run_gauntlet,
)
from engine.forge.labels import ENTRY, EXIT, HOLD


def test_expected_max_sharpe_grows_with_the_number_of_trials() -> None:
    values = [expected_max_sharpe(n, 0.01) for n in (1, 10, 100, 10_000)]
    assert values[0] == 0.0
    assert values == sorted(values)
    assert values[-1] > 0.3


def test_deflated_sharpe_is_high_for_a_real_edge_and_low_for_noise() -> None:
    rng = np.random.default_rng(0)
    edge = rng.normal(0.001, 0.01, 5000)
    noise = rng.normal(0.0, 0.01, 5000)
    assert deflated_sharpe_ratio(edge, 100, 1e-4) > 0.95
    assert deflated_sharpe_ratio(noise, 100, 1e-4) < 0.5


def test_deflated_sharpe_falls_as_more_candidates_were_tried() -> None:
    rng = np.random.default_rng(1)
    pnl = rng.normal(0.0004, 0.01, 5000)
    assert deflated_sharpe_ratio(pnl, 2, 1e-4) > deflated_sharpe_ratio(pnl, 10_000, 1e-4)


def test_random_held_keeps_trade_count_and_holding_times() -> None:
    rng = np.random.default_rng(2)
    holding = np.array([5, 1, 30, 7, 7, 2])
    for _ in range(20):
        held = random_held(200, holding, rng)
        starts, ends = trade_segments(held)
        assert held.size == 200
        assert sorted((ends - starts).tolist()) == sorted(holding.tolist())


def test_monte_carlo_drawdowns_lie_between_best_and_worst_orderings() -> None:
    rng = np.random.default_rng(3)
    trades = rng.normal(0.001, 0.02, 60)
    dds = monte_carlo_drawdowns(trades, 300, rng)

    def dd(seq: np.ndarray) -> float:
        eq = np.cumprod(1 + seq)
        return float(np.max(1 - eq / np.maximum.accumulate(np.maximum(eq, 1.0))))

    worst = dd(np.sort(trades))  # every loss first
    assert dds.max() <= worst + 1e-12
    assert dds.min() >= 0.0
    assert dds.std() > 0


def _market(n: int, seed: int, drift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(drift, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return open_, close


def test_random_entry_test_detects_foresight_and_not_random_signals() -> None:
    open_, close = _market(4000, 4)
    ret = np.append(open_[1:] / open_[:-1] - 1, close[-1] / open_[-1] - 1)
    costs = CostModel(0, 0.0005, 0)
    # Foresight: enter the bar before each up-move, exit before each down-move.
    foresight = np.where(np.roll(ret, -1) > 0, ENTRY, EXIT)
    res = backtest(foresight, open_, close, costs, 525_600)
    p_good, _ = random_entry_test(res, ret, costs.per_unit, 200, np.random.default_rng(0))
    assert p_good < 0.01
    rng = np.random.default_rng(5)
    random_sig = rng.choice([HOLD, ENTRY, EXIT], size=4000, p=[0.96, 0.02, 0.02])
    res = backtest(random_sig, open_, close, costs, 525_600)
    p_rand, _ = random_entry_test(res, ret, costs.per_unit, 200, np.random.default_rng(0))
    assert p_rand > 0.05


def test_run_gauntlet_rejects_random_signals_and_names_the_failed_gates() -> None:
    open_, close = _market(6000, 6)
    ret = np.append(open_[1:] / open_[:-1] - 1, close[-1] / open_[-1] - 1)
    rng = np.random.default_rng(7)
    sig = rng.choice([HOLD, ENTRY, EXIT], size=6000, p=[0.98, 0.01, 0.01])
    costs = CostModel(0, 0.0005, 0)
    res = backtest(sig, open_, close, costs, 525_600)
    inputs = GauntletInputs(res, ret, [res.pnl[:3000], res.pnl[3000:]], 500, 1e-5)
    report = run_gauntlet(
        inputs,
        GatesConfig(),
        cost_per_unit=costs.per_unit,
        bars_per_year=525_600,
        monte_carlo_runs=100,
        random_entry_runs=100,
        seed=0,
    )
    assert not report.passed
    names = [g.name for g in report.failed]
    assert "deflated_sharpe" in names
    assert "deflated_sharpe" in report.reason
    assert "FAIL by" in report.render()
    assert report.to_dict()["gates"][0]["name"] == "min_trades"


def test_gate_margin_is_signed_by_direction() -> None:
    assert gate("a", 10, 30, True).margin == -20
    assert gate("b", 0.1, 0.2, False).margin == pytest.approx(0.1)
    assert not gate("c", float("nan"), 0.2, False).passed
