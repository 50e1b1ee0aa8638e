"""The bake-off keeps the best eligible candidate of each kind; GBM kinds that cannot train are skipped."""

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


def test_bake_off_keeps_the_best_eligible_candidate_of_each_kind() -> None:
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
    assert [m.name for m in result.members] == ["gp#1", "xgboost a"]
    assert [entry.name for entry in result.entries if entry.member] == ["gp#1", "xgboost a"]
    assert result.name == "gp#1 + xgboost a"


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
