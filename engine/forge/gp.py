"""GP strategy synthesis with DEAP: vectorized fitness, parallel evaluation, hall of fame.

Fitness of a tree = annualized Sharpe of its training backtest (next-bar
execution, costs) minus ``complexity_penalty`` per node; a tree that trades
less than ``min_trades`` times scores below every tree that does, on a ramp
so evolution can still climb towards trading. Trees travel between processes as expression
strings, never as pickled objects.
"""

from __future__ import annotations

import multiprocessing as mp
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import algorithms, gp, tools

from engine.forge.config import BudgetConfig
from engine.forge.creator import build_toolbox
from engine.forge.evaluator import TreeEvaluator
from engine.forge.expression import parse_expression
from engine.forge.kernels import fitness_moments
from engine.forge.primitives import build_primitive_set

# Below any trading tree's Sharpe, rising with the trade count so search climbs out of it.
TOO_FEW_TRADES = -1000.0


@dataclass(frozen=True, slots=True)
class FitnessSpec:
    """What a GP fitness evaluation needs besides the data."""

    cost_per_unit: float
    bars_per_year: float
    complexity_penalty: float
    min_trades: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One tree's training result."""

    fitness: float
    sharpe: float
    trades: int


def score_signals(
    signals: np.ndarray, returns: np.ndarray, spec: FitnessSpec, size: int
) -> Evaluation:
    """Backtest ``signals`` on ``returns`` (compiled path of engine.forge.backtest)."""
    n = signals.size
    total, total_sq, trades = fitness_moments(signals, returns, spec.cost_per_unit)
    mean = total / n
    var = total_sq / n - mean * mean
    sharpe = 0.0 if var < 1e-24 else mean / np.sqrt(var) * np.sqrt(spec.bars_per_year)
    penalty = spec.complexity_penalty * size
    if trades < spec.min_trades:
        return Evaluation(TOO_FEW_TRADES + trades - penalty, sharpe, trades)
    return Evaluation(sharpe - penalty, sharpe, trades)


class GPEvaluation:
    """Evaluates expression strings against one training set (one per process)."""

    def __init__(
        self,
        columns: Mapping[str, np.ndarray],
        returns: np.ndarray,
        spec: FitnessSpec,
        cache_bytes: int,
    ) -> None:
        self.pset = build_primitive_set(list(columns))
        self.evaluator = TreeEvaluator(columns, self.pset, cache_bytes)
        self.returns = np.ascontiguousarray(returns, dtype=np.float64)
        self.spec = spec

    def evaluate_tree(self, tree: gp.PrimitiveTree) -> Evaluation:
        return score_signals(self.evaluator.signals(tree), self.returns, self.spec, len(tree))

    def evaluate(self, expression: str) -> Evaluation:
        return self.evaluate_tree(parse_expression(expression, self.pset))


_WORKER_STATE: dict[str, GPEvaluation] = {}


def _init_worker(
    columns: dict[str, np.ndarray], returns: np.ndarray, spec: FitnessSpec, cache_bytes: int
) -> None:
    _WORKER_STATE["evaluation"] = GPEvaluation(columns, returns, spec, cache_bytes)


def _evaluate_in_worker(expression: str) -> Evaluation:
    return _WORKER_STATE["evaluation"].evaluate(expression)


@dataclass(frozen=True, slots=True)
class GenerationStats:
    generation: int
    best: float
    mean: float
    evaluations: int


@dataclass(frozen=True, slots=True)
class EvolutionResult:
    """The hall of fame (best first) and what the search cost."""

    hall_of_fame: tuple[tuple[str, float], ...]
    evaluations: int
    train_sharpes: np.ndarray
    history: tuple[GenerationStats, ...]


ProgressCallback = Callable[[GenerationStats], None]


class _Evaluator:
    """Evaluates each distinct expression once, in-process or on a spawn pool."""

    def __init__(self, local: GPEvaluation, pool: Any | None) -> None:
        self.local = local
        self.pool = pool
        self.seen: dict[str, Evaluation] = {}

    def assign(self, individuals: Sequence[Any]) -> None:
        todo = [ind for ind in individuals if not ind.fitness.valid]
        fresh = list(dict.fromkeys(s for s in map(str, todo) if s not in self.seen))
        if fresh:
            if self.pool is not None:
                results = self.pool.map(
                    _evaluate_in_worker, fresh, chunksize=max(1, len(fresh) // 8)
                )
            else:
                results = [self.local.evaluate(expr) for expr in fresh]
            self.seen.update(zip(fresh, results, strict=True))
        for ind in todo:
            ind.fitness.values = (self.seen[str(ind)].fitness,)


def evolve(
    columns: Mapping[str, np.ndarray],
    returns: np.ndarray,
    *,
    budget: BudgetConfig,
    spec: FitnessSpec,
    seed: int,
    processes: int = 1,
    cache_bytes: int = 128 * 2**20,
    on_generation: ProgressCallback | None = None,
) -> EvolutionResult:
    """Evolve trading trees on the training columns; return the hall of fame."""
    random.seed(seed)
    local = GPEvaluation(columns, returns, spec, cache_bytes)
    toolbox = build_toolbox(local.pset, budget.max_tree_height)
    pool = None
    if processes > 1:
        ctx = mp.get_context("spawn")
        pool = ctx.Pool(
            processes,
            initializer=_init_worker,
            initargs=(dict(columns), np.asarray(returns), spec, cache_bytes),
        )
    try:
        return _run(toolbox, _Evaluator(local, pool), budget, on_generation)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _run(
    toolbox: Any,
    evaluator: _Evaluator,
    budget: BudgetConfig,
    on_generation: ProgressCallback | None,
) -> EvolutionResult:
    population = toolbox.population(n=budget.population)
    hof = tools.HallOfFame(budget.hall_of_fame)
    history: list[GenerationStats] = []
    for generation in range(budget.generations + 1):
        if generation:
            elite = tools.selBest(population, 1)
            offspring = toolbox.select(population, len(population) - 1)
            offspring = algorithms.varAnd(offspring, toolbox, cxpb=0.6, mutpb=0.3)
            population = [toolbox.clone(e) for e in elite] + offspring
        evaluator.assign(population)
        hof.update(population)
        fits = np.array([ind.fitness.values[0] for ind in population])
        stats = GenerationStats(
            generation, float(fits.max()), float(fits.mean()), len(evaluator.seen)
        )
        history.append(stats)
        if on_generation is not None:
            on_generation(stats)
    sharpes = np.array([e.sharpe for e in evaluator.seen.values()], dtype=np.float64)
    return EvolutionResult(
        hall_of_fame=tuple((str(ind), float(ind.fitness.values[0])) for ind in hof),
        evaluations=len(evaluator.seen),
        train_sharpes=sharpes,
        history=tuple(history),
    )
