"""MCE realtime: per symbol, per book snapshot -> (skew, pressure), as an engine component.

``MCEPredictor`` loads the trained artifact (state dict with
``weights_only=True``, JSON normalizer and metadata) and answers one window
at a time. ``MCEPipeline`` keeps one symbol's feature engine and its window of
normalised features. ``MicroCausalityEngine`` subscribes to ``md.book`` and
``md.trade`` of the universe and publishes ``signal.mce.<symbol>``.

Without a trained model the component logs it once and publishes one
``available=False`` update per symbol; agents then treat the MCE multipliers
as neutral (1.0), never as a zero signal.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.core.clock import Clock
from engine.core.errors import DataError
from engine.core.tasks import TaskSupervisor
from engine.model.market import BookSnapshot, Trade
from engine.signals.artifacts import ModelUnavailable, load_torch_artifact
from engine.signals.emitter import SignalEmitter
from engine.signals.mce.features import FEATURE_NAMES, FEATURE_VERSION, L2FeatureEngine
from engine.signals.mce.normalizer import FeatureNormalizer
from engine.signals.worker import BatchWorker

log = logging.getLogger(__name__)

SIGNAL_NAME = "mce"
FloatArray = npt.NDArray[np.float64]


class MCEPredictor:
    """A loaded MCE model. Not thread-safe: use it from one thread at a time."""

    def __init__(self, model: Any, normalizer: FeatureNormalizer, metadata: dict[str, Any]) -> None:
        self.model = model
        self.normalizer = normalizer
        self.metadata = metadata
        self.seq_len = int(metadata["tft"]["seq_len"])

    @classmethod
    def load(cls, directory: Path, threads: int = 1) -> MCEPredictor:
        """Load from ``directory`` or raise ``ModelUnavailable`` saying why."""
        import torch

        from engine.signals.mce.model import MCETemporalFusionTransformer, TFTParams

        state, meta = load_torch_artifact(directory)
        if meta.get("kind") != "mce-tft":
            raise ModelUnavailable(f"{directory} holds a {meta.get('kind')!r} model, not an MCE")
        if (
            meta.get("feature_names") != list(FEATURE_NAMES)
            or meta.get("feature_version") != FEATURE_VERSION
        ):
            raise ModelUnavailable(
                f"MCE model at {directory} was trained on other features; retrain it"
            )
        try:
            normalizer = FeatureNormalizer.load(
                directory / str(meta.get("normalizer_file", "normalizer.json"))
            )
            params = TFTParams.from_json(meta["tft"])
            model = MCETemporalFusionTransformer(params)
            model.load_state_dict(state)
        except (DataError, KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelUnavailable(f"MCE model at {directory} is unusable: {exc}") from None
        torch.set_num_threads(threads)
        model.eval()
        example = torch.zeros(1, params.seq_len, params.n_features)
        try:
            # Tracing halves the per-call overhead (~1.0 -> ~0.45 ms); torch marks the jit API
            # deprecated, so its warnings are silenced here and eager mode is the fallback.
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")
                traced = torch.jit.freeze(torch.jit.trace(model, example))
                for _ in range(3):  # the jit optimises on its first calls; pay that here
                    traced(example)
        except Exception:
            log.warning("MCE model could not be traced; running it eagerly", exc_info=True)
            traced = model
        return cls(traced, normalizer, meta)

    def predict(self, window: FloatArray) -> tuple[float, float]:
        """(skew in -1..1, pressure probability) for one (seq_len, features) normalised window."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32))[None]
        with torch.inference_mode():
            skew, logit = self.model(x)
        return float(skew[0]), float(torch.sigmoid(logit[0]))


@dataclass(frozen=True, slots=True)
class MCEReading:
    symbol: str
    ts_event: int
    skew: float
    pressure: float
    compute_ms: float


class MCEPipeline:
    """One symbol: streaming features, normalised window, prediction on demand."""

    def __init__(self, symbol: str, predictor: MCEPredictor) -> None:
        self.symbol = symbol
        self.predictor = predictor
        self.features = L2FeatureEngine()
        self.window: deque[FloatArray] = deque(maxlen=predictor.seq_len)
        self.last_ts = 0
        self.stale = False

    @property
    def ready(self) -> bool:
        return len(self.window) == self.window.maxlen and not self.stale

    def on_trade(self, trade: Trade) -> None:
        self.features.on_trade(trade)

    def on_snapshot(self, snap: BookSnapshot) -> bool:
        """Update features; return True if this snapshot entered the window."""
        vec = self.features.on_snapshot(snap)
        self.stale = snap.stale
        if snap.stale:
            self.window.clear()
        if vec is None:
            return False
        self.window.append(self.predictor.normalizer.transform(vec))
        self.last_ts = snap.ts_event
        return True

    def predict(self) -> MCEReading:
        t0 = time.perf_counter()
        skew, pressure = self.predictor.predict(np.stack(self.window))
        return MCEReading(
            self.symbol, self.last_ts, skew, pressure, (time.perf_counter() - t0) * 1e3
        )

    def process(self, snap: BookSnapshot) -> MCEReading | None:
        """Per snapshot: the reading, or None while the window fills (or the book is stale)."""
        if self.on_snapshot(snap) and self.ready:
            return self.predict()
        return None


@dataclass(frozen=True, slots=True)
class _BatchResult:
    readings: list[MCEReading]
    not_ready: dict[str, str]


class MicroCausalityEngine:
    """Engine component publishing ``SignalUpdate(name="mce", symbol=s)`` per book snapshot.

    Values: ``skew`` (-1..1, signed expected mid move over the model's horizon,
    tanh-scaled), ``pressure`` (probability of a large move within it).
    """

    name = "signals.mce"

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        config: CrucibleConfig,
        supervisor: TaskSupervisor,
        executor: Executor | None = None,
    ) -> None:
        self._bus = bus
        self._supervisor = supervisor
        self._executor = executor
        self._cfg = config.signals.mce
        self.model_dir = config.paths.resolve(self._cfg.model_dir)
        self.symbols = tuple(config.universe.symbols)
        self.emitters = {s: SignalEmitter(bus, clock, SIGNAL_NAME, s) for s in self.symbols}
        self.pipelines: dict[str, MCEPipeline] = {}
        self.predictor: MCEPredictor | None = None
        self._last_infer: dict[str, int] = {}
        self._worker: BatchWorker[BookSnapshot | Trade, _BatchResult] = BatchWorker(
            "signals.mce", self._process, self._deliver, self._on_error, executor=executor
        )
        self._subs: list[Subscription] = []
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        loop = asyncio.get_running_loop()
        try:
            self.predictor = await loop.run_in_executor(
                self._executor, MCEPredictor.load, self.model_dir, self._cfg.torch_threads
            )
        except ModelUnavailable as exc:
            reason = f"MCE unavailable: {exc}; agents treat MCE as neutral"
            log.warning("%s (train one with `crucible mce train --from FILE`)", reason)
            for emitter in self.emitters.values():
                emitter.unavailable(reason)
            return
        self.pipelines = {s: MCEPipeline(s, self.predictor) for s in self.symbols}
        for s in self.symbols:
            self._subs.append(
                self._bus.subscribe(
                    topics.md_book(s), self._on_event, name=f"mce:book:{s}", direct=True
                )
            )
            self._subs.append(
                self._bus.subscribe(
                    topics.md_trade(s), self._on_event, name=f"mce:trade:{s}", direct=True
                )
            )
            self.emitters[s].unavailable(
                f"warming up: needs {self.predictor.seq_len} book snapshots"
            )
        self._worker.start(self._supervisor)

    async def stop(self) -> None:
        for sub in self._subs:
            self._bus.unsubscribe(sub)
        self._subs.clear()
        await self._worker.stop()

    async def idle(self, timeout: float = 5.0) -> None:
        await self._worker.idle(timeout)

    def _on_event(self, _topic: str, event: BookSnapshot | Trade) -> None:
        self._worker.submit(event)

    def _process(self, batch: list[BookSnapshot | Trade]) -> _BatchResult:
        touched: dict[str, MCEPipeline] = {}
        not_ready: dict[str, str] = {}
        for event in batch:
            pipe = self.pipelines.get(event.symbol)
            if pipe is None:
                continue
            if isinstance(event, Trade):
                pipe.on_trade(event)
            elif pipe.on_snapshot(event) or event.stale:
                touched[event.symbol] = pipe
        readings = []
        min_ns = self._cfg.min_interval_ms * 1_000_000
        for symbol, pipe in touched.items():
            if pipe.stale:
                not_ready[symbol] = (
                    "book is stale (integrity check failed); waiting for a fresh book"
                )
            elif not pipe.ready:
                not_ready[symbol] = f"warming up: needs {pipe.predictor.seq_len} book snapshots"
            elif pipe.last_ts - self._last_infer.get(symbol, -min_ns) >= min_ns:
                self._last_infer[symbol] = pipe.last_ts
                readings.append(pipe.predict())
        return _BatchResult(readings, not_ready)

    def _deliver(self, result: _BatchResult) -> None:
        for symbol, reason in result.not_ready.items():
            self.emitters[symbol].unavailable(reason)
        for r in result.readings:
            self.emitters[r.symbol].publish(
                {"skew": r.skew, "pressure": r.pressure}, r.compute_ms, ts_event=r.ts_event
            )

    def _on_error(self, exc: BaseException) -> None:
        changed = [
            e.unavailable(f"MCE computation failed: {exc!r}") for e in self.emitters.values()
        ]
        if any(u is not None for u in changed):
            log.error("MCE computation failed", exc_info=exc)
