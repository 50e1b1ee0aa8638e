"""One forge task end to end (runs inside a worker process; no engine, no event loop).

load bars -> features -> labels and splits -> GP evolution -> GBM training ->
bake-off on validation -> gauntlet on the untouched holdout -> registry.
The result is a registered agent or a rejection that names the failed gates.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.forge.backtest import CostModel, backtest
from engine.forge.candidates import (
    BakeOff,
    Candidate,
    bake_off,
    gbm_candidates,
    gp_candidates,
    walk_forward_pnls,
)
from engine.forge.config import BudgetConfig, ForgeConfig
from engine.forge.dataset import ForgeDataset, build_dataset
from engine.forge.gauntlet import GauntletInputs, GauntletReport, run_gauntlet
from engine.forge.gp import EvolutionResult, GenerationStats
from engine.forge.labels import ENTRY, EXIT, HOLD, Segment
from engine.forge.registry import save_bundle
from engine.forge.task import ForgeJob, ForgeOutcome, ProgressUpdate
from engine.marketdata.store import BarStore
from engine.model.enums import ForgeStage

log = logging.getLogger(__name__)

ProgressSink = Callable[[ProgressUpdate], None]


def signals_digest(signals: np.ndarray) -> dict[str, Any]:
    """SHA-256 and class counts of a signal vector (stored so a reload can be checked)."""
    s = np.ascontiguousarray(signals, dtype=np.int8)
    return {
        "sha256": hashlib.sha256(s.tobytes()).hexdigest(),
        "count": int(s.size),
        "hold": int(np.count_nonzero(s == HOLD)),
        "entry": int(np.count_nonzero(s == ENTRY)),
        "exit": int(np.count_nonzero(s == EXIT)),
    }


def load_features(job: ForgeJob) -> tuple[pd.DataFrame, pd.DataFrame, FeatureFactory]:
    """The task's bars from the store and their features."""
    task = job.task
    store = BarStore(Path(job.bars_root))
    start = pd.Timestamp(task.start) if task.start else None
    end = pd.Timestamp(task.end) if task.end else None
    timeframe = str(job.forge.get("timeframe", "1m"))
    bars = store.load(job.exchange, task.symbol, timeframe, start, end)
    factory = FeatureFactory(FeaturesConfig.model_validate(job.features))
    return bars, factory.batch(bars), factory


def _range(frame: pd.DataFrame, segment: Segment | None = None) -> dict[str, str]:
    index = frame.index if segment is None else frame.index[segment.slice]
    return {"start": index[0].isoformat(), "end": index[-1].isoformat()}


class ForgeRun:
    """The stages of one task, with progress reports and timings."""

    def __init__(self, job: ForgeJob, report: ProgressSink) -> None:
        self.job = job
        self.task = job.task
        self.config = ForgeConfig.model_validate(job.forge)
        self.budget: BudgetConfig = self.config.budget(self.task.budget)
        self.seed = self.task.seed if self.task.seed is not None else self.config.seed
        self.report = report
        self.timings: dict[str, float] = {}
        self._t0 = time.perf_counter()
        self._stage_t0 = self._t0

    def stage(self, stage: ForgeStage, message: str = "") -> None:
        now = time.perf_counter()
        self._stage_t0 = now
        self.report(ProgressUpdate(stage, message=message))

    def _timed(self, name: str) -> None:
        self.timings[name] = round(time.perf_counter() - self._stage_t0, 3)

    def on_generation(self, stats: GenerationStats) -> None:
        self.report(
            ProgressUpdate(
                ForgeStage.EVOLVING,
                generation=stats.generation,
                generations=self.budget.generations,
                best_fitness=stats.best,
                mean_fitness=stats.mean,
                message=f"{stats.evaluations} trees evaluated",
            )
        )

    def run(self) -> ForgeOutcome:
        self.stage(ForgeStage.LOADING_DATA, f"{self.job.exchange} {self.task.symbol}")
        bars, features, factory = load_features(self.job)
        self._timed("load_and_features")
        self.stage(ForgeStage.LABELS)
        ds = build_dataset(bars, features, self.config)
        self._timed("labels")
        self.stage(ForgeStage.EVOLVING)
        gp, evolution = gp_candidates(ds, self.config, self.budget, self.seed, self.on_generation)
        self._timed("evolving")
        self.stage(ForgeStage.TRAINING, "LightGBM and XGBoost")
        gbm = gbm_candidates(ds, self.budget, self.seed)
        self._timed("training")
        self.stage(ForgeStage.BAKE_OFF, f"{len(gp) + len(gbm)} candidates")
        bake = bake_off(ds, gp + gbm, self.config)
        self._timed("bake_off")
        report: dict[str, Any] = {
            "task_id": self.task.task_id,
            "symbol": self.task.symbol,
            "budget": self.task.budget,
            "seed": self.seed,
            "feature_set_id": factory.feature_set_id,
            "data_range": _range(ds.features),
            "bars": len(ds.features),
            "bake_off": [_entry(e) for e in bake.entries],
            "gp_evaluations": evolution.evaluations,
            "gp_history": [[s.generation, s.best, s.mean] for s in evolution.history],
            "timings_s": self.timings,
        }
        if bake.winner is None:
            return ForgeOutcome(
                "rejected",
                f"bake-off: no candidate made >= {bake.min_trades} trades on validation",
                report=report,
            )
        self.stage(ForgeStage.GAUNTLET, bake.winner.name)
        gauntlet, digest = self.gauntlet(ds, bake, evolution)
        self._timed("gauntlet")
        report |= {
            "winner": bake.winner.name,
            "gauntlet": gauntlet.to_dict(),
            "gauntlet_signals": digest,
        }
        if not gauntlet.passed:
            return ForgeOutcome(
                "rejected",
                f"{bake.winner.name} rejected by the gauntlet: {gauntlet.reason}",
                report=report,
            )
        self.stage(ForgeStage.REGISTERING)
        agent_id = self.register(ds, bake.winner, report, factory.feature_set_id)
        self._timed("registering")
        report["total_s"] = round(time.perf_counter() - self._t0, 3)
        return ForgeOutcome("registered", f"{bake.winner.name} passed every gate", agent_id, report)

    def gauntlet(
        self, ds: ForgeDataset, bake: BakeOff, evolution: EvolutionResult
    ) -> tuple[GauntletReport, dict[str, Any]]:
        if bake.winner is None:
            raise ValueError("the gauntlet needs a bake-off winner")
        holdout = ds.split.holdout
        costs = CostModel.from_config(self.config.costs)
        signals = bake.winner.specialist.signals(ds.frame(holdout))
        result = backtest(
            signals,
            ds.open[holdout.slice],
            ds.close[holdout.slice],
            costs,
            self.config.bars_per_year,
        )
        # Under the null every trial's per-bar Sharpe estimate has variance ~1/T on the
        # T training bars it was scored on; the deflated Sharpe benchmarks against the
        # best of that many lucky no-skill trials.
        sr_variance = 1.0 / max(len(ds.split.train), 2)
        inputs = GauntletInputs(
            holdout=result,
            holdout_returns=ds.returns(holdout),
            fold_pnls=walk_forward_pnls(bake.winner, ds, self.config, self.budget, self.seed),
            n_trials=evolution.evaluations + len(bake.entries) - len(evolution.hall_of_fame),
            sr_variance=sr_variance,
        )
        report = run_gauntlet(
            inputs,
            self.config.gates,
            cost_per_unit=costs.per_unit,
            bars_per_year=self.config.bars_per_year,
            monte_carlo_runs=self.budget.monte_carlo_runs,
            random_entry_runs=self.budget.random_entry_runs,
            seed=self.seed,
        )
        return report, signals_digest(signals)

    def register(
        self, ds: ForgeDataset, winner: Candidate, report: dict[str, Any], feature_set_id: str
    ) -> str:
        base = self.task.symbol.replace("/", "")
        agent_id = f"{base}-{winner.specialist.kind}-{self.task.task_id}"
        metadata = {
            "symbol": self.task.symbol,
            "exchange": self.job.exchange,
            "timeframe": str(self.job.forge.get("timeframe", "1m")),
            "slot": self.task.slot,
            "replaces": self.task.replaces,
            "task_id": self.task.task_id,
            "budget": self.task.budget,
            "seed": self.seed,
            "created_ns": self.job.created_ns,
            "feature_set_id": feature_set_id,
            "features_config": self.job.features,
            "data_range": _range(ds.features),
            "task_range": {"start": self.task.start, "end": self.task.end},
            "holdout_range": _range(ds.features, ds.split.holdout),
            "validation_range": _range(ds.features, ds.split.validation),
            "train_range": _range(ds.features, ds.split.train),
            "labels": self.config.labels.model_dump(),
            "costs": self.config.costs.model_dump(),
            "winner": winner.name,
            "metrics": report["gauntlet"]["metrics"],
            "gauntlet": report["gauntlet"],
            "gauntlet_signals": report["gauntlet_signals"],
        }
        save_bundle(Path(self.job.models_dir), agent_id, [winner.specialist], metadata)
        return agent_id


def _entry(entry: Any) -> dict[str, Any]:
    return {
        "name": entry.name,
        "sharpe": entry.sharpe,
        "trades": entry.trades,
        "total_return": entry.total_return,
        "eligible": entry.eligible,
    }


def run_forge_job(job: ForgeJob, report: ProgressSink) -> ForgeOutcome:
    """Run one forge job (the default worker entry point)."""
    return ForgeRun(job, report).run()
