"""Candidates: train GP and GBM specialists, bake them off on validation, refit for walk-forward.

A candidate is a specialist plus the recipe that made it, so the gauntlet's
walk-forward can re-run the same recipe on rolling windows: a GP tree keeps its
expression and re-fits its scaler; a booster is re-trained and re-calibrated
with the same threshold quantiles.

The bake-off keeps the best candidate of each kind (gp, lightgbm, xgboost) that
made enough validation trades with a positive Sharpe: one to three members of
the ensemble the gauntlet judges. A kind whose model cannot be built (its labels
lack a class) is skipped, with the reason, instead of ending the task.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from engine.forge.backtest import CostModel, backtest
from engine.forge.config import BudgetConfig, ForgeConfig
from engine.forge.dataset import ForgeDataset
from engine.forge.gbm import THRESHOLD_GRID, MissingClasses, train_gbm_specialists
from engine.forge.gp import EvolutionResult, FitnessSpec, GenerationStats, evolve
from engine.forge.labels import Segment
from engine.forge.primitives import FEATURE_NAME_RE, PRIMITIVES
from engine.forge.specialists import GBMKind, GBMSpecialist, GPSpecialist, RobustScaler, Specialist

GBM_KINDS: tuple[GBMKind, ...] = ("lightgbm", "xgboost")
KINDS: tuple[str, ...] = ("gp", *GBM_KINDS)


@dataclass(frozen=True)
class Candidate:
    """A trained specialist and how to re-train it."""

    name: str
    specialist: Specialist
    quantiles: tuple[float, float] | None = None

    @property
    def kind(self) -> str:
        return self.specialist.kind


@dataclass(frozen=True, slots=True)
class Skipped:
    """A candidate that could not be built (``fold`` None) or re-fitted in a walk-forward fold."""

    kind: str
    reason: str
    stage: str
    fold: int | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BakeOffEntry:
    name: str
    kind: str
    sharpe: float
    trades: int
    total_return: float
    eligible: bool
    member: bool = False


@dataclass(frozen=True)
class BakeOff:
    """Every candidate's validation result and the members kept (best of each kind)."""

    entries: tuple[BakeOffEntry, ...]
    members: tuple[Candidate, ...]
    min_trades: int
    per_bar_sharpes: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def name(self) -> str:
        """The members' names joined by `` + `` (empty when there is none)."""
        return " + ".join(m.name for m in self.members)


def scaled_min_trades(config: ForgeConfig, segment_bars: int, holdout_bars: int) -> int:
    """The holdout's minimum trade count scaled to a segment of another length."""
    return max(5, math.ceil(config.gates.min_trades * segment_bars / max(holdout_bars, 1)))


def gp_feature_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """Features usable as GP terminals (plain identifiers not clashing with operators)."""
    return tuple(n for n in names if FEATURE_NAME_RE.match(n) and n not in PRIMITIVES)


def _scaled(
    ds: ForgeDataset, segment: Segment, names: tuple[str, ...]
) -> tuple[RobustScaler, np.ndarray]:
    x = ds.frame(segment).loc[:, list(names)].to_numpy(dtype=np.float64)
    scaler = RobustScaler.fit(x)
    return scaler, scaler.transform(x)


def gp_candidates(
    ds: ForgeDataset,
    config: ForgeConfig,
    budget: BudgetConfig,
    seed: int,
    on_generation: Callable[[GenerationStats], None] | None = None,
) -> tuple[list[Candidate], EvolutionResult]:
    """Evolve trees on the training segment; the hall of fame become candidates."""
    names = gp_feature_names(ds.feature_names)
    train = ds.split.train
    scaler, z = _scaled(ds, train, names)
    spec = FitnessSpec(
        cost_per_unit=CostModel.from_config(config.costs).per_unit,
        bars_per_year=config.annual_bars,
        complexity_penalty=config.complexity_penalty,
        min_trades=scaled_min_trades(config, len(train), len(ds.split.holdout)),
    )
    result = evolve(
        {n: z[:, i] for i, n in enumerate(names)},
        ds.returns(train),
        budget=budget,
        spec=spec,
        seed=seed,
        processes=config.gp_processes,
        cache_bytes=int(config.subtree_cache_mb * 2**20),
        on_generation=on_generation,
    )
    candidates = [
        Candidate(f"gp#{i}", GPSpecialist(expr, names, scaler))
        for i, (expr, _fit) in enumerate(result.hall_of_fame)
    ]
    return candidates, result


def _gbm_fit(
    ds: ForgeDataset,
    kind: GBMKind,
    train: Segment,
    calibration: Segment,
    *,
    rounds: int,
    seed: int,
    grid: tuple[tuple[float, float], ...],
) -> list[GBMSpecialist]:
    rows_fit = ds.training_rows(train)
    rows_cal = ds.training_rows(calibration)
    _trained, specialists = train_gbm_specialists(
        kind,
        ds.features.iloc[rows_fit],
        ds.labels[rows_fit].astype(np.int64),
        ds.features.iloc[rows_cal],
        ds.labels[rows_cal].astype(np.int64),
        feature_names=ds.feature_names,
        rounds=rounds,
        seed=seed,
        grid=grid,
    )
    return specialists


def gbm_candidates(
    ds: ForgeDataset, budget: BudgetConfig, seed: int
) -> tuple[list[Candidate], list[Skipped]]:
    """LightGBM and XGBoost on the training labels, calibrated on validation.

    A kind whose training or calibration labels lack a class is skipped (no
    candidate of that kind), and the returned ``Skipped`` says which class.
    """
    out: list[Candidate] = []
    skipped: list[Skipped] = []
    for kind in GBM_KINDS:
        try:
            specialists = _gbm_fit(
                ds,
                kind,
                ds.split.train,
                ds.split.validation,
                rounds=budget.gbm_rounds,
                seed=seed,
                grid=THRESHOLD_GRID,
            )
        except MissingClasses as exc:
            skipped.append(Skipped(kind, str(exc), "training"))
            continue
        for spec, q in zip(specialists, THRESHOLD_GRID, strict=True):
            out.append(Candidate(f"{kind} q{q[0]:.2f}/{q[1]:.2f}", spec, q))
    return out, skipped


def bake_off(ds: ForgeDataset, candidates: list[Candidate], config: ForgeConfig) -> BakeOff:
    """Backtest every candidate on validation; keep the best eligible one of each kind.

    Eligible: at least the holdout's minimum trade count (scaled to the
    validation length) and a positive Sharpe. Members come in ``KINDS`` order.
    """
    seg = ds.split.validation
    frame = ds.frame(seg)
    costs = CostModel.from_config(config.costs)
    min_trades = scaled_min_trades(config, len(seg), len(ds.split.holdout))
    entries = []
    for c in candidates:
        res = backtest(
            c.specialist.signals(frame),
            ds.open[seg.slice],
            ds.close[seg.slice],
            costs,
            config.annual_bars,
        )
        eligible = res.trades >= min_trades and res.sharpe > 0
        entries.append(
            BakeOffEntry(c.name, c.kind, res.sharpe, res.trades, res.total_return, eligible)
        )
    best: dict[str, int] = {}
    for i, e in enumerate(entries):
        if e.eligible and (e.kind not in best or e.sharpe > entries[best[e.kind]].sharpe):
            best[e.kind] = i
    chosen = [best[k] for k in KINDS if k in best]
    entries = [replace(e, member=i in chosen) for i, e in enumerate(entries)]
    sharpes = np.array([e.sharpe for e in entries]) / np.sqrt(config.annual_bars)
    return BakeOff(tuple(entries), tuple(candidates[i] for i in chosen), min_trades, sharpes)


def refit(
    candidate: Candidate,
    ds: ForgeDataset,
    window: Segment,
    budget: BudgetConfig,
    seed: int,
    embargo: int,
) -> Specialist:
    """Re-run the candidate's recipe on ``window`` (the rolling training window of a fold).

    Raises ``MissingClasses`` when a booster's labels in the window lack a class.
    """
    spec = candidate.specialist
    if isinstance(spec, GPSpecialist):
        scaler, _ = _scaled(ds, window, spec.feature_names)
        return GPSpecialist(spec.expression, spec.feature_names, scaler)
    if isinstance(spec, GBMSpecialist) and candidate.quantiles is not None:
        cut = window.start + int(len(window) * 0.75)
        fit_seg, cal_seg = Segment(window.start, cut), Segment(cut + embargo, window.stop)
        (refitted,) = _gbm_fit(
            ds,
            spec.kind,
            fit_seg,
            cal_seg,
            rounds=budget.gbm_rounds,
            seed=seed,
            grid=(candidate.quantiles,),
        )
        return refitted
    raise ValueError(f"candidate {candidate.name} has no refit recipe")
