"""The gauntlet applied to what will trade: the bake-off members voting as an ensemble.

* Holdout: every member's signals on the holdout frame, combined by
  ``engine.forge.ensemble.ensemble_signals`` with equal weights -- the exact
  signals ``AgentBundle.signals`` produces after a reload.
* Walk-forward: on each rolling window every member's recipe is re-fitted and
  the re-fitted members vote the same way on the fold's test slice. A member
  that cannot be re-fitted there (its labels lack a class) sits out of that
  fold's vote; a fold left with no member is flat (no position, zero PnL).
* Trial count for the deflated Sharpe: every distinct GP tree evaluated, every
  GBM candidate built, and every multi-member ensemble the selection tried on
  validation (at least one for the selection itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.forge.backtest import BacktestResult, CostModel, backtest, trade_stats
from engine.forge.candidates import Candidate, Skipped, refit
from engine.forge.config import BudgetConfig, ForgeConfig
from engine.forge.dataset import ForgeDataset
from engine.forge.ensemble import ensemble_signals
from engine.forge.gauntlet import GauntletInputs, GauntletReport, run_gauntlet
from engine.forge.gbm import MissingClasses
from engine.forge.labels import HOLD, walk_forward_folds


def trial_count(gp_evaluations: int, gbm_candidates: int, ensembles_tried: int = 0) -> int:
    """Strategies tried: distinct GP trees evaluated, GBM candidates built, and the ensembles.

    ``ensembles_tried`` counts the multi-member ensembles the forward selection
    backtested on validation; the selection counts as at least one trial.
    """
    return gp_evaluations + gbm_candidates + max(1, ensembles_tried)


def member_votes(members: Sequence[Candidate], frame: pd.DataFrame) -> np.ndarray:
    """Each member's signals on ``frame``: shape (members, rows)."""
    return np.stack([m.specialist.signals(frame) for m in members])


def vote(members: Sequence[Candidate], frame: pd.DataFrame) -> np.ndarray:
    """The ensemble's equal-weight signals on ``frame``."""
    return ensemble_signals(member_votes(members, frame))


@dataclass(frozen=True)
class WalkForward:
    """Per-fold out-of-sample PnL, who voted in each fold, and who sat out and why."""

    pnls: tuple[np.ndarray, ...]
    voters: tuple[tuple[str, ...], ...]
    skipped: tuple[Skipped, ...]


def walk_forward(
    members: Sequence[Candidate],
    ds: ForgeDataset,
    config: ForgeConfig,
    budget: BudgetConfig,
    seed: int,
) -> WalkForward:
    """Re-fit every member on each rolling window and backtest their vote on the next slice."""
    costs = CostModel.from_config(config.costs)
    embargo = config.split.embargo_bars
    folds = walk_forward_folds(
        ds.split.holdout, budget.walk_forward_folds, len(ds.split.train), embargo
    )
    pnls: list[np.ndarray] = []
    voters: list[tuple[str, ...]] = []
    skipped: list[Skipped] = []
    for fold, (window, test) in enumerate(folds):
        frame = ds.frame(test)
        votes: list[np.ndarray] = []
        names: list[str] = []
        for member in members:
            try:
                specialist = refit(member, ds, window, budget, seed, embargo)
            except MissingClasses as exc:
                skipped.append(Skipped(member.kind, str(exc), "walk_forward", fold, member.name))
                continue
            votes.append(specialist.signals(frame))
            names.append(member.name)
        if votes:
            signals = ensemble_signals(np.stack(votes))
        else:
            signals = np.full(len(test), HOLD, dtype=np.int8)
        res = backtest(
            signals, ds.open[test.slice], ds.close[test.slice], costs, config.annual_bars
        )
        pnls.append(res.pnl)
        voters.append(tuple(names))
    return WalkForward(tuple(pnls), tuple(voters), tuple(skipped))


@dataclass(frozen=True)
class Judgement:
    """The gauntlet's verdict on an ensemble, with the signals and backtest it judged."""

    report: GauntletReport
    signals: np.ndarray
    holdout: BacktestResult
    walk_forward: WalkForward

    @property
    def trade_stats(self) -> dict[str, Any]:
        return trade_stats(self.holdout)


def judge(
    members: Sequence[Candidate],
    ds: ForgeDataset,
    config: ForgeConfig,
    budget: BudgetConfig,
    seed: int,
    n_trials: int,
) -> Judgement:
    """Run the ensemble of ``members`` through every gate on the untouched holdout."""
    if not members:
        raise ValueError("the gauntlet needs at least one member")
    holdout = ds.split.holdout
    costs = CostModel.from_config(config.costs)
    signals = vote(members, ds.frame(holdout))
    result = backtest(
        signals, ds.open[holdout.slice], ds.close[holdout.slice], costs, config.annual_bars
    )
    wf = walk_forward(members, ds, config, budget, seed)
    # Under the null every trial's per-bar Sharpe estimate has variance ~1/T on the
    # T training bars it was scored on; the deflated Sharpe benchmarks against the
    # best of that many lucky no-skill trials.
    inputs = GauntletInputs(
        holdout=result,
        holdout_returns=ds.returns(holdout),
        fold_pnls=wf.pnls,
        n_trials=n_trials,
        sr_variance=1.0 / max(len(ds.split.train), 2),
    )
    report = run_gauntlet(
        inputs,
        config.gates,
        cost_per_unit=costs.per_unit,
        bars_per_year=config.annual_bars,
        monte_carlo_runs=budget.monte_carlo_runs,
        random_entry_runs=budget.random_entry_runs,
        seed=seed,
    )
    metrics = report.metrics | {"ensemble_members": float(len(members))}
    return Judgement(GauntletReport(report.gates, metrics), signals, result, wf)
