"""InfluenceMapper: per-asset influence scores from the lead-lag GNN, as an engine component.

On every completed 1m row of the universe's bars it builds the lead-lag graph
of the last ``window`` returns, runs the trained GNN and publishes, per symbol,
``SignalUpdate(name="influence", symbol=s)`` with values ``influence`` (mean
attention the other assets pay to s, 0..1), ``influence_rank`` (1 = most
influential) and ``predicted_return_z`` (next return in units of s's window
volatility). With them it publishes the lead-lag graph the GNN read,
``SignalUpdate(name="influence_graph", symbol=None)``: for every ordered pair
``"A>B"`` the lagged correlation corr(r_A[s - l], r_B[s]) at the lag l >= 1
where it is strongest (signed; A moves first), and that lag as ``"A>B.lag"``.
Without a trained model (or with one trained on other symbols) it publishes
``available=False`` once per symbol (and for the graph).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.core.clock import Clock
from engine.core.tasks import TaskSupervisor
from engine.model.market import Bar
from engine.signals.artifacts import ModelUnavailable, load_torch_artifact
from engine.signals.bar_window import AlignedCloses, bars_from_closes
from engine.signals.emitter import SignalEmitter
from engine.signals.lead_lag import GraphParams, build_graphs
from engine.signals.worker import BatchWorker

log = logging.getLogger(__name__)

SIGNAL_NAME = "influence"
GRAPH_SIGNAL_NAME = "influence_graph"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class InfluenceReading:
    ts_open: int
    influence: dict[str, float]
    predicted_return_z: dict[str, float]
    compute_ms: float
    edges: dict[str, float] | None = None  # "A>B" -> lead-lag strength, "A>B.lag" -> its lag


class InfluencePredictor:
    """A loaded GNN with its symbol order; ``symbols`` may be a reordering of the universe."""

    def __init__(
        self, model: Any, graph: GraphParams, symbols: tuple[str, ...], metadata: dict[str, Any]
    ) -> None:
        self.model = model
        self.graph = graph
        self.symbols = symbols
        self.metadata = metadata

    @classmethod
    def load(
        cls, directory: Path, universe: tuple[str, ...], threads: int = 1
    ) -> InfluencePredictor:
        import torch

        from engine.signals.gnn import GNNParams, LeadLagGNN

        state, meta = load_torch_artifact(directory)
        if meta.get("kind") != "influence-gnn":
            raise ModelUnavailable(
                f"{directory} holds a {meta.get('kind')!r} model, not an influence GNN"
            )
        symbols = tuple(str(s) for s in meta.get("symbols", []))
        if set(symbols) != set(universe):
            raise ModelUnavailable(
                f"influence model at {directory} was trained on {list(symbols)}, the universe is {list(universe)}; retrain it"
            )
        try:
            graph = GraphParams.from_json(meta["graph"])
            model = LeadLagGNN(GNNParams.from_json(meta["gnn"]))
            model.load_state_dict(state)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelUnavailable(f"influence model at {directory} is unusable: {exc}") from None
        torch.set_num_threads(threads)
        model.eval()
        return cls(model, graph, symbols, meta)

    @property
    def bars_needed(self) -> int:
        return self.graph.window + 1

    def predict(self, returns: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(influence (k,), predicted_return_z (k,)) for the graph of the last window of returns."""
        influence, pred, _edges = self.read(returns)
        return influence, pred

    def read(self, returns: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``predict`` plus the graph's edges: lagged correlations (k_src, k_dst, max_lag + 1)."""
        import torch

        from engine.signals.gnn import influence_scores

        end = np.array([len(returns) - 1], dtype=np.int64)
        batch = build_graphs(returns, self.graph, end)
        with torch.inference_mode():
            pred, attention = self.model(
                torch.from_numpy(batch.nodes.astype(np.float32)),
                torch.from_numpy(batch.edges.astype(np.float32)),
            )
            influence = influence_scores(attention)
        return (
            influence[0].numpy().astype(np.float64),
            pred[0].numpy().astype(np.float64),
            batch.edges[0],
        )


def lead_lag_edges(symbols: tuple[str, ...], edges: FloatArray) -> dict[str, float]:
    """``"A>B"``: the signed lagged correlation at the lag (>= 1) where it is strongest,
    and ``"A>B.lag"``: that lag, for every ordered pair of distinct symbols."""
    out: dict[str, float] = {}
    if edges.shape[-1] < 2:
        return out
    lagged = edges[:, :, 1:]
    for i, a in enumerate(symbols):
        for j, b in enumerate(symbols):
            if i == j:
                continue
            k = int(np.argmax(np.abs(lagged[i, j])))
            out[f"{a}>{b}"] = float(lagged[i, j, k])
            out[f"{a}>{b}.lag"] = float(k + 1)
    return out


class InfluenceState:
    """Aligned closes plus the predictor; used from one thread at a time."""

    def __init__(self, predictor: InfluencePredictor) -> None:
        self.predictor = predictor
        self.closes = AlignedCloses(predictor.symbols, maxlen=predictor.bars_needed)

    def on_bars(self, bars: list[Bar]) -> list[InfluenceReading]:
        readings: list[InfluenceReading] = []
        for bar in bars:
            # Each completed row is read before the next bar moves the window on.
            if self.closes.add(bar) and len(self.closes) >= self.predictor.bars_needed:
                readings.append(self._step())  # noqa: PERF401
        return readings

    def _step(self) -> InfluenceReading:
        t0 = time.perf_counter()
        influence, pred, edges = self.predictor.read(self.closes.log_returns())
        syms = self.predictor.symbols
        return InfluenceReading(
            self.closes.last_ts or 0,
            dict(zip(syms, map(float, influence), strict=True)),
            dict(zip(syms, map(float, pred), strict=True)),
            (time.perf_counter() - t0) * 1e3,
            lead_lag_edges(syms, edges),
        )


class InfluenceMapper:
    """Engine component: 1m bars of the universe in, ``signal.influence.<symbol>`` out."""

    name = "signals.influence"

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        config: CrucibleConfig,
        supervisor: TaskSupervisor,
        executor: Executor | None = None,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._supervisor = supervisor
        self._executor = executor
        self._history: pd.DataFrame | None = None
        self._cfg = config.signals.influence
        self.model_dir = config.paths.resolve(self._cfg.model_dir)
        self.symbols = tuple(config.universe.symbols)
        self.emitters = {s: SignalEmitter(bus, clock, SIGNAL_NAME, s) for s in self.symbols}
        self.graph_emitter = SignalEmitter(bus, clock, GRAPH_SIGNAL_NAME, None)
        self.state: InfluenceState | None = None
        self._worker: BatchWorker[Bar, list[InfluenceReading]] | None = None
        self._subs: list[Subscription] = []
        self._started = False

    def warm_start(self, closes: pd.DataFrame) -> None:
        """Give recent history (index bar open time, one close column per symbol) to feed at start.

        Only rows opening before the clock's now are used; live bars older than
        the last history row are then ignored, so the history must be recent.
        """
        self._history = closes

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        loop = asyncio.get_running_loop()
        try:
            predictor = await loop.run_in_executor(
                self._executor,
                InfluencePredictor.load,
                self.model_dir,
                self.symbols,
                self._cfg.torch_threads,
            )
        except ModelUnavailable as exc:
            log.warning(
                "influence unavailable: %s (train one with `crucible influence train`)", exc
            )
            self._all_unavailable(f"influence unavailable: {exc}")
            return
        self.state = InfluenceState(predictor)
        readings: list[InfluenceReading] = []
        if self._history is not None:
            bars = bars_from_closes(
                self._history, predictor.symbols, self._cfg.timeframe, self._clock.timestamp_ns()
            )
            readings = await loop.run_in_executor(self._executor, self.state.on_bars, bars)
        self._worker = BatchWorker(
            "signals.influence",
            self.state.on_bars,
            self._deliver,
            self._on_error,
            executor=self._executor,
        )
        for s in self.symbols:
            topic = topics.md_bar(s, self._cfg.timeframe)
            self._subs.append(
                self._bus.subscribe(topic, self._on_bar, name=f"influence:{s}", direct=True)
            )
        self._worker.start(self._supervisor)
        if readings:
            self._deliver(readings[-1:])
        else:
            self._all_unavailable(
                f"warming up: needs {predictor.bars_needed} aligned {self._cfg.timeframe} bars of {', '.join(self.symbols)}"
            )

    async def stop(self) -> None:
        for sub in self._subs:
            self._bus.unsubscribe(sub)
        self._subs.clear()
        if self._worker is not None:
            await self._worker.stop()

    async def idle(self, timeout: float = 5.0) -> None:
        if self._worker is not None:
            await self._worker.idle(timeout)

    def _all_unavailable(self, reason: str) -> bool:
        published = [e.unavailable(reason) for e in self.emitters.values()]
        self.graph_emitter.unavailable(reason)
        return any(u is not None for u in published)

    def _on_bar(self, _topic: str, bar: Bar) -> None:
        if bar.closed and self._worker is not None:
            self._worker.submit(bar)

    def _deliver(self, readings: list[InfluenceReading]) -> None:
        for r in readings:
            ranked = sorted(r.influence, key=lambda s: -r.influence[s])
            for s, emitter in self.emitters.items():
                emitter.publish(
                    {
                        "influence": r.influence[s],
                        "influence_rank": float(ranked.index(s) + 1),
                        "predicted_return_z": r.predicted_return_z[s],
                    },
                    r.compute_ms,
                )
            if r.edges:
                self.graph_emitter.publish(r.edges, r.compute_ms)

    def _on_error(self, exc: BaseException) -> None:
        if self._all_unavailable(f"influence computation failed: {exc!r}"):
            log.error("influence computation failed", exc_info=exc)
