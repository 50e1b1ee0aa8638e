"""The bake-off selects members forward from the best eligible candidate; GBM kinds that cannot
train are skipped."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from engine.forge.candidates import Candidate, bake_off, gbm_candidates
from engine.forge.config import BudgetConfig, ForgeConfig
from engine.forge.labels import ENTRY, EXIT, HOLD
from tests.unit.engine.forge.conftest import synthetic_dataset


@dataclass(frozen=True)
class FixedSpecialist:
    """Signals fixed in advance for each timestamp (a stand-in for a trained specialist)."""

    kind: str
    by_time: pd.Series
    feature_names: tuple[str, ...] = ()

    def signals(self, features: pd.DataFrame) -> np.ndarray:
        return self.by_time.reindex(features.index).fillna(HOLD).to_numpy(dtype=np.int8)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind}


def _foresight(ds: Any, horizon: int, late: int = 0) -> pd.Series:
    """ENTRY when the next ``horizon`` bars rise, EXIT when they fall, ``late`` bars late."""
    log_close = np.log(ds.close)
    ahead = np.r_[log_close[horizon:], np.full(horizon, log_close[-1])] - log_close
    signals = np.where(ahead > 0, ENTRY, EXIT).astype(np.int8)
    signals = np.r_[np.full(late, HOLD, dtype=np.int8), signals[: signals.size - late]]
    return pd.Series(signals, index=ds.features.index)


def test_bake_off_starts_with_the_best_eligible_candidate_and_adds_only_what_helps() -> None:
    ds = synthetic_dataset(n=12_000, seed=3)
    good = _foresight(ds, 30)
    late = _foresight(ds, 30, late=8)
    bad = good.map({ENTRY: EXIT, EXIT: ENTRY, HOLD: HOLD})
    validation = ds.features.index[ds.split.validation.slice]
    few = good.where(good.index < validation[len(validation) // 10], HOLD)
    candidates = [
        Candidate("gp#0", FixedSpecialist("gp", good)),
        Candidate("gp#1", FixedSpecialist("gp", late)),
        Candidate("lightgbm a", FixedSpecialist("lightgbm", bad)),
        Candidate("lightgbm b", FixedSpecialist("lightgbm", few)),
        Candidate("xgboost a", FixedSpecialist("xgboost", good)),
    ]
    result = bake_off(ds, candidates, ForgeConfig())
    e = {entry.name: entry for entry in result.entries}
    # The setting the test needs: two tradable GP candidates (the better one second),
    # a LightGBM loser with enough trades and a LightGBM winner with too few.
    assert e["gp#1"].sharpe > e["gp#0"].sharpe > 0
    assert e["gp#0"].trades >= result.min_trades
    assert e["gp#1"].trades >= result.min_trades
    assert e["lightgbm a"].trades >= result.min_trades > 0 > e["lightgbm a"].sharpe
    assert e["lightgbm b"].sharpe > 0
    assert e["lightgbm b"].trades < result.min_trades
    for entry in result.entries:
        assert entry.eligible == (entry.trades >= result.min_trades and entry.sharpe > 0)
    # The best eligible candidate (gp#1) starts; the only other contender is xgboost a
    # (no eligible LightGBM). Its vote with gp#1 is tried once and kept only if it helps.
    (step,) = result.selection
    assert step.members == ("gp#1", "xgboost a")
    assert result.ensembles_tried == 1
    assert step.accepted == (step.sharpe > e["gp#1"].sharpe and step.trades >= result.min_trades)
    expected = ["gp#1", "xgboost a"] if step.accepted else ["gp#1"]
    assert [m.name for m in result.members] == expected
    assert [entry.name for entry in result.entries if entry.member] == expected
    assert result.name == " + ".join(expected)


def _noisy(signal: pd.Series, seed: int, share: float) -> pd.Series:
    """``signal`` with a ``share`` of its bars replaced by random votes."""
    rng = np.random.default_rng(seed)
    flip = rng.random(signal.size) < share
    noise = rng.choice([HOLD, ENTRY, EXIT], signal.size)
    return pd.Series(np.where(flip, noise, signal.to_numpy()), index=signal.index).astype(np.int8)


def test_members_whose_errors_differ_join_when_their_vote_beats_the_best_alone() -> None:
    ds = synthetic_dataset(n=12_000, seed=6)
    truth = _foresight(ds, 5)
    candidates = [
        Candidate("gp#0", FixedSpecialist("gp", _noisy(truth, 1, 0.2))),
        Candidate("lightgbm a", FixedSpecialist("lightgbm", _noisy(truth, 2, 0.2))),
        Candidate("xgboost a", FixedSpecialist("xgboost", _noisy(truth, 3, 0.2))),
    ]
    result = bake_off(ds, candidates, ForgeConfig())
    e = {entry.name: entry for entry in result.entries}
    best_alone = max(entry.sharpe for entry in result.entries)
    kept = [step for step in result.selection if step.accepted]
    assert kept, "independent noisy members should out-vote each other's errors"
    # Each accepted step beat the ensemble before it; the members are the last accepted step's.
    previous = best_alone
    for step in kept:
        assert step.sharpe > previous
        assert step.trades >= result.min_trades
        previous = step.sharpe
    assert sorted(m.name for m in result.members) == sorted(kept[-1].members)
    assert [m.kind for m in result.members] == sorted(
        (m.kind for m in result.members), key=["gp", "lightgbm", "xgboost"].index
    )
    # Every multi-member ensemble evaluated is counted: 2 pairs, then (if a pair was kept) 1 triple.
    assert result.ensembles_tried == len(result.selection) == 2 + (1 if kept else 0)
    assert all(entry.eligible for entry in e.values())


def test_bake_off_with_nothing_eligible_keeps_no_member() -> None:
    ds = synthetic_dataset(n=12_000, seed=4)
    bad = _foresight(ds, 30).map({ENTRY: EXIT, EXIT: ENTRY, HOLD: HOLD})
    result = bake_off(ds, [Candidate("gp#0", FixedSpecialist("gp", bad))], ForgeConfig())
    assert result.members == ()
    assert not result.entries[0].eligible


def test_gbm_kinds_whose_calibration_labels_lack_a_class_are_skipped_with_the_reason() -> None:
    ds = synthetic_dataset(seed=5)
    labels = ds.labels.copy()
    labels[ds.split.validation.slice][labels[ds.split.validation.slice] == ENTRY] = HOLD
    budget = BudgetConfig(gbm_rounds=5)
    candidates, skipped = gbm_candidates(replace(ds, labels=labels), budget, seed=0)
    assert candidates == []
    assert [(s.kind, s.stage, s.fold) for s in skipped] == [
        ("lightgbm", "training", None),
        ("xgboost", "training", None),
    ]
    assert all("calibration labels lack classes [1]" in s.reason for s in skipped)
    # With every class present both kinds train, one candidate per threshold pair.
    candidates, skipped = gbm_candidates(ds, budget, seed=0)
    assert skipped == []
    assert {c.kind for c in candidates} == {"lightgbm", "xgboost"}
    assert len(candidates) == 8
