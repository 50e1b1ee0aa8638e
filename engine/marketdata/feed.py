"""MarketDataFeed: runs one MarketDataSource inside the engine and publishes what it yields.

Books pass through a per-symbol ``BookIntegrityGuard`` (gaps, crossed books,
silence mark them stale; ``md.status.<symbol>`` announces every change).
Trades go to ``md.trade.<symbol>``, bars to ``md.bar.<symbol>.<tf>``. A
stale ``BookStatus`` from the source (a dropped connection, a broken diff
sequence) marks the guard stale; freshness is only ever declared by the
guard, on the next good snapshot. A
source that ends or fails is logged and reported as stale on every symbol
it served, never raised into the engine.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.core.tasks import TaskSupervisor
from engine.marketdata.config import DataConfig
from engine.marketdata.integrity import BookIntegrityGuard
from engine.marketdata.source import MarketDataSource, MarketEvent
from engine.model.events import BookStatus
from engine.model.market import Bar, BookSnapshot, Trade

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
        self.guards: dict[str, BookIntegrityGuard] = {}
        self.counts = {"books": 0, "trades": 0, "bars": 0, "status": 0}
        self._tasks: list[asyncio.Task[Any]] = []
        self._running = False

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._tasks = [
            self.supervisor.spawn(f"{self.name}:pump", self._pump()),
            self.supervisor.spawn(f"{self.name}:age", self._watch_age()),
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

    def _guard(self, symbol: str) -> BookIntegrityGuard:
        guard = self.guards.get(symbol)
        if guard is None:
            guard = self.guards[symbol] = BookIntegrityGuard(symbol, self.config.book_max_age_ms)
        return guard

    def _publish_status(self, status: BookStatus | None) -> None:
        if status is not None:
            self.counts["status"] += 1
            self.bus.publish(topics.md_status(status.symbol), status)

    def handle(self, event: MarketEvent) -> None:
        """Route one event to its topic (after the integrity checks)."""
        if isinstance(event, BookSnapshot):
            snap, status = self._guard(event.symbol).on_snapshot(event)
            self._publish_status(status)
            self.counts["books"] += 1
            self.bus.publish(topics.md_book(snap.symbol), snap)
        elif isinstance(event, Trade):
            self._publish_status(self._guard(event.symbol).on_trade(event))
            self.counts["trades"] += 1
            self.bus.publish(topics.md_trade(event.symbol), event)
        elif isinstance(event, Bar):
            self.counts["bars"] += 1
            self.bus.publish(topics.md_bar(event.symbol, event.timeframe), event)
        elif isinstance(event, BookStatus) and event.stale:
            # The source lost its stream; the guard stays stale until a good snapshot.
            self._publish_status(self._guard(event.symbol).mark_stale(event.reason, event.ts_event))

    async def _pump(self) -> None:
        try:
            async for event in self.source.events():
                self.handle(event)
            log.info("%s: source ended", self.name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: source failed", self.name)
        now = self.clock.timestamp_ns()
        for guard in self.guards.values():
            self._publish_status(guard.mark_stale("market data source stopped", now))

    async def _watch_age(self) -> None:
        interval = max(self.config.book_max_age_ms / 2000.0, 0.05)
        while True:
            await asyncio.sleep(interval)
            now = self.clock.timestamp_ns()
            for guard in list(self.guards.values()):
                self._publish_status(guard.check_age(now))
