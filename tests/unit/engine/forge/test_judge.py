"""The gauntlet judges the ensemble: the members' vote on the holdout, walk-forward refits voting."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.forge.backtest import CostModel, backtest, trade_stats
from engine.forge.candidates import Candidate, refit
from engine.forge.config import BudgetConfig, ForgeConfig, SplitConfig
from engine.forge.dataset import ForgeDataset
from engine.forge.ensemble import ensemble_signals
from engine.forge.judge import judge, trial_count, walk_forward
from engine.forge.labels import ENTRY, HOLD, walk_forward_folds
from engine.forge.specialists import GBMSpecialist, GPSpecialist
from tests.unit.engine.forge.conftest import synthetic_dataset

BUDGET = BudgetConfig(
    population=4,
    generations=1,
    gbm_rounds=10,
    walk_forward_folds=3,
    monte_carlo_runs=50,
    random_entry_runs=50,
)
CONFIG = ForgeConfig(split=SplitConfig(embargo_bars=50))
COSTS = CostModel.from_config(CONFIG.costs)


def _members(
    gp: GPSpecialist, gbm: dict[str, GBMSpecialist], kinds: tuple[str, ...]
) -> list[Candidate]:
    out = {
        "gp": Candidate("gp#0", gp),
        "lightgbm": Candidate("lightgbm q0.90/0.50", gbm["lightgbm"], (0.90, 0.50)),
        "xgboost": Candidate("xgboost q0.90/0.50", gbm["xgboost"], (0.90, 0.50)),
    }
    return [out[k] for k in kinds]


def _fold_pnl(signals: np.ndarray, ds: ForgeDataset, test: slice) -> np.ndarray:
    return backtest(signals, ds.open[test], ds.close[test], COSTS, CONFIG.annual_bars).pnl


def test_judge_backtests_the_equal_weight_vote_of_the_members_on_the_holdout(
    gp_specialist: GPSpecialist, gbm_specialists: dict[str, GBMSpecialist]
) -> None:
    ds = synthetic_dataset()
    members = _members(gp_specialist, gbm_specialists, ("gp", "lightgbm", "xgboost"))
    verdict = judge(members, ds, CONFIG, BUDGET, seed=0, n_trials=123)
    holdout = ds.split.holdout
    votes = np.stack([m.specialist.signals(ds.frame(holdout)) for m in members])
    want = ensemble_signals(votes)
    np.testing.assert_array_equal(verdict.signals, want)
    assert all(not np.array_equal(v, want) for v in votes)  # the vote is none of its members
    result = backtest(
        want, ds.open[holdout.slice], ds.close[holdout.slice], COSTS, CONFIG.annual_bars
    )
    assert result.trades > 0
    gates = {g.name: g for g in verdict.report.gates}
    assert gates["min_trades"].value == result.trades
    assert verdict.report.metrics["holdout_sharpe"] == pytest.approx(result.sharpe)
    assert verdict.report.metrics["n_trials"] == 123
    assert verdict.report.metrics["ensemble_members"] == 3
    assert verdict.trade_stats == trade_stats(result)
    assert verdict.walk_forward.voters == tuple(tuple(m.name for m in members) for _ in range(3))


def test_walk_forward_refits_every_member_on_each_window_and_backtests_their_vote(
    gp_specialist: GPSpecialist, gbm_specialists: dict[str, GBMSpecialist]
) -> None:
    ds = synthetic_dataset(seed=1)
    members = _members(gp_specialist, gbm_specialists, ("gp", "xgboost"))
    wf = walk_forward(members, ds, CONFIG, BUDGET, seed=0)
    folds = walk_forward_folds(ds.split.holdout, 3, len(ds.split.train), 50)
    assert len(wf.pnls) == len(folds) == 3
    assert wf.skipped == ()
    for (window, test), pnl in zip(folds, wf.pnls, strict=True):
        refitted = [refit(m, ds, window, BUDGET, 0, 50) for m in members]
        votes = np.stack([s.signals(ds.frame(test)) for s in refitted])
        np.testing.assert_array_equal(pnl, _fold_pnl(ensemble_signals(votes), ds, test.slice))
    assert any(np.any(p != 0) for p in wf.pnls)


def _without_entry_labels_before_the_first_fold(ds: ForgeDataset) -> ForgeDataset:
    """ENTRY labels removed from the calibration part of the first fold's training window."""
    (window, _test), *_ = walk_forward_folds(ds.split.holdout, 3, len(ds.split.train), 50)
    labels = ds.labels.copy()
    calm = slice(window.start + int(len(window) * 0.75), window.stop)
    labels[calm][labels[calm] == ENTRY] = HOLD
    return replace(ds, labels=labels)


def test_a_member_that_cannot_be_refitted_in_a_fold_sits_out_of_that_folds_vote(
    gp_specialist: GPSpecialist, gbm_specialists: dict[str, GBMSpecialist]
) -> None:
    ds = _without_entry_labels_before_the_first_fold(synthetic_dataset(seed=2))
    members = _members(gp_specialist, gbm_specialists, ("gp", "lightgbm"))
    wf = walk_forward(members, ds, CONFIG, BUDGET, seed=0)
    assert [(s.kind, s.stage, s.fold, s.name) for s in wf.skipped] == [
        ("lightgbm", "walk_forward", 0, "lightgbm q0.90/0.50")
    ]
    assert "calibration labels lack classes [1]" in wf.skipped[0].reason
    assert wf.voters == (
        ("gp#0",),
        ("gp#0", "lightgbm q0.90/0.50"),
        ("gp#0", "lightgbm q0.90/0.50"),
    )
    # Fold 0 is the GP member alone.
    (window, test), *_ = walk_forward_folds(ds.split.holdout, 3, len(ds.split.train), 50)
    alone = refit(members[0], ds, window, BUDGET, 0, 50).signals(ds.frame(test))
    np.testing.assert_array_equal(wf.pnls[0], _fold_pnl(alone, ds, test.slice))


def test_a_fold_with_no_member_left_is_flat(
    gp_specialist: GPSpecialist, gbm_specialists: dict[str, GBMSpecialist]
) -> None:
    ds = _without_entry_labels_before_the_first_fold(synthetic_dataset(seed=2))
    members = _members(gp_specialist, gbm_specialists, ("lightgbm",))
    wf = walk_forward(members, ds, CONFIG, BUDGET, seed=0)
    assert wf.voters[0] == ()
    assert wf.pnls[0].size > 0
    assert not np.any(wf.pnls[0])
    assert any(np.any(p) for p in wf.pnls[1:])


def test_trial_count_covers_every_tree_every_gbm_candidate_and_every_ensemble_tried() -> None:
    assert trial_count(1900, 8) == 1909  # the selection itself counts once
    assert trial_count(0, 0) == 1
    assert trial_count(1900, 8, 1) == 1909
    assert trial_count(1900, 8, 3) == 1911
