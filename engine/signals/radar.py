"""TopologicalRadar: regime score and ``regime_change_detected`` from persistence landscapes.

Batch (``radar_frame``, for the forge and plots) and live (``TopologicalRadar``,
an engine component) share ``tda.landscape_norms`` and the scorer in
``regime_score``, so a live reading equals the batch row at the same bar.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.core.clock import Clock
from engine.core.tasks import TaskSupervisor
from engine.model.events import RadarDiagram, RadarHistory
from engine.model.market import Bar
from engine.signals.bar_window import AlignedCloses, bars_from_closes
from engine.signals.config import RadarConfig
from engine.signals.emitter import SignalEmitter
from engine.signals.regime_score import RegimeScorer, hysteresis, trailing_scores
from engine.signals.tda import (
    LandscapeParams,
    _norms_for_dimension,
    landscape_norms,
    persistence_diagrams,
    point_clouds,
)
from engine.signals.worker import BatchWorker

log = logging.getLogger(__name__)

SIGNAL_NAME = "radar"


def landscape_params(config: RadarConfig) -> LandscapeParams:
    return LandscapeParams(config.homology_dimensions, config.n_layers, config.n_bins)


def _norm_columns(config: RadarConfig) -> list[str]:
    cols = ["l1", "l2"]
    for d in config.homology_dimensions:
        cols += [f"h{d}_l1", f"h{d}_l2"]
    return cols


def radar_frame(closes: pd.DataFrame, config: RadarConfig | None = None) -> pd.DataFrame:
    """Batch radar over a (time x symbol) frame of closes.

    Returns one row per bar (same index) with the landscape norms, ``score``
    and ``regime_change_detected``; rows before the first full window are NaN
    (``False`` for the flag). Causal: row t uses closes up to t only.
    """
    cfg = config or RadarConfig()
    if closes.shape[1] < 2:
        raise ValueError("the radar needs closes of at least two symbols")
    if closes.isna().any().any() or (closes <= 0).any().any():
        raise ValueError("closes must be positive and complete (align and drop gaps first)")
    cols = _norm_columns(cfg)
    out = pd.DataFrame(np.nan, index=closes.index, columns=[*cols, "score"])
    out["regime_change_detected"] = False
    returns = np.diff(np.log(closes.to_numpy(dtype=np.float64)), axis=0)
    if len(returns) < cfg.window:
        return out
    per_dim = landscape_norms(point_clouds(returns, cfg.window), landscape_params(cfg))
    first = cfg.window  # row of closes that ends the first window of returns
    table = np.concatenate([per_dim.sum(axis=1), per_dim.reshape(len(per_dim), -1)], axis=1)
    out.iloc[first:, : len(cols)] = table
    norm = table[:, 0] if cfg.score_norm == "l1" else table[:, 1]
    scores = trailing_scores(norm, cfg.trailing, cfg.min_trailing)
    out.iloc[first:, len(cols)] = scores
    out.iloc[first:, len(cols) + 1] = hysteresis(scores, cfg.enter_threshold, cfg.exit_threshold)
    return out


@dataclass(frozen=True, slots=True)
class RadarReading:
    """One live radar step (``score`` is NaN while the trailing history fills)."""

    ts_open: int
    values: dict[str, float]
    score: float
    detected: bool
    onset: bool
    compute_ms: float
    # The window's persistence diagram: "h<d>" -> finite (birth, death) pairs.
    diagram: dict[str, tuple[tuple[float, float], ...]] | None = None


class RadarState:
    """The live radar's state: aligned closes and the scorer. Used from one thread at a time."""

    def __init__(self, symbols: tuple[str, ...], config: RadarConfig) -> None:
        self.config = config
        self.params = landscape_params(config)
        self.closes = AlignedCloses(symbols, maxlen=config.window + 1)
        self.scorer = RegimeScorer(
            config.trailing, config.min_trailing, config.enter_threshold, config.exit_threshold
        )
        self._cols = _norm_columns(config)

    def on_bars(self, bars: list[Bar]) -> list[RadarReading]:
        """Feed closed bars; return a reading for every newly completed full window."""
        readings: list[RadarReading] = []
        for bar in bars:
            # Each completed row is scored before the next bar moves the window on.
            if self.closes.add(bar) and len(self.closes) > self.config.window:
                readings.append(self._step())  # noqa: PERF401
        return readings

    def _step(self) -> RadarReading:
        t0 = time.perf_counter()
        returns = self.closes.log_returns()
        cloud = point_clouds(returns, self.config.window)[-1]
        # The same computation as landscape_norms on one cloud, keeping its diagram.
        dims = self.params.homology_dimensions
        diagrams = persistence_diagrams(cloud, dims)
        per_dim = np.stack(
            [_norms_for_dimension([diagrams[d]], self.params) for d in dims], axis=1
        )[0]
        row = np.concatenate([per_dim.sum(axis=0), per_dim.reshape(-1)])
        values = {c: float(v) for c, v in zip(self._cols, row, strict=True)}
        norm = values["l1"] if self.config.score_norm == "l1" else values["l2"]
        score, detected, onset = self.scorer.update(norm)
        ts = self.closes.last_ts or 0
        diagram = {f"h{d}": tuple((float(b), float(e)) for b, e in diagrams[d]) for d in dims}
        ms = (time.perf_counter() - t0) * 1e3
        return RadarReading(ts, values, score, detected, onset, ms, diagram)


class TopologicalRadar:
    """Engine component: subscribes to 1m bars of the universe, publishes ``signal.radar``.

    Publishes ``SignalUpdate(name="radar", symbol=None)`` per completed bar with
    values ``l1, l2, h{d}_l1, h{d}_l2, score`` and flags ``regime_change_detected``
    (the hysteresis state) and ``regime_change_onset`` (this bar switched it on).
    Until enough bars have arrived it publishes one ``available=False`` update.
    With each reading it also publishes the window's persistence diagram
    (``RadarDiagram`` on ``radar.diagram``), and once after the warm-up the scores
    of the history it warmed up on (``RadarHistory`` on ``radar.history``), so a
    chart of the score starts with them. Both come from the worker thread's
    results; nothing more runs on the event loop.
    """

    name = "signals.radar"

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
        self._cfg = config.signals.radar
        self.symbols = tuple(config.universe.symbols)
        self.state = RadarState(self.symbols, self._cfg)
        self.emitter = SignalEmitter(bus, clock, SIGNAL_NAME, None)
        self._worker: BatchWorker[Bar, list[RadarReading]] = BatchWorker(
            "signals.radar", self.state.on_bars, self._deliver, self._on_error, executor=executor
        )
        self._subs: list[Subscription] = []
        self._warmup_reason = (
            f"warming up: needs {self._cfg.window + 1 + self._cfg.min_trailing} aligned "
            f"{self._cfg.timeframe} bars of {', '.join(self.symbols)}"
        )

    def warm_start(self, closes: pd.DataFrame) -> None:
        """Give recent history (index bar open time, one close column per symbol) to feed at start.

        Only rows opening before the clock's now are used; live bars older than
        the last history row are then ignored, so the history must be recent.
        """
        self._history = closes

    async def start(self) -> None:
        if self._subs:
            return
        if len(self.symbols) < 2:
            self.emitter.unavailable("the radar needs at least two symbols in the universe")
            return
        if self._history is not None:
            await self._feed_history(self._history)
        for symbol in self.symbols:
            topic = topics.md_bar(symbol, self._cfg.timeframe)
            self._subs.append(
                self._bus.subscribe(topic, self._on_bar, name=f"radar:{symbol}", direct=True)
            )
        self._worker.start(self._supervisor)
        if not self.emitter.available:
            self.emitter.unavailable(self._warmup_reason)

    async def _feed_history(self, closes: pd.DataFrame) -> None:
        bars = bars_from_closes(
            closes, self.symbols, self._cfg.timeframe, self._clock.timestamp_ns()
        )
        loop = asyncio.get_running_loop()
        readings = await loop.run_in_executor(self._executor, self.state.on_bars, bars)
        log.info("radar warmed up on %d rows of history", len(bars) // len(self.symbols))
        scored = [r for r in readings if np.isfinite(r.score)]
        if scored:
            self._bus.publish(
                topics.RADAR_HISTORY,
                RadarHistory(
                    self._clock.timestamp_ns(),
                    tuple(r.ts_open for r in scored),
                    tuple(r.score for r in scored),
                    tuple(r.detected for r in scored),
                ),
            )
        if readings:
            self._deliver(readings[-1:])

    async def stop(self) -> None:
        for sub in self._subs:
            self._bus.unsubscribe(sub)
        self._subs.clear()
        await self._worker.stop()

    async def idle(self, timeout: float = 5.0) -> None:
        await self._worker.idle(timeout)

    def _on_bar(self, _topic: str, bar: Bar) -> None:
        if bar.closed:
            self._worker.submit(bar)

    def _deliver(self, readings: list[RadarReading]) -> None:
        for r in readings:
            if not np.isfinite(r.score):
                self.emitter.unavailable(self._warmup_reason, r.compute_ms)
                continue
            self.emitter.publish(
                dict(r.values, score=r.score),
                r.compute_ms,
                flags={"regime_change_detected": r.detected, "regime_change_onset": r.onset},
            )
            if r.diagram is not None:
                self._bus.publish(
                    topics.RADAR_DIAGRAM,
                    RadarDiagram(
                        self._clock.timestamp_ns(), r.ts_open, r.diagram, r.score, r.detected
                    ),
                )

    def _on_error(self, exc: BaseException) -> None:
        if self.emitter.unavailable(f"radar computation failed: {exc!r}") is not None:
            log.error("radar computation failed", exc_info=exc)
