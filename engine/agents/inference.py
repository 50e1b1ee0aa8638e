"""Inference: an agent's specialists on its feature window, off the event loop.

Each specialist votes on the latest bar exactly as it did in the gauntlet: a
GP tree is evaluated over the kept rows (its rolling windows need them) and
its last signal taken; a booster scores the last row, and its calibrated
class probabilities are kept for sizing. Trees are parsed once per agent.
Nothing that is not finite reaches a model (a DataError naming the columns).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.core.errors import DataError
from engine.forge.evaluator import TreeEvaluator
from engine.forge.expression import parse_expression
from engine.forge.primitives import WINDOW_TERMINALS, build_primitive_set
from engine.forge.registry import AgentBundle
from engine.forge.specialists import (
    GBMSpecialist,
    GPSpecialist,
    signals_from_proba,
)

MAX_WINDOW = max(WINDOW_TERMINALS.values())


@dataclass(frozen=True, slots=True)
class Inference:
    """Each specialist's vote on the latest bar and, for boosters, its class probabilities."""

    votes: tuple[int, ...]
    probabilities: tuple[tuple[float, float, float] | None, ...]


class _CompiledTree:
    """A GP specialist with its primitive set and tree built once.

    Only the features the tree reads are scaled and handed to the evaluator (a
    specialist may carry dozens of columns; its tree reads a few).
    """

    def __init__(self, spec: GPSpecialist, bundle_names: tuple[str, ...]) -> None:
        self.spec = spec
        self.pset = build_primitive_set(list(spec.feature_names))
        self.tree = parse_expression(spec.expression, self.pset)
        read = {node.name for node in self.tree if node.name in spec.feature_names}
        # The evaluator takes its row count from the columns: a tree of constants gets one.
        used = [i for i, name in enumerate(spec.feature_names) if name in read] or [0]
        self.names = [spec.feature_names[i] for i in used]
        position = {n: i for i, n in enumerate(bundle_names)}
        self.columns = np.array([position[n] for n in self.names], dtype=np.intp)
        self.scaler = spec.scaler.subset(used)

    def vote(self, values: np.ndarray) -> int:
        """``values``: the bundle's feature columns in the bundle's order, oldest row first."""
        z = self.scaler.transform(values[:, self.columns])
        columns = {name: z[:, i] for i, name in enumerate(self.names)}
        signals = TreeEvaluator(columns, self.pset, cache_bytes=0).signals(self.tree)
        return int(signals[-1])


class SpecialistRunner:
    """Runs one bundle's specialists on a feature window (one run at a time per agent:
    the Arena holds its lock; nothing is shared between agents)."""

    def __init__(self, bundle: AgentBundle) -> None:
        self.bundle = bundle
        self._runners: list[Any] = [
            _CompiledTree(s, bundle.feature_names) if isinstance(s, GPSpecialist) else s
            for s in bundle.specialists
        ]
        position = {n: i for i, n in enumerate(bundle.feature_names)}
        self._columns = [
            np.array([position[n] for n in s.feature_names], dtype=np.intp)
            for s in bundle.specialists
        ]
        # The columns some model reads: what must be finite.
        read = [
            r.columns if isinstance(r, _CompiledTree) else c
            for r, c in zip(self._runners, self._columns, strict=True)
        ]
        self._read = np.unique(np.concatenate(read))
        self.cost_ms: float | None = None  # CPU time of a run, smoothed (None before the first)

    @property
    def rows_needed(self) -> int:
        """Finite rows a decision needs: a tree's longest rolling window (+1), else one row."""
        return MAX_WINDOW + 1 if any(isinstance(r, _CompiledTree) for r in self._runners) else 1

    def run(self, values: np.ndarray) -> Inference:
        """Votes on the last row of ``values``: the bundle's feature columns in its order,
        oldest row first (its last ``rows_needed`` rows must be finite)."""
        started = time.thread_time_ns()
        inference = self._run(values[-self.rows_needed :])
        cost = (time.thread_time_ns() - started) / 1e6
        self.cost_ms = cost if self.cost_ms is None else 0.8 * self.cost_ms + 0.2 * cost
        return inference

    def measure(self) -> float:
        """Run once on neutral rows to learn the cost (an agent's first decision then goes
        where it belongs); the models' work does not depend on the values."""
        self.run(np.zeros((self.rows_needed, len(self.bundle.feature_names))))
        return self.cost_ms or 0.0

    def _run(self, values: np.ndarray) -> Inference:
        if not np.isfinite(values[:, self._read]).all():
            bad = ~np.isfinite(values).all(axis=0)
            names = [n for n, b in zip(self.bundle.feature_names, bad, strict=True) if b]
            raise DataError(f"agent {self.bundle.agent_id}: non-finite features {names}")
        votes: list[int] = []
        probabilities: list[tuple[float, float, float] | None] = []
        for runner, columns in zip(self._runners, self._columns, strict=True):
            if isinstance(runner, _CompiledTree):
                votes.append(runner.vote(values))
                probabilities.append(None)
            elif isinstance(runner, GBMSpecialist):
                proba = runner.proba_of(np.ascontiguousarray(values[-1:, columns]))
                signal = signals_from_proba(proba, runner.entry_threshold, runner.exit_threshold)
                votes.append(int(signal[-1]))
                p = np.asarray(proba[-1], dtype=np.float64)
                probabilities.append((float(p[0]), float(p[1]), float(p[2])))
            else:  # any other kind reads its named columns from a frame
                frame = pd.DataFrame(values, columns=list(self.bundle.feature_names))
                votes.append(int(runner.signals(frame)[-1]))
                probabilities.append(None)
        return Inference(tuple(votes), tuple(probabilities))
