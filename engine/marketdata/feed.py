"""MarketDataFeed: runs one MarketDataSource inside the engine and publishes what it yields.

Routing and integrity checks are the MarketDataRouter's. A source that ends
or fails is logged and reported as stale on every symbol it served, never
raised into the engine.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.core.tasks import TaskSupervisor
from engine.marketdata.config import DataConfig
from engine.marketdata.integrity import BookIntegrityGuard
from engine.marketdata.router import MarketDataRouter
from engine.marketdata.source import MarketDataSource, MarketEvent

log = logging.getLogger(__name__)


class MarketDataFeed:
    """Engine component: ``await start()`` begins pumping the source, ``await stop()`` ends it."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        config: DataConfig,
        supervisor: TaskSupervisor,
        source: MarketDataSource,
    ) -> None:
        self.name = f"marketdata:{source.name}"
        self.bus = bus
        self.clock = clock
        self.config = config
        self.supervisor = supervisor
        self.source = source
        self.router = MarketDataRouter(bus, clock, config)
        self._tasks: list[asyncio.Task[Any]] = []
        self._running = False

    @property
    def guards(self) -> dict[str, BookIntegrityGuard]:
        return self.router.guards

    @property
    def counts(self) -> dict[str, int]:
        return self.router.counts

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._tasks = [
            self.supervisor.spawn(f"{self.name}:pump", self._pump()),
            self.supervisor.spawn(f"{self.name}:age", self.router.watch_age()),
        ]

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.source.close()

    def handle(self, event: MarketEvent) -> None:
        """Route one event to its topic (after the integrity checks)."""
        self.router.handle(event)

    async def _pump(self) -> None:
        try:
            async for event in self.source.events():
                self.router.handle(event)
            log.info("%s: source ended", self.name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: source failed", self.name)
        self.router.mark_all_stale("market data source stopped")
