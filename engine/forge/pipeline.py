"""One forge task end to end (runs inside a worker process; no engine, no event loop).

load bars -> features -> labels and splits -> GP evolution -> GBM training ->
bake-off on validation (forward selection of the members) -> gauntlet on the
untouched holdout (the members' ensemble vote) -> registry. The result is a
registered agent or a rejection that names the failed gates.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.forge.candidates import BakeOff, Candidate, bake_off, gbm_candidates, gp_candidates
from engine.forge.config import BudgetConfig, ForgeConfig
from engine.forge.dataset import ForgeDataset, InsufficientData, build_dataset, require_rows
from engine.forge.gp import GenerationStats
from engine.forge.judge import judge, trial_count
from engine.forge.labels import ENTRY, EXIT, HOLD, Segment
from engine.forge.registry import check_agent_id, save_bundle
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


def load_features(
    job: ForgeJob, timeframe: str
) -> tuple[pd.DataFrame, pd.DataFrame, FeatureFactory]:
    """The task's ``timeframe`` bars from the store and their features.

    The bars of the factory's context symbols (the cross-asset leader, for a
    follower) are loaded from the same store, exchange, timeframe and range
    and passed as context; a context series that was never stored is a
    ``DataError`` (the task fails and says which series to fill).
    ``FeatureFactory.batch`` treats its input as the base bars, so on 5m bars the
    "1m" columns describe 5m bars and the higher timeframes are resampled from
    them (causally; see docs/forge.md). Too few bars is ``InsufficientData``.
    """
    task = job.task
    store = BarStore(Path(job.bars_root))
    start = pd.Timestamp(task.start) if task.start else None
    end = pd.Timestamp(task.end) if task.end else None
    bars = store.load(job.exchange, task.symbol, timeframe, start, end)
    require_rows(len(bars), f"{timeframe} bars of {job.exchange} {task.symbol} in the task's range")
    factory = FeatureFactory(FeaturesConfig.model_validate(job.features))
    context = {
        other: store.load(job.exchange, other, timeframe, bars.index[0], bars.index[-1])
        for other in factory.context_symbols(task.symbol)
    }
    features = factory.batch(bars, symbol=task.symbol, context=context)
    return bars, features, factory


def holdout_equity(equity: np.ndarray, index: pd.Index, points: int = 400) -> dict[str, list[Any]]:
    """The ensemble's holdout equity curve, thinned to about ``points`` (for the report)."""
    step = max(1, len(equity) // points)
    keep = list(range(0, len(equity), step))
    if keep and keep[-1] != len(equity) - 1:
        keep.append(len(equity) - 1)
    return {
        "ts": [index[i].isoformat() for i in keep],
        "equity": [float(equity[i]) for i in keep],
    }


def _range(frame: pd.DataFrame, segment: Segment | None = None) -> dict[str, str]:
    index = frame.index if segment is None else frame.index[segment.slice]
    return {"start": index[0].isoformat(), "end": index[-1].isoformat()}


class ForgeRun:
    """The stages of one task, with progress reports and timings."""

    def __init__(self, job: ForgeJob, report: ProgressSink) -> None:
        self.job = job
        self.task = job.task
        settings = dict(job.forge)
        if job.task.timeframe:
            settings["timeframe"] = job.task.timeframe
        self.config = ForgeConfig.model_validate(settings)
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
        """The task's verdict: registered, or rejected with the gate or reason that refused it.

        Too few usable bars and candidates that cannot be built are verdicts
        (rejected / skipped); anything else that raises is a fault the worker
        reports as failed.
        """
        try:
            return self._run()
        except InsufficientData as exc:
            return ForgeOutcome(
                "rejected",
                f"too few usable bars: {exc}",
                report=self._base_report() | {"timings_s": self.timings},
            )

    def _base_report(self) -> dict[str, Any]:
        return {
            "task_id": self.task.task_id,
            "symbol": self.task.symbol,
            "budget": self.task.budget,
            "seed": self.seed,
            "timeframe": self.config.timeframe,
            "bars_per_year": self.config.annual_bars,
        }

    def _run(self) -> ForgeOutcome:
        tf = self.config.timeframe
        self.stage(ForgeStage.LOADING_DATA, f"{self.job.exchange} {self.task.symbol} {tf}")
        bars, features, factory = load_features(self.job, tf)
        self._timed("load_and_features")
        self.stage(ForgeStage.LABELS)
        ds = build_dataset(bars, features, self.config)
        self._timed("labels")
        self.stage(ForgeStage.EVOLVING)
        gp, evolution = gp_candidates(ds, self.config, self.budget, self.seed, self.on_generation)
        self._timed("evolving")
        self.stage(ForgeStage.TRAINING, "LightGBM and XGBoost")
        gbm, skipped = gbm_candidates(ds, self.budget, self.seed)
        self._timed("training")
        self.stage(ForgeStage.BAKE_OFF, f"{len(gp) + len(gbm)} candidates")
        bake = bake_off(ds, gp + gbm, self.config)
        self._timed("bake_off")
        report: dict[str, Any] = self._base_report() | {
            "feature_set_id": factory.feature_set_id,
            "data_range": _range(ds.features),
            "bars": len(ds.features),
            "bake_off": [asdict(e) for e in bake.entries],
            "members": [m.name for m in bake.members],
            "selection": [asdict(step) for step in bake.selection],
            "skipped": [s.to_dict() for s in skipped],
            "gp_evaluations": evolution.evaluations,
            "gbm_candidates": len(gbm),
            "gp_history": [[s.generation, s.best, s.mean] for s in evolution.history],
            "timings_s": self.timings,
        }
        if not bake.members:
            reason = (
                f"bake-off: no candidate made >= {bake.min_trades} trades with a positive"
                " Sharpe on validation"
            )
            if skipped:
                reason += "; skipped " + "; ".join(f"{s.kind} ({s.reason})" for s in skipped)
            return ForgeOutcome("rejected", reason, report=report)
        self.stage(ForgeStage.GAUNTLET, bake.name)
        verdict = judge(
            bake.members,
            ds,
            self.config,
            self.budget,
            self.seed,
            trial_count(evolution.evaluations, len(gbm), bake.ensembles_tried),
        )
        self._timed("gauntlet")
        skipped += verdict.walk_forward.skipped
        report |= {
            "ensemble": bake.name,
            "skipped": [s.to_dict() for s in skipped],
            "walk_forward_voters": [list(v) for v in verdict.walk_forward.voters],
            "gauntlet": verdict.report.to_dict(),
            "gauntlet_signals": signals_digest(verdict.signals),
            "trade_stats": verdict.trade_stats,
            "holdout_equity": holdout_equity(
                verdict.holdout.equity, ds.features.index[ds.split.holdout.slice]
            ),
        }
        if not verdict.report.passed:
            return ForgeOutcome(
                "rejected",
                f"{bake.name} rejected by the gauntlet: {verdict.report.reason}",
                report=report,
            )
        self.stage(ForgeStage.REGISTERING)
        agent_id = self.register(ds, bake, report, factory.feature_set_id)
        self._timed("registering")
        report["total_s"] = round(time.perf_counter() - self._t0, 3)
        return ForgeOutcome("registered", f"{bake.name} passed every gate", agent_id, report)

    def agent_id(self, members: tuple[Candidate, ...]) -> str:
        """``<BASEQUOTE>-<member kinds joined by _>-<task_id>``, e.g. ``BTCUSDT-gp_xgboost-1f2e``."""
        base = self.task.symbol.replace("/", "")
        kinds = "_".join(m.kind for m in members)
        return check_agent_id(f"{base}-{kinds}-{self.task.task_id}")

    def register(
        self, ds: ForgeDataset, bake: BakeOff, report: dict[str, Any], feature_set_id: str
    ) -> str:
        agent_id = self.agent_id(bake.members)
        entries = {e.name: e for e in bake.entries}
        metadata = {
            "symbol": self.task.symbol,
            "exchange": self.job.exchange,
            "timeframe": self.config.timeframe,
            "bars_per_year": self.config.annual_bars,
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
            "ensemble": {
                "rule": "engine.forge.ensemble.ensemble_signals",
                "weights": "equal",
                "selection": "forward selection on validation Sharpe",
                "ensembles_tried": report["selection"],
                "members": [
                    {
                        "name": m.name,
                        "kind": m.kind,
                        "validation_sharpe": entries[m.name].sharpe,
                        "validation_trades": entries[m.name].trades,
                    }
                    for m in bake.members
                ],
            },
            "metrics": report["gauntlet"]["metrics"],
            "gauntlet": report["gauntlet"],
            "gauntlet_signals": report["gauntlet_signals"],
            "trade_stats": report["trade_stats"],
            "skipped": report["skipped"],
        }
        specialists = [m.specialist for m in bake.members]
        save_bundle(Path(self.job.models_dir), agent_id, specialists, metadata)
        return agent_id


def run_forge_job(job: ForgeJob, report: ProgressSink) -> ForgeOutcome:
    """Run one forge job (the default worker entry point)."""
    return ForgeRun(job, report).run()
