"""Forge benchmark: GP evaluations per second (vectorized vs naive per-row) and a small cycle.

* ``gp_evals_per_s``: one core evaluating distinct trees on 50,000 bars as the
  forge does (an initial population plus three generations of offspring);
  an evaluation = tree over all bars + backtest -> fitness.
* ``gp_speedup_vs_naive``: the same trees interpreted row by row in Python
  (scalar operators, rolling windows over slices), timed on a prefix of the
  bars and scaled to 50,000 rows, plus the same backtest.
* ``forge_small_cycle_s``: one ``--budget small`` forge task end to end on 90
  days of simulated 1m bars (20 with ``--quick``), in a spawned worker.
* ``population_fill_s``: a headless engine with the default ``[deployment]`` and an
  empty models directory, from start until two thirds of its slots hold agents that
  passed the gauntlet (the sim history simulated, forge tasks, joining the arena all
  included); ``population_first_agent_s``, ``population_full_s`` (NaN when some slots
  never fill: on the sim the forge honestly rejects BTC, see docs/forge.md) and
  ``population_filled`` within 15 minutes (5 with ``--quick``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from deap import algorithms, gp

from engine.forge.backtest import CostModel
from engine.forge.config import BudgetConfig, ForgeConfig
from engine.forge.creator import build_toolbox
from engine.forge.gp import FitnessSpec, GPEvaluation, score_signals
from engine.forge.labels import ENTRY, EXIT, HOLD

N_BARS = 50_000
N_FEATURES = 20

_SCALAR: dict[str, Callable[..., Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b if abs(b) > 1e-6 else 0.0,
    "absolute": abs,
    "if_then_else": lambda c, a, b: a if c else b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "and_": lambda a, b: a and b,
    "or_": lambda a, b: a or b,
    "not_": lambda a: not a,
    "signal": lambda e, x: ENTRY if e else (EXIT if x else HOLD),
}


def _window(col: np.ndarray, i: int, w: int) -> np.ndarray:
    return col[max(0, i - w + 1) : i + 1]


def _scalar_rolling(name: str, col: np.ndarray, i: int, w: int) -> float:
    if name == "col":
        return float(col[i])
    win = _window(col, i, w)
    if name == "roll_mean":
        return float(win.mean())
    if name == "roll_std":
        return float(win.std())
    if name == "zscore":
        sd = float(win.std())
        return (float(col[i]) - float(win.mean())) / sd if sd > 1e-6 else 0.0
    return float(col[i] - col[max(i - w, 0)])  # delta


def naive_signals(
    tree: gp.PrimitiveTree, pset: Any, columns: dict[str, np.ndarray], rows: int
) -> np.ndarray:
    """Interpret ``tree`` one row at a time (the per-row baseline)."""
    out = np.empty(rows, dtype=np.int8)
    nodes = list(tree)
    for i in range(rows):
        stack: list[Any] = []
        for node in reversed(nodes):
            if isinstance(node, gp.Primitive):
                args = [stack.pop() for _ in range(node.arity)]
                if node.name in _SCALAR:
                    stack.append(_SCALAR[node.name](*args))
                else:
                    col = args[0]
                    w = args[1] if len(args) > 1 else 1
                    stack.append(_scalar_rolling(node.name, col, i, w))
            elif node.name in columns:
                stack.append(columns[node.name])
            elif isinstance(node.value, str):
                stack.append(pset.context[node.value])
            else:
                stack.append(node.value)
        out[i] = stack.pop()
    return out


def _population(evaluation: GPEvaluation, n: int, generations: int) -> list[Any]:
    """Distinct trees as the forge sees them: a random population and its offspring."""
    toolbox = build_toolbox(evaluation.pset, 7)
    random.seed(11)
    pop = toolbox.population(n=n)
    seen = {str(t): t for t in pop}
    for _ in range(generations):
        pop = algorithms.varAnd(pop, toolbox, cxpb=0.6, mutpb=0.3)
        for t in pop:
            seen.setdefault(str(t), t)
    return list(seen.values())


def _gp_rates(quick: bool) -> dict[str, float]:
    rng = np.random.default_rng(5)
    columns = {f"f{i}": rng.normal(size=N_BARS).astype(np.float32) for i in range(N_FEATURES)}
    returns = rng.normal(0, 0.001, N_BARS).astype(np.float32)
    spec = FitnessSpec(CostModel.from_config(ForgeConfig().costs).per_unit, 525_600.0, 0.02, 20)
    evaluation = GPEvaluation(columns, returns, spec, cache_bytes=128 * 2**20)
    trees = _population(evaluation, 60 if quick else 200, 3)
    score_signals(
        np.zeros(N_BARS, dtype=np.int8), evaluation.returns, spec, 1
    )  # load the JIT kernel
    t0 = time.perf_counter()
    for tree in trees:
        evaluation.evaluate_tree(tree)
    vec_rate = len(trees) / (time.perf_counter() - t0)

    cold = GPEvaluation(columns, returns, spec, cache_bytes=0)
    t0 = time.perf_counter()
    for tree in trees:
        cold.evaluate_tree(tree)
    cold_rate = len(trees) / (time.perf_counter() - t0)

    rows = 300 if quick else 1_000
    sample = trees[:: max(1, len(trees) // (5 if quick else 12))]
    agree = []
    t0 = time.perf_counter()
    for tree in sample:
        naive = naive_signals(tree, evaluation.pset, columns, rows)
        agree.append(float(np.mean(naive == evaluation.evaluator.signals(tree)[:rows])))
    per_tree_rows = (time.perf_counter() - t0) / len(sample)
    full_signals = evaluation.evaluator.signals(sample[0])
    t1 = time.perf_counter()
    score_signals(full_signals, returns, spec, len(sample[0]))
    backtest_s = time.perf_counter() - t1
    naive_rate = 1.0 / (per_tree_rows * N_BARS / rows + backtest_s)
    print(
        f"gp: {len(trees)} distinct trees on {N_BARS} bars: {vec_rate:,.0f} evals/s "
        f"(cold cache {cold_rate:,.0f}/s); naive per-row {naive_rate:.3f} evals/s "
        f"(timed on {rows} rows x {len(sample)} trees, agreement {np.mean(agree):.4f})"
    )
    return {
        "gp_evals_per_s": vec_rate,
        "gp_evals_per_s_cold_cache": cold_rate,
        "gp_naive_evals_per_s": naive_rate,
        "gp_speedup_vs_naive": vec_rate / naive_rate,
        "gp_naive_agreement": float(np.mean(agree)),
        "gp_trees": float(len(trees)),
    }


async def _forge_once(root: Path, days: int) -> tuple[float, Any]:
    from engine.config import REPO_ROOT, load_config
    from engine.core.bus import EventBus
    from engine.core.clock import LiveClock
    from engine.core.tasks import TaskSupervisor
    from engine.forge.supervisor import ForgeSupervisor
    from engine.forge.task import ForgeTask
    from engine.marketdata.simulate import simulate_into_store
    from engine.marketdata.store import BarStore

    config = load_config(root=root)
    binary = config.cerebellum.binary
    if not binary.is_absolute():
        binary = REPO_ROOT / binary
    simulate_into_store(BarStore.from_config(config), binary, ["BTC/USDT"], days=days, seed=3)
    tasks = TaskSupervisor()
    forge = ForgeSupervisor(EventBus(tasks), LiveClock(), config, tasks)
    await forge.start()
    try:
        t0 = time.perf_counter()
        task_id = forge.submit(ForgeTask("BTC/USDT", "bench", budget="small", seed=3))
        outcome = await forge.wait(task_id)
        return time.perf_counter() - t0, outcome
    finally:
        await forge.stop()
        await tasks.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "forge"}
    result |= _gp_rates(args.quick)
    days = 20 if args.quick else 90
    with tempfile.TemporaryDirectory(prefix="crucible-bench-forge-") as tmp:
        cycle_s, outcome = asyncio.run(_forge_once(Path(tmp), days))
    print(
        f"forge small cycle on {days} days of simulated BTC/USDT: {cycle_s:.1f} s -> {outcome.status}: {outcome.reason}"
    )
    budget: BudgetConfig = ForgeConfig().budget("small")
    result |= {
        "forge_small_cycle_s": cycle_s,
        "forge_small_days": days,
        "forge_small_outcome": outcome.status,
        "forge_small_generations": budget.generations,
        "forge_small_population": budget.population,
    }
    if not math.isfinite(cycle_s):
        raise RuntimeError("forge cycle did not finish")
    # The default deployment from an empty models directory: two thirds of its slots is
    # the target (BTC, which no leader moves, has no edge the gauntlet passes on the sim).
    result |= run_population(args.quick)
    return result


async def _fill_population(root: Path, timeout_s: float) -> dict[str, Any]:
    """A headless engine with the default deployment and an empty models directory: when do
    its slots fill (history simulation, forging, joining the arena all included)?"""
    from engine.assembly import build_engine
    from engine.config import load_config

    config = load_config(root=root)
    engine = build_engine(config)
    slots = sum(config.deployment.agents.values())
    two_thirds = math.ceil(slots * 2 / 3)
    t0 = time.perf_counter()
    await engine.start()
    joined: list[float] = []
    try:
        while time.perf_counter() - t0 < timeout_s and len(joined) < slots:
            await asyncio.sleep(1.0)
            filled = sum(1 for s in engine.commands.slots() if s.agent_id)
            while len(joined) < filled:
                joined.append(time.perf_counter() - t0)
    finally:
        await engine.stop()
    nan = float("nan")
    return {
        "population_slots": float(slots),
        "population_filled": float(len(joined)),
        "population_first_agent_s": joined[0] if joined else nan,
        "population_fill_s": joined[two_thirds - 1] if len(joined) >= two_thirds else nan,
        "population_full_s": joined[slots - 1] if len(joined) >= slots else nan,
    }


def run_population(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="crucible-bench-population-") as tmp:
        figures = asyncio.run(_fill_population(Path(tmp), 300.0 if quick else 900.0))
    print(
        f"population: {figures['population_filled']:.0f} of {figures['population_slots']:.0f} "
        f"slots filled; two thirds after {figures['population_fill_s']:.0f} s"
    )
    return figures
