"""GP primitives: protected, causal, vectorized; evaluator cache gives identical results."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
from deap import gp

from engine.forge import primitives as prim
from engine.forge.evaluator import TreeEvaluator
from engine.forge.labels import ENTRY, EXIT, HOLD


def test_protected_division_never_returns_inf_or_nan() -> None:
    a = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    b = np.array([0.0, 1e-9, 2.0], dtype=np.float32)
    out = prim.div(a, b)
    assert np.isfinite(out).all()
    assert out.tolist() == [0.0, 0.0, 1.5]


def test_rolling_operators_match_pandas_and_are_causal() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=500).astype(np.float32)
    s = pd.Series(x.astype(np.float64))
    np.testing.assert_allclose(
        prim.roll_mean(x, 30), s.rolling(30, min_periods=1).mean(), atol=1e-5
    )
    np.testing.assert_allclose(prim.roll_std(x, 30)[29:], s.rolling(30).std(ddof=0)[29:], atol=1e-4)
    for op in (prim.roll_mean, prim.roll_std, prim.zscore, prim.delta):
        full = op(x, 15)
        truncated = op(x[:300], 15)
        np.testing.assert_array_equal(full[:300], truncated)


def test_signal_prefers_entry_then_exit_then_hold() -> None:
    entry = np.array([True, True, False, False])
    exit_ = np.array([True, False, True, False])
    assert prim.signal(entry, exit_).tolist() == [ENTRY, ENTRY, EXIT, HOLD]
    assert prim.signal(True, exit_).tolist() == [ENTRY] * 4
    assert prim.signal(np.False_, exit_).tolist() == [EXIT, HOLD, EXIT, HOLD]


def test_generate_typed_builds_valid_trees_for_every_depth() -> None:
    pset = prim.build_primitive_set(["a", "b"])
    random.seed(1)
    for _ in range(200):
        tree = gp.PrimitiveTree(prim.generate_typed(pset, 0, 6))
        assert tree[0].name == "signal"
        assert tree.height <= 8  # max_ plus at most two data-reading leaf levels


def test_tree_evaluator_cache_returns_the_same_signals_as_a_cold_evaluation() -> None:
    rng = np.random.default_rng(2)
    cols = {"a": rng.normal(size=2000), "b": rng.normal(size=2000)}
    pset = prim.build_primitive_set(list(cols))
    cached = TreeEvaluator(cols, pset, cache_bytes=64 * 2**20)
    random.seed(3)
    trees = [gp.PrimitiveTree(prim.generate_typed(pset, 2, 5)) for _ in range(100)]
    for tree in trees + trees:
        cold = TreeEvaluator(cols, pset, cache_bytes=0).signals(tree)
        np.testing.assert_array_equal(cached.signals(tree), cold)
    assert cached.hits > 0


def test_tree_evaluator_respects_its_cache_budget() -> None:
    rng = np.random.default_rng(4)
    cols = {"a": rng.normal(size=10_000)}
    pset = prim.build_primitive_set(list(cols))
    budget = 3 * 10_000 * 4
    ev = TreeEvaluator(cols, pset, cache_bytes=budget)
    random.seed(5)
    for _ in range(50):
        ev.signals(gp.PrimitiveTree(prim.generate_typed(pset, 2, 5)))
    assert ev._cached_bytes <= budget
