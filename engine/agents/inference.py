"""Inference: an agent's specialists on its feature window, off the event loop.

Each specialist votes on the latest bar exactly as it did in the gauntlet: a
GP tree is evaluated over the kept rows (its rolling windows need them) and
its last signal taken; a booster scores the last row, and its calibrated
class probabilities are kept for sizing. Trees are parsed once per agent.
Nothing that is not finite reaches a model (``check_finite`` first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.features.sanitize import check_finite
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
    """A GP specialist with its primitive set and tree built once."""

    def __init__(self, spec: GPSpecialist, bundle_names: tuple[str, ...]) -> None:
        self.spec = spec
        self.pset = build_primitive_set(list(spec.feature_names))
        self.tree = parse_expression(spec.expression, self.pset)
        position = {n: i for i, n in enumerate(bundle_names)}
        self.columns = np.array([position[n] for n in spec.feature_names], dtype=np.intp)

    def vote(self, values: np.ndarray) -> int:
        """``values``: the bundle's feature columns in the bundle's order, oldest row first."""
        z = self.spec.scaler.transform(np.ascontiguousarray(values[:, self.columns]))
        columns = {name: z[:, i] for i, name in enumerate(self.spec.feature_names)}
        signals = TreeEvaluator(columns, self.pset, cache_bytes=0).signals(self.tree)
        return int(signals[-1])


class SpecialistRunner:
    """Runs one bundle's specialists on a feature window (thread-safe: no shared state)."""

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

    @property
    def rows_needed(self) -> int:
        """Finite rows a decision needs: a tree's longest rolling window (+1), else one row."""
        return MAX_WINDOW + 1 if any(isinstance(r, _CompiledTree) for r in self._runners) else 1

    def run(self, frame: pd.DataFrame) -> Inference:
        """Votes on the last row of ``frame`` (its last ``rows_needed`` rows must be finite)."""
        frame = frame.iloc[-self.rows_needed :]
        names = list(self.bundle.feature_names)
        if list(frame.columns) != names:
            frame = frame.loc[:, names]
        values = frame.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            check_finite(frame, f"agent {self.bundle.agent_id}")  # raises, naming the columns
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
            else:
                votes.append(int(runner.signals(frame)[-1]))
                probabilities.append(None)
        return Inference(tuple(votes), tuple(probabilities))
