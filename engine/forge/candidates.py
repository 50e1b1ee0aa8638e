"""Candidates: train GP and GBM specialists, bake them off on validation, refit for walk-forward.

A candidate is a specialist plus the recipe that made it, so the gauntlet's
walk-forward can re-run the same recipe on rolling windows: a GP tree keeps its
expression and re-fits its scaler; a booster is re-trained and re-calibrated
with the same threshold quantiles.

The bake-off backtests every candidate on validation. A candidate is eligible
with enough validation trades and a positive Sharpe; the best eligible one of
each kind (gp, lightgbm, xgboost) may join the ensemble, chosen by greedy
forward selection on validation: start with the best eligible candidate, then
add the kind whose best candidate raises the ensemble's validation Sharpe most
(the ensemble still making enough trades), until no addition helps. Every
multi-member ensemble tried counts as a trial for the deflated Sharpe. A kind
whose model cannot be built (its labels lack a class) is skipped, with the
reason, instead of ending the task.
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
from engine.forge.ensemble import ensemble_signals
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


@dataclass(frozen=True, slots=True)
class SelectionStep:
    """One ensemble the forward selection backtested on validation, and whether it was kept."""

    members: tuple[str, ...]
    sharpe: float
    trades: int
    total_return: float
    accepted: bool


@dataclass(frozen=True)
class BakeOff:
    """Every candidate's validation result, the ensembles tried and the members kept."""

    entries: tuple[BakeOffEntry, ...]
    members: tuple[Candidate, ...]
    min_trades: int
    per_bar_sharpes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    selection: tuple[SelectionStep, ...] = ()

    @property
    def ensembles_tried(self) -> int:
        """Multi-member ensembles backtested by the selection (trials for the deflated Sharpe)."""
        return len(self.selection)

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
    """Backtest every candidate on validation and select the ensemble's members.

    Eligible: at least the holdout's minimum trade count (scaled to the
    validation length) and a positive Sharpe. The best eligible candidate of
    each kind is a contender; ``forward_select`` picks the members among them.
    Members come in ``KINDS`` order.
    """
    seg = ds.split.validation
    frame = ds.frame(seg)
    costs = CostModel.from_config(config.costs)
    min_trades = scaled_min_trades(config, len(seg), len(ds.split.holdout))
    entries = []
    votes = []
    for c in candidates:
        signals = c.specialist.signals(frame)
        votes.append(signals)
        res = backtest(signals, ds.open[seg.slice], ds.close[seg.slice], costs, config.annual_bars)
        eligible = res.trades >= min_trades and res.sharpe > 0
        entries.append(
            BakeOffEntry(c.name, c.kind, res.sharpe, res.trades, res.total_return, eligible)
        )
    best: dict[str, int] = {}
    for i, e in enumerate(entries):
        if e.eligible and (e.kind not in best or e.sharpe > entries[best[e.kind]].sharpe):
            best[e.kind] = i

    def evaluate(members: tuple[int, ...]) -> SelectionStep:
        signals = ensemble_signals(np.stack([votes[i] for i in members]))
        res = backtest(signals, ds.open[seg.slice], ds.close[seg.slice], costs, config.annual_bars)
        names = tuple(candidates[i].name for i in members)
        return SelectionStep(names, res.sharpe, res.trades, res.total_return, False)

    chosen, steps = forward_select(
        [best[k] for k in KINDS if k in best],
        [entries[i].sharpe for i in range(len(entries))],
        evaluate,
        min_trades,
    )
    chosen = sorted(chosen, key=lambda i: KINDS.index(entries[i].kind))
    entries = [replace(e, member=i in chosen) for i, e in enumerate(entries)]
    sharpes = np.array([e.sharpe for e in entries]) / np.sqrt(config.annual_bars)
    return BakeOff(
        tuple(entries), tuple(candidates[i] for i in chosen), min_trades, sharpes, tuple(steps)
    )


def forward_select(
    contenders: list[int],
    sharpes: list[float],
    evaluate: Callable[[tuple[int, ...]], SelectionStep],
    min_trades: int,
) -> tuple[list[int], list[SelectionStep]]:
    """Greedy forward selection of ensemble members on validation.

    Start with the contender of the best validation Sharpe; in each round
    evaluate the ensemble with every remaining contender added and keep the
    addition with the best Sharpe if it beats the current ensemble's and the
    ensemble still makes ``min_trades`` trades; stop when none does. Returns
    the members and every multi-member ensemble evaluated (in order, the kept
    ones marked ``accepted``).
    """
    if not contenders:
        return [], []
    first = max(contenders, key=lambda i: sharpes[i])
    members = [first]
    current = sharpes[first]
    remaining = [i for i in contenders if i != first]
    steps: list[SelectionStep] = []
    while remaining:
        base = len(steps)
        steps += [evaluate((*members, i)) for i in remaining]
        good = [
            k
            for k in range(base, len(steps))
            if steps[k].trades >= min_trades and steps[k].sharpe > current
        ]
        if not good:
            break
        k = max(good, key=lambda j: steps[j].sharpe)
        steps[k] = replace(steps[k], accepted=True)
        members.append(remaining.pop(k - base))
        current = steps[k].sharpe
    return members, steps


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
