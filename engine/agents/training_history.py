"""TrainingHistory: recent 1m bars of the whole universe in the bar store, for the forge.

* On the simulated venue the core simulates ``deployment.history_days`` of
  history in fast-forward (``cerebellum_core history``, the same market model
  the live venue runs, under another seed, so agents are forged on one
  stretch and trade on another they never saw).
* On an exchange the bars are downloaded with ccxt (paginated, resumable).

Generated once and reused while its newest bar is less than a day old; both
run off the event loop. Every symbol of the universe is kept, because a
symbol's features may read another's bars (the leader's, for cross-asset
features).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pandas as pd

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.marketdata.store import BarStore
from engine.model.enums import ForgeStage
from engine.model.events import ForgeProgress

log = logging.getLogger(__name__)

_FRESH = pd.Timedelta(days=1)
PROGRESS_ID = "history"  # the ForgeProgress task id of history generation


class TrainingHistory:
    """Makes sure the forge has recent history; says where it is (``exchange``)."""

    def __init__(
        self,
        config: CrucibleConfig,
        clock: Clock,
        core_binary: Path,
        bus: EventBus | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._binary = core_binary
        self._bus = bus
        self._stop = threading.Event()
        self.exchange = config.forge.exchange
        self.store = BarStore.from_config(config)
        self.detail = "not checked yet"
        self._lock = asyncio.Lock()

    def _now(self) -> pd.Timestamp:
        return pd.Timestamp(self._clock.timestamp_ns(), unit="ns", tz="UTC")

    def fresh(self) -> bool:
        """Every symbol has bars covering the history window, the newest under a day old."""
        days = pd.Timedelta(days=self._config.deployment.history_days)
        now = self._now()
        for symbol in self._config.universe.symbols:
            first = self.store.first_timestamp(self.exchange, symbol, "1m")
            last = self.store.last_timestamp(self.exchange, symbol, "1m")
            if first is None or last is None or now - last > _FRESH or last - first < days * 0.95:
                return False
        return True

    def stop(self) -> None:
        """Kill a simulation in progress (the engine is stopping)."""
        self._stop.set()

    def _progress(self, stage: ForgeStage, message: str, done: int = 0, total: int = 0) -> None:
        if self._bus is None:
            return
        update = ForgeProgress(
            PROGRESS_ID, "*", stage, self._clock.timestamp_ns(), done, total, message=message
        )
        self._bus.publish_threadsafe(topics.forge_progress(PROGRESS_ID), update)

    async def ensure(self) -> None:
        """Fill the store if it lacks recent history (simulate on the sim, download otherwise)."""
        async with self._lock:
            if await asyncio.to_thread(self.fresh):
                self.detail = f"{self.exchange} history in the bar store is recent"
                return
            if self._config.venue.kind == "sim" and self.exchange == "sim":
                await asyncio.to_thread(self._simulate)
            else:
                await self._download()

    def _simulate(self) -> None:
        from engine.marketdata.simulate import simulate_into_store

        cfg = self._config
        days = cfg.deployment.history_days
        seed = cfg.deployment.history_seed
        seed = cfg.cerebellum.seed + 1000 if seed is None else seed
        start = (self._now() - pd.Timedelta(days=days)).floor("min")
        log.info("simulating %d days of history (seed %d) for the forge", days, seed)
        what = f"simulating {days} days of history for the forge"
        self._progress(ForgeStage.LOADING_DATA, what)
        series = simulate_into_store(
            self.store,
            self._binary,
            list(cfg.universe.symbols),
            days=days,
            seed=seed,
            start=start,
            stop=self._stop,
            on_progress=lambda done, total: self._progress(
                ForgeStage.LOADING_DATA, what, done, total
            ),
        )
        rows = sum(s.rows for s in series)
        self.detail = f"simulated {days} days of sim history ({rows:,} bars, seed {seed})"
        self._progress(ForgeStage.DONE, self.detail)
        log.info("%s", self.detail)

    async def _download(self) -> None:
        from engine.marketdata.history import download_history

        cfg = self._config
        since = self._now() - pd.Timedelta(days=cfg.deployment.history_days)
        results = await download_history(
            self.exchange, list(cfg.universe.symbols), "1m", since, self.store, cfg.data.download
        )
        added = sum(r.rows_added for r in results)
        self.detail = f"downloaded {added:,} bars from {self.exchange}"
        log.info("%s", self.detail)
